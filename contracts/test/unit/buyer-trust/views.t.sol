// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract BuyerTrustViewsTest is BuyerTrustUnitTest {
    function test_AccountGivenNeverDeposited() external view {
        assertAccount(stranger, 0, 0, 0);
    }

    function test_AccountGivenDepositedAndRequested() external {
        depositAs(buyer, 10e18);
        requestWithdrawalAs(buyer, 4e18);
        assertEq(buyerTrust.depositOf(buyer), 6e18, "depositOf excludes unbonding");
        assertAccount(buyer, 6e18, 4e18, block.timestamp + 7 days);
    }

    function test_GetReportGivenDoesNotExist() external view {
        assertReport(1, 0, address(0), address(0), 0, IBuyerTrust.ReportStatus.None);
        assertReport(0, 0, address(0), address(0), 0, IBuyerTrust.ReportStatus.None);
    }

    function test_GetReport() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        uint256 reportId = reportAs(provider, leaseId);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Open);
    }

    function test_ReportCount() external {
        assertEq(buyerTrust.reportCount(), 0, "none");
        reportAs(provider, openRunning(ONE_HOUR_DEPOSIT));
        reportAs(provider, openRunning(ONE_HOUR_DEPOSIT));
        assertEq(buyerTrust.reportCount(), 2, "two");
    }

    function test_OpenReportsOfGivenNoReport() external view {
        assertEq(openReports(buyer), 0, "none");
    }

    function test_OpenReportsOf() external {
        uint256 first = reportAs(provider, openRunning(ONE_HOUR_DEPOSIT));
        uint256 second = reportAs(provider, openRunning(ONE_HOUR_DEPOSIT));
        reportAs(provider, openRunning(ONE_HOUR_DEPOSIT));
        assertEq(openReports(buyer), 3, "three filed");
        assertEq(openReports(stranger), 0, "per buyer");

        vm.prank(operator);
        buyerTrust.resolveReport(first, false, 0);
        assertEq(openReports(buyer), 2, "a dismissal closes one");
        vm.prank(operator);
        buyerTrust.resolveReport(second, true, 0);
        assertEq(openReports(buyer), 1, "an upheld ruling closes one");
    }

    function test_ConstantsAndImmutables() external view {
        assertEq(buyerTrust.UNBONDING_PERIOD(), 7 days, "UNBONDING_PERIOD");
        assertEq(buyerTrust.REPORT_WINDOW(), 7 days, "REPORT_WINDOW");
        assertEq(address(buyerTrust.TOKEN()), address(token), "TOKEN");
        assertEq(address(buyerTrust.POOLS()), address(pools), "POOLS");
        assertEq(address(buyerTrust.ESCROW()), address(escrow), "ESCROW");
    }
}
