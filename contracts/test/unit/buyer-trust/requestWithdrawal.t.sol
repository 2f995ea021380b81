// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract RequestWithdrawalTest is BuyerTrustUnitTest {
    function setUp() public override {
        super.setUp();
        depositAs(buyer, 1000e18);
    }

    function test_RevertWhen_AmountZero() external {
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ZeroAmount.selector));
        requestWithdrawalAs(buyer, 0);
    }

    function test_RevertWhen_AmountAboveDeposit() external {
        vm.expectRevert(
            abi.encodeWithSelector(
                IBuyerTrust.BuyerTrust_InsufficientDeposit.selector, uint256(1000e18), uint256(1000e18 + 1)
            )
        );
        requestWithdrawalAs(buyer, 1000e18 + 1);
    }

    function test_RevertGiven_NeverDeposited() external {
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_InsufficientDeposit.selector, uint256(0), uint256(1))
        );
        requestWithdrawalAs(stranger, 1);
    }

    function test_GivenNothingUnbonding() external {
        uint40 ends = uint40(block.timestamp) + 7 days;
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.WithdrawalRequested(buyer, 400e18, 600e18, 400e18, ends);
        requestWithdrawalAs(buyer, 400e18);
        assertAccount(buyer, 600e18, 400e18, ends);
        assertEq(token.balanceOf(address(buyerTrust)), 1000e18, "tokens stay");
    }

    function test_WhenAmountIsWholeDeposit() external {
        uint40 ends = uint40(block.timestamp) + 7 days;
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.WithdrawalRequested(buyer, 1000e18, 0, 1000e18, ends);
        requestWithdrawalAs(buyer, 1000e18);
        assertAccount(buyer, 0, 1000e18, ends);

        (uint256 limit, bool isAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(limit, 3, "base limit");
        assertTrue(isAnonymous, "anonymous again");
    }

    function test_GivenSomeAlreadyUnbonding() external {
        requestWithdrawalAs(buyer, 100e18);
        skip(6 days);
        uint40 ends = uint40(block.timestamp) + 7 days;
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.WithdrawalRequested(buyer, 200e18, 700e18, 300e18, ends);
        requestWithdrawalAs(buyer, 200e18);
        assertAccount(buyer, 700e18, 300e18, ends);

        // The first part is not free at its original end any more.
        skip(1 days);
        vm.expectRevert(
            abi.encodeWithSelector(IBuyerTrust.BuyerTrust_NothingToWithdraw.selector, ends, uint256(300e18))
        );
        vm.prank(buyer);
        buyerTrust.withdraw(buyer);
    }
}
