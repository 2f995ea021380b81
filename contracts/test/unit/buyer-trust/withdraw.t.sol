// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract WithdrawTest is BuyerTrustUnitTest {
    uint40 internal ends;

    function setUp() public override {
        super.setUp();
        depositAs(buyer, 1000e18);
    }

    function requestSome() internal {
        requestWithdrawalAs(buyer, 400e18);
        ends = uint40(block.timestamp) + 7 days;
    }

    function test_RevertWhen_RecipientZero() external {
        requestSome();
        vm.warp(ends);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ZeroAddress.selector));
        vm.prank(buyer);
        buyerTrust.withdraw(address(0));
    }

    function test_RevertGiven_NothingUnbonding() external {
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NothingToWithdraw.selector, uint40(0), uint256(0))
        );
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }

    function test_RevertGiven_AlreadyWithdrawn() external {
        requestSome();
        vm.warp(ends);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NothingToWithdraw.selector, ends, uint256(0)));
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }

    function test_RevertWhen_PeriodNotPassed() external {
        requestSome();
        vm.warp(ends - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NothingToWithdraw.selector, ends, uint256(400e18))
        );
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }

    function test_WhenPeriodEndsExactlyNow() external {
        requestSome();
        vm.warp(ends);
        uint256 recipientBefore = token.balanceOf(stranger);

        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.Withdrawn(buyer, stranger, 400e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(buyerTrust), stranger, 400e18);
        vm.prank(buyer);
        buyerTrust.withdraw(stranger);

        assertEq(token.balanceOf(stranger), recipientBefore + 400e18, "recipient balance");
        assertEq(token.balanceOf(address(buyerTrust)), 600e18, "trust balance");
        assertAccount(buyer, 600e18, 0, ends);
    }

    function test_WhenPeriodEndedLongAgo() external {
        requestSome();
        vm.warp(ends + 400 days);
        uint256 before = token.balanceOf(buyer);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.Withdrawn(buyer, buyer, 400e18);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        assertEq(token.balanceOf(buyer), before + 400e18, "buyer balance");
        assertAccount(buyer, 600e18, 0, ends);
    }

    function test_RevertGiven_ReportOpen() external {
        uint256 leaseId = closedLease(60);
        reportAs(provider, leaseId);
        requestSome();
        vm.warp(ends);
        (, uint40 frozenUntil) = buyerTrust.openReportsOf(buyer);
        assertGt(frozenUntil, block.timestamp, "frozen");
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportsOpen.selector, uint256(1), frozenUntil));
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }

    function test_RevertGiven_LeaseActive() external {
        openRunning(ONE_HOUR_DEPOSIT);
        requestSome();
        vm.warp(ends);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_LeasesActive.selector, uint256(1)));
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }

    function test_RevertGiven_LatestLeaseEndedWithinReportWindow() external {
        requestSome();
        vm.warp(ends - 60);
        closedLease(30);
        uint256 endedAt = block.timestamp;
        vm.warp(endedAt + 7 days);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ReportWindowOpen.selector, endedAt + 7 days));
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);

        skip(1);
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
        assertEq(token.balanceOf(buyer), before + 400e18, "withdrawn after the window");
    }
}
