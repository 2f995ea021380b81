// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {LeaseStatus, OpenParams} from "../../../src/types/DataTypes.sol";
import {Base} from "../../utils/Base.t.sol";

contract ComputeTokenPermitTest is Base {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    uint256 internal ownerKey = uint256(keccak256("permit owner"));
    address internal owner = vm.addr(ownerKey);
    address internal spender = makeAddr("spender");

    function setUp() public override {
        super.setUp();
        token.transfer(owner, 1000e18);
    }

    function digest(address owner_, address spender_, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner_, spender_, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function sign(uint256 key, bytes32 hash) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        (v, r, s) = vm.sign(key, hash);
    }

    function test_RevertWhen_DeadlinePassed() external {
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = sign(ownerKey, digest(owner, spender, 1e18, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, spender, 1e18, deadline, v, r, s);
    }

    function test_RevertWhen_SignatureNotOwners() external {
        uint256 strangerKey = uint256(keccak256("stranger"));
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = sign(strangerKey, digest(owner, spender, 1e18, 0, deadline));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, stranger, owner));
        token.permit(owner, spender, 1e18, deadline, v, r, s);
    }

    function test_RevertWhen_SignatureReused() external {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = sign(ownerKey, digest(owner, spender, 1e18, 0, deadline));
        token.permit(owner, spender, 1e18, deadline, v, r, s);

        // Under nonce 1 the same signature recovers to some other address.
        address recovered = ecrecover(digest(owner, spender, 1e18, 1, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, owner));
        token.permit(owner, spender, 1e18, deadline, v, r, s);
    }

    function test_WhenOwnerSigned() external {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = sign(ownerKey, digest(owner, spender, 300e18, 0, deadline));

        vm.expectEmit(address(token));
        emit IERC20.Approval(owner, spender, 300e18);
        vm.prank(stranger); // anyone may submit the permit
        token.permit(owner, spender, 300e18, deadline, v, r, s);

        assertEq(token.allowance(owner, spender), 300e18, "allowance");
        assertEq(token.nonces(owner), 1, "nonce");

        vm.prank(spender);
        token.transferFrom(owner, spender, 300e18);
        assertEq(token.balanceOf(spender), 300e18, "spender balance");
        assertEq(token.balanceOf(owner), 700e18, "owner balance");
        assertEq(token.allowance(owner, spender), 0, "allowance spent");
    }

    function test_WhenDeadlineIsNow() external {
        uint256 deadline = block.timestamp;
        (uint8 v, bytes32 r, bytes32 s) = sign(ownerKey, digest(owner, spender, 5, 0, deadline));
        token.permit(owner, spender, 5, deadline, v, r, s);
        assertEq(token.allowance(owner, spender), 5, "allowance");
    }

    function test_WhenSpenderIsEscrow() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = ANON_MAX_FEE;
        uint256 value = params.deposit + params.maxAnonFee;
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = sign(ownerKey, digest(owner, address(escrow), value, 0, deadline));
        assertEq(token.allowance(owner, address(escrow)), 0, "no prior approval");

        vm.prank(owner);
        uint256 leaseId = escrow.openLeaseWithPermit(params, deadline, v, r, s);

        assertEq(escrow.getLease(leaseId).buyer, owner, "lease buyer");
        assertEq(uint256(escrow.getLease(leaseId).status), uint256(LeaseStatus.Pending), "lease pending");
        assertEq(token.nonces(owner), 1, "permit used");
    }
}
