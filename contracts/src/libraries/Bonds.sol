// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Bonds
/// @notice The arithmetic of a slashable bond with an unbonding part, shared by providers' stakes and buyers'
/// trust deposits: unbonding moves tokens out of what counts, slashing takes what counts first.
/// @dev Amounts are bounded by the token supply (< 2**96), so the sums never overflow.
library Bonds {
    /// @notice Moves `amount` from `bonded` to `unbonding`.
    /// @dev The caller checks `amount <= bonded`.
    function unbond(uint96 bonded, uint96 unbonding, uint256 amount) internal pure returns (uint96, uint96) {
        unchecked {
            // amount <= bonded (checked by the caller) and bonded + unbonding < 2**96.
            // forge-lint: disable-next-line(unsafe-typecast)
            return (bonded - uint96(amount), unbonding + uint96(amount));
        }
    }

    /// @notice `shareBps` of the whole bond, rounded down (in the bond holder's favour).
    function share(uint96 bonded, uint96 unbonding, uint16 shareBps) internal pure returns (uint256) {
        return (uint256(bonded) + unbonding) * shareBps / 10_000;
    }

    /// @notice Takes `amount` out of the bond: from `bonded` first, then from `unbonding`.
    /// @dev The caller checks `amount <= bonded + unbonding`.
    function take(uint96 bonded, uint96 unbonding, uint256 amount) internal pure returns (uint96, uint96) {
        unchecked {
            // amount <= bonded + unbonding (checked by the caller), so neither subtraction underflows.
            // forge-lint: disable-next-line(unsafe-typecast)
            if (amount <= bonded) return (bonded - uint96(amount), unbonding);
            // forge-lint: disable-next-line(unsafe-typecast)
            return (0, unbonding - uint96(amount - bonded));
        }
    }
}
