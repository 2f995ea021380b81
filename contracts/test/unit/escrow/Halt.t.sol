// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.halt, see halt.tree.
contract HaltTest is EscrowBase {
    function _expectRevertHalt(uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        vm.prank(stranger);
        escrow.halt(leaseId);
    }

    function _wrongStatus(uint256 leaseId, LeaseStatus status) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, status);
    }

    function _notDry(uint256 leaseId, uint256 paidUntil) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_NotDry.selector, leaseId, uint40(paidUntil));
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertHalt(1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertGiven_TheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertHalt(leaseId, _wrongStatus(leaseId, LeaseStatus.Pending));
    }

    function test_RevertGiven_TheLeaseIsHaltedAlready() external {
        uint256 leaseId = openHalted();
        _expectRevertHalt(leaseId, _wrongStatus(leaseId, LeaseStatus.Halted));
    }

    function test_RevertGiven_TheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        _expectRevertHalt(leaseId, _wrongStatus(leaseId, LeaseStatus.RestartPending));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _expectRevertHalt(leaseId, _wrongStatus(leaseId, LeaseStatus.Closed));
    }

    function test_RevertWhen_ItsBalanceIsNotSpent() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        _expectRevertHalt(leaseId, _notDry(leaseId, T0 + 3600));
        skip(1799);
        _expectRevertHalt(leaseId, _notDry(leaseId, T0 + 3600));
    }

    function test_RevertWhen_TheLastPartialSecondIsNotOver() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT + 1);
        skip(3600);
        _expectRevertHalt(leaseId, _notDry(leaseId, T0 + 3601));
    }

    function test_WhenItIsExactlyPaidUntil() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        uint256 providerBefore = token.balanceOf(provider);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        haltAs(stranger, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, ONE_HOUR_DEPOSIT, T0 + 3600 + RETENTION);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT, T0 + 3600);
        assertRates(0, 0);
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertOfferLoad(offerId, 1, 1);
        assertEq(token.balanceOf(address(escrow)), escrowBefore, "escrow unchanged");
        assertEq(token.balanceOf(provider), providerBefore, "provider unchanged");
        assertEq(token.balanceOf(buyer), buyerBefore, "buyer unchanged");
        assertEscrowBalanced();
    }

    function test_WhenItIsLongAfterPaidUntil() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(10 * 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        haltAs(buyer, leaseId);
        assertLease(leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, ONE_HOUR_DEPOSIT, T0 + 3600 + RETENTION);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
    }

    function test_WhenTheLastSecondWasPartial() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT + 1);
        skip(3601);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT + 1, 3601);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3601), uint40(T0 + 3601 + RETENTION));
        haltAs(stranger, leaseId);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT + 1, T0 + 3601);
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT + 1, 0);
    }

    function test_GivenTheProviderWithdrewPartOfTheEarningsBefore() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        withdrawAs(provider, single(leaseId), provider);
        skip(1800);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT - 1800 * P, 1800);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        haltAs(stranger, leaseId);
        assertLease(
            leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, ONE_HOUR_DEPOSIT - 1800 * P, T0 + 3600 + RETENTION
        );
        assertBuyerRecord(buyer, 1, 1, ONE_HOUR_DEPOSIT, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheOffersRetentionChangedSinceTheLeaseOpened() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        setOfferTerms(terms(PRICE, CAPACITY, BOOT_TIMEOUT, 2 hours));
        skip(3600);
        haltAs(stranger, leaseId);
        assertLease(leaseId, buyer, LeaseStatus.Halted, true, T0 + 3600, ONE_HOUR_DEPOSIT, T0 + 3600 + 2 hours);
    }

    function test_GivenTheLeaseIsNotAnonymous() external {
        uint256 anonLease = openRunning(2 * ONE_HOUR_DEPOSIT);
        uint256 trusted = openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        assertRates(2 * P, P);
        skip(3600);
        haltAs(stranger, trusted);
        assertRates(P, P);
        assertStatus(anonLease, LeaseStatus.Running);
        assertBuyerRecord(trustedBuyer, 1, 1, ONE_HOUR_DEPOSIT, 0);
    }

    function test_GivenTheRunwayIsCappedAt2To32Seconds() external {
        uint32 cheap = publishOfferAt(1);
        uint256 leaseId = openRunningOn(buyer, cheap, 1e18);
        uint256 cap = type(uint32).max;
        skip(cap - 1);
        _expectRevertHalt(leaseId, _notDry(leaseId, T0 + cap));
        skip(1);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, 1e18, cap);
        haltAs(stranger, leaseId);
        assertLease(leaseId, buyer, cheap, LeaseStatus.Halted, true, T0 + cap, 1e18, 1, T0 + cap + RETENTION, FEE_BPS);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, cap);
    }

    function test_GivenTheBuyersKarmaIsNearTheUint96Maximum() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        // Buyer record: active 1, opened 1, karma 0. Set karma to 2**96 - 2.
        bytes32 slot = buyerRecordSlot(buyer, 1 | (1 << 32));
        uint256 nearMax = uint256(type(uint96).max) - 1;
        vmStorage.store(address(escrow), slot, bytes32(1 | (1 << 32) | (nearMax << 96)));
        assertBuyerRecord(buyer, 1, 1, nearMax, 0);

        skip(3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        haltAs(stranger, leaseId);

        assertBuyerRecord(buyer, 1, 1, type(uint96).max, 0);
        assertStatus(leaseId, LeaseStatus.Halted);
    }
}
