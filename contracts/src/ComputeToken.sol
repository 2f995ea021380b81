// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title ComputeToken
/// @notice The utter compute token: every price, deposit, stake and fee in the exchange is in it.
/// A fixed supply is minted once at deployment; nobody can mint more. ERC-2612 permits let buyers
/// approve and open a lease in one transaction.
contract ComputeToken is ERC20, ERC20Permit {
    /// @notice The whole supply, minted at deployment. Below 2**96, so every amount fits the escrow's packed fields.
    uint256 public constant TOTAL_SUPPLY = 1_000_000_000e18;

    /// @param holder Receives the whole supply.
    constructor(address holder) ERC20("utter compute", "UTC") ERC20Permit("utter compute") {
        _mint(holder, TOTAL_SUPPLY);
    }
}
