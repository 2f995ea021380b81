// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title AnonFee
/// @notice EIP-1559-style pricing of anonymous lease starts. The signal is the share of the network's
/// compute rate held by a pool's anonymous leases, against the pool's target share: every period above
/// target multiplies the fee by up to 9/8, every period below by down to 7/8, in proportion to the
/// deviation; every anonymous start above target pushes it up once more. The fee stays within the pool's bounds.
library AnonFee {
    /// @notice One adjustment step per this many seconds.
    uint256 internal constant PERIOD = 10 minutes;
    /// @notice Most steps applied at once; past this the fee sits at a bound anyway (1.125**32 > 43).
    uint256 internal constant MAX_STEPS = 32;
    /// @notice Basis points.
    int256 internal constant BPS = 10_000;
    /// @notice EIP-1559's change denominator: a full deviation moves the fee by 1/8.
    int256 internal constant DENOMINATOR = 8;

    /// @notice The relative deviation of the anonymous share from its target, in basis points, clamped to
    /// [-10000, 10000]. An idle network (global rate zero) reads as fully below target.
    /// @param anonRate Summed price per second of the pool's anonymous leases.
    /// @param globalRate Summed price per second of all leases.
    /// @param targetShareBps The pool's target share, in (0, 10000].
    function deviationBps(uint256 anonRate, uint256 globalRate, uint16 targetShareBps)
        internal
        pure
        returns (int256 deviation)
    {
        if (globalRate == 0) return -BPS;
        // deviation = (share - target) / target in bps, with share = anonRate / globalRate, divided last so no
        // precision is lost. anonRate <= globalRate (it is a part of it), so the scaled share is <= 1e8 and the
        // casts are safe.
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 shareScaled = int256(anonRate * uint256(BPS * BPS) / globalRate);
        int256 target = int256(uint256(targetShareBps));
        deviation = (shareScaled - target * BPS) / target;
        if (deviation > BPS) deviation = BPS;
    }

    /// @notice One adjustment step: `fee * (1 + deviation / 8)`, rounded up (in the escrow's favour), clamped.
    function step(uint256 fee, int256 deviation, uint256 minFee, uint256 maxFee) internal pure returns (uint256) {
        // deviation in [-1e4, 1e4], so the factor is in [7e4, 9e4]: positive.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 factor = uint256(DENOMINATOR * BPS + deviation);
        // forge-lint: disable-next-line(unsafe-typecast)
        return clamp(Math.mulDiv(fee, factor, uint256(DENOMINATOR * BPS), Math.Rounding.Ceil), minFee, maxFee);
    }

    /// @notice `fee` bounded to [minFee, maxFee].
    function clamp(uint256 fee, uint256 minFee, uint256 maxFee) internal pure returns (uint256) {
        return fee < minFee ? minFee : fee > maxFee ? maxFee : fee;
    }

    /// @notice The fee now, from the last checkpoint and the current deviation.
    /// @param stored The checkpointed fee (zero before the first start: read as the floor).
    /// @param updatedAt When it was checkpointed.
    /// @return fee The fee now.
    /// @return checkpointAt The time the returned fee corresponds to, keeping the unfinished period's progress.
    function current(
        uint256 stored,
        uint256 updatedAt,
        int256 deviation,
        uint256 minFee,
        uint256 maxFee,
        uint256 timestamp
    ) internal pure returns (uint256 fee, uint256 checkpointAt) {
        fee = clamp(stored, minFee, maxFee);
        // Whole periods only, on purpose: the unfinished one keeps its progress in `checkpointAt` below.
        // slither-disable-next-line divide-before-multiply
        uint256 periods = (timestamp - updatedAt) / PERIOD;
        if (periods >= MAX_STEPS) {
            checkpointAt = timestamp;
            periods = MAX_STEPS;
        } else {
            checkpointAt = updatedAt + periods * PERIOD;
        }
        for (uint256 i; i < periods; ++i) {
            uint256 next = step(fee, deviation, minFee, maxFee);
            if (next == fee) break;
            fee = next;
        }
    }
}
