// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {PoolConfig} from "../../../src/types/DataTypes.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract ResolveReportTest is BuyerTrustUnitTest {
    uint256 internal constant DEPOSIT = 1000e18;
    uint256 internal constant RAN = 600;

    uint256 internal leaseId;
    uint256 internal reportId;
    uint96 internal karma;

    /// @dev The buyer deposits 1000, runs a lease for 10 minutes (earning karma) and stops it; the provider reports.
    function setUp() public override {
        super.setUp();
        depositAs(buyer, DEPOSIT);
        leaseId = closedLease(RAN);
        karma = escrow.buyerRecord(buyer).karma;
        assertEq(karma, RAN * PRICE, "karma from the lease");
        reportId = reportAs(provider, leaseId);
    }

    function resolveAs(address who, bool upheld, uint256 slashAmount) internal {
        vm.prank(who);
        buyerTrust.resolveReport(reportId, upheld, slashAmount);
    }

    function test_RevertGiven_ReportDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportNotOpen.selector, uint256(2)));
        vm.prank(operator);
        buyerTrust.resolveReport(2, true, 0);

        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportNotOpen.selector, uint256(0)));
        vm.prank(operator);
        buyerTrust.resolveReport(0, false, 0);
    }

    function test_RevertGiven_ReportUpheld() external {
        resolveAs(operator, true, 0);
        assertEq(openReports(buyer), 0, "no open report");
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportNotOpen.selector, reportId));
        resolveAs(operator, true, 0);
    }

    function test_RevertGiven_ReportDismissed() external {
        resolveAs(operator, false, 0);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportNotOpen.selector, reportId));
        resolveAs(operator, true, 0);
        assertEq(openReports(buyer), 0, "not counted down twice");
    }

    function test_RevertWhen_CallerStranger() external {
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NotOperator.selector, poolId, stranger));
        resolveAs(stranger, true, 0);
    }

    function test_RevertWhen_CallerReportingProvider() external {
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NotOperator.selector, poolId, provider));
        resolveAs(provider, true, 100e18);
    }

    function test_RevertWhen_CallerHandedPoolOver() external {
        vm.prank(operator);
        pools.transferOperator(poolId, stranger);
        vm.prank(stranger);
        pools.acceptOperator(poolId);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NotOperator.selector, poolId, operator));
        resolveAs(operator, false, 0);
    }

    function test_WhenDismissed() external {
        uint256 providerBefore = token.balanceOf(provider);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, false, 0, DEPOSIT, 0);
        resolveAs(operator, false, 0);

        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Dismissed);
        assertEq(openReports(buyer), 0, "no open report");
        assertAccount(buyer, DEPOSIT, 0, 0);
        assertEq(escrow.buyerRecord(buyer).karma, karma, "karma kept");
        assertEq(token.balanceOf(provider), providerBefore, "provider balance");
        assertEq(token.balanceOf(address(buyerTrust)), DEPOSIT, "trust balance");
    }

    function test_WhenDismissedWithSlashAmount() external {
        // The amount is ignored on dismissal, however large.
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, false, 0, DEPOSIT, 0);
        resolveAs(operator, false, type(uint256).max);
        assertAccount(buyer, DEPOSIT, 0, 0);
    }

    function test_RevertWhen_SlashAboveCap() external {
        // 25% of 1000.
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_SlashTooHigh.selector, uint256(250e18 + 1), uint256(250e18))
        );
        resolveAs(operator, true, 250e18 + 1);
    }

    function test_RevertGiven_CapRoundsDown() external {
        // A second buyer with a 3 wei deposit, reported on a lease of its own: 3 * 2500 / 10000 = 0.75, rounded
        // down to 0.
        depositAs(stranger, 3);
        vm.prank(stranger);
        uint256 strangerLease = escrow.openLease(openParams(ONE_HOUR_DEPOSIT));
        reportId = reportAs(provider, strangerLease);
        assertAccount(stranger, 3, 0, 0);

        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_SlashTooHigh.selector, uint256(1), uint256(0)));
        resolveAs(operator, true, 1);
    }

    function test_RevertGiven_PoolLoweredCap() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.maxBuyerSlashBps = 100;
        vm.prank(operator);
        pools.updatePool(poolId, config);

        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_SlashTooHigh.selector, uint256(250e18), uint256(10e18))
        );
        resolveAs(operator, true, 250e18);
    }

    function test_WhenSlashZero() external {
        uint256 providerBefore = token.balanceOf(provider);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, true, 0, DEPOSIT, 0);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.KarmaReset(buyer);
        vm.recordLogs();
        resolveAs(operator, true, 0);

        // ReportResolved and KarmaReset only: no transfer.
        assertEq(vm.getRecordedLogs().length, 2, "logs");
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Upheld);
        assertAccount(buyer, DEPOSIT, 0, 0);
        assertEq(escrow.buyerRecord(buyer).karma, 0, "karma reset");
        assertEq(token.balanceOf(provider), providerBefore, "provider balance");
    }

    function test_WhenSlashAtMostDeposit() external {
        uint256 providerBefore = token.balanceOf(provider);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, true, 100e18, 900e18, 0);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.KarmaReset(buyer);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(buyerTrust), provider, 100e18);
        resolveAs(operator, true, 100e18);

        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Upheld);
        assertEq(openReports(buyer), 0, "no open report");
        assertAccount(buyer, 900e18, 0, 0);
        assertEq(escrow.buyerRecord(buyer).karma, 0, "karma reset");
        assertEq(token.balanceOf(provider), providerBefore + 100e18, "provider balance");
        assertEq(token.balanceOf(address(buyerTrust)), 900e18, "trust balance");
    }

    function test_WhenSlashEqualsDeposit() external {
        requestWithdrawalAs(buyer, 900e18);
        uint40 ends = uint40(block.timestamp) + 7 days;
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, true, 100e18, 0, 900e18);
        resolveAs(operator, true, 100e18);
        assertAccount(buyer, 0, 900e18, ends);
    }

    function test_WhenSlashExceedsDeposit() external {
        requestWithdrawalAs(buyer, 900e18);
        uint40 ends = uint40(block.timestamp) + 7 days;
        uint256 providerBefore = token.balanceOf(provider);

        // Cap: 25% of 100 + 900 = 250, taken as 100 from the deposit and 150 from the unbonding deposit.
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, true, 250e18, 0, 750e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(buyerTrust), provider, 250e18);
        resolveAs(operator, true, 250e18);

        assertAccount(buyer, 0, 750e18, ends);
        assertEq(token.balanceOf(provider), providerBefore + 250e18, "provider balance");

        // Only what is left unbonds to the buyer, once the report window after its lease has passed.
        vm.warp(ends + 1);
        uint256 buyerBefore = token.balanceOf(buyer);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        assertEq(token.balanceOf(buyer), buyerBefore + 750e18, "buyer withdrew the rest");
        assertEq(token.balanceOf(address(buyerTrust)), 0, "trust emptied");
    }

    function test_WhenSlashExactlyCap() external {
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.ReportResolved(reportId, buyer, true, 250e18, 750e18, 0);
        resolveAs(operator, true, 250e18);
        assertAccount(buyer, 750e18, 0, 0);
    }

    function test_WhenCallerAcceptedPool() external {
        vm.prank(operator);
        pools.transferOperator(poolId, stranger);
        vm.prank(stranger);
        pools.acceptOperator(poolId);

        resolveAs(stranger, true, 1e18);
        assertReport(reportId, leaseId, buyer, provider, poolId, IBuyerTrust.ReportStatus.Upheld);
        assertAccount(buyer, DEPOSIT - 1e18, 0, 0);
    }

    function test_RevertGiven_BuyerWithdrawsBeforeRuling() external {
        // An open report freezes the deposit for the ruling period: unbonding does not let it escape the ruling.
        uint40 frozenUntil = uint40(block.timestamp) + buyerTrust.RULING_PERIOD();
        requestWithdrawalAs(buyer, 800e18);
        uint40 unbondingEnds = uint40(block.timestamp) + 7 days;
        vm.warp(frozenUntil);
        (uint256 open, uint40 until) = buyerTrust.openReportsOf(buyer);
        assertEq(open, 1, "open report");
        assertEq(until, frozenUntil, "frozen until");
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportsOpen.selector, uint256(1), frozenUntil));
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);

        // The cap still covers deposit plus unbonding: 25% of 1000, taken from the deposit first.
        resolveAs(operator, true, 250e18);
        (open, until) = buyerTrust.openReportsOf(buyer);
        assertEq(open, 0, "report resolved");
        assertEq(until, 0, "no freeze");
        assertAccount(buyer, 0, 750e18, unbondingEnds);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        assertAccount(buyer, 0, 0, unbondingEnds);
    }

    function test_GivenTheOperatorNeverRules_TheFreezeEndsAfterTheRulingPeriod() external {
        uint40 frozenUntil = uint40(block.timestamp) + buyerTrust.RULING_PERIOD();
        requestWithdrawalAs(buyer, 800e18);
        vm.warp(frozenUntil + 1);
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        assertEq(token.balanceOf(buyer), before + 800e18, "withdrawn after the ruling period");

        // A late ruling slashes only what is left: 25% of 200.
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_SlashTooHigh.selector, uint256(250e18), uint256(50e18))
        );
        resolveAs(operator, true, 250e18);
        resolveAs(operator, true, 50e18);
        assertAccount(buyer, 150e18, 0, block.timestamp - 1 - buyerTrust.RULING_PERIOD() + 7 days);
    }
}
