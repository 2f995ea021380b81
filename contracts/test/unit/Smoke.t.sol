// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Base} from "../utils/Base.t.sol";

contract SmokeTest is Base {
    function test_LeaseLifecycle() public {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        vm.prank(provider);
        uint256 paid = escrow.withdraw(single(leaseId), provider);
        uint256 earned = uint256(PRICE) * 1800;
        assertEq(paid, earned - earned * FEE_BPS / 10_000, "provider share");
    }
}
