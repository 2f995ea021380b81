// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract ReportAbuseTest is BuyerTrustUnitTest {
    function test_RevertWhen_EvidenceEmpty() external {
        // Checked before the lease: this one does not exist.
        uint256 leaseId = 99;
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_InvalidEvidence.selector));
        vm.prank(provider);
        buyerTrust.reportAbuse(leaseId, "");
    }

    function test_RevertWhen_EvidenceLongerThan256Bytes() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        reportAs(provider, leaseId);
        // Checked before the duplicate report.
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_InvalidEvidence.selector));
        vm.prank(provider);
        buyerTrust.reportAbuse(leaseId, repeat("e", 257));
    }

    function test_RevertGiven_LeaseDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_UnknownLease.selector, uint256(1)));
        reportAs(provider, 1);
    }

    function test_RevertWhen_CallerBuyer() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NotLeaseProvider.selector, leaseId, buyer));
        reportAs(buyer, leaseId);
    }

    function test_RevertWhen_CallerStranger() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NotLeaseProvider.selector, leaseId, stranger));
        reportAs(stranger, leaseId);
    }

    function test_RevertGiven_ReportOpen() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        uint256 reportId = reportAs(provider, leaseId);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_AlreadyReported.selector, leaseId, reportId));
        reportAs(provider, leaseId);
        assertEq(openReports(buyer), 1, "counted once");
    }

    function test_RevertGiven_ReportDismissed() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        uint256 reportId = reportAs(provider, leaseId);
        vm.prank(operator);
        buyerTrust.resolveReport(reportId, false, 0);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_AlreadyReported.selector, leaseId, reportId));
        reportAs(provider, leaseId);
    }

    function test_RevertWhen_MoreThan7DaysSinceEnd() external {
        uint256 leaseId = closedLease(600);
        uint40 endedAt = uint40(block.timestamp);
        vm.warp(uint256(endedAt) + 7 days + 1);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportWindowClosed.selector, leaseId, endedAt));
        reportAs(provider, leaseId);
    }

    function test_WhenExactly7DaysSinceEnd() external {
        uint256 leaseId = closedLease(600);
        vm.warp(block.timestamp + 7 days);
        uint256 reportId = reportAs(provider, leaseId);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_GivenLeasePending() external {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        uint256 reportId = reportAs(provider, leaseId);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_GivenLeaseRunningLongAfterStart() external {
        uint256 leaseId = openRunning(uint256(PRICE) * 30 days);
        skip(20 days);
        uint256 reportId = reportAs(provider, leaseId);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_GivenLeaseHaltedLongAfterHalt() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1 hours);
        escrow.halt(leaseId);
        skip(30 days);
        (,,, LeaseStatus status,) = escrow.leaseParties(leaseId);
        assertEq(uint256(status), uint256(LeaseStatus.Halted), "halted");
        uint256 reportId = reportAs(provider, leaseId);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_WhenEvidence256Bytes() external {
        uint256 first = openRunning(ONE_HOUR_DEPOSIT);
        uint256 second = openRunning(ONE_HOUR_DEPOSIT);
        reportAs(provider, first);

        string memory evidence = repeat("e", 256);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.AbuseReported(2, second, buyer, provider, poolId, evidence);
        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(second, evidence);

        assertEq(reportId, 2, "report id");
        assertEq(buyerTrust.reportCount(), 2, "report count");
        assertEq(openReports(buyer), 2, "open reports against the buyer");
        assertReport(reportId, second, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_WhenEvidenceOneByte() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.AbuseReported(1, leaseId, buyer, provider, poolId, "e");
        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(leaseId, "e");
        assertEq(reportId, 1, "report id");
        assertEq(buyerTrust.reportCount(), 1, "report count");
        assertEq(openReports(buyer), 1, "open reports against the buyer");
    }
}
