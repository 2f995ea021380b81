// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.topUpWithPermit, see topUpWithPermit.tree. The payer is not the buyer: anyone may top up.
contract TopUpWithPermitTest is EscrowBase {
    uint256 internal constant PAYER_KEY = uint256(keccak256("permitPayer"));
    uint256 internal constant OTHER_KEY = uint256(keccak256("someone else"));
    uint256 internal constant AMOUNT = ONE_HOUR_DEPOSIT;

    address internal payer;
    uint256 internal permitDeadline;

    function setUp() public override {
        super.setUp();
        payer = vm.addr(PAYER_KEY);
        vm.label(payer, "permitPayer");
        token.transfer(payer, 1000e18);
        permitDeadline = block.timestamp + 30 days;
    }

    function _topUpWithPermit(uint256 leaseId, uint256 amount, uint256 key) private {
        (uint8 v, bytes32 r, bytes32 s) = signPermit(key, amount, permitDeadline);
        vm.prank(payer);
        escrow.topUpWithPermit(leaseId, amount, permitDeadline, v, r, s);
    }

    function test_RevertWhen_TheAmountIsZero() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(PAYER_KEY, 0, permitDeadline);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_ZeroAmount.selector));
        vm.prank(payer);
        escrow.topUpWithPermit(leaseId, 0, permitDeadline, v, r, s);
        assertEq(token.nonces(payer), 0, "permit unused");
    }

    function test_WhenThePermitIsValid_GivenTheLeaseIsRunning() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        uint256 before = token.balanceOf(payer);

        vm.expectEmit(address(token));
        emit IERC20.Approval(payer, address(escrow), AMOUNT);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseToppedUp(leaseId, payer, AMOUNT, ONE_HOUR_DEPOSIT + AMOUNT, false, 0);
        _topUpWithPermit(leaseId, AMOUNT, PAYER_KEY);

        assertEq(token.nonces(payer), 1, "nonce used");
        assertEq(token.allowance(payer, address(escrow)), 0, "allowance spent");
        assertEq(token.balanceOf(payer), before - AMOUNT, "payer paid");
        assertState(leaseId, LeaseStatus.Running, ONE_HOUR_DEPOSIT + AMOUNT - 600 * P, 600 * P, T0 + 7200);
        assertEscrowBalanced();
    }

    function test_WhenThePermitIsValid_GivenTheLeaseIsHalted() external {
        uint256 leaseId = openHalted();
        uint256 providerBefore = token.balanceOf(provider);
        _topUpWithPermit(leaseId, AMOUNT, PAYER_KEY);
        assertLease(leaseId, buyer, LeaseStatus.RestartPending, true, T0 + 3600, AMOUNT, T0 + 3600 + BOOT_TIMEOUT);
        assertEq(token.balanceOf(provider), providerBefore + net(ONE_HOUR_DEPOSIT), "halted run paid out");
        assertEscrowBalanced();
    }

    function test_WhenThePermitWasFrontRun() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(PAYER_KEY, AMOUNT, permitDeadline);
        vm.prank(stranger);
        token.permit(payer, address(escrow), AMOUNT, permitDeadline, v, r, s);

        vm.prank(payer);
        escrow.topUpWithPermit(leaseId, AMOUNT, permitDeadline, v, r, s);

        assertEq(uint256(escrow.getLease(leaseId).funds), ONE_HOUR_DEPOSIT + AMOUNT, "topped up");
        assertEq(token.allowance(payer, address(escrow)), 0, "allowance spent");
    }

    function test_WhenThePermitFails_GivenThePayerApprovedEnough() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        vm.prank(payer);
        token.approve(address(escrow), AMOUNT);
        _topUpWithPermit(leaseId, AMOUNT, OTHER_KEY);
        assertEq(uint256(escrow.getLease(leaseId).funds), ONE_HOUR_DEPOSIT + AMOUNT, "topped up");
        assertEq(token.nonces(payer), 0, "permit failed");
    }

    function test_RevertWhen_ThePermitFails_GivenThePayerHasNoAllowance() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(OTHER_KEY, AMOUNT, permitDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, AMOUNT)
        );
        vm.prank(payer);
        escrow.topUpWithPermit(leaseId, AMOUNT, permitDeadline, v, r, s);
    }
}
