// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {EndReason, LeaseStatus} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.stop, see stop.tree.
contract StopTest is EscrowBase {
    function _expectRevertStop(address who, uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        vm.prank(who);
        escrow.stop(leaseId);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertStop(buyer, 1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertWhen_TheCallerIsNotTheBuyer() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertStop(
            stranger, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyer.selector, leaseId, stranger)
        );
        _expectRevertStop(
            provider, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyer.selector, leaseId, provider)
        );
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _expectRevertStop(
            buyer,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, LeaseStatus.Closed)
        );
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        uint256 feesBefore = escrow.poolFees(poolId);
        assertRates(2 * P, P);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.BuyerStopped, uint40(T0 + 100), ONE_HOUR_DEPOSIT, 0);
        stopAs(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 100, 0, 0);
        assertState(leaseId, LeaseStatus.Closed, 0, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT, "deposit refunded");
        assertEq(token.balanceOf(address(escrow)), escrowBefore - ONE_HOUR_DEPOSIT, "only the deposit leaves");
        assertEq(escrow.poolFees(poolId), feesBefore, "fee not refunded");
        assertEq(feesBefore, FIRST_ANON_FEE + SECOND_ANON_FEE, "the buyer's and the bystander's fees");
        // A pending lease is not in the rates: the bystanders' running leases are all they count.
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, 0, T0 + 100);
        assertProviderRecord(provider, 1, 0, 0, 0, 0, 0);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRunning_WhenItIsTheSecondOfTheAcknowledgement() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.BuyerStopped, uint40(T0), ONE_HOUR_DEPOSIT, 0);
        stopAs(buyer, leaseId);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "nothing settled");
        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT, "full refund");
        assertRates(0, 0);
        assertBuyerRecord(buyer, 0, 1, 0, T0);
        assertProviderRecord(provider, 1, 0, 0, 0, 0, 0);
    }

    function test_GivenTheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 earned = 1800 * P;

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, earned, 1800);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.BuyerStopped, uint40(T0 + 1800), ONE_HOUR_DEPOSIT - earned, 0);
        stopAs(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 1800, earned, 0);
        assertState(leaseId, LeaseStatus.Closed, 0, earned, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT - earned, "unspent refunded");
        assertEq(token.balanceOf(address(escrow)), FIRST_ANON_FEE + earned, "earnings stay for the provider");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, earned, T0 + 1800);
        assertProviderRecord(provider, 1, 0, 0, 0, 0, 1800);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(4000);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.RanDry, uint40(T0 + 4000), 0, 0);
        stopAs(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 4000, ONE_HOUR_DEPOSIT, 0);
        assertEq(token.balanceOf(buyer), buyerBefore, "nothing to refund");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 4000);
        assertProviderRecord(provider, 0, 1, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.RanDry, uint40(T0 + 3700), 0, 0);
        stopAs(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3700, ONE_HOUR_DEPOSIT, 0);
        assertEq(token.balanceOf(buyer), buyerBefore, "nothing to refund");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3700);
        assertProviderRecord(provider, 0, 1, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsHalted_WhenItsRetentionIsOver() external {
        uint256 leaseId = openHalted();
        skip(RETENTION + 1);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.RanDry, uint40(T0 + 3601 + RETENTION), 0, 0);
        stopAs(buyer, leaseId);
        assertStatus(leaseId, LeaseStatus.Closed);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3601 + RETENTION);
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(2 * ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);
        assertRates(2 * P, P);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.BuyerStopped, uint40(T0 + 3700), 2 * ONE_HOUR_DEPOSIT, 0);
        stopAs(buyer, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3700, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + 2 * ONE_HOUR_DEPOSIT, "resuming funds refunded");
        // A restart-pending lease is not in the rates: the bystanders' running leases are all they count.
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3700);
        assertProviderRecord(provider, 1, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }
}
