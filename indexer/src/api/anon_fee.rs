//! The anonymous-start fee now: `contracts/src/libraries/AnonFee.sol` ported to Rust, with the same
//! integer math (`mulDiv` rounding up, truncating signed division, clamping).

use alloy::primitives::{U256, U512};

/// One adjustment step per this many seconds.
const PERIOD: u64 = 600;
/// Most steps applied at once.
const MAX_STEPS: u64 = 32;
/// Basis points.
const BPS: i64 = 10_000;
/// A full deviation moves the fee by 1/8.
const DENOMINATOR: i64 = 8;

/// `AnonFee.deviationBps`: the anonymous share's relative deviation from its target, in basis
/// points, at most `+10000`; `-10000` on an idle network. A zero target cannot exist on chain (the
/// contract would divide by zero); here it reads as fully above target.
pub(crate) fn deviation_bps(anon_rate: U256, global_rate: U256, target_share_bps: u16) -> i64 {
    if global_rate.is_zero() {
        return -BPS;
    }
    if target_share_bps == 0 {
        return BPS;
    }
    // anon_rate <= global_rate on chain, so the scaled share is <= 1e8; saturate otherwise.
    let scaled = anon_rate.saturating_mul(U256::from(BPS * BPS)) / global_rate;
    let share_scaled: i64 = scaled.try_into().unwrap_or(i64::MAX / 2);
    let target = i64::from(target_share_bps);
    // Rust's `/` truncates toward zero like Solidity's signed division.
    ((share_scaled - target * BPS) / target).min(BPS)
}

/// `AnonFee.step`: `fee * (1 + deviation / 8)`, rounded up, clamped to `[min_fee, max_fee]`.
pub(crate) fn step(fee: U256, deviation: i64, min_fee: U256, max_fee: U256) -> U256 {
    let deviation = deviation.clamp(-BPS, BPS);
    let factor = U512::from((DENOMINATOR * BPS + deviation) as u64);
    let denominator = U512::from((DENOMINATOR * BPS) as u64);
    let product = U512::from(fee) * factor;
    let quotient = product.div_ceil(denominator);
    clamp(U256::saturating_from(quotient), min_fee, max_fee)
}

/// `AnonFee.clamp`.
pub(crate) fn clamp(fee: U256, min_fee: U256, max_fee: U256) -> U256 {
    if fee < min_fee {
        min_fee
    } else if fee > max_fee {
        max_fee
    } else {
        fee
    }
}

/// `AnonFee.current`: the fee at `timestamp` from the checkpoint `stored` at `updated_at`, and the
/// time the returned fee corresponds to. A `timestamp` before the checkpoint applies no step.
pub(crate) fn current(
    stored: U256,
    updated_at: u64,
    deviation: i64,
    min_fee: U256,
    max_fee: U256,
    timestamp: u64,
) -> (U256, u64) {
    let mut fee = clamp(stored, min_fee, max_fee);
    let mut periods = timestamp.saturating_sub(updated_at) / PERIOD;
    let checkpoint_at = if periods >= MAX_STEPS {
        periods = MAX_STEPS;
        timestamp
    } else {
        updated_at + periods * PERIOD
    };
    for _ in 0..periods {
        let next = step(fee, deviation, min_fee, max_fee);
        if next == fee {
            break;
        }
        fee = next;
    }
    (fee, checkpoint_at)
}

/// What a pool's anonymous-start fee depends on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolFeeInputs {
    /// The checkpointed fee.
    pub(crate) stored: U256,
    /// When it was checkpointed.
    pub(crate) updated_at: u64,
    /// The pool's anonymous rate.
    pub(crate) anon_rate: U256,
    /// The network's rate.
    pub(crate) global_rate: U256,
    /// The pool's target share.
    pub(crate) target_share_bps: u16,
    /// The floor.
    pub(crate) min_fee: U256,
    /// The ceiling; zero means no fee.
    pub(crate) max_fee: U256,
}

/// `LeaseEscrow._currentAnonFee`: zero when the ceiling is zero, else [`current`] at the pool's
/// deviation. Returns the fee and the deviation used.
pub(crate) fn pool_fee_now(inputs: &PoolFeeInputs, now: u64) -> (U256, i64) {
    let deviation = deviation_bps(
        inputs.anon_rate,
        inputs.global_rate,
        inputs.target_share_bps,
    );
    if inputs.max_fee.is_zero() {
        return (U256::ZERO, deviation);
    }
    let (fee, _) = current(
        inputs.stored,
        inputs.updated_at,
        deviation,
        inputs.min_fee,
        inputs.max_fee,
        now,
    );
    (fee, deviation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    #[test]
    fn deviation_by_hand() {
        assert_eq!(deviation_bps(u(0), u(0), 1000), -10_000);
        assert_eq!(deviation_bps(u(0), u(100), 1000), -10_000);
        // share 10 % at target 10 % → 0.
        assert_eq!(deviation_bps(u(10), u(100), 1000), 0);
        // share 15 % at target 10 %: (15e6 - 10e6) / 1000 = 5000.
        assert_eq!(deviation_bps(u(15), u(100), 1000), 5000);
        // share 50 % at 10 % → +40000, capped at 10000.
        assert_eq!(deviation_bps(u(50), u(100), 1000), 10_000);
        // share 1/3 at 30 %: scaled 33_333_333; (33_333_333 - 30_000_000) / 3000 = 1111 (truncated).
        assert_eq!(deviation_bps(u(1), u(3), 3000), 1111);
        // share 1/7 at 30 %: scaled 14_285_714; (14_285_714 - 30_000_000) / 3000 = -5238.09 → -5238.
        assert_eq!(deviation_bps(u(1), u(7), 3000), -5238);
    }

    #[test]
    fn step_rounds_up_and_clamps() {
        // 1000 * 90000 / 80000 = 1125 exactly.
        assert_eq!(step(u(1000), 10_000, u(1), u(10_000)), u(1125));
        // 1000 * 70000 / 80000 = 875.
        assert_eq!(step(u(1000), -10_000, u(1), u(10_000)), u(875));
        // 7 * 85000 / 80000 = 7.4375 → 8.
        assert_eq!(step(u(7), 5000, u(1), u(10_000)), u(8));
        // 7 * 75000 / 80000 = 6.5625 → 7: rounding up can stall a fall.
        assert_eq!(step(u(7), -5000, u(1), u(10_000)), u(7));
        assert_eq!(step(u(1000), 10_000, u(1), u(1100)), u(1100));
        assert_eq!(step(u(1000), -10_000, u(900), u(2000)), u(900));
    }

    #[test]
    fn current_applies_whole_periods() {
        // Half a period: nothing yet, checkpoint kept.
        assert_eq!(
            current(u(1000), 100, 10_000, u(1), u(1_000_000), 399),
            (u(1000), 100)
        );
        // Two periods up: 1000 → 1125 → 1265.625 → 1266; checkpoint at 100 + 1200.
        assert_eq!(
            current(u(1000), 100, 10_000, u(1), u(1_000_000), 1_400),
            (u(1266), 1300)
        );
        // Stored zero reads as the floor: 500 → 437.5 → 438 after one period down.
        assert_eq!(
            current(u(0), 0, -10_000, u(500), u(1000), 600),
            (u(500), 600)
        );
        assert_eq!(
            current(u(600), 0, -10_000, u(500), u(1000), 600),
            (u(525), 600)
        );
        // 40 periods: capped at 32 steps, checkpoint at now; stops at the ceiling.
        assert_eq!(
            current(u(1000), 0, 10_000, u(1), u(5000), 24_000),
            (u(5000), 24_000)
        );
        // A time before the checkpoint steps nothing.
        assert_eq!(
            current(u(1000), 5000, 10_000, u(1), u(5000), 10),
            (u(1000), 5000)
        );
    }

    #[test]
    fn zero_ceiling_means_no_fee() {
        let inputs = PoolFeeInputs {
            stored: u(1000),
            updated_at: 0,
            anon_rate: u(5),
            global_rate: u(10),
            target_share_bps: 1000,
            min_fee: u(0),
            max_fee: u(0),
        };
        assert_eq!(pool_fee_now(&inputs, 10_000), (U256::ZERO, 10_000));
        let with_ceiling = PoolFeeInputs {
            max_fee: u(2000),
            ..inputs
        };
        // One period fully above target: 1000 → 1125.
        assert_eq!(pool_fee_now(&with_ceiling, 600), (u(1125), 10_000));
    }
}
