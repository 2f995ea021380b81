// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {TrustParams} from "../../../src/types/DataTypes.sol";
import {PoolsUnitTest} from "./PoolsUnit.t.sol";

contract PoolsViewsTest is PoolsUnitTest {
    function test_PoolCount() external {
        assertEq(pools.poolCount(), 1, "fixture");
        vm.prank(stranger);
        pools.createPool(defaultPoolConfig());
        vm.prank(stranger);
        pools.createPool(boundaryPoolConfig());
        assertEq(pools.poolCount(), 3, "after two more");
    }

    function expectUnknown(uint32 id) internal {
        bytes memory reason = abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, id);
        vm.expectRevert(reason);
        pools.getPool(id);
        vm.expectRevert(reason);
        pools.operatorOf(id);
        vm.expectRevert(reason);
        pools.leaseParams(id);
        vm.expectRevert(reason);
        pools.stakeParams(id);
    }

    function test_RevertGiven_PoolIdZero() external {
        expectUnknown(0);
    }

    function test_RevertGiven_PoolIdAboveCount() external {
        expectUnknown(2);
        expectUnknown(type(uint32).max);
    }

    function test_GetPool() external view {
        assertPool(pools.getPool(poolId), defaultPoolConfig(), operator, address(0));
    }

    function test_OperatorOf() external view {
        assertEq(pools.operatorOf(poolId), operator, "operator");
    }

    function test_LeaseParams() external {
        (uint16 feeBps, uint96 minStake, TrustParams memory trust) = pools.leaseParams(poolId);
        assertEq(feeBps, FEE_BPS, "feeBps");
        assertEq(minStake, MIN_STAKE, "minStake");
        assertTrust(trust, defaultTrust());

        vm.prank(operator);
        pools.updatePool(poolId, boundaryPoolConfig());
        (feeBps, minStake, trust) = pools.leaseParams(poolId);
        assertEq(feeBps, 2000, "feeBps after update");
        assertEq(minStake, 1, "minStake after update");
        assertTrust(trust, boundaryPoolConfig().trust);
    }

    function test_StakeParams() external view {
        (uint96 minStake, uint32 unbonding, uint16 noBoot, uint16 bootFail) = pools.stakeParams(poolId);
        assertEq(minStake, MIN_STAKE, "minStake");
        assertEq(unbonding, PROVIDER_UNBONDING, "unbonding");
        assertEq(noBoot, NO_BOOT_SLASH_BPS, "noBoot");
        assertEq(bootFail, BOOT_FAIL_SLASH_BPS, "bootFail");
    }

    function test_Constants() external view {
        assertEq(pools.MAX_FEE_BPS(), 2000, "MAX_FEE_BPS");
        assertEq(pools.MAX_SLASH_BPS(), 5000, "MAX_SLASH_BPS");
        assertEq(pools.MAX_UNBONDING(), 365 days, "MAX_UNBONDING");
    }
}
