// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {TrustParams} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.buyerLimit, see buyerLimit.tree. Defaults: base 3, max 50, one more lease per 100 tokens
/// of deposit and per 10 tokens of karma; trusted from 500 tokens of deposit or 100 of karma.
contract BuyerLimitTest is EscrowBase {
    function _assertLimit(address who, uint256 expectedLimit, bool expectedAnonymous) private view {
        (uint256 limit, bool isAnonymous) = escrow.buyerLimit(poolId, who);
        assertEq(limit, expectedLimit, "limit");
        assertEq(isAnonymous, expectedAnonymous, "isAnonymous");
    }

    /// @dev Gives `buyer` `karma` by running a one-token-per-second lease dry.
    function _earnKarma(uint256 karma) private {
        uint32 pricey = publishOfferAt(1e18);
        uint256 leaseId = openRunningOn(buyer, pricey, karma);
        skip(karma / 1e18);
        haltAs(stranger, leaseId);
        assertBuyerRecord(buyer, 1, 1, karma, 0);
    }

    function test_RevertWhen_ThePoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(9)));
        escrow.buyerLimit(9, buyer);
    }

    function test_GivenABuyerWithNoDepositAndNoKarma() external view {
        _assertLimit(buyer, 3, true);
    }

    function test_GivenADepositBelowTheTrustedDeposit() external {
        depositTrust(buyer, TRUSTED_DEPOSIT - 1);
        _assertLimit(buyer, 3 + 4, true);
    }

    function test_GivenADepositAtTheTrustedDeposit() external {
        depositTrust(buyer, TRUSTED_DEPOSIT);
        _assertLimit(buyer, 3 + 5, false);
    }

    function test_GivenKarmaBelowTheTrustedKarma() external {
        _earnKarma(99e18);
        _assertLimit(buyer, 3 + 9, true);
    }

    function test_GivenKarmaAtTheTrustedKarma() external {
        _earnKarma(TRUSTED_KARMA);
        _assertLimit(buyer, 3 + 10, false);
    }

    function test_GivenBothDepositAndKarma() external {
        _earnKarma(60e18);
        depositTrust(buyer, 250e18);
        _assertLimit(buyer, 3 + 2 + 6, true);
    }

    function test_GivenTheLimitWouldExceedMaxLeases() external {
        depositTrust(buyer, 10_000e18);
        _assertLimit(buyer, 50, false);
    }

    function test_GivenDepositPerLeaseIsZero() external {
        TrustParams memory trust = defaultTrust();
        trust.depositPerLease = 0;
        setTrust(trust);
        _assertLimit(trustedBuyer, 3, false);
    }

    function test_GivenKarmaPerLeaseIsZero() external {
        _earnKarma(TRUSTED_KARMA);
        TrustParams memory trust = defaultTrust();
        trust.karmaPerLease = 0;
        setTrust(trust);
        _assertLimit(buyer, 3, false);
    }

    function test_GivenTheDepositIsUnbonding() external {
        vm.prank(trustedBuyer);
        buyerTrust.requestWithdrawal(1000e18);
        _assertLimit(trustedBuyer, 3, true);
    }
}
