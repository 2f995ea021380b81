// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {LeaseStatus, OpenParams} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.openLeaseWithPermit, see openLeaseWithPermit.tree.
contract OpenLeaseWithPermitTest is EscrowBase {
    uint256 internal constant SIGNER_KEY = uint256(keccak256("permitBuyer"));
    uint256 internal constant OTHER_KEY = uint256(keccak256("someone else"));
    uint256 internal constant MAX_FEE = 2 * ANON_MIN_FEE;
    uint256 internal constant VALUE = ONE_HOUR_DEPOSIT + MAX_FEE;

    address internal signer;
    uint256 internal permitDeadline;

    function setUp() public override {
        super.setUp();
        signer = vm.addr(SIGNER_KEY);
        vm.label(signer, "permitBuyer");
        // Funded, but no approval: the permit is what lets the escrow pull.
        token.transfer(signer, 1000e18);
        permitDeadline = block.timestamp + 1 hours;
    }

    function _params() private view returns (OpenParams memory params) {
        params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = MAX_FEE;
    }

    function test_WhenDepositPlusMaxAnonFeeOverflows() external {
        // openParams' maxAnonFee is type(uint256).max ("any fee"): the permit value saturates at the largest
        // uint256, so a permit signed for an unlimited allowance is the one that matches.
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, type(uint256).max, permitDeadline);
        uint256 before = token.balanceOf(signer);

        vm.expectEmit(address(token));
        emit IERC20.Approval(signer, address(escrow), type(uint256).max);
        vm.prank(signer);
        uint256 leaseId = escrow.openLeaseWithPermit(params, permitDeadline, v, r, s);

        assertLease(leaseId, signer, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertEq(token.nonces(signer), 1, "permit used");
        assertEq(token.balanceOf(signer), before - ONE_HOUR_DEPOSIT - FIRST_ANON_FEE, "pulled deposit and fee");
        // An unlimited allowance is not spent down.
        assertEq(token.allowance(signer, address(escrow)), type(uint256).max, "unlimited allowance");
        assertEscrowBalanced();
    }

    function test_WhenDepositPlusMaxAnonFeeIsExactlyTheLargestUint256() external {
        // The sum just fits: no saturation, the permit is for exactly that sum.
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = type(uint256).max - ONE_HOUR_DEPOSIT;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, type(uint256).max, permitDeadline);
        vm.prank(signer);
        uint256 leaseId = escrow.openLeaseWithPermit(params, permitDeadline, v, r, s);
        assertStatus(leaseId, LeaseStatus.Pending);
        assertEq(token.nonces(signer), 1, "permit used");
    }

    function test_WhenDepositPlusMaxAnonFeeOverflows_GivenThePermitIsForLess() external {
        // A permit for anything but the saturated value does not match: it fails, and without an allowance the
        // pull reverts.
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, VALUE, permitDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, ONE_HOUR_DEPOSIT + FIRST_ANON_FEE
            )
        );
        vm.prank(signer);
        escrow.openLeaseWithPermit(params, permitDeadline, v, r, s);
    }

    function test_RevertWhen_ThePermitIsValidButTheLeaseCannotBeOpened() external {
        OpenParams memory params = _params();
        params.sshPublicKey = "";
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, VALUE, permitDeadline);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_InvalidSshKey.selector));
        vm.prank(signer);
        escrow.openLeaseWithPermit(params, permitDeadline, v, r, s);
        assertEq(token.nonces(signer), 0, "permit unused");
        assertEq(token.allowance(signer, address(escrow)), 0, "no allowance");
    }

    function test_WhenThePermitIsValid() external {
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, VALUE, permitDeadline);
        uint256 before = token.balanceOf(signer);

        vm.expectEmit(address(token));
        emit IERC20.Approval(signer, address(escrow), VALUE);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(1, offerId, signer, opening(ONE_HOUR_DEPOSIT, FIRST_ANON_FEE, true, ""));
        vm.prank(signer);
        uint256 leaseId = escrow.openLeaseWithPermit(_params(), permitDeadline, v, r, s);

        assertEq(leaseId, 1, "lease id");
        assertLease(leaseId, signer, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertEq(token.nonces(signer), 1, "nonce used");
        assertEq(token.balanceOf(signer), before - ONE_HOUR_DEPOSIT - FIRST_ANON_FEE, "pulled deposit and fee");
        assertEq(token.allowance(signer, address(escrow)), MAX_FEE - FIRST_ANON_FEE, "unused fee allowance left");
        assertBuyerRecord(signer, 1, 1, 0, 0);
        assertEscrowBalanced();
    }

    function test_WhenThePermitWasFrontRun() external {
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, VALUE, permitDeadline);
        // Someone copies the signature from the mempool and submits it first.
        vm.prank(stranger);
        token.permit(signer, address(escrow), VALUE, permitDeadline, v, r, s);

        vm.prank(signer);
        uint256 leaseId = escrow.openLeaseWithPermit(_params(), permitDeadline, v, r, s);

        assertStatus(leaseId, LeaseStatus.Pending);
        assertEq(token.nonces(signer), 1, "used once");
        assertEq(token.allowance(signer, address(escrow)), MAX_FEE - FIRST_ANON_FEE, "allowance spent");
    }

    function test_WhenThePermitIsSignedByAnotherKey_GivenTheCallerApprovedEnough() external {
        vm.prank(signer);
        token.approve(address(escrow), VALUE);
        (uint8 v, bytes32 r, bytes32 s) = signPermit(OTHER_KEY, VALUE, permitDeadline);

        vm.prank(signer);
        uint256 leaseId = escrow.openLeaseWithPermit(_params(), permitDeadline, v, r, s);

        assertStatus(leaseId, LeaseStatus.Pending);
        assertEq(token.nonces(signer), 0, "permit failed");
        assertEq(token.allowance(signer, address(escrow)), MAX_FEE - FIRST_ANON_FEE, "approval spent");
    }

    function test_RevertWhen_ThePermitIsSignedByAnotherKey_GivenNoAllowance() external {
        (uint8 v, bytes32 r, bytes32 s) = signPermit(OTHER_KEY, VALUE, permitDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, ONE_HOUR_DEPOSIT + FIRST_ANON_FEE
            )
        );
        vm.prank(signer);
        escrow.openLeaseWithPermit(_params(), permitDeadline, v, r, s);
    }

    function test_RevertWhen_ThePermitHasExpired_GivenNoAllowance() external {
        uint256 expired = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = signPermit(SIGNER_KEY, VALUE, expired);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), 0, ONE_HOUR_DEPOSIT + FIRST_ANON_FEE
            )
        );
        vm.prank(signer);
        escrow.openLeaseWithPermit(_params(), expired, v, r, s);
    }
}
