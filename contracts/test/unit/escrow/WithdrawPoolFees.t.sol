// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {IPools} from "../../../src/interfaces/IPools.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.withdrawPoolFees, see withdrawPoolFees.tree.
contract WithdrawPoolFeesTest is EscrowBase {
    address internal treasury = makeAddr("treasury");

    function _withdrawFees(address who, uint32 pool, address to) private returns (uint256 amount) {
        vm.prank(who);
        amount = escrow.withdrawPoolFees(pool, to);
    }

    function test_RevertWhen_ThePoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(9)));
        _withdrawFees(operator, 9, operator);
    }

    function test_RevertWhen_TheCallerIsNotThePoolsOperator() external {
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_NotOperator.selector, poolId, stranger));
        _withdrawFees(stranger, poolId, stranger);
    }

    function test_RevertWhen_TheRecipientIsTheZeroAddress() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_ZeroAddress.selector));
        _withdrawFees(operator, poolId, address(0));
    }

    function test_GivenThePoolHasNoFees() external {
        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.PoolFeesWithdrawn(poolId, treasury, 0);
        uint256 amount = _withdrawFees(operator, poolId, treasury);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(amount, 0, "amount");
        assertEq(countLogs(logs, address(token), IERC20.Transfer.selector), 0, "no transfer");
        assertEq(token.balanceOf(treasury), 0, "nothing sent");
    }

    function test_GivenThePoolHasFees() external {
        (uint32 pool2, uint32 offerInPool2) = addPool2();
        openOn(stranger, offerInPool2, ONE_HOUR_DEPOSIT);
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        withdrawAs(provider, single(leaseId), provider);
        uint256 expected = FIRST_ANON_FEE + poolFee(1800 * P);
        assertEq(escrow.poolFees(poolId), expected, "accrued");
        uint256 escrowBefore = token.balanceOf(address(escrow));

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.PoolFeesWithdrawn(poolId, treasury, expected);
        uint256 amount = _withdrawFees(operator, poolId, treasury);

        assertEq(amount, expected, "amount");
        assertEq(token.balanceOf(treasury), expected, "recipient");
        assertEq(token.balanceOf(address(escrow)), escrowBefore - expected, "escrow");
        assertEq(escrow.poolFees(poolId), 0, "zeroed");
        assertEq(escrow.poolFees(pool2), FIRST_ANON_FEE, "other pool untouched");
        assertEscrowBalanced();
    }

    function test_GivenTheFeesWereWithdrawnAlready() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        _withdrawFees(operator, poolId, treasury);
        uint256 amount = _withdrawFees(operator, poolId, treasury);
        assertEq(amount, 0, "second withdrawal");
        assertEq(token.balanceOf(treasury), FIRST_ANON_FEE, "paid once");
    }

    function test_GivenTheOperatorChanged() external {
        address newOperator = makeAddr("newOperator");
        openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);
        vm.prank(newOperator);
        pools.acceptOperator(poolId);

        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_NotOperator.selector, poolId, operator));
        _withdrawFees(operator, poolId, operator);

        uint256 amount = _withdrawFees(newOperator, poolId, newOperator);
        assertEq(amount, FIRST_ANON_FEE, "new operator withdrew");
        assertEq(token.balanceOf(newOperator), FIRST_ANON_FEE, "recipient");
    }
}
