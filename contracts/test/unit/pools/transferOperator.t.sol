// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {PoolsUnitTest} from "./PoolsUnit.t.sol";

contract TransferOperatorTest is PoolsUnitTest {
    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(7)));
        vm.prank(operator);
        pools.transferOperator(7, newOperator);
    }

    function test_RevertWhen_CallerNotOperator() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotOperator.selector, poolId, stranger));
        vm.prank(stranger);
        pools.transferOperator(poolId, stranger);
    }

    function test_WhenNewOperatorIsAnAddress() external {
        vm.expectEmit(address(pools));
        emit IPools.OperatorTransferStarted(poolId, operator, newOperator);
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        assertPool(pools.getPool(poolId), defaultPoolConfig(), operator, newOperator);
        assertEq(pools.operatorOf(poolId), operator, "operator unchanged");
    }

    function test_WhenHandOverAlreadyPending() external {
        vm.prank(operator);
        pools.transferOperator(poolId, stranger);

        vm.expectEmit(address(pools));
        emit IPools.OperatorTransferStarted(poolId, operator, newOperator);
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        assertEq(pools.getPool(poolId).pendingOperator, newOperator, "pending replaced");
    }

    function test_WhenNewOperatorIsZero() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        vm.expectEmit(address(pools));
        emit IPools.OperatorTransferStarted(poolId, operator, address(0));
        vm.prank(operator);
        pools.transferOperator(poolId, address(0));

        assertPool(pools.getPool(poolId), defaultPoolConfig(), operator, address(0));
    }
}
