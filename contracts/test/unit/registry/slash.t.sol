// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract SlashTest is RegistryUnitTest {
    function slashAsEscrow(uint32 pool, address who, uint16 shareBps, address recipient)
        internal
        returns (uint256 amount)
    {
        vm.prank(address(escrow));
        amount = registry.slash(pool, who, shareBps, recipient);
    }

    function expectNothingSlashed(uint32 pool, address who, uint16 shareBps) internal {
        uint256 registryBefore = token.balanceOf(address(registry));
        uint256 recipientBefore = token.balanceOf(buyer);
        vm.recordLogs();
        uint256 amount = slashAsEscrow(pool, who, shareBps, buyer);
        assertEq(vm.getRecordedLogs().length, 0, "logs");
        assertEq(amount, 0, "amount");
        assertEq(token.balanceOf(address(registry)), registryBefore, "registry balance");
        assertEq(token.balanceOf(buyer), recipientBefore, "recipient balance");
    }

    function test_RevertWhen_CallerStranger() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_NotEscrow.selector, stranger));
        vm.prank(stranger);
        registry.slash(poolId, provider, 1000, stranger);
    }

    function test_RevertWhen_CallerOperator() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_NotEscrow.selector, operator));
        vm.prank(operator);
        registry.slash(poolId, provider, 1000, operator);
    }

    function test_RevertWhen_ShareAbove10000() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_InvalidShare.selector, uint16(10_001)));
        slashAsEscrow(poolId, provider, 10_001, buyer);
    }

    function test_RevertWhen_RecipientZero() external {
        vm.expectRevert(abi.encodeWithSelector(IProviderRegistry.Registry_ZeroAddress.selector));
        slashAsEscrow(poolId, provider, 1000, address(0));
    }

    function test_GivenNoStake() external {
        expectNothingSlashed(poolId, stranger, 10_000);
        assertStake(poolId, stranger, 0, 0, 0, false);
    }

    function test_WhenShareZero() external {
        expectNothingSlashed(poolId, provider, 0);
        assertStake(poolId, provider, MIN_STAKE, 0, 0, true);
    }

    function test_WhenShareRoundsDownToZero() external {
        uint32 dust = createPool(1);
        vm.prank(stranger);
        registry.stake(dust, 3);
        // 3 * 3333 / 10000 = 0.9999
        expectNothingSlashed(dust, stranger, 3333);
        assertStake(dust, stranger, 3, 0, 0, true);
    }

    function test_WhenShareHasFraction() external {
        uint32 dust = createPool(1);
        vm.prank(stranger);
        registry.stake(dust, 3);
        // 3 * 5000 / 10000 = 1.5
        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(dust, stranger, buyer, 1, 2, 0);
        uint256 amount = slashAsEscrow(dust, stranger, 5000, buyer);
        assertEq(amount, 1, "amount");
        assertStake(dust, stranger, 2, 0, 0, true);
    }

    function test_WhenAmountAtMostBonded() external {
        vm.prank(provider);
        registry.unbond(poolId, 100e18);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        uint256 registryBefore = token.balanceOf(address(registry));
        uint256 recipientBefore = token.balanceOf(buyer);

        // 10% of 900 + 100 = 100 <= 900 bonded.
        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, 100e18, 800e18, 100e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(registry), buyer, 100e18);
        uint256 amount = slashAsEscrow(poolId, provider, 1000, buyer);

        assertEq(amount, 100e18, "amount");
        assertStake(poolId, provider, 800e18, 100e18, ends, true);
        assertEq(token.balanceOf(address(registry)), registryBefore - 100e18, "registry balance");
        assertEq(token.balanceOf(buyer), recipientBefore + 100e18, "recipient balance");
    }

    function test_WhenAmountEqualsBonded() external {
        vm.prank(provider);
        registry.unbond(poolId, 500e18);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, 500e18, 0, 500e18);
        uint256 amount = slashAsEscrow(poolId, provider, 5000, buyer);

        assertEq(amount, 500e18, "amount");
        assertStake(poolId, provider, 0, 500e18, ends, true);
    }

    function test_WhenAmountExceedsBonded() external {
        vm.prank(provider);
        registry.unbond(poolId, 900e18);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        uint256 recipientBefore = token.balanceOf(buyer);

        // 50% of 1000 = 500: 100 from bonded, 400 from unbonding.
        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, 500e18, 0, 500e18);
        uint256 amount = slashAsEscrow(poolId, provider, 5000, buyer);

        assertEq(amount, 500e18, "amount");
        assertStake(poolId, provider, 0, 500e18, ends, true);
        assertEq(token.balanceOf(buyer), recipientBefore + 500e18, "recipient balance");
    }

    function test_GivenUnbondingPeriodPassedButNotWithdrawn() external {
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;
        vm.warp(ends + 1);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, 100e18, 0, 900e18);
        uint256 amount = slashAsEscrow(poolId, provider, 1000, buyer);
        assertEq(amount, 100e18, "amount");
        assertStake(poolId, provider, 0, 900e18, ends, true);

        // Only the rest can be withdrawn.
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
        assertStake(poolId, provider, 0, 0, ends, true);
    }

    function test_WhenShareIs10000() external {
        vm.prank(provider);
        registry.unbond(poolId, 250e18);
        uint40 ends = uint40(block.timestamp) + PROVIDER_UNBONDING;

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, stranger, MIN_STAKE, 0, 0);
        uint256 amount = slashAsEscrow(poolId, provider, 10_000, stranger);
        assertEq(amount, MIN_STAKE, "amount");
        assertStake(poolId, provider, 0, 0, ends, true);
        assertEq(registry.trustLevel(poolId, provider), 0, "trust level");
    }
}
