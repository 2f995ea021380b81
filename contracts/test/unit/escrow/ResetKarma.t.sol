// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.resetKarma, see resetKarma.tree.
contract ResetKarmaTest is EscrowBase {
    /// @dev Gives `buyer` exactly the trusted karma: 100 s of a one-token-per-second lease. Returns the lease.
    function _earnTrustedKarma() private returns (uint256 leaseId) {
        uint32 pricey = publishOfferAt(1e18);
        leaseId = openRunningOn(buyer, pricey, 100e18);
        skip(100);
        haltAs(stranger, leaseId);
    }

    function test_RevertWhen_TheCallerIsNotTheBuyerTrustContract() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyerTrust.selector, stranger));
        vm.prank(stranger);
        escrow.resetKarma(buyer);

        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_NotBuyerTrust.selector, operator));
        vm.prank(operator);
        escrow.resetKarma(buyer);
    }

    function test_GivenTheBuyerHasKarma() external {
        openClosed();
        assertBuyerRecord(buyer, 0, 1, 1800 * P, T0 + 1800);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.KarmaReset(buyer);
        vm.prank(address(buyerTrust));
        escrow.resetKarma(buyer);

        assertBuyerRecord(buyer, 0, 1, 0, T0 + 1800);
    }

    function test_GivenTheBuyerHasNoKarma() external {
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.KarmaReset(stranger);
        vm.prank(address(buyerTrust));
        escrow.resetKarma(stranger);
        assertBuyerRecord(stranger, 0, 0, 0, 0);
    }

    function test_WhenAnAbuseReportIsUpheld() external {
        uint256 leaseId = _earnTrustedKarma();
        (uint256 limit, bool isAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(limit, 13, "limit with karma");
        assertFalse(isAnonymous, "trusted by karma");

        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(leaseId, "ipfs://evidence");
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.KarmaReset(buyer);
        vm.prank(operator);
        buyerTrust.resolveReport(reportId, true, 0);

        assertBuyerRecord(buyer, 1, 1, 0, 0);
        (limit, isAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(limit, 3, "base limit");
        assertTrue(isAnonymous, "anonymous again");
    }

    function test_WhenAnAbuseReportIsDismissed() external {
        uint256 leaseId = _earnTrustedKarma();
        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(leaseId, "ipfs://evidence");
        vm.prank(operator);
        buyerTrust.resolveReport(reportId, false, 0);
        assertBuyerRecord(buyer, 1, 1, TRUSTED_KARMA, 0);
    }
}
