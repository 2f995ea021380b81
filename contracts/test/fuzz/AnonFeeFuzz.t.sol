// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AnonFee} from "../../src/libraries/AnonFee.sol";
import {OpenParams, PoolConfig} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";
import {Test} from "../utils/Test.sol";

/// @notice Exposes the AnonFee library's internal functions so they can be fuzzed directly.
contract AnonFeeHarness {
    function period() external pure returns (uint256) {
        return AnonFee.PERIOD;
    }

    function maxSteps() external pure returns (uint256) {
        return AnonFee.MAX_STEPS;
    }

    function deviationBps(uint256 anonRate, uint256 globalRate, uint16 targetShareBps) external pure returns (int256) {
        return AnonFee.deviationBps(anonRate, globalRate, targetShareBps);
    }

    function step(uint256 fee, int256 deviation, uint256 minFee, uint256 maxFee) external pure returns (uint256) {
        return AnonFee.step(fee, deviation, minFee, maxFee);
    }

    function clamp(uint256 fee, uint256 minFee, uint256 maxFee) external pure returns (uint256) {
        return AnonFee.clamp(fee, minFee, maxFee);
    }

    function current(
        uint256 stored,
        uint256 updatedAt,
        int256 deviation,
        uint256 minFee,
        uint256 maxFee,
        uint256 timestamp
    ) external pure returns (uint256 fee, uint256 checkpointAt) {
        return AnonFee.current(stored, updatedAt, deviation, minFee, maxFee, timestamp);
    }
}

/// @notice Properties of the EIP-1559-style anonymous-start fee: bounds, direction, rounding, step cap.
contract AnonFeeFuzzTest is Test {
    uint256 internal constant PERIOD = 10 minutes;
    uint256 internal constant MAX_STEPS = 32;
    uint256 internal constant DENOM = 80_000; // DENOMINATOR * BPS

    AnonFeeHarness internal lib;

    function setUp() public {
        lib = new AnonFeeHarness();
    }

    // ---------------------------------------------------------------- helpers

    function _bounds(uint256 minSeed, uint256 maxSeed) internal pure returns (uint256 minFee, uint256 maxFee) {
        minFee = bound(minSeed, 0, type(uint96).max);
        maxFee = bound(maxSeed, minFee, type(uint96).max);
    }

    function _deviation(uint256 seed) internal pure returns (int256) {
        return int256(bound(seed, 0, 20_000)) - 10_000;
    }

    /// @dev The fee after `n` steps, applied one by one with no early exit: the reference for `current`.
    function _stepN(uint256 fee, int256 deviation, uint256 minFee, uint256 maxFee, uint256 n)
        internal
        view
        returns (uint256)
    {
        fee = lib.clamp(fee, minFee, maxFee);
        for (uint256 i; i < n; ++i) {
            fee = lib.step(fee, deviation, minFee, maxFee);
        }
        return fee;
    }

    // ---------------------------------------------------------------- constants

    function test_Constants() public view {
        assertEq(lib.period(), PERIOD, "period");
        assertEq(lib.maxSteps(), MAX_STEPS, "max steps");
    }

    // ---------------------------------------------------------------- deviation

    function testFuzz_Deviation_InRangeWithTheSignOfShareMinusTarget(uint256 anon, uint256 global, uint256 targetSeed)
        public
        view
    {
        global = bound(global, 0, type(uint192).max);
        anon = bound(anon, 0, global);
        uint16 target = uint16(bound(targetSeed, 1, 10_000));
        int256 deviation = lib.deviationBps(anon, global, target);
        assertTrue(deviation >= -10_000 && deviation <= 10_000, "deviation within [-1e4, 1e4]");
        if (global == 0) {
            assertEq(deviation, int256(-10_000), "idle network reads as fully below target");
            return;
        }
        // The relative deviation (share - target) / target, share = anon / global, in bps, truncated, capped at +1e4.
        int256 expected = (int256(anon * 1e8 / global) - int256(uint256(target)) * 10_000) / int256(uint256(target));
        if (expected > 10_000) expected = 10_000;
        assertEq(deviation, expected, "deviation != (share - target) / target");
        // Its sign never contradicts the exact comparison of the share with the target.
        uint256 shareTimesGlobal = anon * 10_000;
        uint256 targetTimesGlobal = uint256(target) * global;
        if (deviation > 0) assertGt(shareTimesGlobal, targetTimesGlobal, "positive deviation at or below target");
        if (deviation < 0) assertLt(shareTimesGlobal, targetTimesGlobal, "negative deviation at or above target");
        if (shareTimesGlobal == targetTimesGlobal) assertEq(deviation, int256(0), "on target: zero");
        if (anon == 0) assertEq(deviation, int256(-10_000), "no anonymous leases: fully below target");
    }

    // ---------------------------------------------------------------- step

    function testFuzz_Step_StaysWithinBounds(uint256 fee, uint256 devSeed, uint256 minSeed, uint256 maxSeed)
        public
        view
    {
        (uint256 minFee, uint256 maxFee) = _bounds(minSeed, maxSeed);
        fee = bound(fee, 0, type(uint128).max);
        uint256 next = lib.step(fee, _deviation(devSeed), minFee, maxFee);
        assertGe(next, minFee, "step below floor");
        assertLe(next, maxFee, "step above ceiling");
    }

    function testFuzz_Step_AboveTargetNeverFallsBelowNeverRises(
        uint256 fee,
        uint256 devSeed,
        uint256 minSeed,
        uint256 maxSeed
    ) public view {
        (uint256 minFee, uint256 maxFee) = _bounds(minSeed, maxSeed);
        fee = bound(fee, minFee, maxFee);
        int256 deviation = _deviation(devSeed);
        uint256 next = lib.step(fee, deviation, minFee, maxFee);
        if (deviation > 0) assertGe(next, fee, "above target the fee fell");
        else if (deviation < 0) assertLe(next, fee, "below target the fee rose");
        else assertEq(next, fee, "on target the fee moved");
    }

    function testFuzz_Step_RoundsUpThenClamps(uint256 fee, uint256 devSeed, uint256 minSeed, uint256 maxSeed)
        public
        view
    {
        (uint256 minFee, uint256 maxFee) = _bounds(minSeed, maxSeed);
        fee = bound(fee, 0, type(uint128).max);
        int256 deviation = _deviation(devSeed);
        uint256 raw = fee * uint256(int256(DENOM) + deviation);
        uint256 ceil = raw / DENOM + (raw % DENOM == 0 ? 0 : 1);
        uint256 expected = ceil < minFee ? minFee : ceil > maxFee ? maxFee : ceil;
        uint256 next = lib.step(fee, deviation, minFee, maxFee);
        assertEq(next, expected, "step == clamp(ceil(fee * (8e4 + dev) / 8e4))");
        if (next == ceil) {
            assertGe(next * DENOM, raw, "rounded down");
            if (next != 0) assertLt((next - 1) * DENOM, raw, "rounded up by more than one");
        }
    }

    // ---------------------------------------------------------------- current

    struct CurrentCase {
        uint256 stored;
        uint256 updatedAt;
        uint256 elapsed;
        int256 deviation;
        uint256 minFee;
        uint256 maxFee;
    }

    function testFuzz_Current_AppliesOneStepPerPeriodAtMost32(
        uint256 stored,
        uint256 updatedAt,
        uint256 elapsed,
        uint256 devSeed,
        uint256 minSeed,
        uint256 maxSeed
    ) public view {
        CurrentCase memory c;
        (c.minFee, c.maxFee) = _bounds(minSeed, maxSeed);
        c.stored = bound(stored, 0, type(uint96).max);
        c.updatedAt = bound(updatedAt, 0, type(uint40).max);
        c.elapsed = bound(elapsed, 0, 100 * PERIOD);
        c.deviation = _deviation(devSeed);
        _checkCurrent(c);
    }

    function _checkCurrent(CurrentCase memory c) internal view {
        uint256 timestamp = c.updatedAt + c.elapsed;
        (uint256 fee, uint256 checkpointAt) =
            lib.current(c.stored, c.updatedAt, c.deviation, c.minFee, c.maxFee, timestamp);
        uint256 periods = c.elapsed / PERIOD;
        uint256 applied = periods > MAX_STEPS ? MAX_STEPS : periods;
        assertEq(fee, _stepN(c.stored, c.deviation, c.minFee, c.maxFee, applied), "fee == min(periods, 32) steps");
        assertGe(fee, c.minFee, "fee below floor");
        assertLe(fee, c.maxFee, "fee above ceiling");
        if (periods >= MAX_STEPS) {
            assertEq(checkpointAt, timestamp, "past 32 periods the checkpoint is now");
            // Any further time changes nothing: the fee after 32 periods is final.
            (uint256 later,) =
                lib.current(c.stored, c.updatedAt, c.deviation, c.minFee, c.maxFee, timestamp + 1000 * PERIOD);
            assertEq(later, fee, "more than 32 steps applied");
        } else {
            assertEq(checkpointAt, c.updatedAt + periods * PERIOD, "checkpoint keeps the unfinished period");
            assertLe(checkpointAt, timestamp, "checkpoint in the future");
        }
    }

    function _currentAt(CurrentCase memory c, uint256 timestamp) internal view returns (uint256 fee, uint256 at) {
        return lib.current(c.stored, c.updatedAt, c.deviation, c.minFee, c.maxFee, timestamp);
    }

    function _case(uint256 stored, uint256 devSeed, uint256 minSeed, uint256 maxSeed)
        internal
        pure
        returns (CurrentCase memory c)
    {
        (c.minFee, c.maxFee) = _bounds(minSeed, maxSeed);
        c.stored = bound(stored, 0, type(uint96).max);
        c.deviation = _deviation(devSeed);
    }

    function testFuzz_Current_MovesMonotonicallyWithTime(
        uint256 stored,
        uint256 t1Seed,
        uint256 t2Seed,
        uint256 devSeed,
        uint256 minSeed,
        uint256 maxSeed
    ) public view {
        CurrentCase memory c = _case(stored, devSeed, minSeed, maxSeed);
        uint256 t1 = bound(t1Seed, 0, 40 * PERIOD);
        uint256 t2 = bound(t2Seed, t1, 40 * PERIOD);
        (uint256 fee1,) = _currentAt(c, t1);
        (uint256 fee2,) = _currentAt(c, t2);
        if (c.deviation > 0) assertGe(fee2, fee1, "above target the fee fell over time");
        else if (c.deviation < 0) assertLe(fee2, fee1, "below target the fee rose over time");
        else assertEq(fee2, fee1, "on target the fee moved over time");
    }

    function testFuzz_Current_CheckpointThenContinueEqualsOneShot(
        uint256 stored,
        uint256 t1Seed,
        uint256 t2Seed,
        uint256 devSeed,
        uint256 minSeed,
        uint256 maxSeed
    ) public view {
        // Checkpointing at t1 (keeping the unfinished period) and reading at t2 gives the same fee as reading
        // at t2 straight away, as long as the 32-step cap is not hit.
        CurrentCase memory c = _case(stored, devSeed, minSeed, maxSeed);
        uint256 t1 = bound(t1Seed, 0, 31 * PERIOD);
        uint256 t2 = bound(t2Seed, t1, 31 * PERIOD);
        (uint256 mid, uint256 checkpointAt) = _currentAt(c, t1);
        (uint256 direct,) = _currentAt(c, t2);
        (c.stored, c.updatedAt) = (mid, checkpointAt);
        (uint256 viaCheckpoint,) = _currentAt(c, t2);
        assertEq(viaCheckpoint, direct, "checkpointing changed the fee");
    }
}

/// @notice The anonymous-start fee as the escrow charges it.
contract EscrowAnonFeeFuzzTest is Base {
    function testFuzz_EscrowAnonFee_ChargedAsQuotedAndWithinBounds(uint256[6] memory gaps, uint256 countSeed) public {
        uint256 count = bound(countSeed, 1, 6);
        for (uint256 i; i < count; ++i) {
            skip(bound(gaps[i], 0, 3 hours));
            address who = vm.addr(uint256(keccak256(abi.encode("anon buyer", i))));
            fund(who, 1000e18);
            uint256 quoted = escrow.anonFee(poolId);
            assertGe(quoted, ANON_MIN_FEE, "fee below floor");
            assertLe(quoted, ANON_MAX_FEE, "fee above ceiling");
            uint256 feesBefore = escrow.poolFees(poolId);
            uint256 balanceBefore = token.balanceOf(who);
            OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
            params.maxAnonFee = quoted;
            vm.prank(who);
            uint256 leaseId = escrow.openLease(params);
            assertTrue(escrow.getLease(leaseId).isAnonymous, "buyer without trust is anonymous");
            assertEq(balanceBefore - token.balanceOf(who), ONE_HOUR_DEPOSIT + quoted, "buyer paid deposit + quote");
            assertEq(escrow.poolFees(poolId) - feesBefore, quoted, "anon fee accrues to the pool");
            // Every open in this pool is anonymous: the share is above target, the fee never falls.
            assertGe(escrow.anonFee(poolId), quoted, "fee fell after an above-target start");
        }
    }

    function testFuzz_EscrowAnonFee_SlippageGuard(uint256 maxFeeSeed) public {
        uint256 quoted = escrow.anonFee(poolId);
        uint256 maxFee = bound(maxFeeSeed, 0, quoted - 1);
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = maxFee;
        vm.expectRevert(abi.encodeWithSignature("Escrow_AnonFeeTooHigh(uint256,uint256)", quoted, maxFee));
        vm.prank(buyer);
        escrow.openLease(params);
    }

    function testFuzz_Open_PriceGuard(uint256 maxPriceSeed) public {
        uint256 maxPrice = bound(maxPriceSeed, 0, 2 * uint256(PRICE));
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxPricePerSecond = maxPrice;
        if (maxPrice < PRICE) {
            vm.expectRevert(abi.encodeWithSignature("Escrow_PriceAboveLimit(uint256,uint256)", PRICE, maxPrice));
        }
        vm.prank(buyer);
        escrow.openLease(params);
    }

    function testFuzz_EscrowAnonFee_TrustedBuyerPaysNone(uint256 depositSeed) public {
        PoolConfig memory config = defaultPoolConfig();
        uint256 amount = bound(depositSeed, config.trust.trustedDeposit, 10_000e18);
        vm.prank(buyer);
        buyerTrust.deposit(amount);
        uint256 balanceBefore = token.balanceOf(buyer);
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        assertFalse(escrow.getLease(leaseId).isAnonymous, "trusted buyer marked anonymous");
        assertEq(balanceBefore - token.balanceOf(buyer), ONE_HOUR_DEPOSIT, "trusted buyer paid an anon fee");
        assertEq(escrow.poolFees(poolId), 0, "pool fee accrued for a trusted start");
    }
}
