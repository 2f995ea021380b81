// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice The simple views and constants of LeaseEscrow, see views.tree. leaseState, leaseParties, buyerLimit and
/// anonFee have their own files.
contract ViewsTest is EscrowBase {
    function test_Constants() external view {
        assertEq(escrow.MIN_PREPAID_SECONDS(), 60, "MIN_PREPAID_SECONDS");
        assertEq(escrow.MAX_SSH_KEY_LENGTH(), 2048, "MAX_SSH_KEY_LENGTH");
        assertEq(escrow.MAX_USER_DATA_LENGTH(), 16_384, "MAX_USER_DATA_LENGTH");
        assertEq(escrow.MAX_ACCESS_LENGTH(), 4096, "MAX_ACCESS_LENGTH");
        assertEq(address(escrow.TOKEN()), address(token), "TOKEN");
        assertEq(address(escrow.POOLS()), address(pools), "POOLS");
        assertEq(address(escrow.REGISTRY()), address(registry), "REGISTRY");
        assertEq(address(escrow.OFFERS()), address(offers), "OFFERS");
        assertEq(address(escrow.BUYER_TRUST()), address(buyerTrust), "BUYER_TRUST");
    }

    function test_RevertWhen_GetLeaseIsAskedForAnUnknownLease() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 0));
        escrow.getLease(0);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, 2));
        escrow.getLease(2);
    }

    function test_WhenUserDataHashIsAskedForAnUnknownLease() external view {
        assertEq(escrow.userDataHash(42), bytes32(0), "zero");
    }

    function test_LeaseCount() external {
        assertEq(escrow.leaseCount(), 0, "none");
        openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.expectRevert(
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DepositTooSmall.selector, MIN_DEPOSIT, MIN_DEPOSIT - 1)
        );
        vm.prank(buyer);
        escrow.openLease(openParams(MIN_DEPOSIT - 1));
        openAs(trustedBuyer, ONE_HOUR_DEPOSIT);
        assertEq(escrow.leaseCount(), 2, "two");
    }

    function test_GivenLeasesInSeveralPools() external {
        (uint32 pool2, uint32 offerInPool2) = addPool2();
        uint32 offer2 = publishOfferAt(2 * PRICE);
        openRunningOn(stranger, offerInPool2, ONE_HOUR_DEPOSIT);
        openRunningOn(buyer, offer2, 2 * ONE_HOUR_DEPOSIT);
        openRunningOn(trustedBuyer, offerInPool2, ONE_HOUR_DEPOSIT);
        // Pending leases are not counted until acknowledged.
        openOn(buyer, offerId, ONE_HOUR_DEPOSIT);
        openOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        assertEq(escrow.globalRate(), 4 * P, "global");
        assertEq(escrow.anonRate(poolId), 2 * P, "pool 1 anonymous");
        assertEq(escrow.anonRate(pool2), P, "pool 2 anonymous");
        assertEq(escrow.anonRate(99), 0, "unknown pool");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + SECOND_ANON_FEE, "pool 1 fees");
        assertEq(escrow.poolFees(pool2), FIRST_ANON_FEE, "pool 2 fees");
        assertEscrowBalanced();
    }

    function test_GivenNoHistory() external view {
        assertBuyerRecord(stranger, 0, 0, 0, 0);
        assertProviderRecord(stranger, 0, 0, 0, 0, 0, 0);
        assertOfferLoad(77, 0, 0);
        assertEq(escrow.poolFees(77), 0, "fees");
        assertEq(escrow.globalRate(), 0, "global rate");
    }

    function test_GivenLeasesOfAnOfferEnded() external {
        uint256 first = openAs(buyer, ONE_HOUR_DEPOSIT);
        uint256 second = openAs(buyer, ONE_HOUR_DEPOSIT);
        stopAs(buyer, first);
        assertOfferLoad(offerId, 1, 2);
        assertBuyerRecord(buyer, 1, 2, 0, T0);
        skip(100);
        stopAs(buyer, second);
        assertOfferLoad(offerId, 0, 2);
        // The buyer's latest end replaces the earlier one.
        assertBuyerRecord(buyer, 0, 2, 0, T0 + 100);
    }
}
