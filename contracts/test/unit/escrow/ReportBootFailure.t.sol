// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {IProviderRegistry} from "../../../src/interfaces/IProviderRegistry.sol";
import {EndReason, LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.reportBootFailure, see reportBootFailure.tree.
contract ReportBootFailureTest is EscrowBase {
    function _report(address who, uint256 leaseId) private {
        vm.prank(who);
        escrow.reportBootFailure(leaseId);
    }

    function _expectRevertReport(address who, uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        _report(who, leaseId);
    }

    function _wrongStatus(uint256 leaseId, LeaseStatus status) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, status);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertReport(provider, 1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertWhen_TheCallerIsNotTheProvider() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        _expectRevertReport(
            buyer, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, buyer)
        );
    }

    function test_RevertGiven_TheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertReport(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Running));
    }

    function test_RevertGiven_TheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        _expectRevertReport(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Halted));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        stopAs(buyer, leaseId);
        _expectRevertReport(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Closed));
    }

    function test_RevertWhen_TheBootDeadlineHasPassed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertReport(
            provider,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DeadlinePassed.selector, leaseId, uint40(T0 + BOOT_TIMEOUT))
        );
    }

    function test_RevertWhen_TheRestartDeadlineHasPassed() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertReport(
            provider,
            leaseId,
            abi.encodeWithSelector(
                ILeaseEscrow.Escrow_DeadlinePassed.selector, leaseId, uint40(T0 + 3600 + BOOT_TIMEOUT)
            )
        );
    }

    function test_WhenItIsExactlyTheDeadline() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT);
        _report(provider, leaseId);
        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + BOOT_TIMEOUT, 0, 0);
        assertBuyerRecord(buyer, 0, 1, 0, T0 + BOOT_TIMEOUT);
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(300);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 registryBefore = token.balanceOf(address(registry));
        uint256 escrowBefore = token.balanceOf(address(escrow));
        assertRates(2 * P, P);

        vm.expectEmit(address(registry));
        emit IProviderRegistry.ProviderSlashed(poolId, provider, buyer, BOOT_FAIL_SLASH, MIN_STAKE - BOOT_FAIL_SLASH, 0);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.BootFailed, uint40(T0 + 300), ONE_HOUR_DEPOSIT, BOOT_FAIL_SLASH);
        _report(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 300, 0, 0);
        assertState(leaseId, LeaseStatus.Closed, 0, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT + BOOT_FAIL_SLASH, "refund and slash");
        assertEq(token.balanceOf(address(registry)), registryBefore - BOOT_FAIL_SLASH, "stake left the registry");
        assertEq(uint256(registry.stakeOf(poolId, provider).bonded), MIN_STAKE - BOOT_FAIL_SLASH, "bonded");
        assertEq(token.balanceOf(address(escrow)), escrowBefore - ONE_HOUR_DEPOSIT, "only the deposit leaves");
        // A pending lease is not in the rates: the bystanders' running leases are all they count.
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, 0, T0 + 300);
        assertProviderRecord(provider, 0, 0, 1, 0, 0, 0);
        assertEscrowBalanced();

        // 990 tokens bonded against a 1000-token minimum: no new leases.
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_ProviderNotEligible.selector, poolId, provider));
        vm.prank(trustedBuyer);
        escrow.openLease(openParams(ONE_HOUR_DEPOSIT));
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);
        assertRates(2 * P, P);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.BootFailed, uint40(T0 + 3700), ONE_HOUR_DEPOSIT, BOOT_FAIL_SLASH
        );
        _report(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3700, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT + BOOT_FAIL_SLASH, "refund and slash");
        assertEq(uint256(registry.stakeOf(poolId, provider).bonded), MIN_STAKE - BOOT_FAIL_SLASH, "bonded");
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3700);
        assertProviderRecord(provider, 0, 0, 1, 0, 0, 3600);
        assertEscrowBalanced();
    }
}
