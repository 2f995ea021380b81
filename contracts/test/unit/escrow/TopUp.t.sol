// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.topUp, see topUp.tree.
contract TopUpTest is EscrowBase {
    function _expectRevertTopUp(uint256 leaseId, uint256 amount, bytes memory revertData) private {
        vm.expectRevert(revertData);
        vm.prank(buyer);
        escrow.topUp(leaseId, amount);
    }

    function test_RevertWhen_TheAmountIsZero() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertTopUp(leaseId, 0, abi.encodeWithSelector(ILeaseEscrow.Escrow_ZeroAmount.selector));
    }

    function test_RevertWhen_TheAmountDoesNotFitInUint96() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        uint256 amount = uint256(type(uint96).max) + 1;
        _expectRevertTopUp(
            leaseId, amount, abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 96, amount)
        );
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertTopUp(7, ONE_HOUR_DEPOSIT, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 7));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _expectRevertTopUp(
            leaseId,
            ONE_HOUR_DEPOSIT,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, LeaseStatus.Closed)
        );
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, buyer, ONE_HOUR_DEPOSIT, 2 * ONE_HOUR_DEPOSIT, false, 0);
        topUpAs(buyer, leaseId, ONE_HOUR_DEPOSIT);

        assertLease(leaseId, buyer, LeaseStatus.Pending, true, T0, 2 * ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertState(leaseId, LeaseStatus.Pending, 2 * ONE_HOUR_DEPOSIT, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore - ONE_HOUR_DEPOSIT, "buyer paid");
        assertRates(0, 0);
        assertEscrowBalanced();

        // Not billed while pending: the whole two hours run from the acknowledgement.
        skip(300);
        acknowledgeAs(provider, leaseId);
        assertState(leaseId, LeaseStatus.Running, 2 * ONE_HOUR_DEPOSIT, 0, T0 + 300 + 7200);
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        skip(100);
        uint256 providerBefore = token.balanceOf(provider);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, stranger, ONE_HOUR_DEPOSIT, 2 * ONE_HOUR_DEPOSIT, false, 0);
        topUpAs(stranger, leaseId, ONE_HOUR_DEPOSIT);

        assertLease(
            leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, 2 * ONE_HOUR_DEPOSIT, T0 + 3600 + BOOT_TIMEOUT
        );
        assertEq(token.balanceOf(provider), providerBefore, "nothing paid out");
        assertRates(0, 0);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRunningWithABalance() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        uint256 strangerBefore = token.balanceOf(stranger);
        uint256 escrowBefore = token.balanceOf(address(escrow));

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, stranger, ONE_HOUR_DEPOSIT, 2 * ONE_HOUR_DEPOSIT, false, 0);
        topUpAs(stranger, leaseId, ONE_HOUR_DEPOSIT);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "nothing settled");
        assertLease(leaseId, buyer, LeaseStatus.Running, true, T0, 2 * ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertState(leaseId, LeaseStatus.Running, 2 * ONE_HOUR_DEPOSIT - 1800 * P, 1800 * P, T0 + 7200);
        assertEq(token.balanceOf(stranger), strangerBefore - ONE_HOUR_DEPOSIT, "payer paid");
        assertEq(token.balanceOf(address(escrow)), escrowBefore + ONE_HOUR_DEPOSIT, "escrow holds it");
        assertBuyerRecord(buyer, 1, 1, 0, 0);
        assertRates(P, P);
        assertEscrowBalanced();
    }

    function test_RevertGiven_TheLeaseIsRunningButDry_WhenItsRetentionWindowIsOver() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600 + RETENTION + 1);
        _expectRevertTopUp(
            leaseId,
            ONE_HOUR_DEPOSIT,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_RetentionOver.selector, leaseId, uint40(T0 + 3600 + RETENTION))
        );
    }

    function test_RevertGiven_TheLeaseIsRunningButDry_WhenTheAmountPaysForLessThan60Seconds() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3700);
        _expectRevertTopUp(
            leaseId,
            MIN_DEPOSIT - 1,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DepositTooSmall.selector, MIN_DEPOSIT, MIN_DEPOSIT - 1)
        );
    }

    function test_GivenTheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3700);
        // The halt is not recorded yet: the lease still counts.
        assertRates(P, P);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        uint40 restartDeadline = uint40(T0 + 3700 + BOOT_TIMEOUT);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(ONE_HOUR_DEPOSIT), poolFee(ONE_HOUR_DEPOSIT));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, buyer, ONE_HOUR_DEPOSIT, ONE_HOUR_DEPOSIT, true, restartDeadline);
        topUpAs(buyer, leaseId, ONE_HOUR_DEPOSIT);

        assertLease(leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, ONE_HOUR_DEPOSIT, restartDeadline);
        assertState(leaseId, LeaseStatus.RestartPending, ONE_HOUR_DEPOSIT, 0, 0);
        assertEq(token.balanceOf(provider), providerBefore + net(ONE_HOUR_DEPOSIT), "provider paid");
        assertEq(token.balanceOf(buyer), buyerBefore - ONE_HOUR_DEPOSIT, "buyer paid");
        assertEq(
            token.balanceOf(address(escrow)),
            escrowBefore + ONE_HOUR_DEPOSIT - net(ONE_HOUR_DEPOSIT),
            "escrow keeps new funds and fee"
        );
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + poolFee(ONE_HOUR_DEPOSIT), "pool fee");
        // Out of the rates with the halt, back in only when the provider acknowledges the restart.
        assertRates(0, 0);
        assertOfferLoad(offerId, 1, 1);
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_RevertGiven_TheLeaseIsHalted_WhenItsRetentionWindowIsOver() external {
        uint256 leaseId = openHalted();
        skip(RETENTION + 1);
        _expectRevertTopUp(
            leaseId,
            ONE_HOUR_DEPOSIT,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_RetentionOver.selector, leaseId, uint40(T0 + 3600 + RETENTION))
        );
    }

    function test_RevertGiven_TheLeaseIsHalted_WhenTheAmountPaysForLessThan60Seconds() external {
        uint256 leaseId = openHalted();
        _expectRevertTopUp(
            leaseId,
            MIN_DEPOSIT - 1,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DepositTooSmall.selector, MIN_DEPOSIT, MIN_DEPOSIT - 1)
        );
    }

    function test_GivenTheLeaseIsHalted_WhenItIsExactlyTheEndOfRetention() external {
        uint256 leaseId = openHalted();
        skip(RETENTION);
        uint40 restartDeadline = uint40(T0 + 3600 + RETENTION + BOOT_TIMEOUT);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, buyer, MIN_DEPOSIT, MIN_DEPOSIT, true, restartDeadline);
        topUpAs(buyer, leaseId, MIN_DEPOSIT);
        assertLease(leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, MIN_DEPOSIT, restartDeadline);
    }

    function test_GivenTheLeaseIsHalted_GivenTheProviderAlreadyWithdrewTheEarnings() external {
        uint256 leaseId = openHalted();
        withdrawAs(provider, single(leaseId), provider);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 feesBefore = escrow.poolFees(poolId);

        vm.recordLogs();
        topUpAs(buyer, leaseId, ONE_HOUR_DEPOSIT);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeasePaidOut.selector), 0, "nothing paid out");
        assertEq(token.balanceOf(provider), providerBefore, "provider unchanged");
        assertEq(escrow.poolFees(poolId), feesBefore, "pool fees unchanged");
        assertLease(
            leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, ONE_HOUR_DEPOSIT, T0 + 3600 + BOOT_TIMEOUT
        );
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsHalted_GivenTheOffersTermsChanged() external {
        uint256 leaseId = openHalted();
        setOfferTerms(terms(2 * PRICE, CAPACITY, 20 minutes, RETENTION));
        // 60 s at the lease's own price is enough, although the offer now charges twice as much.
        topUpAs(buyer, leaseId, MIN_DEPOSIT);
        assertLease(leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, MIN_DEPOSIT, T0 + 3600 + 20 minutes);
        assertRates(0, 0);
        acknowledgeAs(provider, leaseId);
        assertRates(P, P);
    }

    function test_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        skip(1000);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 strangerBefore = token.balanceOf(stranger);
        uint40 restartDeadline = uint40(T0 + 4600 + BOOT_TIMEOUT);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(ONE_HOUR_DEPOSIT), poolFee(ONE_HOUR_DEPOSIT));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(
            leaseId, stranger, 2 * ONE_HOUR_DEPOSIT, 2 * ONE_HOUR_DEPOSIT, true, restartDeadline
        );
        topUpAs(stranger, leaseId, 2 * ONE_HOUR_DEPOSIT);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseHalted.selector), 0, "halt not recorded again");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "nothing settled again");
        assertLease(leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, 2 * ONE_HOUR_DEPOSIT, restartDeadline);
        assertEq(token.balanceOf(provider), providerBefore + net(ONE_HOUR_DEPOSIT), "provider paid");
        assertEq(token.balanceOf(stranger), strangerBefore - 2 * ONE_HOUR_DEPOSIT, "payer paid");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + poolFee(ONE_HOUR_DEPOSIT), "pool fee");
        assertRates(0, 0);
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT, 0);

        // The restart enters the rates when the provider acknowledges it.
        acknowledgeAs(provider, leaseId);
        assertRates(P, P);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }
}
