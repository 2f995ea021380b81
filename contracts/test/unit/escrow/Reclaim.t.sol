// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {EndReason, LeaseStatus, Stake} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.reclaim, see reclaim.tree.
contract ReclaimTest is EscrowBase {
    function _reclaim(address who, uint256 leaseId) private {
        vm.prank(who);
        escrow.reclaim(leaseId);
    }

    function _expectRevertReclaim(address who, uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        _reclaim(who, leaseId);
    }

    function _wrongStatus(uint256 leaseId, LeaseStatus status) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, status);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertReclaim(buyer, 1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertWhen_TheCallerIsNotTheBuyer() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertReclaim(
            provider, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyer.selector, leaseId, provider)
        );
        _expectRevertReclaim(
            stranger, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyer.selector, leaseId, stranger)
        );
    }

    function test_RevertGiven_TheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertReclaim(buyer, leaseId, _wrongStatus(leaseId, LeaseStatus.Running));
    }

    function test_RevertGiven_TheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        _expectRevertReclaim(buyer, leaseId, _wrongStatus(leaseId, LeaseStatus.Halted));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        stopAs(buyer, leaseId);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertReclaim(buyer, leaseId, _wrongStatus(leaseId, LeaseStatus.Closed));
    }

    function test_RevertWhen_TheDeadlineHasNotPassed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT);
        _expectRevertReclaim(
            buyer,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DeadlineNotReached.selector, leaseId, uint40(T0 + BOOT_TIMEOUT))
        );
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(BOOT_TIMEOUT + 1);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        assertRates(2 * P, P);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, NO_BOOT_SLASH, MIN_STAKE - NO_BOOT_SLASH, 0);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.ReclaimedNoBoot, uint40(T0 + BOOT_TIMEOUT + 1), ONE_HOUR_DEPOSIT, NO_BOOT_SLASH
        );
        _reclaim(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + BOOT_TIMEOUT + 1, 0, 0);
        assertState(leaseId, LeaseStatus.Closed, 0, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT + NO_BOOT_SLASH, "refund and slash");
        assertEq(uint256(registry.stakeOf(poolId, provider).bonded), MIN_STAKE - NO_BOOT_SLASH, "bonded");
        assertEq(token.balanceOf(address(escrow)), escrowBefore - ONE_HOUR_DEPOSIT, "only the deposit leaves");
        // A pending lease is not in the rates: the bystanders' running leases are all they count.
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, 0, T0 + BOOT_TIMEOUT + 1);
        assertProviderRecord(provider, 0, 0, 0, 0, 1, 0);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(BOOT_TIMEOUT + 1);
        uint256 buyerBefore = token.balanceOf(buyer);
        assertRates(2 * P, P);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.ReclaimedNoBoot, uint40(T0 + 3600 + BOOT_TIMEOUT + 1), ONE_HOUR_DEPOSIT, NO_BOOT_SLASH
        );
        _reclaim(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3600 + BOOT_TIMEOUT + 1, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT + NO_BOOT_SLASH, "refund and slash");
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3600 + BOOT_TIMEOUT + 1);
        assertProviderRecord(provider, 0, 0, 0, 0, 1, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheProvidersStakeIsUnbonding() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        skip(BOOT_TIMEOUT + 1);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.ReclaimedNoBoot, uint40(T0 + BOOT_TIMEOUT + 1), ONE_HOUR_DEPOSIT, NO_BOOT_SLASH
        );
        _reclaim(buyer, leaseId);

        Stake memory stake = registry.stakeOf(poolId, provider);
        assertEq(uint256(stake.bonded), 0, "bonded");
        assertEq(uint256(stake.unbonding), MIN_STAKE - NO_BOOT_SLASH, "unbonding slashed");
    }

    function test_GivenTheProviderWithdrewAllItsStake() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        skip(PROVIDER_UNBONDING);
        vm.prank(provider);
        registry.withdrawUnbonded(poolId, provider);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.ReclaimedNoBoot, uint40(T0 + PROVIDER_UNBONDING), ONE_HOUR_DEPOSIT, 0
        );
        _reclaim(buyer, leaseId);

        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT, "refund only");
        assertBuyerRecord(buyer, 0, 1, 0, T0 + PROVIDER_UNBONDING);
        assertProviderRecord(provider, 0, 0, 0, 0, 1, 0);
        assertEscrowBalanced();
    }
}
