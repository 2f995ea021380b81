// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {PoolConfig} from "../../../src/types/DataTypes.sol";
import {PoolsUnitTest} from "./PoolsUnit.t.sol";

contract UpdatePoolTest is PoolsUnitTest {
    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(2)));
        vm.prank(operator);
        pools.updatePool(2, defaultPoolConfig());
    }

    function test_RevertGiven_PoolIdZero() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(0)));
        vm.prank(operator);
        pools.updatePool(0, defaultPoolConfig());
    }

    function test_RevertWhen_CallerStranger() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotOperator.selector, poolId, stranger));
        vm.prank(stranger);
        pools.updatePool(poolId, boundaryPoolConfig());
    }

    function test_RevertWhen_CallerPendingOperator() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotOperator.selector, poolId, newOperator));
        vm.prank(newOperator);
        pools.updatePool(poolId, boundaryPoolConfig());
    }

    function test_RevertWhen_NameEmpty() external {
        PoolConfig memory config = defaultPoolConfig();
        config.name = "";
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_InvalidName.selector));
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    function test_RevertWhen_FeeAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.feeBps = type(uint16).max;
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_FeeTooHigh.selector, type(uint16).max, uint16(2000)));
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    function test_RevertWhen_LeaseLimitsInvalid() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.maxLeases = 2;
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_InvalidLeaseLimits.selector, uint16(3), uint16(2)));
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    function test_WhenConfigValid() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        PoolConfig memory config = boundaryPoolConfig();
        vm.expectEmit(address(pools));
        emit IPools.PoolUpdated(poolId, config);
        vm.prank(operator);
        pools.updatePool(poolId, config);

        assertPool(pools.getPool(poolId), config, operator, newOperator);
        assertEq(pools.poolCount(), 1, "pool count");
        (uint96 minStake, uint32 unbonding, uint16 noBoot, uint16 bootFail) = pools.stakeParams(poolId);
        assertEq(minStake, 1, "minStake");
        assertEq(unbonding, 365 days, "unbonding");
        assertEq(noBoot, 5000, "noBoot");
        assertEq(bootFail, 5000, "bootFail");
    }

    function test_WhenMinStakeRisesAboveBonded() external {
        assertTrue(registry.isEligible(poolId, provider), "eligible before");
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = MIN_STAKE + 1;
        vm.prank(operator);
        pools.updatePool(poolId, config);
        assertFalse(registry.isEligible(poolId, provider), "eligible after");
        assertEq(registry.trustLevel(poolId, provider), 0, "trust level");
    }
}
