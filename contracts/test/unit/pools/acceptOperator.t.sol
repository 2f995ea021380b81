// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {PoolsUnitTest} from "./PoolsUnit.t.sol";

contract AcceptOperatorTest is PoolsUnitTest {
    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(2)));
        vm.prank(newOperator);
        pools.acceptOperator(2);
    }

    function test_RevertGiven_NoHandOverPending_WhenCallerStranger() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, stranger));
        vm.prank(stranger);
        pools.acceptOperator(poolId);
    }

    function test_RevertGiven_NoHandOverPending_WhenCallerOperator() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, operator));
        vm.prank(operator);
        pools.acceptOperator(poolId);
    }

    function test_RevertGiven_HandOverCancelled() external {
        vm.startPrank(operator);
        pools.transferOperator(poolId, newOperator);
        pools.transferOperator(poolId, address(0));
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, newOperator));
        vm.prank(newOperator);
        pools.acceptOperator(poolId);
    }

    function test_RevertWhen_CallerStranger() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, stranger));
        vm.prank(stranger);
        pools.acceptOperator(poolId);
    }

    function test_RevertWhen_CallerCurrentOperator() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, operator));
        vm.prank(operator);
        pools.acceptOperator(poolId);
    }

    function test_RevertWhen_CallerReplacedPendingOperator() external {
        vm.startPrank(operator);
        pools.transferOperator(poolId, stranger);
        pools.transferOperator(poolId, newOperator);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, stranger));
        vm.prank(stranger);
        pools.acceptOperator(poolId);
    }

    function test_WhenCallerPendingOperator() external {
        vm.prank(operator);
        pools.transferOperator(poolId, newOperator);

        vm.expectEmit(address(pools));
        emit IPools.OperatorTransferred(poolId, operator, newOperator);
        vm.prank(newOperator);
        pools.acceptOperator(poolId);

        assertPool(pools.getPool(poolId), defaultPoolConfig(), newOperator, address(0));
        assertEq(pools.operatorOf(poolId), newOperator, "operatorOf");

        // The new operator runs the pool; the previous one no longer does.
        vm.prank(newOperator);
        pools.updatePool(poolId, boundaryPoolConfig());
        assertPool(pools.getPool(poolId), boundaryPoolConfig(), newOperator, address(0));

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotOperator.selector, poolId, operator));
        vm.prank(operator);
        pools.updatePool(poolId, defaultPoolConfig());

        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotOperator.selector, poolId, operator));
        vm.prank(operator);
        pools.transferOperator(poolId, operator);

        // The hand-over is spent: accepting again fails.
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_NotPendingOperator.selector, poolId, newOperator));
        vm.prank(newOperator);
        pools.acceptOperator(poolId);
    }
}
