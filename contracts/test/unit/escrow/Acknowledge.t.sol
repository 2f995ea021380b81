// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.acknowledge, see acknowledge.tree.
contract AcknowledgeTest is EscrowBase {
    function _expectRevertAck(address who, uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        vm.prank(who);
        escrow.acknowledge(leaseId, ACCESS, HOST_KEY);
    }

    function _wrongStatus(uint256 leaseId, LeaseStatus status) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, status);
    }

    function test_RevertWhen_TheAccessDetailsAreLargerThan4KiB() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_PayloadTooLarge.selector, 4097, 4096));
        vm.prank(provider);
        escrow.acknowledge(leaseId, new bytes(4097), HOST_KEY);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertAck(provider, 1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertGiven_TheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertAck(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Running));
    }

    function test_RevertGiven_TheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600);
        _expectRevertAck(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Running));
    }

    function test_RevertGiven_TheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        _expectRevertAck(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Halted));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _expectRevertAck(provider, leaseId, _wrongStatus(leaseId, LeaseStatus.Closed));
    }

    function test_RevertWhen_TheCallerIsNotTheProvider() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        _expectRevertAck(
            stranger, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, stranger)
        );
        _expectRevertAck(
            buyer, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, buyer)
        );
    }

    function test_RevertWhen_TheBootDeadlineHasPassed() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertAck(
            provider,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DeadlinePassed.selector, leaseId, uint40(T0 + BOOT_TIMEOUT))
        );
    }

    function test_RevertWhen_TheRestartDeadlineHasPassed() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        _expectRevertAck(
            provider,
            leaseId,
            abi.encodeWithSelector(
                ILeaseEscrow.Escrow_DeadlinePassed.selector, leaseId, uint40(T0 + 3600 + BOOT_TIMEOUT)
            )
        );
    }

    function test_WhenTheAccessDetailsAreExactly4KiB() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        bytes memory access = new bytes(4096);
        access[4095] = 0x01;
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseAcknowledged(leaseId, provider, uint40(T0), uint40(T0 + 3600), HOST_KEY, access);
        vm.prank(provider);
        escrow.acknowledge(leaseId, access, HOST_KEY);
        assertStatus(leaseId, LeaseStatus.Running);
    }

    function test_WhenItIsExactlyTheDeadline() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT);
        acknowledgeAs(provider, leaseId);
        assertLease(leaseId, buyer, LeaseStatus.Running, true, T0 + BOOT_TIMEOUT, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
    }

    function test_WhenTheRunwayExceeds2To32Seconds() external {
        // One wei per second: a token lasts 10**18 s, far beyond the 2**32 - 1 s cap.
        uint32 cheap = publishOfferAt(1);
        uint256 leaseId = openOn(buyer, cheap, 1e18);
        uint40 capped = uint40(T0 + type(uint32).max);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseAcknowledged(leaseId, provider, uint40(T0), capped, HOST_KEY, ACCESS);
        acknowledgeAs(provider, leaseId);
        assertState(leaseId, LeaseStatus.Running, 1e18, 0, capped);
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(100);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        assertRates(0, 0);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseAcknowledged(
            leaseId, provider, uint40(T0 + 100), uint40(T0 + 100 + 3600), HOST_KEY, ACCESS
        );
        acknowledgeAs(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Running, true, T0 + 100, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT, 0, T0 + 3700);
        assertEq(token.balanceOf(address(escrow)), escrowBefore, "no tokens move");
        assertRates(P, P);
        assertOfferLoad(offerId, 1, 1);
        assertBuyerRecord(buyer, 1, 1, 0, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 0);

        // Billing runs from the acknowledgement, not from the opening.
        skip(1000);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT - 1000 * P, 1000 * P, T0 + 3700);
    }

    function test_GivenThePendingLeaseIsNotAnonymous() external {
        runBystanders();
        uint256 leaseId = openOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        assertRates(2 * P, P);
        acknowledgeAs(provider, leaseId);
        assertRates(3 * P, P);
        assertLease(leaseId, trustedBuyer, LeaseStatus.Running, false, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
    }

    function test_GivenThePendingLeaseIsInAnotherPool() external {
        (uint32 pool2, uint32 offerInPool2) = addPool2();
        runBystanders();
        uint256 leaseId = openOn(buyer, offerInPool2, 2 * ONE_HOUR_DEPOSIT);
        acknowledgeAs(provider, leaseId);
        assertRates(3 * P, P);
        assertEq(escrow.anonRate(pool2), P, "pool 2 anonymous rate");
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(2 * ONE_HOUR_DEPOSIT);
        skip(100);
        assertRates(0, 0);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseAcknowledged(
            leaseId, provider, uint40(T0 + 3700), uint40(T0 + 3700 + 7200), HOST_KEY, ACCESS
        );
        acknowledgeAs(provider, leaseId);

        assertLease(
            leaseId, buyer, LeaseStatus.Running, true, T0 + 3700, 2 * ONE_HOUR_DEPOSIT, T0 + 3600 + BOOT_TIMEOUT
        );
        assertState(leaseId, LeaseStatus.Running, 2 * ONE_HOUR_DEPOSIT, 0, T0 + 3700 + 7200);
        assertRates(P, P);
        skip(60);
        assertState(leaseId, LeaseStatus.Running, 2 * ONE_HOUR_DEPOSIT - 60 * P, 60 * P, T0 + 3700 + 7200);
    }
}
