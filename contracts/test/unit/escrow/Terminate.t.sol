// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {EndReason, LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.terminate, see terminate.tree.
contract TerminateTest is EscrowBase {
    function _terminateAs(address who, uint256 leaseId) private {
        vm.prank(who);
        escrow.terminate(leaseId);
    }

    function _expectRevertTerminate(address who, uint256 leaseId, bytes memory revertData) private {
        vm.expectRevert(revertData);
        _terminateAs(who, leaseId);
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        _expectRevertTerminate(provider, 1, abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
    }

    function test_RevertWhen_TheCallerIsNotTheProvider() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        _expectRevertTerminate(
            buyer, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, buyer)
        );
        _expectRevertTerminate(
            stranger, leaseId, abi.encodeWithSelector(ILeaseEscrow.Escrow_NotProvider.selector, leaseId, stranger)
        );
    }

    function test_RevertGiven_TheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        _expectRevertTerminate(
            provider,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, LeaseStatus.Pending)
        );
    }

    function test_RevertGiven_TheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _expectRevertTerminate(
            provider,
            leaseId,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_WrongStatus.selector, leaseId, LeaseStatus.Closed)
        );
    }

    function test_GivenTheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 earned = 1800 * P;

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, earned, 1800);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(
            leaseId, EndReason.ProviderTerminated, uint40(T0 + 1800), ONE_HOUR_DEPOSIT - earned, 0
        );
        _terminateAs(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 1800, earned, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT - earned, "unspent refunded");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, earned, T0 + 1800);
        assertProviderRecord(provider, 0, 0, 0, 1, 0, 1800);
        assertEq(uint256(registry.stakeOf(poolId, provider).bonded), MIN_STAKE, "no slash");
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(5000);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseSettled(leaseId, ONE_HOUR_DEPOSIT, 3600);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseHalted(leaseId, uint40(T0 + 3600), uint40(T0 + 3600 + RETENTION));
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.ProviderTerminated, uint40(T0 + 5000), 0, 0);
        _terminateAs(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 5000, ONE_HOUR_DEPOSIT, 0);
        assertEq(token.balanceOf(buyer), buyerBefore, "nothing to refund");
        assertRates(0, 0);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 5000);
        assertProviderRecord(provider, 0, 0, 0, 1, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.ProviderTerminated, uint40(T0 + 3700), 0, 0);
        _terminateAs(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3700, ONE_HOUR_DEPOSIT, 0);
        assertEq(token.balanceOf(buyer), buyerBefore, "nothing to refund");
        assertRates(0, 0);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3700);
        assertProviderRecord(provider, 0, 0, 0, 1, 0, 3600);
        assertEscrowBalanced();
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(ONE_HOUR_DEPOSIT);
        runBystanders();
        skip(100);
        uint256 buyerBefore = token.balanceOf(buyer);
        assertRates(2 * P, P);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseEnded(leaseId, EndReason.ProviderTerminated, uint40(T0 + 3700), ONE_HOUR_DEPOSIT, 0);
        _terminateAs(provider, leaseId);

        assertLease(leaseId, buyer, LeaseStatus.Closed, true, T0 + 3700, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore + ONE_HOUR_DEPOSIT, "resuming funds refunded");
        // A restart-pending lease is not in the rates: the bystanders' running leases are all they count.
        assertRates(2 * P, P);
        assertOfferLoad(offerId, 0, 1);
        assertBuyerRecord(buyer, 0, 1, ONE_HOUR_DEPOSIT, T0 + 3700);
        assertProviderRecord(provider, 0, 0, 0, 1, 0, 3600);
        assertEscrowBalanced();
    }
}
