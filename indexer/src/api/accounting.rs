//! A lease's money at a given time, as `LeaseEscrow.leaseState` computes it: the chain records a
//! running lease's spending lazily, so the balance, the provider's earnings and whether it ran dry
//! are derived from `funds`, `price_per_second` and `settled_at`.

use crate::model::lease_status;
use alloy::primitives::U256;

/// Longest runway the escrow counts (`type(uint32).max` seconds).
pub(crate) const RUNWAY_CAP: u64 = u32::MAX as u64;

/// `LeaseEscrow._runway`: seconds `funds` pay for at `price`, rounded up, capped at
/// [`RUNWAY_CAP`]. A zero price (which the contracts never store) reads as the cap.
pub(crate) fn runway(funds: U256, price: U256) -> u64 {
    if price.is_zero() {
        return RUNWAY_CAP;
    }
    let seconds = funds.div_ceil(price);
    if seconds > U256::from(RUNWAY_CAP) {
        RUNWAY_CAP
    } else {
        seconds.to()
    }
}

/// A lease's state at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeaseNow {
    /// `pending`, `running`, `expired`, `halted`, `restart_pending` or `closed`.
    pub(crate) status: &'static str,
    /// The buyer's unspent balance.
    pub(crate) balance: U256,
    /// The provider's earnings still in the lease.
    pub(crate) earned: U256,
    /// Running: when the funds run out; halted: when they did.
    pub(crate) paid_until: Option<u64>,
}

/// The name of a recorded `LeaseStatus`.
pub(crate) fn status_name(status: u8) -> &'static str {
    match status {
        lease_status::PENDING => "pending",
        lease_status::RUNNING => "running",
        lease_status::HALTED => "halted",
        lease_status::RESTART_PENDING => "restart_pending",
        lease_status::CLOSED => "closed",
        _ => "unknown",
    }
}

/// `LeaseEscrow.leaseState` at `now`. A running lease whose runway has passed is `expired`: the
/// chain halts it at its next touch, with the whole balance earned. A `now` before `settled_at`
/// (a query `at` in the past) bills nothing.
pub(crate) fn lease_now(
    status: u8,
    funds: U256,
    price: U256,
    settled_at: u64,
    now: u64,
) -> LeaseNow {
    match status {
        lease_status::RUNNING => {
            let paid_until = settled_at.saturating_add(runway(funds, price));
            if now >= paid_until {
                return LeaseNow {
                    status: "expired",
                    balance: U256::ZERO,
                    earned: funds,
                    paid_until: Some(paid_until),
                };
            }
            let spent = price
                .saturating_mul(U256::from(now.saturating_sub(settled_at)))
                .min(funds);
            LeaseNow {
                status: "running",
                balance: funds - spent,
                earned: spent,
                paid_until: Some(paid_until),
            }
        }
        lease_status::HALTED | lease_status::CLOSED => LeaseNow {
            status: status_name(status),
            balance: U256::ZERO,
            earned: funds,
            paid_until: (status == lease_status::HALTED).then_some(settled_at),
        },
        _ => LeaseNow {
            status: status_name(status),
            balance: funds,
            earned: U256::ZERO,
            paid_until: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    #[test]
    fn runway_rounds_up_and_caps() {
        assert_eq!(runway(u(10), u(3)), 4);
        assert_eq!(runway(u(9), u(3)), 3);
        assert_eq!(runway(u(0), u(3)), 0);
        assert_eq!(runway(U256::MAX, u(1)), RUNWAY_CAP);
        assert_eq!(runway(u(5), U256::ZERO), RUNWAY_CAP);
    }

    #[test]
    fn running_lease_spends_by_the_second() {
        // funds 10 at 3/s from t=100: paid until 104.
        let at = |now| lease_now(lease_status::RUNNING, u(10), u(3), 100, now);
        assert_eq!(
            at(100),
            LeaseNow {
                status: "running",
                balance: u(10),
                earned: u(0),
                paid_until: Some(104)
            }
        );
        assert_eq!(at(103).balance, u(1));
        assert_eq!(at(103).earned, u(9));
        let dry = at(104);
        assert_eq!(
            (dry.status, dry.balance, dry.earned),
            ("expired", u(0), u(10))
        );
        assert_eq!(at(50).balance, u(10));
    }

    #[test]
    fn capped_runway_expires_at_the_cap() {
        let now = lease_now(lease_status::RUNNING, U256::MAX, u(1), 0, RUNWAY_CAP);
        assert_eq!(now.status, "expired");
        assert_eq!(now.earned, U256::MAX);
    }

    #[test]
    fn other_statuses() {
        let pending = lease_now(lease_status::PENDING, u(10), u(3), 0, 1000);
        assert_eq!(
            (pending.balance, pending.earned, pending.paid_until),
            (u(10), u(0), None)
        );
        let restart = lease_now(lease_status::RESTART_PENDING, u(7), u(3), 0, 1000);
        assert_eq!((restart.status, restart.balance), ("restart_pending", u(7)));
        let halted = lease_now(lease_status::HALTED, u(10), u(3), 104, 1000);
        assert_eq!(
            (halted.balance, halted.earned, halted.paid_until),
            (u(0), u(10), Some(104))
        );
        let closed = lease_now(lease_status::CLOSED, u(4), u(3), 104, 1000);
        assert_eq!(
            (
                closed.status,
                closed.balance,
                closed.earned,
                closed.paid_until
            ),
            ("closed", u(0), u(4), None)
        );
    }
}
