// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {Base} from "../../utils/Base.t.sol";

/// @notice Shared fixtures and assertions of the `BuyerTrust` unit tests.
abstract contract BuyerTrustUnitTest is Base {
    string internal constant EVIDENCE = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

    /// @dev The number of reports against `who` awaiting a ruling.
    function openReports(address who) internal view returns (uint256 count) {
        (count,) = buyerTrust.openReportsOf(who);
    }

    function depositAs(address who, uint256 amount) internal {
        vm.prank(who);
        buyerTrust.deposit(amount);
    }

    function requestWithdrawalAs(address who, uint256 amount) internal {
        vm.prank(who);
        buyerTrust.requestWithdrawal(amount);
    }

    function reportAs(address who, uint256 leaseId) internal returns (uint256 reportId) {
        vm.prank(who);
        reportId = buyerTrust.reportAbuse(leaseId, EVIDENCE);
    }

    /// @dev A lease of `buyer` that ran `seconds_` and was stopped by the buyer now.
    function closedLease(uint256 seconds_) internal returns (uint256 leaseId) {
        leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(seconds_);
        vm.prank(buyer);
        escrow.stop(leaseId);
    }

    function repeat(bytes1 char, uint256 length) internal pure returns (string memory) {
        bytes memory buffer = new bytes(length);
        for (uint256 i; i < length; ++i) {
            buffer[i] = char;
        }
        return string(buffer);
    }

    function assertAccount(address who, uint256 deposit_, uint256 unbonding, uint256 unbondingEnds) internal view {
        IBuyerTrust.Account memory account = buyerTrust.accountOf(who);
        assertEq(account.deposit, deposit_, "account.deposit");
        assertEq(account.unbonding, unbonding, "account.unbonding");
        assertEq(account.unbondingEnds, unbondingEnds, "account.unbondingEnds");
        assertEq(buyerTrust.depositOf(who), deposit_, "depositOf");
    }

    function assertReport(
        uint256 reportId,
        uint256 leaseId,
        address buyer_,
        address provider_,
        uint32 pool,
        IBuyerTrust.ReportStatus status
    ) internal view {
        IBuyerTrust.Report memory report = buyerTrust.getReport(reportId);
        assertEq(report.leaseId, leaseId, "report.leaseId");
        assertEq(report.buyer, buyer_, "report.buyer");
        assertEq(report.provider, provider_, "report.provider");
        assertEq(report.poolId, pool, "report.poolId");
        assertEq(uint256(report.status), uint256(status), "report.status");
    }
}
