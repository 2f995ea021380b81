// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBuyerTrust} from "../../../src/interfaces/IBuyerTrust.sol";
import {BuyerTrustUnitTest} from "./BuyerTrustUnit.t.sol";

contract DepositTest is BuyerTrustUnitTest {
    function test_RevertWhen_AmountZero() external {
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_ZeroAmount.selector));
        depositAs(buyer, 0);
    }

    function test_RevertWhen_AmountAboveUint96() external {
        uint256 amount = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, uint8(96), amount));
        depositAs(buyer, amount);
    }

    function test_RevertWhen_AllowanceInsufficient() external {
        vm.prank(buyer);
        token.approve(address(buyerTrust), 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(buyerTrust), 1e18, 1e18 + 1
            )
        );
        depositAs(buyer, 1e18 + 1);
    }

    function test_GivenNoDeposit() external {
        uint256 buyerBefore = token.balanceOf(buyer);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.Deposited(buyer, 300e18, 300e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(buyer, address(buyerTrust), 300e18);
        depositAs(buyer, 300e18);

        assertAccount(buyer, 300e18, 0, 0);
        assertEq(token.balanceOf(buyer), buyerBefore - 300e18, "buyer balance");
        assertEq(token.balanceOf(address(buyerTrust)), 300e18, "trust balance");
    }

    function test_GivenExistingDeposit() external {
        depositAs(buyer, 300e18);
        vm.expectEmit(address(buyerTrust));
        emit IBuyerTrust.Deposited(buyer, 1, 300e18 + 1);
        depositAs(buyer, 1);
        assertAccount(buyer, 300e18 + 1, 0, 0);
        assertEq(token.balanceOf(address(buyerTrust)), 300e18 + 1, "trust balance");
    }

    function test_GivenDepositUnbonding() external {
        depositAs(buyer, 300e18);
        requestWithdrawalAs(buyer, 100e18);
        uint40 ends = uint40(block.timestamp) + 7 days;
        skip(1 days);
        depositAs(buyer, 50e18);
        assertAccount(buyer, 250e18, 100e18, ends);
    }

    function test_WhenDepositReachesTrustedDeposit() external {
        (uint256 limit, bool isAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(limit, 3, "base limit");
        assertTrue(isAnonymous, "anonymous before");

        depositAs(buyer, 500e18);
        (limit, isAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(limit, 3 + 5, "limit with 5 x depositPerLease");
        assertFalse(isAnonymous, "anonymous after");
    }
}
