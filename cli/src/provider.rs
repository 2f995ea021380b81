//! What providers do: join a pool with a stake, publish and manage offers, withdraw earnings, unbond.

use crate::{
    buyer::{offer, offer_status_name, status_name},
    chain::{Chain, Endpoints},
    output::Output,
    units::{When, parse_duration},
};
use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use utter_bindings::{LeaseEscrow, Offers, ProviderRegistry};

/// `utter provider ...`.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Join a pool with a first stake of at least its minimum.
    Join {
        /// The pool.
        #[arg(long)]
        pool: u32,
        /// Tokens to stake.
        #[arg(long)]
        stake: String,
    },
    /// Add stake in a pool you joined.
    Stake {
        /// The pool.
        #[arg(long)]
        pool: u32,
        /// Tokens to add.
        amount: String,
    },
    /// Start unbonding stake; it stays slashable for the pool's unbonding period.
    Unbond {
        /// The pool.
        #[arg(long)]
        pool: u32,
        /// Tokens to unbond.
        amount: String,
    },
    /// Withdraw stake whose unbonding period has passed.
    WithdrawStake {
        /// The pool.
        #[arg(long)]
        pool: u32,
    },
    /// Publish the age key buyers encrypt user data to, from an age identity file.
    SetKey {
        /// The identity file (AGE-SECRET-KEY-1...), as the agent uses.
        identity: PathBuf,
    },
    /// Publish, update, pause, resume or retire offers.
    #[command(subcommand)]
    Offer(OfferCommand),
    /// Withdraw your earnings of leases (after the pool's fee).
    Withdraw {
        /// These leases (comma separated).
        #[arg(long, value_delimiter = ',', conflicts_with = "all")]
        leases: Vec<u64>,
        /// Every lease with earnings to withdraw.
        #[arg(long)]
        all: bool,
        /// Where the tokens go (default: your address).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Show a provider's stakes, record and earnings.
    Show {
        /// The provider (default: your address).
        address: Option<Address>,
    },
}

/// The machine and terms of an offer.
#[derive(Debug, Args)]
pub struct OfferFields {
    /// vCPUs.
    #[arg(long)]
    vcpus: Option<u16>,
    /// RAM, MiB.
    #[arg(long)]
    ram_mib: Option<u32>,
    /// Disk, GiB.
    #[arg(long)]
    disk_gib: Option<u32>,
    /// GPUs.
    #[arg(long)]
    gpus: Option<u16>,
    /// GPU model.
    #[arg(long)]
    gpu_model: Option<String>,
    /// Upload bandwidth, Mbit/s.
    #[arg(long)]
    bandwidth_up_mbps: Option<u32>,
    /// Download bandwidth, Mbit/s.
    #[arg(long)]
    bandwidth_down_mbps: Option<u32>,
    /// A public IPv4 address comes with the machine.
    #[arg(long)]
    public_ipv4: Option<bool>,
    /// A public IPv6 address comes with the machine.
    #[arg(long)]
    public_ipv6: Option<bool>,
    /// Region label, e.g. eu-west-1.
    #[arg(long)]
    region: Option<String>,
    /// Price: tokens per hour (`0.36`, `0.36/h`) or per second (`100000000000000wei/s`).
    #[arg(long)]
    price: Option<String>,
    /// Leases served at once.
    #[arg(long)]
    capacity: Option<u32>,
    /// Time to acknowledge a (re)start: 60s to 1d.
    #[arg(long)]
    boot_timeout: Option<String>,
    /// How long a halted machine's disk is kept: up to 30d.
    #[arg(long)]
    retention: Option<String>,
}

/// `utter provider offer ...`.
#[derive(Debug, Subcommand)]
pub enum OfferCommand {
    /// Publish an offer in a pool you joined. Fields not given: 1 vCPU, 1024 MiB RAM, 10 GiB disk, no
    /// GPU, 100/100 Mbit/s, a public IPv4, region "local", capacity 1, boot timeout 10m, retention 1d.
    Publish {
        /// The pool.
        #[arg(long)]
        pool: u32,
        /// The fields.
        #[command(flatten)]
        fields: OfferFields,
        /// An image: a name (its id is the name's keccak256) or NAME=0xID; repeat for more.
        #[arg(long = "image", required = true)]
        images: Vec<String>,
    },
    /// Change an offer's machine, terms or images (only what is given changes).
    Update {
        /// The offer.
        id: u32,
        /// The fields.
        #[command(flatten)]
        fields: OfferFields,
        /// Replace the image list (NAME or NAME=0xID, repeated).
        #[arg(long = "image")]
        images: Vec<String>,
    },
    /// Stop taking new leases for now.
    Pause {
        /// The offer.
        id: u32,
    },
    /// Take new leases again.
    Resume {
        /// The offer.
        id: u32,
    },
    /// Stop taking new leases for good.
    Retire {
        /// The offer.
        id: u32,
    },
}

/// Runs `utter provider ...`.
pub async fn run(
    command: ProviderCommand,
    endpoints: &Endpoints,
    out: &Output,
) -> anyhow::Result<()> {
    let signing = !matches!(command, ProviderCommand::Show { address: Some(_) });
    let chain = Chain::connect(endpoints, signing).await?;
    let token = chain.token.clone();
    let registry = chain.registry();
    match command {
        ProviderCommand::Join { pool, stake }
        | ProviderCommand::Stake {
            pool,
            amount: stake,
        } => {
            let amount = token.parse(&stake)?;
            let min = chain.pools().minStakeOf(pool).call().await.map_err(|_| {
                anyhow::anyhow!("there is no pool {pool}: check the id with `utter pool show N`")
            })?;
            let me = chain.me()?;
            let current = registry.stakeOf(pool, me).call().await?;
            if !current.joined && amount < U256::from(min) {
                bail!(
                    "pool {pool} needs a first stake of at least {}: raise the amount",
                    token.format(U256::from(min))
                );
            }
            chain.check_balance(amount).await?;
            out.confirm(&format!(
                "Stake {} in pool {pool} (bonded now {}, pool minimum {})",
                token.format(amount),
                token.format(U256::from(current.bonded)),
                token.format(U256::from(min))
            ))?;
            chain
                .approve(out, chain.deployment.registry, amount)
                .await?;
            let receipt = chain
                .send(out, "staking", registry.stake(pool, amount))
                .await?;
            done(
                out,
                receipt.transaction_hash,
                format!("staked {} in pool {pool}", token.format(amount)),
            )
        }
        ProviderCommand::Unbond { pool, amount } => {
            let amount = token.parse(&amount)?;
            let call = registry.unbond(pool, amount);
            chain.simulate("unbonding", &call).await?;
            out.confirm(&format!(
                "Unbond {} in pool {pool}: it stops counting now and stays slashable for the pool's unbonding period",
                token.format(amount)
            ))?;
            let receipt = chain.send(out, "unbonding", call).await?;
            let event = receipt.decoded_log::<ProviderRegistry::UnbondingStarted>();
            let now = chain.now().await?;
            let ends = event.map_or(0, |e| e.unbondingEnds.to::<u64>());
            done(
                out,
                receipt.transaction_hash,
                format!(
                    "unbonding {}; withdraw it with `utter provider withdraw-stake --pool {pool}` from {}",
                    token.format(amount),
                    When { at: ends, now }
                ),
            )
        }
        ProviderCommand::WithdrawStake { pool } => {
            let me = chain.me()?;
            let call = registry.withdrawUnbonded(pool, me);
            chain.simulate("withdrawing unbonded stake", &call).await?;
            let stake = registry.stakeOf(pool, me).call().await?;
            out.confirm(&format!(
                "Withdraw {} of unbonded stake from pool {pool}",
                token.format(U256::from(stake.unbonding))
            ))?;
            let receipt = chain.send(out, "withdrawing unbonded stake", call).await?;
            done(
                out,
                receipt.transaction_hash,
                format!("withdrew {}", token.format(U256::from(stake.unbonding))),
            )
        }
        ProviderCommand::SetKey { identity } => {
            let text = std::fs::read_to_string(&identity)
                .with_context(|| format!("cannot read the age identity {}", identity.display()))?;
            let key = utter_provider_agent::user_data::public_key(
                &utter_provider_agent::user_data::identity(&text)?,
            );
            let call = registry.setEncryptionKey(key);
            chain
                .simulate("publishing the encryption key", &call)
                .await?;
            out.confirm(&format!(
                "Publish the encryption key {key} for buyers' user data"
            ))?;
            let receipt = chain
                .send(out, "publishing the encryption key", call)
                .await?;
            done(out, receipt.transaction_hash, format!("published {key}"))
        }
        ProviderCommand::Offer(command) => offer_command(&chain, command, out).await,
        ProviderCommand::Withdraw { leases, all, to } => {
            withdraw(&chain, leases, all, to, out).await
        }
        ProviderCommand::Show { address } => {
            let who = match address {
                Some(a) => a,
                None => chain.me()?,
            };
            show(&chain, who, out).await
        }
    }
}

fn done(out: &Output, tx: B256, text: String) -> anyhow::Result<()> {
    out.result(&serde_json::json!({"tx": tx, "done": text}), || {
        format!("{text} (tx {tx})")
    });
    Ok(())
}

/// Parses `NAME` (id: keccak256 of the name) or `NAME=0xID`.
fn parse_image(text: &str) -> anyhow::Result<Offers::Image> {
    let (name, id) = match text.split_once('=') {
        Some((name, id)) => (
            name,
            id.parse::<B256>()
                .with_context(|| format!("the image id in {text:?} is not 0x and 64 hex digits"))?,
        ),
        None => (text, keccak256(text.as_bytes())),
    };
    if name.is_empty() || name.len() > 64 {
        bail!("the image name {name:?} must be 1 to 64 bytes");
    }
    Ok(Offers::Image {
        id,
        name: name.to_owned(),
    })
}

fn seconds_u32(text: &str, what: &str) -> anyhow::Result<u32> {
    u32::try_from(parse_duration(text).with_context(|| what.to_owned())?)
        .with_context(|| format!("{what} is too long"))
}

/// `base` with the given fields changed.
fn apply(
    chain: &Chain,
    fields: OfferFields,
    mut spec: Offers::OfferSpec,
    mut terms: Offers::OfferTerms,
) -> anyhow::Result<(Offers::OfferSpec, Offers::OfferTerms)> {
    if let Some(v) = fields.vcpus {
        spec.vcpus = v;
    }
    if let Some(v) = fields.ram_mib {
        spec.ramMiB = v;
    }
    if let Some(v) = fields.disk_gib {
        spec.diskGiB = v;
    }
    if let Some(v) = fields.gpus {
        spec.gpuCount = v;
    }
    if let Some(v) = fields.gpu_model {
        spec.gpuModel = v;
    }
    if let Some(v) = fields.bandwidth_up_mbps {
        spec.bandwidthUpMbps = v;
    }
    if let Some(v) = fields.bandwidth_down_mbps {
        spec.bandwidthDownMbps = v;
    }
    if let Some(v) = fields.public_ipv4 {
        spec.publicIpv4 = v;
    }
    if let Some(v) = fields.public_ipv6 {
        spec.publicIpv6 = v;
    }
    if let Some(v) = fields.region {
        spec.region = v;
    }
    if let Some(p) = fields.price {
        let price = chain.token.parse_price(&p, false).context("--price")?;
        if price.is_zero() {
            bail!("--price {p} is under one wei per second: raise it");
        }
        terms.pricePerSecond = crate::units::u96(price).context("--price is too high")?;
    }
    if let Some(v) = fields.capacity {
        terms.capacity = v;
    }
    if let Some(v) = fields.boot_timeout {
        terms.bootTimeout = seconds_u32(&v, "--boot-timeout")?;
    }
    if let Some(v) = fields.retention {
        terms.retention = seconds_u32(&v, "--retention")?;
    }
    Ok((spec, terms))
}

async fn offer_command(chain: &Chain, command: OfferCommand, out: &Output) -> anyhow::Result<()> {
    let offers = chain.offers();
    let token = &chain.token;
    match command {
        OfferCommand::Publish {
            pool,
            fields,
            images,
        } => {
            let images = images
                .iter()
                .map(|i| parse_image(i))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if fields.price.is_none() {
                bail!("--price is required to publish: tokens per hour, e.g. --price 0.36");
            }
            let spec = Offers::OfferSpec {
                vcpus: 1,
                ramMiB: 1024,
                diskGiB: 10,
                gpuCount: 0,
                bandwidthUpMbps: 100,
                bandwidthDownMbps: 100,
                publicIpv4: true,
                publicIpv6: false,
                gpuModel: String::new(),
                region: "local".into(),
            };
            let terms = Offers::OfferTerms {
                pricePerSecond: Default::default(),
                capacity: 1,
                bootTimeout: 600,
                retention: 86_400,
            };
            let (spec, terms) = apply(chain, fields, spec, terms)?;
            let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
            let summary = format!(
                "Publish an offer in pool {pool}: {} vCPU, {} MiB RAM, {} GiB disk, region {}, {} ({} wei/s), capacity {}, images {}",
                spec.vcpus,
                spec.ramMiB,
                spec.diskGiB,
                spec.region,
                token.per_hour(U256::from(terms.pricePerSecond)),
                terms.pricePerSecond,
                terms.capacity,
                names.join(", ")
            );
            let call = offers.publishOffer(pool, spec, terms, images);
            chain.simulate("publishing the offer", &call).await?;
            out.confirm(&summary)?;
            let receipt = chain.send(out, "publishing the offer", call).await?;
            let published = receipt
                .decoded_log::<Offers::OfferPublished>()
                .context("the receipt has no OfferPublished event")?;
            let id = published.offerId;
            out.result(
                &serde_json::json!({"offer_id": id, "tx": receipt.transaction_hash}),
                || format!("published offer {id} (tx {})", receipt.transaction_hash),
            );
            Ok(())
        }
        OfferCommand::Update { id, fields, images } => {
            let current = offer(chain, id).await?;
            let terms = Offers::OfferTerms {
                pricePerSecond: current.pricePerSecond,
                capacity: current.capacity,
                bootTimeout: current.bootTimeout,
                retention: current.retention,
            };
            let changes_spec = [
                fields.vcpus.is_some(),
                fields.ram_mib.is_some(),
                fields.disk_gib.is_some(),
                fields.gpus.is_some(),
                fields.gpu_model.is_some(),
                fields.bandwidth_up_mbps.is_some(),
                fields.bandwidth_down_mbps.is_some(),
                fields.public_ipv4.is_some(),
                fields.public_ipv6.is_some(),
                fields.region.is_some(),
                fields.price.is_some(),
                fields.capacity.is_some(),
                fields.boot_timeout.is_some(),
                fields.retention.is_some(),
            ]
            .into_iter()
            .any(|b| b);
            if !changes_spec && images.is_empty() {
                bail!(
                    "nothing to update: give the fields to change (see `utter provider offer update --help`)"
                );
            }
            let (spec, terms) = apply(chain, fields, current.spec, terms)?;
            let mut txs = Vec::new();
            let update = offers.updateOffer(id, spec, terms.clone());
            let images = images
                .iter()
                .map(|i| parse_image(i))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let set_images = offers.setImages(id, images.clone());
            if changes_spec {
                chain.simulate("updating the offer", &update).await?;
            }
            if !images.is_empty() {
                chain.simulate("setting the images", &set_images).await?;
            }
            out.confirm(&format!(
                "Update offer {id}: price {}, capacity {}{}",
                token.per_hour(U256::from(terms.pricePerSecond)),
                terms.capacity,
                if images.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", images {}",
                        images
                            .iter()
                            .map(|i| i.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ))?;
            if changes_spec {
                txs.push(
                    chain
                        .send(out, "updating the offer", update)
                        .await?
                        .transaction_hash,
                );
            }
            if !images.is_empty() {
                txs.push(
                    chain
                        .send(out, "setting the images", set_images)
                        .await?
                        .transaction_hash,
                );
            }
            out.result(&serde_json::json!({"offer_id": id, "txs": txs}), || {
                format!("updated offer {id}")
            });
            Ok(())
        }
        OfferCommand::Pause { id } => {
            status_change(chain, out, "pausing", id, offers.pauseOffer(id)).await
        }
        OfferCommand::Resume { id } => {
            status_change(chain, out, "resuming", id, offers.resumeOffer(id)).await
        }
        OfferCommand::Retire { id } => {
            status_change(chain, out, "retiring", id, offers.retireOffer(id)).await
        }
    }
}

async fn status_change<D: alloy::contract::CallDecoder + Clone>(
    chain: &Chain,
    out: &Output,
    verb: &str,
    id: u32,
    call: alloy::contract::CallBuilder<&alloy::providers::DynProvider, D>,
) -> anyhow::Result<()> {
    offer(chain, id).await?;
    let what = format!("{verb} offer {id}");
    chain.simulate(&what, &call).await?;
    out.confirm(&format!("{} offer {id}", capitalized(verb)))?;
    let receipt = chain.send(out, &what, call).await?;
    let status = chain.offers().getOffer(id).call().await?.status;
    let name = offer_status_name(status);
    out.result(
        &serde_json::json!({"offer_id": id, "status": name, "tx": receipt.transaction_hash}),
        || format!("offer {id} is {name} (tx {})", receipt.transaction_hash),
    );
    Ok(())
}

fn capitalized(verb: &str) -> String {
    let mut c = verb.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Leases `provider` acknowledged (the leases that can have earnings), oldest first.
async fn acknowledged_leases(chain: &Chain, provider: Address) -> anyhow::Result<Vec<u64>> {
    let escrow = chain.deployment.escrow;
    let ids = logged_ids::<LeaseEscrow::LeaseAcknowledged>(chain, escrow, provider).await?;
    Ok(ids.iter().map(|id| id.to::<u64>()).collect())
}

/// The ids (first indexed field) of the `E` events `contract` logged for `who` (second indexed
/// field) since the deployment, ascending, each once.
async fn logged_ids<E: SolEvent>(
    chain: &Chain,
    contract: Address,
    who: Address,
) -> anyhow::Result<Vec<U256>> {
    let filter = Filter::new()
        .address(contract)
        .event_signature(E::SIGNATURE_HASH)
        .topic2(who.into_word())
        .from_block(chain.deployment.deploy_block);
    let mut ids: Vec<U256> = chain
        .provider
        .get_logs(&filter)
        .await?
        .iter()
        .filter_map(|log| log.topics().get(1).map(|t| U256::from_be_bytes(t.0)))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

async fn withdraw(
    chain: &Chain,
    leases: Vec<u64>,
    all: bool,
    to: Option<Address>,
    out: &Output,
) -> anyhow::Result<()> {
    let me = chain.me()?;
    let to = to.unwrap_or(me);
    let token = &chain.token;
    let candidates = if all {
        acknowledged_leases(chain, me).await?
    } else if leases.is_empty() {
        bail!("name the leases to withdraw from with --leases 1,2,3, or use --all");
    } else {
        leases
    };
    let escrow = chain.escrow();
    let mut ids = Vec::new();
    let mut earned = U256::ZERO;
    for id in candidates {
        let state = escrow
            .leaseState(U256::from(id))
            .call()
            .await
            .map_err(|_| anyhow::anyhow!("there is no lease {id}: check the ids"))?;
        if !state.earned.is_zero() {
            earned += state.earned;
            ids.push(U256::from(id));
        } else if !all {
            out.status(format!(
                "lease {id} has nothing to withdraw now ({})",
                status_name(state.status)
            ));
        }
    }
    if ids.is_empty() {
        bail!("none of these leases has earnings to withdraw now");
    }
    let call = escrow.withdraw(ids.clone(), to);
    let amount = chain.simulate("withdrawing earnings", &call).await?;
    out.confirm(&format!(
        "Withdraw {} (after the pool's fee; {} before it) from {} to {to}",
        token.format(amount),
        token.format(earned),
        match ids.len() {
            1 => "1 lease".to_owned(),
            n => format!("{n} leases"),
        }
    ))?;
    let receipt = chain.send(out, "withdrawing earnings", call).await?;
    let event = receipt
        .decoded_log::<LeaseEscrow::EarningsWithdrawn>()
        .context("the receipt has no EarningsWithdrawn event")?;
    let ids: Vec<u64> = ids.iter().map(|i| i.to::<u64>()).collect();
    out.result(
        &serde_json::json!({"amount": event.amount.to_string(), "leases": ids, "to": to, "tx": receipt.transaction_hash}),
        || format!("withdrew {} from leases {ids:?} to {to} (tx {})", token.format(event.amount), receipt.transaction_hash),
    );
    Ok(())
}

async fn show(chain: &Chain, who: Address, out: &Output) -> anyhow::Result<()> {
    let token = &chain.token;
    let registry = chain.registry();
    let at = chain.deployment.registry;
    let joined = logged_ids::<ProviderRegistry::ProviderJoined>(chain, at, who).await?;
    let pools: Vec<u32> = joined.iter().map(|id| id.to::<u32>()).collect();
    let now = chain.now().await?;
    let mut stakes = Vec::new();
    for pool in &pools {
        let stake = registry.stakeOf(*pool, who).call().await?;
        let level = registry.trustLevel(*pool, who).call().await?;
        stakes.push(serde_json::json!({
            "pool_id": pool,
            "bonded": U256::from(stake.bonded).to_string(),
            "unbonding": U256::from(stake.unbonding).to_string(),
            "unbonding_ends": stake.unbondingEnds.to::<u64>(),
            "trust_level": level,
        }));
    }
    let record = chain.escrow().providerRecord(who).call().await?;
    let key = registry.encryptionKeyOf(who).call().await?;
    let mut earned = U256::ZERO;
    for id in acknowledged_leases(chain, who).await? {
        earned += chain
            .escrow()
            .leaseState(U256::from(id))
            .call()
            .await?
            .earned;
    }
    let value = serde_json::json!({
        "provider": who,
        "stakes": stakes,
        "encryption_key": (!key.is_zero()).then_some(key),
        "earned_unwithdrawn": earned.to_string(),
        "record": {
            "buyer_stopped": record.buyerStopped, "ran_dry": record.ranDry, "boot_failed": record.bootFailed,
            "terminated": record.terminated, "reclaimed": record.reclaimed, "completed_seconds": record.completedSeconds,
        },
    });
    out.result(&value, || {
        let mut text = format!("provider {who}");
        if pools.is_empty() {
            text.push_str("\n  in no pool: join one with `utter provider join --pool N --stake AMOUNT`");
        }
        for s in &stakes {
            let wei = |k: &str| U256::from_str_radix(s[k].as_str().unwrap_or("0"), 10).unwrap_or_default();
            text.push_str(&format!(
                "\n  pool {}  bonded {}  unbonding {}  trust {}",
                s["pool_id"], token.format(wei("bonded")), token.format(wei("unbonding")), s["trust_level"]
            ));
            let ends = s["unbonding_ends"].as_u64().unwrap_or(0);
            if !wei("unbonding").is_zero() {
                text.push_str(&format!(" (free {})", When { at: ends, now }));
            }
        }
        text.push_str(&format!(
            "\n  earnings   {} not withdrawn (before pool fees)\n  record     {} stopped by buyers, {} ran dry, {} boot failures, {} terminated, {} reclaimed\n  user-data key {}",
            token.format(earned), record.buyerStopped, record.ranDry, record.bootFailed, record.terminated, record.reclaimed,
            if key.is_zero() { "none (publish one with `utter provider set-key`)".into() } else { key.to_string() }
        ));
        text
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_named_with_an_optional_id() {
        let plain = parse_image("ubuntu-24.04").unwrap();
        assert_eq!(plain.id, keccak256("ubuntu-24.04"));
        let given = parse_image(&format!("debian={}", B256::repeat_byte(7))).unwrap();
        assert_eq!(
            (given.name.as_str(), given.id),
            ("debian", B256::repeat_byte(7))
        );
        assert!(parse_image("x=0x12").is_err());
        assert!(parse_image("").is_err());
    }
}
