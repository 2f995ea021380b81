//! `utter lease keep-alive`: a long-running watch that tops a lease up whenever its runway (balance
//! divided by price) falls under a target, never spending more than a cap in total, so a workload does
//! not die because a deposit ran out.

use crate::{
    buyer::{report, send_top_up},
    chain::{Chain, Endpoints},
    output::Output,
    units::{format_duration, parse_duration},
};
use alloy::primitives::U256;
use anyhow::{Context, bail};
use clap::Args;
use std::time::Duration;

/// Options of `utter lease keep-alive`.
#[derive(Debug, Args)]
pub struct KeepAliveArgs {
    /// The lease.
    id: u64,
    /// Keep at least this much paid time ahead: 1h, 30m, 1d.
    #[arg(long)]
    runway: String,
    /// Spend at most this many tokens in total, over the whole run.
    #[arg(long)]
    cap: String,
    /// How often to check: 30s, 5m.
    #[arg(long, default_value = "30s")]
    every: String,
    /// Check once, top up if needed, and exit (for cron and tests).
    #[arg(long)]
    once: bool,
}

/// Top-ups that fail in a row (a node down, a refusal that will not change) before keep-alive gives
/// up instead of retrying forever.
const MAX_FAILURES: u32 = 3;

/// What one check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The runway is long enough.
    Enough,
    /// Top up this much.
    TopUp(U256),
    /// The runway is short but the cap is spent.
    CapSpent,
}

/// The top-up that restores `runway` seconds at `price` from `balance`, within `left` of the cap.
pub fn decide(balance: U256, price: U256, runway: u64, left: U256) -> Step {
    let target = price * U256::from(runway);
    if balance >= target {
        return Step::Enough;
    }
    let needed = target - balance;
    if left.is_zero() {
        Step::CapSpent
    } else {
        Step::TopUp(needed.min(left))
    }
}

/// Runs `utter lease keep-alive`.
pub async fn run(args: KeepAliveArgs, endpoints: &Endpoints, out: &Output) -> anyhow::Result<()> {
    let runway = parse_duration(&args.runway).context("--runway")?;
    let every = parse_duration(&args.every).context("--every")?;
    let chain = Chain::connect(endpoints, true).await?;
    let cap = chain.token.parse(&args.cap).context("--cap")?;
    if cap.is_zero() {
        bail!("--cap is zero: give the most keep-alive may spend, e.g. --cap 50");
    }
    let first = report(&chain, args.id, None).await?;
    if first.status == "closed" {
        bail!(
            "lease {} is closed: there is nothing to keep alive",
            args.id
        );
    }
    let token = &chain.token;
    out.confirm(&format!(
        "Keep lease {} funded for {} ahead, checking every {}, spending at most {} in total",
        args.id,
        format_duration(runway),
        format_duration(every),
        token.format(cap)
    ))?;
    // Ctrl-C is caught from the start, so a top-up in flight is finished and reported, not cut off.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    let mut spent = U256::ZERO;
    let mut failures = 0;
    let mut top_ups = Vec::new();
    let reason = loop {
        let r = report(&chain, args.id, None).await?;
        let price = U256::from_str_radix(&r.price_per_second, 10)?;
        let balance = U256::from_str_radix(&r.balance, 10)?;
        let outcome = match r.status {
            "closed" => Some(format!("lease {} has ended", args.id)),
            "halted" if r.deadline <= r.as_of => Some(format!(
                "lease {} ran dry and its retention is over: it can only be closed",
                args.id
            )),
            _ => match decide(balance, price, runway, cap - spent) {
                Step::Enough => None,
                Step::CapSpent => Some(format!(
                    "the cap of {} is spent; lease {} has {} left: raise --cap to keep it alive",
                    token.format(cap),
                    args.id,
                    format_duration((balance / price).to::<u64>())
                )),
                Step::TopUp(amount) => {
                    out.status(format!(
                        "lease {}: {} left, under the {} runway: topping up {}",
                        args.id,
                        format_duration((balance / price).to::<u64>()),
                        format_duration(runway),
                        token.format(amount)
                    ));
                    match send_top_up(&chain, args.id, amount, None, out).await {
                        Ok(tx) => {
                            failures = 0;
                            spent += amount;
                            top_ups
                                .push(serde_json::json!({"amount": amount.to_string(), "tx": tx}));
                        }
                        Err(error) if args.once || failures + 1 >= MAX_FAILURES => {
                            return Err(error.context(format!(
                                "keep-alive stopped after spending {} of the cap",
                                token.format(spent)
                            )));
                        }
                        Err(error) => {
                            failures += 1;
                            out.status(format!("top-up failed, retrying next check: {error:#}"))
                        }
                    }
                    None
                }
            },
        };
        if let Some(reason) = outcome {
            break reason;
        }
        if args.once {
            break format!("checked lease {} once", args.id);
        }
        if *stopped.borrow() {
            break "stopped by Ctrl-C".to_owned();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(every)) => {}
            _ = stopped.changed() => break "stopped by Ctrl-C".to_owned(),
        }
    };
    let after = report(&chain, args.id, None).await?;
    out.result(
        &serde_json::json!({
            "lease_id": args.id,
            "spent": spent.to_string(),
            "cap": cap.to_string(),
            "top_ups": top_ups,
            "status": after.status,
            "balance": after.balance,
            "stopped": reason,
        }),
        || {
            format!(
                "{reason}; spent {} of the {} cap",
                token.format(spent),
                token.format(cap)
            )
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tops_up_to_the_runway_within_the_cap() {
        let price = U256::from(10);
        assert_eq!(
            decide(U256::from(36_000), price, 3600, U256::from(1)),
            Step::Enough
        );
        assert_eq!(
            decide(U256::from(6_000), price, 3600, U256::from(100_000)),
            Step::TopUp(U256::from(30_000))
        );
        assert_eq!(
            decide(U256::from(6_000), price, 3600, U256::from(500)),
            Step::TopUp(U256::from(500))
        );
        assert_eq!(
            decide(U256::from(6_000), price, 3600, U256::ZERO),
            Step::CapSpent
        );
    }
}
