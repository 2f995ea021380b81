// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.leaseParties, see leaseParties.tree.
contract LeasePartiesTest is EscrowBase {
    function _assertParties(
        uint256 leaseId,
        address expectedBuyer,
        address expectedProvider,
        uint32 expectedPool,
        LeaseStatus expectedStatus,
        uint256 expectedEndedAt
    ) private view {
        (address b, address p, uint32 pool, LeaseStatus status, uint40 endedAt) = escrow.leaseParties(leaseId);
        assertEq(b, expectedBuyer, "buyer");
        assertEq(p, expectedProvider, "provider");
        assertEq(uint256(pool), uint256(expectedPool), "poolId");
        assertEq(uint256(status), uint256(expectedStatus), "status");
        assertEq(uint256(endedAt), expectedEndedAt, "endedAt");
    }

    function test_RevertWhen_TheLeaseDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 3));
        escrow.leaseParties(3);
    }

    function test_GivenTheLeaseIsNotClosed() external {
        uint256 pending = openAs(buyer, ONE_HOUR_DEPOSIT);
        _assertParties(pending, buyer, provider, poolId, LeaseStatus.Pending, 0);
        uint256 running = openRunning(ONE_HOUR_DEPOSIT);
        _assertParties(running, buyer, provider, poolId, LeaseStatus.Running, 0);
        uint256 halted = openHalted();
        _assertParties(halted, buyer, provider, poolId, LeaseStatus.Halted, 0);
        topUpAs(buyer, halted, ONE_HOUR_DEPOSIT);
        _assertParties(halted, buyer, provider, poolId, LeaseStatus.RestartPending, 0);

        (uint32 pool2, uint32 offerInPool2) = addPool2();
        uint32 otherOffer = addProvider2();
        uint256 inPool2 = openOn(trustedBuyer, offerInPool2, ONE_HOUR_DEPOSIT);
        _assertParties(inPool2, trustedBuyer, provider, pool2, LeaseStatus.Pending, 0);
        uint256 ofProvider2 = openOn(trustedBuyer, otherOffer, ONE_HOUR_DEPOSIT);
        _assertParties(ofProvider2, trustedBuyer, provider2, poolId, LeaseStatus.Pending, 0);
    }

    function test_GivenTheLeaseIsRunningButDry() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(4000);
        _assertParties(leaseId, buyer, provider, poolId, LeaseStatus.Running, 0);
    }

    function test_GivenTheLeaseIsClosed() external {
        uint256 leaseId = openClosed();
        _assertParties(leaseId, buyer, provider, poolId, LeaseStatus.Closed, T0 + 1800);
        skip(3 days);
        withdrawAs(provider, single(leaseId), provider);
        _assertParties(leaseId, buyer, provider, poolId, LeaseStatus.Closed, T0 + 1800);
    }
}
