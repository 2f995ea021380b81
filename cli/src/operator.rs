//! What pool operators do: create a pool, set its fee and buyer trust parameters, rule on abuse
//! reports, withdraw pool fees.

use crate::{
    chain::{Chain, Endpoints},
    output::Output,
    units::{Token, format_duration, parse_duration},
};
use alloy::primitives::{Address, U256, aliases::U96};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use utter_bindings::{BuyerTrust, Pools};

/// `utter pool ...`.
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create a pool operated by you.
    Create(CreateArgs),
    /// Set a pool's fee (basis points of providers' earnings; running leases keep theirs).
    SetFee {
        /// The pool.
        pool: u32,
        /// The fee in basis points: 500 = 5 %.
        #[arg(long)]
        fee_bps: u16,
    },
    /// Set a pool's buyer trust parameters (only what is given changes).
    SetTrust {
        /// The pool.
        pool: u32,
        /// The fields.
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Rule on an abuse report: uphold (optionally slashing the buyer's deposit) or dismiss.
    Rule {
        /// The report.
        report: u64,
        /// Uphold the report.
        #[arg(long, conflicts_with = "dismiss", required_unless_present = "dismiss")]
        uphold: bool,
        /// Dismiss the report.
        #[arg(long)]
        dismiss: bool,
        /// Tokens of the buyer's deposit to slash to the provider (with --uphold).
        #[arg(long, requires = "uphold")]
        slash: Option<String>,
    },
    /// Withdraw the pool's accrued fees.
    WithdrawFees {
        /// The pool.
        pool: u32,
        /// Where the tokens go (default: your address).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Show a pool: operator, fee, stakes, trust parameters and fees accrued.
    Show {
        /// The pool.
        pool: u32,
    },
}

/// Buyer trust parameters, as flags.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A buyer with this deposit is not anonymous.
    #[arg(long)]
    trusted_deposit: Option<String>,
    /// A buyer with this karma is not anonymous.
    #[arg(long)]
    trusted_karma: Option<String>,
    /// Target share of anonymous leases in the global compute rate, bps.
    #[arg(long)]
    anon_target_share_bps: Option<u16>,
    /// Largest share of a buyer's deposit one upheld report may slash, bps.
    #[arg(long)]
    max_buyer_slash_bps: Option<u16>,
    /// Leases any buyer may hold at once.
    #[arg(long)]
    base_leases: Option<u16>,
    /// Most leases one buyer may hold at once.
    #[arg(long)]
    max_leases: Option<u16>,
    /// Each multiple of this deposit allows one more lease (0: none).
    #[arg(long)]
    deposit_per_lease: Option<String>,
    /// Each multiple of this karma allows one more lease (0: none).
    #[arg(long)]
    karma_per_lease: Option<String>,
    /// Floor of the anonymous-start fee.
    #[arg(long)]
    anon_min_fee: Option<String>,
    /// Ceiling of the anonymous-start fee.
    #[arg(long)]
    anon_max_fee: Option<String>,
}

/// Options of `utter pool create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The pool's name (1 to 64 bytes).
    #[arg(long)]
    name: String,
    /// Where the pool's branding and rules live.
    #[arg(long, default_value = "")]
    metadata_uri: String,
    /// The fee in basis points of providers' earnings.
    #[arg(long, default_value_t = 500)]
    fee_bps: u16,
    /// Least bonded stake of an eligible provider.
    #[arg(long, default_value = "100")]
    min_stake: String,
    /// Share of stake slashed to the buyer for a boot never acknowledged, bps.
    #[arg(long, default_value_t = 1000)]
    no_boot_slash_bps: u16,
    /// Share slashed for an honestly reported failed boot, bps.
    #[arg(long, default_value_t = 200)]
    boot_fail_slash_bps: u16,
    /// How long withdrawn provider stake stays slashable.
    #[arg(long, default_value = "1d")]
    provider_unbonding: String,
    #[command(flatten)]
    trust: TrustArgs,
}

fn u96(token: &Token, text: &str, what: &str) -> anyhow::Result<U96> {
    let wei = token.parse(text).with_context(|| what.to_owned())?;
    crate::units::u96(wei).with_context(|| format!("{what} is too large"))
}

impl TrustArgs {
    /// `trust` with the given fields changed.
    fn apply(
        self,
        token: &Token,
        mut trust: Pools::TrustParams,
    ) -> anyhow::Result<Pools::TrustParams> {
        if let Some(v) = self.trusted_deposit {
            trust.trustedDeposit = u96(token, &v, "--trusted-deposit")?;
        }
        if let Some(v) = self.trusted_karma {
            trust.trustedKarma = u96(token, &v, "--trusted-karma")?;
        }
        if let Some(v) = self.anon_target_share_bps {
            trust.anonTargetShareBps = v;
        }
        if let Some(v) = self.max_buyer_slash_bps {
            trust.maxBuyerSlashBps = v;
        }
        if let Some(v) = self.base_leases {
            trust.baseLeases = v;
        }
        if let Some(v) = self.max_leases {
            trust.maxLeases = v;
        }
        if let Some(v) = self.deposit_per_lease {
            trust.depositPerLease = u96(token, &v, "--deposit-per-lease")?;
        }
        if let Some(v) = self.karma_per_lease {
            trust.karmaPerLease = u96(token, &v, "--karma-per-lease")?;
        }
        if let Some(v) = self.anon_min_fee {
            trust.anonMinFee = u96(token, &v, "--anon-min-fee")?;
        }
        if let Some(v) = self.anon_max_fee {
            trust.anonMaxFee = u96(token, &v, "--anon-max-fee")?;
        }
        Ok(trust)
    }

    fn is_empty(&self) -> bool {
        self.trusted_deposit.is_none()
            && self.trusted_karma.is_none()
            && self.anon_target_share_bps.is_none()
            && self.max_buyer_slash_bps.is_none()
            && self.base_leases.is_none()
            && self.max_leases.is_none()
            && self.deposit_per_lease.is_none()
            && self.karma_per_lease.is_none()
            && self.anon_min_fee.is_none()
            && self.anon_max_fee.is_none()
    }
}

/// A pool's stored configuration as a `PoolConfig` to update from.
fn config_of(pool: Pools::Pool) -> Pools::PoolConfig {
    Pools::PoolConfig {
        name: pool.name,
        metadataURI: pool.metadataURI,
        feeBps: pool.feeBps,
        noBootSlashBps: pool.noBootSlashBps,
        bootFailSlashBps: pool.bootFailSlashBps,
        providerUnbonding: pool.providerUnbonding,
        minStake: pool.minStake,
        trust: pool.trust,
    }
}

async fn existing(chain: &Chain, pool: u32) -> anyhow::Result<Pools::Pool> {
    let count = chain.pools().poolCount().call().await?;
    if pool == 0 || pool > count {
        bail!("there is no pool {pool} ({count} pools exist)");
    }
    Ok(chain.pools().getPool(pool).call().await?)
}

/// Runs `utter pool ...`.
pub async fn run(command: PoolCommand, endpoints: &Endpoints, out: &Output) -> anyhow::Result<()> {
    let signing = !matches!(command, PoolCommand::Show { .. });
    let chain = Chain::connect(endpoints, signing).await?;
    let token = chain.token.clone();
    let pools = chain.pools();
    match command {
        PoolCommand::Create(args) => {
            let unbonding = u32::try_from(
                parse_duration(&args.provider_unbonding).context("--provider-unbonding")?,
            )
            .context("--provider-unbonding is too long")?;
            let defaults = Pools::TrustParams {
                trustedDeposit: u96(&token, "50", "")?,
                trustedKarma: u96(&token, "10", "")?,
                anonTargetShareBps: 2_000,
                maxBuyerSlashBps: 1_000,
                baseLeases: 2,
                maxLeases: 16,
                depositPerLease: u96(&token, "25", "")?,
                karmaPerLease: u96(&token, "5", "")?,
                anonMinFee: u96(&token, "0.01", "")?,
                anonMaxFee: u96(&token, "1", "")?,
            };
            let config = Pools::PoolConfig {
                name: args.name.clone(),
                metadataURI: args.metadata_uri,
                feeBps: args.fee_bps,
                noBootSlashBps: args.no_boot_slash_bps,
                bootFailSlashBps: args.boot_fail_slash_bps,
                providerUnbonding: unbonding,
                minStake: u96(&token, &args.min_stake, "--min-stake")?,
                trust: args.trust.apply(&token, defaults)?,
            };
            let summary = format!(
                "Create pool {:?}: fee {} bps, minimum stake {}, provider unbonding {}",
                args.name,
                config.feeBps,
                token.format(U256::from(config.minStake)),
                format_duration(unbonding.into())
            );
            let call = pools.createPool(config);
            chain.simulate("creating the pool", &call).await?;
            out.confirm(&summary)?;
            let receipt = chain.send(out, "creating the pool", call).await?;
            let created = receipt
                .decoded_log::<Pools::PoolCreated>()
                .context("the receipt has no PoolCreated event")?;
            let id = created.poolId;
            out.result(
                &serde_json::json!({"pool_id": id, "tx": receipt.transaction_hash}),
                || format!("created pool {id} (tx {})", receipt.transaction_hash),
            );
            Ok(())
        }
        PoolCommand::SetFee { pool, fee_bps } => {
            let mut config = config_of(existing(&chain, pool).await?);
            let old = config.feeBps;
            config.feeBps = fee_bps;
            update(
                &chain,
                out,
                pool,
                config,
                format!(
                    "Set pool {pool}'s fee from {old} to {fee_bps} bps (running leases keep theirs)"
                ),
            )
            .await
        }
        PoolCommand::SetTrust { pool, trust } => {
            if trust.is_empty() {
                bail!(
                    "nothing to change: give the trust parameters to set (see `utter pool set-trust --help`)"
                );
            }
            let mut config = config_of(existing(&chain, pool).await?);
            config.trust = trust.apply(&token, config.trust)?;
            update(
                &chain,
                out,
                pool,
                config,
                format!("Set pool {pool}'s buyer trust parameters"),
            )
            .await
        }
        PoolCommand::Rule {
            report,
            uphold,
            dismiss: _,
            slash,
        } => {
            let trust = chain.buyer_trust();
            let slash = match slash {
                Some(s) => token.parse(&s)?,
                None => U256::ZERO,
            };
            let call = trust.resolveReport(U256::from(report), uphold, slash);
            chain.simulate("ruling on the report", &call).await?;
            let stored = trust.getReport(U256::from(report)).call().await?;
            out.confirm(&format!(
                "{} report {report} against buyer {} (lease {}){}",
                if uphold { "Uphold" } else { "Dismiss" },
                stored.buyer,
                stored.leaseId,
                if uphold {
                    format!(
                        ", slashing {} to provider {}",
                        token.format(slash),
                        stored.provider
                    )
                } else {
                    String::new()
                }
            ))?;
            let receipt = chain.send(out, "ruling on the report", call).await?;
            let resolved = receipt
                .decoded_log::<BuyerTrust::ReportResolved>()
                .context("the receipt has no ReportResolved event")?;
            out.result(
                &serde_json::json!({"report_id": report, "upheld": uphold, "slashed": resolved.slashed.to_string(), "tx": receipt.transaction_hash}),
                || format!("report {report} {}; slashed {}", if uphold { "upheld" } else { "dismissed" }, token.format(resolved.slashed)),
            );
            Ok(())
        }
        PoolCommand::WithdrawFees { pool, to } => {
            let to = to.unwrap_or(chain.me()?);
            let escrow = chain.escrow();
            let call = escrow.withdrawPoolFees(pool, to);
            let amount = chain.simulate("withdrawing pool fees", &call).await?;
            out.confirm(&format!(
                "Withdraw {} of pool {pool}'s fees to {to}",
                token.format(amount)
            ))?;
            let receipt = chain.send(out, "withdrawing pool fees", call).await?;
            out.result(&serde_json::json!({"pool_id": pool, "amount": amount.to_string(), "tx": receipt.transaction_hash}), || {
                format!("withdrew {} (tx {})", token.format(amount), receipt.transaction_hash)
            });
            Ok(())
        }
        PoolCommand::Show { pool } => {
            let p = existing(&chain, pool).await?;
            let fees = chain.escrow().poolFees(pool).call().await?;
            let anon_fee = chain.escrow().anonFee(pool).call().await?;
            let t = &p.trust;
            let w = |v: U96| U256::from(v).to_string();
            let value = serde_json::json!({
                "pool_id": pool, "name": p.name, "metadata_uri": p.metadataURI, "operator": p.operator,
                "fee_bps": p.feeBps, "min_stake": w(p.minStake), "no_boot_slash_bps": p.noBootSlashBps,
                "boot_fail_slash_bps": p.bootFailSlashBps, "provider_unbonding": p.providerUnbonding,
                "fees_accrued": fees.to_string(), "anon_fee": anon_fee.to_string(),
                "trust": {
                    "trusted_deposit": w(t.trustedDeposit), "trusted_karma": w(t.trustedKarma),
                    "anon_target_share_bps": t.anonTargetShareBps, "max_buyer_slash_bps": t.maxBuyerSlashBps,
                    "base_leases": t.baseLeases, "max_leases": t.maxLeases,
                    "deposit_per_lease": w(t.depositPerLease), "karma_per_lease": w(t.karmaPerLease),
                    "anon_min_fee": w(t.anonMinFee), "anon_max_fee": w(t.anonMaxFee),
                },
            });
            let f = |v: U96| token.format(U256::from(v));
            out.result(&value, || format!(
                "pool {pool}  {}\n  operator   {}\n  fee        {} bps\n  min stake  {}\n  slashes    no boot {} bps, failed boot {} bps; unbonding {}\n  fees       {} accrued\n  buyers     trusted from {} deposit or {} karma; {} to {} leases (+1 per {} deposit, per {} karma)\n  anon fee   {} now ({} to {}, target share {} bps)",
                p.name, p.operator, p.feeBps, f(p.minStake), p.noBootSlashBps, p.bootFailSlashBps,
                format_duration(p.providerUnbonding.into()), token.format(fees),
                f(t.trustedDeposit), f(t.trustedKarma), t.baseLeases, t.maxLeases, f(t.depositPerLease), f(t.karmaPerLease),
                token.format(anon_fee), f(t.anonMinFee), f(t.anonMaxFee), t.anonTargetShareBps
            ));
            Ok(())
        }
    }
}

async fn update(
    chain: &Chain,
    out: &Output,
    pool: u32,
    config: Pools::PoolConfig,
    summary: String,
) -> anyhow::Result<()> {
    let pools = chain.pools();
    let call = pools.updatePool(pool, config);
    chain.simulate("updating the pool", &call).await?;
    out.confirm(&summary)?;
    let receipt = chain.send(out, "updating the pool", call).await?;
    out.result(
        &serde_json::json!({"pool_id": pool, "tx": receipt.transaction_hash}),
        || format!("updated pool {pool} (tx {})", receipt.transaction_hash),
    );
    Ok(())
}
