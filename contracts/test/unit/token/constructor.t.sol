// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {ComputeToken} from "../../../src/ComputeToken.sol";
import {Base} from "../../utils/Base.t.sol";

contract ComputeTokenConstructorTest is Base {
    uint256 internal constant SUPPLY = 1_000_000_000e18;

    function test_RevertWhen_HolderZero() external {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        new ComputeToken(address(0));
    }

    function test_WhenHolderNotZero() external {
        address holder = makeAddr("holder");
        vm.expectEmit();
        emit IERC20.Transfer(address(0), holder, SUPPLY);
        ComputeToken fresh = new ComputeToken(holder);

        assertEq(fresh.TOTAL_SUPPLY(), SUPPLY, "TOTAL_SUPPLY");
        assertLt(SUPPLY, 2 ** 96, "fits the escrow's uint96 fields");
        assertEq(fresh.totalSupply(), SUPPLY, "totalSupply");
        assertEq(fresh.balanceOf(holder), SUPPLY, "holder balance");
        assertEq(fresh.balanceOf(address(this)), 0, "deployer balance");
        assertEq(fresh.name(), "utter compute", "name");
        assertEq(fresh.symbol(), "UTC", "symbol");
        assertEq(fresh.decimals(), 18, "decimals");

        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = fresh.eip712Domain();
        assertEq(uint256(uint8(fields)), 0x0f, "fields");
        assertEq(name, "utter compute", "domain name");
        assertEq(version, "1", "domain version");
        assertEq(chainId, block.chainid, "domain chain id");
        assertEq(verifyingContract, address(fresh), "domain contract");
        assertEq(salt, bytes32(0), "domain salt");
        assertEq(extensions.length, 0, "domain extensions");
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("utter compute"),
                keccak256("1"),
                block.chainid,
                address(fresh)
            )
        );
        assertEq(fresh.DOMAIN_SEPARATOR(), expected, "DOMAIN_SEPARATOR");
    }

    function test_FixtureHolderReceivedSupply() external view {
        // The fixture deployed the token to itself and funded three actors with 100k each.
        assertEq(token.totalSupply(), SUPPLY, "totalSupply");
        assertEq(token.balanceOf(address(this)), SUPPLY - 300_000e18, "fixture holder balance");
    }
}
