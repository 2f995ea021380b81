// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {PoolConfig} from "../../../src/types/DataTypes.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract RegistryViewsTest is RegistryUnitTest {
    function test_StakeOfGivenNeverStaked() external view {
        assertStake(poolId, stranger, 0, 0, 0, false);
        assertStake(2, provider, 0, 0, 0, false);
    }

    function test_StakeOfGivenStakedAndUnbonded() external {
        stakeAs(provider, 500e18);
        vm.prank(provider);
        registry.unbond(poolId, 200e18);
        assertStake(poolId, provider, 1300e18, 200e18, uint40(block.timestamp) + PROVIDER_UNBONDING, true);
    }

    function test_RevertGiven_IsEligiblePoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(2)));
        registry.isEligible(2, provider);
    }

    function test_IsEligibleGivenBelowMin() external {
        assertFalse(registry.isEligible(poolId, stranger), "never staked");
        vm.prank(provider);
        registry.unbond(poolId, 1);
        assertFalse(registry.isEligible(poolId, provider), "1 wei below");
    }

    function test_IsEligibleGivenEqualToMin() external view {
        assertTrue(registry.isEligible(poolId, provider), "at minimum");
    }

    function test_IsEligibleGivenStakeUnbonding() external {
        stakeAs(provider, 1);
        vm.prank(provider);
        registry.unbond(poolId, 2);
        assertFalse(registry.isEligible(poolId, provider), "unbonding stake does not count");
    }

    function test_IsEligibleGivenMinRaised() external {
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = MIN_STAKE * 2;
        vm.prank(operator);
        pools.updatePool(poolId, config);
        assertFalse(registry.isEligible(poolId, provider), "below the new minimum");
    }

    function test_EncryptionKeyOfGivenNoKey() external view {
        assertEq(registry.encryptionKeyOf(provider), bytes32(0), "no key");
    }

    function test_Immutables() external view {
        assertEq(address(registry.TOKEN()), address(token), "TOKEN");
        assertEq(address(registry.POOLS()), address(pools), "POOLS");
        assertEq(registry.ESCROW(), address(escrow), "ESCROW");
    }
}
