// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {EndReason, LeaseStatus} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.close, see close.tree.
contract CloseTest is EscrowBase {
    function _close(uint256 leaseId) private {
        vm.prank(stranger);
        escrow.close(leaseId);
    }

    function _expectRevertClose(uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        _close(leaseId);
    }

    function _wrongStatus(uint256 leaseId, LeaseStatus status) private pure returns (bytes memory) {
        return abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, status);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertClose(1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertGiven_TheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(RETENTION + BOOT_TIMEOUT + 1);
        _expectRevertClose(leaseId, _wrongStatus(leaseId, LeaseStatus.Pending));
    }

    function test_RevertGiven_TheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        skip(RETENTION + 1);
        _expectRevertClose(leaseId, _wrongStatus(leaseId, LeaseStatus.RestartPending));
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        skip(RETENTION + 1);
        _expectRevertClose(leaseId, _wrongStatus(leaseId, LeaseStatus.Closed));
    }

    function test_RevertGiven_TheLeaseIsRunning_WhenItsBalanceIsNotSpent() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        _expectRevertClose(
            leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotDry.selector, leaseId, uint40(T0 + 3600))
        );
    }

    function test_RevertGiven_TheLeaseIsRunningButDry_WhenTheRetentionWindowIsNotOver() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600 + RETENTION);
        _expectRevertClose(
            leaseId,
            abi.encodeWithSelector(
                ILeaseEscrow.Escrow_RetentionNotOver.selector, leaseId, uint40(T0 + 3600 + RETENTION)
            )
        );
    }

    function test_GivenTheLeaseIsRunningButDry_WhenTheRetentionWindowIsOver() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600 + RETENTION + 1);
        uint256 escrowBefore = token.balanceOf(address(escrow));
        uint256 buyerBefore = token.balanceOf(buyer);
        uint40 endedAt = uint40(T0 + 3601 + RETENTION);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.RanDry, endedAt, 0, 0);
        _close(leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, endedAt, ONE_HOUR_DEPOSIT, 0);
        assertState(leaseId, LeaseStatus.Closed, 0, ONE_HOUR_DEPOSIT, 0);
        assertEq(token.balanceOf(address(escrow)), escrowBefore, "no tokens move");
        assertEq(token.balanceOf(buyer), buyerBefore, "no refund");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, endedAt);
        assertProviderRecord(provider, 0, 1, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }

    function test_RevertGiven_TheLeaseIsHalted_WhenTheRetentionWindowIsNotOver() external {
        uint256 leaseId = openHalted();
        skip(RETENTION);
        _expectRevertClose(
            leaseId,
            abi.encodeWithSelector(
                ILeaseEscrow.Escrow_RetentionNotOver.selector, leaseId, uint40(T0 + 3600 + RETENTION)
            )
        );
    }

    function test_GivenTheLeaseIsHalted_WhenTheRetentionWindowIsOver() external {
        uint256 leaseId = openHalted();
        skip(RETENTION + 1);
        uint40 endedAt = uint40(T0 + 3601 + RETENTION);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.RanDry, endedAt, 0, 0);
        _close(leaseId);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseHalted.selector), 0, "halt not recorded again");
        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.LeaseSettled.selector), 0, "nothing settled again");
        assertLease(leaseId, buyer, LeaseStatus.Closed, true, endedAt, ONE_HOUR_DEPOSIT, 0);
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, endedAt);
        assertProviderRecord(provider, 0, 1, 0, 0, 0, 3600);
        assertEscrowBalanced();
    }
}
