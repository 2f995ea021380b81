// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.leaseState, see leaseState.tree.
contract LeaseStateTest is EscrowBase {
    function test_RevertWhen_TheLeaseDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 1));
        escrow.leaseState(1);
    }

    function test_GivenTheLeaseIsPending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 100);
        assertState(leaseId, LeaseStatus.Pending, ONE_HOUR_DEPOSIT, 0, 0);
    }

    function test_GivenTheLeaseIsRunning_WhenItsBalanceIsNotSpent() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT, 0, T0 + 3600);
        skip(1000);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT - 1000 * P, 1000 * P, T0 + 3600);
        skip(2599);
        assertState(leaseId, LeaseStatus.Running, P, 3599 * P, T0 + 3600);
    }

    function test_GivenTheLeaseIsRunning_WhenTheLastPartialSecondIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT + 1);
        skip(3600);
        assertState(leaseId, LeaseStatus.Running, 1, ONE_HOUR_DEPOSIT, T0 + 3601);
        skip(1);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT + 1, T0 + 3601);
    }

    function test_GivenTheLeaseIsRunning_GivenTheProviderWithdrewPartOfTheEarnings() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        withdrawAs(provider, single(leaseId), provider);
        skip(200);
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT - 2000 * P, 200 * P, T0 + 3600);
    }

    function test_GivenTheLeaseIsRunning_WhenItsBalanceIsSpent() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT, T0 + 3600);
        assertStatus(leaseId, LeaseStatus.Running);
        skip(5 days);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT, T0 + 3600);
    }

    function test_GivenTheLeaseIsRunning_GivenTheRunwayIsCapped() external {
        uint32 cheap = publishOfferAt(1);
        uint256 leaseId = openRunningOn(buyer, cheap, 1e18);
        skip(1000);
        assertState(leaseId, LeaseStatus.Running, 1e18 - 1000, 1000, T0 + type(uint32).max);
    }

    function test_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        skip(100);
        assertState(leaseId, LeaseStatus.Halted, 0, ONE_HOUR_DEPOSIT, T0 + 3600);
    }

    function test_GivenTheLeaseIsHalted_GivenTheProviderWithdrewTheEarnings() external {
        uint256 leaseId = openHalted();
        withdrawAs(provider, single(leaseId), provider);
        assertState(leaseId, LeaseStatus.Halted, 0, 0, T0 + 3600);
    }

    function test_GivenTheLeaseIsRestartPending() external {
        uint256 leaseId = openRestartPending(2 * ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        assertState(leaseId, LeaseStatus.RestartPending, 2 * ONE_HOUR_DEPOSIT, 0, 0);
    }

    function test_GivenTheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        assertState(leaseId, LeaseStatus.Closed, 0, 1800 * P, 0);
    }

    function test_GivenTheLeaseIsClosed_GivenTheProviderWithdrewTheEarnings() external {
        uint256 leaseId = openClosed();
        withdrawAs(provider, single(leaseId), provider);
        assertState(leaseId, LeaseStatus.Closed, 0, 0, 0);
    }
}
