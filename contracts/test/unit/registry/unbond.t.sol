// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {PoolConfig} from "../../../src/types/DataTypes.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract UnbondTest is RegistryUnitTest {
    function test_RevertWhen_AmountZero() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_ZeroAmount.selector));
        vm.prank(provider);
        registry.unbond(poolId, 0);
    }

    function test_RevertWhen_AmountAboveBonded() external {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProviderRegistry.Registry_InsufficientBonded.selector, uint256(MIN_STAKE), uint256(MIN_STAKE) + 1
            )
        );
        vm.prank(provider);
        registry.unbond(poolId, uint256(MIN_STAKE) + 1);
    }

    function test_RevertGiven_NeverStaked() external {
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.Registry_InsufficientBonded.selector, uint256(0), uint256(1))
        );
        vm.prank(stranger);
        registry.unbond(poolId, 1);
    }

    function test_GivenNothingUnbonding() external {
        uint256 registryBefore = token.balanceOf(address(registry));
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;

        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondingStarted(poolId, provider, 1, MIN_STAKE - 1, 1, ends);
        vm.prank(provider);
        registry.unbond(poolId, 1);

        assertStake(poolId, provider, MIN_STAKE - 1, 1, ends, true);
        assertEq(token.balanceOf(address(registry)), registryBefore, "registry balance");
        assertFalse(registry.isEligible(poolId, provider), "eligible");
    }

    function test_WhenAmountIsWholeBondedStake() external {
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondingStarted(poolId, provider, MIN_STAKE, 0, MIN_STAKE, ends);
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        assertStake(poolId, provider, 0, MIN_STAKE, ends, true);
    }

    function test_GivenSomeStakeAlreadyUnbonding() external {
        vm.prank(provider);
        registry.unbond(poolId, 100e18);
        skip(10 days);

        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondingStarted(poolId, provider, 200e18, MIN_STAKE - 300e18, 300e18, ends);
        vm.prank(provider);
        registry.unbond(poolId, 200e18);
        assertStake(poolId, provider, MIN_STAKE - 300e18, 300e18, ends, true);

        // The first part is not free at its original end any more.
        skip(PROVIDER_UNBONDING - 10 days);
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.Registry_NothingToWithdraw.selector, ends, uint256(300e18))
        );
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
    }

    function test_GivenPoolChangedUnbondingPeriod() external {
        PoolConfig memory config = defaultPoolConfig();
        config.providerUnbonding = 1 days;
        vm.prank(operator);
        pools.updatePool(poolId, config);

        uint40 ends = uint40(block.timestamp) + 1 days;
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondingStarted(poolId, provider, 1e18, MIN_STAKE - 1e18, 1e18, ends);
        vm.prank(provider);
        registry.unbond(poolId, 1e18);
        assertStake(poolId, provider, MIN_STAKE - 1e18, 1e18, ends, true);
    }
}
