//! A provider's trust level in a pool, as `ProviderRegistry.trustLevel` computes it.

use alloy::primitives::U256;

const DAY: u64 = 86_400;

/// What the level depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrustInputs {
    /// The provider's bonded stake in the pool.
    pub(crate) bonded: U256,
    /// The pool's minimum stake.
    pub(crate) min_stake: U256,
    /// Billed lease-seconds, network-wide.
    pub(crate) completed_seconds: u64,
    /// Leases reclaimed after no boot.
    pub(crate) reclaimed: u32,
    /// Boots reported failed.
    pub(crate) boot_failed: u32,
}

/// `ProviderRegistry.trustLevel(poolId, provider)`, line for line: 0 below the minimum stake;
/// otherwise stake points (`bonded / minStake`, at most 4) plus service points (one each at 1, 7,
/// 30 and 365 days of billed time), less a penalty of `reclaimed * 2 + bootFailed / 4`, and never
/// below 1.
///
/// A zero minimum stake cannot exist on chain (`Pools` rejects it; the contract would divide by
/// zero); here it reads as full stake points rather than a panic.
pub(crate) fn trust_level(inputs: &TrustInputs) -> u8 {
    if inputs.bonded < inputs.min_stake {
        return 0;
    }
    let stake_points: u64 = if inputs.min_stake.is_zero() {
        4
    } else {
        (inputs.bonded / inputs.min_stake).min(U256::from(4)).to()
    };
    let s = inputs.completed_seconds;
    let service_points = [DAY, 7 * DAY, 30 * DAY, 365 * DAY]
        .iter()
        .filter(|&&threshold| s >= threshold)
        .count() as u64;
    let penalty = u64::from(inputs.reclaimed) * 2 + u64::from(inputs.boot_failed) / 4;
    let points = stake_points + service_points;
    // points <= 8, so the cast is exact.
    if points > penalty + 1 {
        (points - penalty) as u8
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(bonded: u64, min: u64, days: u64, reclaimed: u32, boot_failed: u32) -> TrustInputs {
        TrustInputs {
            bonded: U256::from(bonded),
            min_stake: U256::from(min),
            completed_seconds: days * DAY,
            reclaimed,
            boot_failed,
        }
    }

    #[test]
    fn below_the_minimum_stake_is_zero() {
        assert_eq!(trust_level(&inputs(99, 100, 400, 0, 0)), 0);
        assert_eq!(trust_level(&inputs(0, 100, 0, 0, 0)), 0);
    }

    #[test]
    fn stake_points_cap_at_four() {
        assert_eq!(trust_level(&inputs(100, 100, 0, 0, 0)), 1);
        assert_eq!(trust_level(&inputs(199, 100, 0, 0, 0)), 1);
        assert_eq!(trust_level(&inputs(200, 100, 0, 0, 0)), 2);
        assert_eq!(trust_level(&inputs(400, 100, 0, 0, 0)), 4);
        assert_eq!(trust_level(&inputs(10_000, 100, 0, 0, 0)), 4);
    }

    #[test]
    fn service_points_at_each_threshold() {
        let at = |seconds| TrustInputs {
            completed_seconds: seconds,
            ..inputs(100, 100, 0, 0, 0)
        };
        assert_eq!(trust_level(&at(DAY - 1)), 1);
        assert_eq!(trust_level(&at(DAY)), 2);
        assert_eq!(trust_level(&at(7 * DAY)), 3);
        assert_eq!(trust_level(&at(30 * DAY)), 4);
        assert_eq!(trust_level(&at(365 * DAY - 1)), 4);
        assert_eq!(trust_level(&at(365 * DAY)), 5);
        assert_eq!(trust_level(&inputs(400, 100, 365, 0, 0)), 8);
    }

    #[test]
    fn penalties_subtract_but_never_below_one() {
        // 8 points, reclaimed 1 → penalty 2 → 6.
        assert_eq!(trust_level(&inputs(400, 100, 365, 1, 0)), 6);
        // boot failures count per four: 7 → penalty 1.
        assert_eq!(trust_level(&inputs(400, 100, 365, 0, 7)), 7);
        assert_eq!(trust_level(&inputs(400, 100, 365, 0, 8)), 6);
        // points 8, penalty 7: 8 > 8 is false → 1.
        assert_eq!(trust_level(&inputs(400, 100, 365, 3, 4)), 1);
        // points 8, penalty 6: 8 > 7 → 2.
        assert_eq!(trust_level(&inputs(400, 100, 365, 3, 0)), 2);
        assert_eq!(trust_level(&inputs(100, 100, 0, 10, 100)), 1);
    }
}
