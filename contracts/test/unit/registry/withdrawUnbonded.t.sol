// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract WithdrawUnbondedTest is RegistryUnitTest {
    uint256 internal constant AMOUNT = 400e18;
    uint40 internal ends;

    function unbondSome() internal {
        vm.prank(provider);
        registry.unbond(poolId, AMOUNT);
        ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
    }

    function test_RevertWhen_RecipientZero() external {
        unbondSome();
        vm.warp(ends);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_ZeroAddress.selector));
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, address(0));
    }

    function test_RevertGiven_NothingUnbonding() external {
        vm.expectRevert(
            abi.encodeWithSelector(IProviderRegistry.Registry_NothingToWithdraw.selector, uint40(0), uint256(0))
        );
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
    }

    function test_RevertGiven_AlreadyWithdrawn() external {
        unbondSome();
        vm.warp(ends);
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);

        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_NothingToWithdraw.selector, ends, uint256(0)));
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
    }

    function test_RevertWhen_PeriodNotPassed() external {
        unbondSome();
        vm.warp(ends - 1);
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_NothingToWithdraw.selector, ends, AMOUNT));
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
    }

    function test_WhenPeriodEndsExactlyNow() external {
        unbondSome();
        vm.warp(ends);
        uint256 recipientBefore = token.balanceOf(stranger);
        uint256 registryBefore = token.balanceOf(address(registry));

        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondedWithdrawn(poolId, provider, stranger, AMOUNT);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(registry), stranger, AMOUNT);
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, stranger);

        assertEq(token.balanceOf(stranger), recipientBefore + AMOUNT, "recipient balance");
        assertEq(token.balanceOf(address(registry)), registryBefore - AMOUNT, "registry balance");
        assertStake(poolId, provider, MIN_STAKE - AMOUNT, 0, ends, true);
    }

    function test_WhenPeriodEndedLongAgo() external {
        unbondSome();
        vm.warp(ends + 365 days);
        uint256 before = token.balanceOf(provider);
        vm.expectEmit(address(registry));
        emit IProviderRegistry.UnbondedWithdrawn(poolId, provider, provider, AMOUNT);
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
        assertEq(token.balanceOf(provider), before + AMOUNT, "provider balance");
        assertStake(poolId, provider, MIN_STAKE - AMOUNT, 0, ends, true);
    }
}
