// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.withdraw, see withdraw.tree.
contract WithdrawTest is EscrowBase {
    function _expectRevertWithdraw(address who, uint256[] memory leaseIds, address to, bytes memory revertData)
        private
    {
        vm.expectRevert(revertData);
        vm.prank(who);
        escrow.withdraw(leaseIds, to);
    }

    function test_RevertWhen_TheRecipientIsTheZeroAddress() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertWithdraw(
            provider, single(leaseId), address(0), abi.encodeWithSelector(ILeaseEscrow.Escrow_ZeroAddress.selector)
        );
        _expectRevertWithdraw(
            provider, new uint256[](0), address(0), abi.encodeWithSelector(ILeaseEscrow.Escrow_ZeroAddress.selector)
        );
    }

    function test_RevertWhen_ALeaseDoesNotExist() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertWithdraw(
            provider, ids2(leaseId, 5), provider, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 5)
        );
    }

    function test_RevertWhen_TheCallerIsNotTheProviderOfTheFirstLease() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        _expectRevertWithdraw(
            stranger,
            single(leaseId),
            stranger,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, stranger)
        );
    }

    function test_RevertWhen_TheCallerIsNotTheProviderOfALaterLease() external {
        uint32 otherOffer = addProvider2();
        uint256 own = openRunning(ONE_HOUR_DEPOSIT);
        uint256 other = openRunningOn(trustedBuyer, otherOffer, ONE_HOUR_DEPOSIT);
        skip(600);
        _expectRevertWithdraw(
            provider,
            ids2(own, other),
            provider,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, other, provider)
        );
    }

    function test_WhenTheListIsEmpty() external {
        uint256 before = token.balanceOf(provider);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, provider, 0, 0);
        uint256 amount = withdrawAs(provider, new uint256[](0), provider);
        assertEq(amount, 0, "amount");
        assertEq(token.balanceOf(provider), before, "nothing sent");
    }

    function test_GivenTheLeasesArePendingOrRestartPending() external {
        uint256 restarting = openRestartPending(ONE_HOUR_DEPOSIT);
        uint256 pending = openAs(trustedBuyer, ONE_HOUR_DEPOSIT);
        skip(300);
        uint256 before = token.balanceOf(provider);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, provider, 0, 2);
        uint256 amount = withdrawAs(provider, ids2(restarting, pending), provider);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(amount, 0, "amount");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeasePaidOut.selector), 0, "no payout");
        assertEq(countLogs(logs, address(token), IERC20.Transfer.selector), 0, "no transfer");
        assertEq(token.balanceOf(provider), before, "nothing sent");
        assertState(restarting, LeaseStatus.RestartPending, ONE_HOUR_DEPOSIT, 0, 0);
        assertState(pending, LeaseStatus.Pending, ONE_HOUR_DEPOSIT, 0, 0);
    }

    function test_GivenTheLeaseIsRunningWithABalance() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        uint256 payout = 1800 * P;
        uint256 providerBefore = token.balanceOf(provider);
        uint256 escrowBefore = token.balanceOf(address(escrow));

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, payout, 1800);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(payout), poolFee(payout));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, provider, net(payout), 1);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);

        assertEq(amount, net(payout), "amount");
        assertEq(token.balanceOf(provider), providerBefore + net(payout), "provider");
        assertEq(token.balanceOf(address(escrow)), escrowBefore - net(payout), "escrow");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + poolFee(payout), "pool fee");
        assertLease(leaseId, buyer, LeaseStatus.Running, true, T0 + 1800, ONE_HOUR_DEPOSIT - payout, T0 + BOOT_TIMEOUT);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT - payout, 0, T0 + 3600);
        assertRates(P, P);
        assertBuyerRecord(buyer, 1, 1, payout, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 1800);
        assertEscrowBalanced();
    }

    function test_GivenNothingWasBilledSinceTheLastWithdrawal() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        withdrawAs(provider, single(leaseId), provider);
        uint256 before = token.balanceOf(provider);

        vm.recordLogs();
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(amount, 0, "amount");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "nothing settled");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeasePaidOut.selector), 0, "no payout");
        assertEq(token.balanceOf(provider), before, "nothing sent");
    }

    function test_GivenTheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(5000);
        uint256 before = token.balanceOf(provider);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(ONE_HOUR_DEPOSIT), poolFee(ONE_HOUR_DEPOSIT));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, provider, net(ONE_HOUR_DEPOSIT), 1);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);

        assertEq(amount, net(ONE_HOUR_DEPOSIT), "amount");
        assertEq(token.balanceOf(provider), before + net(ONE_HOUR_DEPOSIT), "provider");
        assertLease(leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, 0, T0 + 3600 + RETENTION);
        assertState(leaseId, LeaseStatus.Halted, 0, 0, T0 + 3600);
        assertRates(0, 0);
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        uint256 before = token.balanceOf(provider);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(ONE_HOUR_DEPOSIT), poolFee(ONE_HOUR_DEPOSIT));
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "not settled again");
        assertEq(amount, net(ONE_HOUR_DEPOSIT), "amount");
        assertEq(token.balanceOf(provider), before + net(ONE_HOUR_DEPOSIT), "provider");
        assertLease(leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, 0, T0 + 3600 + RETENTION);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheHaltedLeaseWasPaidOutAlready() external {
        uint256 leaseId = openHalted();
        withdrawAs(provider, single(leaseId), provider);
        skip(100);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        assertEq(amount, 0, "amount");
    }

    function test_GivenTheLeaseWasStopped() external {
        uint256 leaseId = openClosed();
        skip(100);
        uint256 earned = 1800 * P;
        uint256 before = token.balanceOf(provider);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, net(earned), poolFee(earned));
        uint256 amount = withdrawAs(provider, single(leaseId), provider);

        assertEq(amount, net(earned), "amount");
        assertEq(token.balanceOf(provider), before + net(earned), "provider");
        // Still closed, at its end time: a payout does not touch settledAt.
        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 1800, 0, 0);
        assertProviderRecord(provider, 1, 0, 0, 0, 0, 1800);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseWasClosedAfterRunningDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600 + RETENTION + 1);
        vm.prank(stranger);
        escrow.close(leaseId);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        assertEq(amount, net(ONE_HOUR_DEPOSIT), "amount");
        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3601 + RETENTION, 0, 0);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseWasReclaimed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        vm.prank(buyer);
        escrow.reclaim(leaseId);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        assertEq(amount, 0, "amount");
    }

    function test_GivenThePoolFeeWasZeroWhenTheLeaseOpened() external {
        setFeeBps(0);
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        assertEq(uint256(escrow.getLease(leaseId).feeBps), 0, "fee snapshot");
        skip(1800);
        uint256 feesBefore = escrow.poolFees(poolId);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, 1800 * P, 0);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);

        assertEq(amount, 1800 * P, "everything to the provider");
        assertEq(escrow.poolFees(poolId), feesBefore, "nothing to the pool");
        assertEscrowBalanced();
    }

    function test_GivenThePoolRaisedItsFeeAfterTheLeaseOpened() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        setFeeBps(2000);
        skip(1800);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        assertEq(amount, net(1800 * P), "5% fee of the opening");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + poolFee(1800 * P), "pool fee");
    }

    function test_WhenTheFeeHasAFraction() external {
        // One wei per second: 39 wei earned, a 5% fee of 1.95 wei rounds down to 1.
        uint32 cheap = publishOfferAt(1);
        uint256 leaseId = openRunningOn(buyer, cheap, 60);
        skip(39);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeasePaidOut(leaseId, provider, 38, 1);
        uint256 amount = withdrawAs(provider, single(leaseId), provider);
        assertEq(amount, 38, "amount");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + 1, "pool fee");
        assertEq(uint256(escrow.getLease(leaseId).funds), 21, "rest");
        assertEscrowBalanced();
    }

    function test_WhenTheRecipientIsAnotherAddress() external {
        address treasury = makeAddr("treasury");
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        uint256 providerBefore = token.balanceOf(provider);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, treasury, net(1800 * P), 1);
        withdrawAs(provider, single(leaseId), treasury);

        assertEq(token.balanceOf(treasury), net(1800 * P), "recipient");
        assertEq(token.balanceOf(provider), providerBefore, "provider unchanged");
    }

    function test_GivenLeasesInMixedStatesOnSeveralOffers() external {
        uint32 offerB = publishOfferAt(2 * PRICE);
        uint256 running = openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        uint256 runningB = openRunningOn(trustedBuyer, offerB, 2 * ONE_HOUR_DEPOSIT);
        uint256 pending = openOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        uint256 stoppedB = openRunningOn(trustedBuyer, offerB, 2 * ONE_HOUR_DEPOSIT);
        uint256 dry = openRunningOn(trustedBuyer, offerId, MIN_DEPOSIT);
        uint256 reclaimedB = openOn(trustedBuyer, offerB, 2 * ONE_HOUR_DEPOSIT);
        skip(600);
        stopAs(trustedBuyer, stoppedB);
        skip(1);
        vm.prank(trustedBuyer);
        escrow.reclaim(reclaimedB);
        skip(1199);

        uint256[] memory ids = new uint256[](7);
        (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6]) =
        (running, runningB, pending, stoppedB, dry, reclaimedB, running);
        uint256 expected = net(1800 * P) + net(3600 * P) + net(1200 * P) + net(60 * P);
        uint256 expectedFees = poolFee(1800 * P) + poolFee(3600 * P) + poolFee(1200 * P) + poolFee(60 * P);
        uint256 providerBefore = token.balanceOf(provider);
        uint256 feesBefore = escrow.poolFees(poolId);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.EarningsWithdrawn(provider, provider, expected, 7);
        uint256 amount = withdrawAs(provider, ids, provider);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(amount, expected, "amount");
        assertEq(token.balanceOf(provider), providerBefore + expected, "provider");
        assertEq(escrow.poolFees(poolId), feesBefore + expectedFees, "pool fees");
        assertEq(countLogs(logs, address(token), IERC20.Transfer.selector), 1, "one transfer");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeasePaidOut.selector), 4, "four payouts");
        assertState(running, LeaseStatus.Running, ONE_HOUR_DEPOSIT - 1800 * P, 0, T0 + 3600);
        assertState(runningB, LeaseStatus.Running, 3600 * P, 0, T0 + 3600);
        assertState(pending, LeaseStatus.Pending, ONE_HOUR_DEPOSIT, 0, 0);
        assertState(stoppedB, LeaseStatus.Closed, 0, 0, 0);
        assertState(dry, LeaseStatus.Halted, 0, 0, T0 + 60);
        assertState(reclaimedB, LeaseStatus.Closed, 0, 0, 0);
        assertEq(escrow.globalRate(), 3 * P, "running and runningB remain; pending is not in it");
        assertBuyerRecord(trustedBuyer, 4, 6, 6660 * P, T0 + 601);
        assertProviderRecord(provider, 1, 0, 0, 0, 1, 600 + 1800 + 1800 + 60);
        assertEscrowBalanced();
    }
}
