//! What buyers do: find offers, open a lease, watch it, top it up, stop it; and their trust deposit.

use crate::{
    api::Indexer,
    chain::{Chain, Endpoints},
    keep_alive,
    output::{Output, Table, terminal_width},
    units::{Token, When, format_duration, parse_duration},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use utter_bindings::{LeaseEscrow, Offers};
use utter_provider_agent::{access, user_data};

/// Filters of `utter offers`, passed through to the indexer's `/v1/offers`.
#[derive(Debug, Args)]
pub struct OffersArgs {
    /// At least this many vCPUs.
    #[arg(long)]
    min_vcpus: Option<u32>,
    /// At most this many vCPUs.
    #[arg(long)]
    max_vcpus: Option<u32>,
    /// At least this much RAM, MiB.
    #[arg(long)]
    min_ram_mib: Option<u64>,
    /// At least this much disk, GiB.
    #[arg(long)]
    min_disk_gib: Option<u64>,
    /// At least this many GPUs.
    #[arg(long, alias = "gpu")]
    min_gpus: Option<u32>,
    /// This GPU model, exactly.
    #[arg(long)]
    gpu_model: Option<String>,
    /// This region label, exactly.
    #[arg(long)]
    region: Option<String>,
    /// Offers that boot an image of this name, e.g. ubuntu-24.04.
    #[arg(long)]
    image: Option<String>,
    /// The highest price: tokens per hour (`0.5`, `0.5/h`) or per second (`1000wei/s`).
    #[arg(long)]
    max_price: Option<String>,
    /// The lowest price, written as --max-price.
    #[arg(long)]
    min_price: Option<String>,
    /// In this pool.
    #[arg(long)]
    pool: Option<u32>,
    /// By this provider.
    #[arg(long)]
    provider: Option<Address>,
    /// The provider's trust level in the pool is at least this (0 to 8).
    #[arg(long)]
    min_trust: Option<u8>,
    /// At least this many free slots.
    #[arg(long)]
    min_available: Option<u32>,
    /// active (default), paused, retired or all.
    #[arg(long)]
    status: Option<String>,
    /// price (default), vcpus, ram, newest or available.
    #[arg(long)]
    sort: Option<String>,
    /// asc or desc (default: asc for price, desc for the others).
    #[arg(long)]
    order: Option<String>,
    /// At most this many offers (1 to 500).
    #[arg(long)]
    limit: Option<u32>,
    /// The next page: the cursor printed under the previous one.
    #[arg(long)]
    cursor: Option<String>,
}

/// An offer as the indexer lists it (the fields the table shows).
#[derive(Debug, Deserialize)]
struct OfferRow {
    offer_id: u32,
    provider: String,
    pool_id: u32,
    status: String,
    price_per_second: String,
    available: u32,
    capacity: u32,
    images: Vec<ImageRow>,
    vcpus: u16,
    ram_mib: u32,
    disk_gib: u32,
    gpu_count: u16,
    gpu_model: String,
    public_ipv4: bool,
    public_ipv6: bool,
    region: String,
    provider_trust_level: u8,
}

#[derive(Debug, Deserialize)]
struct ImageRow {
    name: String,
}

#[derive(Debug, Deserialize)]
struct OfferPage {
    items: Vec<OfferRow>,
    next_cursor: Option<String>,
}

/// Runs `utter offers`.
pub async fn offers(args: OffersArgs, endpoints: &Endpoints, out: &Output) -> anyhow::Result<()> {
    let indexer = Indexer::new(&endpoints.indexer);
    let token = token_from_indexer_or_chain(endpoints, out).await;
    let mut query: Vec<(&str, String)> = Vec::new();
    let mut put = |name, value: Option<String>| {
        if let Some(value) = value {
            query.push((name, value));
        }
    };
    put("min_vcpus", args.min_vcpus.map(|v| v.to_string()));
    put("max_vcpus", args.max_vcpus.map(|v| v.to_string()));
    put("min_ram_mib", args.min_ram_mib.map(|v| v.to_string()));
    put("min_disk_gib", args.min_disk_gib.map(|v| v.to_string()));
    put("min_gpu_count", args.min_gpus.map(|v| v.to_string()));
    put("gpu_model", args.gpu_model);
    put("region", args.region);
    put("image", args.image);
    put(
        "max_price",
        args.max_price
            .map(|p| token.parse_price(&p, false).map(|w| w.to_string()))
            .transpose()
            .context("--max-price")?,
    );
    put(
        "min_price",
        args.min_price
            .map(|p| token.parse_price(&p, true).map(|w| w.to_string()))
            .transpose()
            .context("--min-price")?,
    );
    put("pool", args.pool.map(|v| v.to_string()));
    put("provider", args.provider.map(|v| format!("{v:#x}")));
    put("min_trust", args.min_trust.map(|v| v.to_string()));
    put("min_available", args.min_available.map(|v| v.to_string()));
    put("status", args.status);
    put("sort", args.sort);
    put("order", args.order);
    put("limit", args.limit.map(|v| v.to_string()));
    put("cursor", args.cursor);
    let page: serde_json::Value = indexer.get("/v1/offers", &query).await?;
    if out.json {
        out.result(&page, String::new);
        return Ok(());
    }
    let page: OfferPage = serde_json::from_value(page)
        .context("the indexer's offers page does not have the expected fields")?;
    if page.items.is_empty() {
        println!("no offer matches: loosen the filters (see `utter offers --help`)");
        return Ok(());
    }
    let mut table = Table::new(vec![
        "ID",
        "PRICE",
        "VCPU",
        "RAM",
        "DISK",
        "GPU",
        "PUBLIC IP",
        "REGION",
        "FREE",
        "TRUST",
        "IMAGES",
        "POOL",
        "STATUS",
        "PROVIDER",
    ]);
    for o in &page.items {
        let price = U256::from_str_radix(&o.price_per_second, 10).unwrap_or_default();
        table.row(vec![
            o.offer_id.to_string(),
            token.per_hour(price),
            o.vcpus.to_string(),
            format!("{} GiB", f64::from(o.ram_mib) / 1024.0),
            format!("{} GiB", o.disk_gib),
            if o.gpu_count == 0 {
                "-".into()
            } else {
                format!("{}x {}", o.gpu_count, o.gpu_model)
            },
            match (o.public_ipv4, o.public_ipv6) {
                (true, true) => "IPv4,IPv6",
                (true, false) => "IPv4",
                (false, true) => "IPv6",
                (false, false) => "-",
            }
            .into(),
            o.region.clone(),
            format!("{}/{}", o.available, o.capacity),
            o.provider_trust_level.to_string(),
            o.images
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            o.pool_id.to_string(),
            o.status.clone(),
            o.provider.clone(),
        ]);
    }
    println!("{}", table.render(terminal_width()));
    if let Some(cursor) = page.next_cursor {
        println!("more: utter offers ... --cursor {cursor}");
    }
    Ok(())
}

/// The token's unit, read from the chain (the deployment from `--deployment` or the indexer); raw
/// wei, with a note, when the chain cannot be reached (the indexer alone still lists offers).
async fn token_from_indexer_or_chain(endpoints: &Endpoints, out: &Output) -> Token {
    let reader = Endpoints {
        keys: Default::default(),
        ..endpoints.clone()
    };
    match Chain::connect(&reader, false).await {
        Ok(chain) => chain.token,
        Err(error) => {
            out.status(format!(
                "note: amounts are in wei, the token's unit could not be read: {error:#}"
            ));
            Token {
                symbol: "wei".into(),
                decimals: 0,
            }
        }
    }
}

/// How much to pay: for a duration at the lease's price, or an amount.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Funding {
    /// Pay for this long at the offer's price: 90s, 10m, 2h, 1d.
    #[arg(long)]
    duration: Option<String>,
    /// Pay this many tokens (10, 0.5, 1500wei).
    #[arg(long)]
    amount: Option<String>,
}

impl Funding {
    /// The amount in wei at `price` per second.
    fn wei(&self, token: &Token, price: U256) -> anyhow::Result<U256> {
        match (&self.duration, &self.amount) {
            (Some(d), _) => Ok(price * U256::from(parse_duration(d)?)),
            (_, Some(a)) => {
                let wei = token.parse(a)?;
                if wei.is_zero() {
                    bail!("--amount is zero: give a positive amount");
                }
                Ok(wei)
            }
            _ => bail!("give --duration or --amount"),
        }
    }
}

/// Options of `utter lease open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The offer to lease (see `utter offers`).
    #[arg(long)]
    offer: u32,
    /// The image to boot: its name (ubuntu-24.04) or its 0x id.
    #[arg(long)]
    image: String,
    /// Your OpenSSH public key file; the access details are encrypted to it.
    #[arg(long)]
    ssh_key: PathBuf,
    #[command(flatten)]
    funding: Funding,
    /// A cloud-init file, encrypted to the provider's published key before it goes on-chain.
    #[arg(long)]
    user_data: Option<PathBuf>,
    /// The most you accept to pay as the anonymous-start fee (default: the fee now plus 12.5 %).
    #[arg(long)]
    max_fee: Option<String>,
}

/// `utter lease ...`.
#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Open a lease on an offer: escrow the deposit (and the anonymous-start fee) and wait for the machine.
    Open(OpenArgs),
    /// Show a lease: status, balance now, time left, top-ups and the access details.
    Show {
        /// The lease.
        id: u64,
        /// Your SSH private key, to decrypt the access details.
        #[arg(long)]
        ssh_identity: Option<PathBuf>,
    },
    /// List a buyer's leases (from the indexer).
    List {
        /// The buyer (default: your address).
        #[arg(long)]
        buyer: Option<Address>,
    },
    /// Add funds to a lease (anyone may); a halted lease within retention resumes.
    TopUp {
        /// The lease.
        id: u64,
        /// The fields.
        #[command(flatten)]
        funding: Funding,
    },
    /// End your lease now; the unspent balance comes back to you.
    Stop {
        /// The lease.
        id: u64,
    },
    /// Take back a lease the provider never booted by its deadline: full refund plus a share of the
    /// provider's stake.
    Reclaim {
        /// The lease.
        id: u64,
    },
    /// Keep a lease funded: top it up whenever its runway falls under a target, within a cap.
    KeepAlive(keep_alive::KeepAliveArgs),
}

/// Runs `utter lease ...`.
pub async fn lease(
    command: LeaseCommand,
    endpoints: &Endpoints,
    out: &Output,
) -> anyhow::Result<()> {
    match command {
        LeaseCommand::Open(args) => open(args, endpoints, out).await,
        LeaseCommand::Show { id, ssh_identity } => {
            let chain = Chain::connect(endpoints, false).await?;
            show(&chain, id, ssh_identity, out).await
        }
        LeaseCommand::List { buyer } => list(buyer, endpoints, out).await,
        LeaseCommand::TopUp { id, funding } => {
            let chain = Chain::connect(endpoints, true).await?;
            top_up(&chain, id, &funding, out).await
        }
        LeaseCommand::Stop { id } => stop(endpoints, id, out).await,
        LeaseCommand::Reclaim { id } => reclaim(endpoints, id, out).await,
        LeaseCommand::KeepAlive(args) => keep_alive::run(args, endpoints, out).await,
    }
}

/// The names of `OfferStatus`.
pub fn offer_status_name(status: u8) -> &'static str {
    match status {
        1 => "active",
        2 => "paused",
        3 => "retired",
        _ => "unknown",
    }
}

/// The names of `LeaseStatus`.
pub fn status_name(status: u8) -> &'static str {
    match status {
        1 => "pending",
        2 => "running",
        3 => "halted",
        4 => "restart_pending",
        5 => "closed",
        _ => "unknown",
    }
}

/// A topic of an indexed `uint256` or `uint32` id.
fn id_topic(id: u64) -> B256 {
    B256::from(U256::from(id))
}

/// Decoded logs of event `E` from the escrow (or `address`) whose first indexed topic is `id`.
async fn logs<E: SolEvent>(
    chain: &Chain,
    address: Address,
    id: u64,
) -> anyhow::Result<Vec<(E, alloy::rpc::types::Log)>> {
    let filter = Filter::new()
        .address(address)
        .event_signature(E::SIGNATURE_HASH)
        .topic1(id_topic(id))
        .from_block(chain.deployment.deploy_block);
    let logs = chain
        .provider
        .get_logs(&filter)
        .await
        .context("reading the chain's logs")?;
    logs.into_iter()
        .map(|log| {
            let decoded = log.log_decode::<E>().context("decoding a log")?;
            Ok((decoded.inner.data, log))
        })
        .collect()
}

/// The offer's current images (name, id), from its latest `OfferImagesSet`.
pub async fn offer_images(chain: &Chain, offer_id: u32) -> anyhow::Result<Vec<(String, B256)>> {
    let sets =
        logs::<Offers::OfferImagesSet>(chain, chain.deployment.offers, offer_id.into()).await?;
    Ok(sets
        .last()
        .map(|(set, _)| set.images.iter().map(|i| (i.name.clone(), i.id)).collect())
        .unwrap_or_default())
}

/// The offer, checked to exist.
pub async fn offer(chain: &Chain, offer_id: u32) -> anyhow::Result<Offers::Offer> {
    let count = chain.offers().offerCount().call().await?;
    if offer_id == 0 || offer_id > count {
        bail!("there is no offer {offer_id} ({count} offers exist): find one with `utter offers`");
    }
    Ok(chain.offers().getOffer(offer_id).call().await?)
}

async fn open(args: OpenArgs, endpoints: &Endpoints, out: &Output) -> anyhow::Result<()> {
    // Everything local is checked before the chain is asked anything.
    let ssh_key = std::fs::read_to_string(&args.ssh_key).with_context(|| {
        format!(
            "cannot read the SSH public key {}: give the .pub file of your key, e.g. ~/.ssh/id_ed25519.pub",
            args.ssh_key.display()
        )
    })?;
    let ssh_key = ssh_key.trim().to_owned();
    if ssh_key.contains("PRIVATE KEY") {
        bail!(
            "{} is a private key: give the public one (the .pub file); your private key never leaves this machine",
            args.ssh_key.display()
        );
    }
    ssh_key.parse::<age::ssh::Recipient>().map_err(|_| {
        anyhow::anyhow!(
            "{} is not an ssh-ed25519 or ssh-rsa public key: the access details are encrypted to it, so give such a key's .pub file",
            args.ssh_key.display()
        )
    })?;
    let user_data = match &args.user_data {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the user data file {}", path.display()))?,
        ),
        None => None,
    };

    let chain = Chain::connect(endpoints, true).await?;
    let me = chain.me()?;
    let token = &chain.token;
    let offer = offer(&chain, args.offer).await?;
    if offer.status != 1 {
        bail!(
            "offer {} is {} and takes no new leases: choose another with `utter offers`",
            args.offer,
            offer_status_name(offer.status)
        );
    }
    let images = offer_images(&chain, args.offer).await?;
    let image_id = match images.iter().find(|(name, id)| {
        *name == args.image || format!("{id:#x}") == args.image.to_ascii_lowercase()
    }) {
        Some((_, id)) => *id,
        None => bail!(
            "offer {} does not boot {:?}: it boots {}",
            args.offer,
            args.image,
            images
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let price = U256::from(offer.pricePerSecond);
    let deposit = args.funding.wei(token, price)?;
    let minimum = price * U256::from(60);
    if deposit < minimum {
        bail!(
            "the deposit {} pays for less than the minimum 60 seconds ({}): raise --amount or --duration",
            token.format(deposit),
            token.format(minimum)
        );
    }
    let (active, _) = {
        let load = chain.escrow().offerLoad(args.offer).call().await?;
        (load.active, load.total)
    };
    if active >= offer.capacity {
        bail!(
            "offer {} is full ({active} of {} slots taken): choose another with `utter offers`",
            args.offer,
            offer.capacity
        );
    }
    let limit = chain.escrow().buyerLimit(offer.poolId, me).call().await?;
    let fee = if limit.isAnonymous {
        chain.escrow().anonFee(offer.poolId).call().await?
    } else {
        U256::ZERO
    };
    let max_fee = match &args.max_fee {
        Some(text) => token.parse(text).context("--max-fee")?,
        None => fee + fee.div_ceil(U256::from(8)),
    };
    if max_fee < fee {
        bail!(
            "the anonymous-start fee is {} now, above your --max-fee {}: raise --max-fee, or make a trust deposit (`utter trust deposit`) to start without it",
            token.format(fee),
            token.format(max_fee)
        );
    }
    let encrypted_user_data = match user_data {
        Some(data) => {
            let key = chain
                .registry()
                .encryptionKeyOf(offer.provider)
                .call()
                .await?;
            if key.is_zero() {
                bail!(
                    "the provider {} has published no encryption key, so user data cannot be sent privately: drop --user-data or choose another offer",
                    offer.provider
                );
            }
            let recipient = user_data::recipient(key)?;
            Bytes::from(
                age::encrypt(&recipient, &data)
                    .map_err(|e| anyhow::anyhow!("encrypting the user data: {e}"))?,
            )
        }
        None => Bytes::new(),
    };
    let total_max = deposit + max_fee;
    // The fee charged is today's (the permit allows up to the maximum).
    chain.check_balance(deposit + fee).await?;

    let params = LeaseEscrow::OpenParams {
        offerId: args.offer,
        imageId: image_id,
        deposit,
        maxPricePerSecond: price,
        maxAnonFee: max_fee,
        sshPublicKey: ssh_key,
        encryptedUserData: encrypted_user_data,
    };
    let escrow = chain.escrow();
    let runway = deposit / price;
    let summary = format!(
        "Open a lease on offer {} ({} in pool {}), image {}\n  price      {} ({} wei/s)\n  deposit    {} (runs {})\n  anon fee   {}{}\n  total      {}",
        args.offer,
        offer.provider,
        offer.poolId,
        args.image,
        token.per_hour(price),
        price,
        token.format(deposit),
        format_duration(runway.to::<u64>()),
        if limit.isAnonymous {
            token.format(fee)
        } else {
            "none (you are not anonymous in this pool)".into()
        },
        if limit.isAnonymous {
            format!(" (you accept up to {})", token.format(max_fee))
        } else {
            String::new()
        },
        token.format(deposit + fee),
    );
    let receipt = chain
        .pay(
            out,
            "opening the lease",
            chain.deployment.escrow,
            total_max,
            Some(summary),
            |p| escrow.openLeaseWithPermit(params.clone(), p.deadline, p.v, p.r, p.s),
            escrow.openLease(params.clone()),
        )
        .await?;
    let opened = receipt
        .decoded_log::<LeaseEscrow::LeaseOpened>()
        .context("the receipt has no LeaseOpened event")?;
    let lease_id: u64 = opened.leaseId.to();
    let anon_fee = U256::from(opened.opening.anonFee);
    out.result(
        &serde_json::json!({
            "lease_id": lease_id,
            "tx": receipt.transaction_hash,
            "offer_id": args.offer,
            "provider": offer.provider,
            "deposit": deposit.to_string(),
            "anon_fee": anon_fee.to_string(),
            "price_per_second": price.to_string(),
            "boot_deadline": opened.opening.bootDeadline.to::<u64>(),
        }),
        || {
            format!(
                "opened lease {lease_id} (tx {}): deposit {}, anonymous-start fee {}\nthe provider must boot it by the deadline; watch it with `utter lease show {lease_id} --ssh-identity ~/.ssh/id_ed25519`",
                receipt.transaction_hash,
                token.format(deposit),
                token.format(anon_fee)
            )
        },
    );
    Ok(())
}

/// A lease as `utter lease show` reports it.
#[derive(Debug, Serialize)]
pub struct LeaseReport {
    /// The lease.
    pub lease_id: u64,
    /// Its status now (a running lease whose balance is spent shows as halted).
    pub status: &'static str,
    /// The buyer.
    pub buyer: Address,
    /// The offer.
    pub offer_id: u32,
    /// The provider.
    pub provider: Address,
    /// The pool.
    pub pool_id: u32,
    /// Wei per second.
    pub price_per_second: String,
    /// The buyer's unspent balance now, wei.
    pub balance: String,
    /// The provider's unwithdrawn earnings now, wei.
    pub earned: String,
    /// When a running lease runs dry (its halt time once halted), unix seconds.
    pub paid_until: Option<u64>,
    /// Seconds the balance lasts from now, for a running lease.
    pub runway_seconds: Option<u64>,
    /// The boot/restart deadline, or the end of retention when halted, unix seconds.
    pub deadline: u64,
    /// The chain's time these figures hold at.
    pub as_of: u64,
    /// Whether it started anonymous.
    pub is_anonymous: bool,
    /// Every top-up.
    pub top_ups: Vec<TopUpReport>,
    /// Whether the provider has published access details.
    pub acknowledged: bool,
    /// The decrypted access details, when `--ssh-identity` was given.
    pub access: Option<access::AccessDetails>,
}

/// One top-up.
#[derive(Debug, Serialize)]
pub struct TopUpReport {
    /// Who paid.
    pub payer: Address,
    /// Wei.
    pub amount: String,
    /// The transaction.
    pub tx: Option<B256>,
}

/// The lease's state read from the chain.
pub async fn report(
    chain: &Chain,
    id: u64,
    identity: Option<&PathBuf>,
) -> anyhow::Result<LeaseReport> {
    let escrow = chain.escrow();
    let count: u64 = escrow.leaseCount().call().await?.to();
    if id == 0 || id > count {
        bail!("there is no lease {id} ({count} leases exist): see yours with `utter lease list`");
    }
    let lease = escrow.getLease(U256::from(id)).call().await?;
    let state = escrow.leaseState(U256::from(id)).call().await?;
    let (provider, pool_id, _, _) = {
        let p = chain.offers().providerOf(lease.offerId).call().await?;
        (p.provider, p.poolId, p.bootTimeout, p.retention)
    };
    let now = chain.now().await?;
    let price = U256::from(lease.pricePerSecond);
    let paid_until: u64 = state.paidUntil.to();
    let status = status_name(state.status);
    let acks = logs::<LeaseEscrow::LeaseAcknowledged>(chain, chain.deployment.escrow, id).await?;
    let access = match (identity, acks.last()) {
        (Some(path), Some((ack, _))) => {
            let key = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the SSH private key {}", path.display()))?;
            Some(access::decrypt(&key, &ack.encryptedAccess).with_context(|| {
                format!(
                    "the access details of lease {id} do not decrypt with {}: give the private key whose .pub opened the lease",
                    path.display()
                )
            })?)
        }
        _ => None,
    };
    let top_ups = logs::<LeaseEscrow::LeaseToppedUp>(chain, chain.deployment.escrow, id)
        .await?
        .into_iter()
        .map(|(t, log)| TopUpReport {
            payer: t.payer,
            amount: t.amount.to_string(),
            tx: log.transaction_hash,
        })
        .collect();
    Ok(LeaseReport {
        lease_id: id,
        status,
        buyer: lease.buyer,
        offer_id: lease.offerId,
        provider,
        pool_id,
        price_per_second: price.to_string(),
        balance: state.balance.to_string(),
        earned: state.earned.to_string(),
        paid_until: (paid_until > 0).then_some(paid_until),
        runway_seconds: (state.status == 2).then(|| paid_until.saturating_sub(now)),
        deadline: lease.deadline.to(),
        as_of: now,
        is_anonymous: lease.isAnonymous,
        top_ups,
        acknowledged: !acks.is_empty(),
        access,
    })
}

async fn show(
    chain: &Chain,
    id: u64,
    identity: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<()> {
    let r = report(chain, id, identity.as_ref()).await?;
    let token = &chain.token;
    let wei = |s: &str| U256::from_str_radix(s, 10).unwrap_or_default();
    out.result(&r, || {
        let mut text = format!(
            "lease {}  {}\n  offer      {} by {} (pool {})\n  price      {}\n  balance    {}\n  earned     {} (provider, not withdrawn)",
            r.lease_id,
            r.status,
            r.offer_id,
            r.provider,
            r.pool_id,
            token.per_hour(wei(&r.price_per_second)),
            token.format(wei(&r.balance)),
            token.format(wei(&r.earned)),
        );
        match (r.status, r.paid_until) {
            ("running", Some(until)) => text.push_str(&format!(
                "\n  paid until {}",
                When { at: until, now: r.as_of }
            )),
            ("halted", Some(until)) => text.push_str(&format!(
                "\n  ran dry    {}\n  disk kept until {}: top up to resume",
                When { at: until, now: r.as_of },
                When { at: r.deadline, now: r.as_of }
            )),
            ("pending" | "restart_pending", _) if r.deadline < r.as_of => text.push_str(&format!(
                "\n  never acknowledged: the deadline passed {}; take it back with `utter lease reclaim {}`",
                When { at: r.deadline, now: r.as_of },
                r.lease_id
            )),
            ("pending" | "restart_pending", _) => text.push_str(&format!(
                "\n  not billed until the provider acknowledges; deadline {}",
                When { at: r.deadline, now: r.as_of }
            )),
            _ => {}
        }
        for t in &r.top_ups {
            text.push_str(&format!("\n  top-up     {} by {}", token.format(wei(&t.amount)), t.payer));
        }
        match (&r.access, r.acknowledged) {
            (Some(a), _) => text.push_str(&format!(
                "\n  access     ssh -p {} {}@{}\n  host key   {}",
                a.port,
                a.user,
                a.host,
                if a.host_key_fingerprint.is_empty() {
                    "not published by the provider: check it out of band on first connection"
                } else {
                    &a.host_key_fingerprint
                }
            )),
            (None, true) => text.push_str(
                "\n  access     published, encrypted: pass --ssh-identity ~/.ssh/id_ed25519 to read it",
            ),
            (None, false) => text.push_str("\n  access     not yet published by the provider"),
        }
        text
    });
    Ok(())
}

#[derive(Debug, Deserialize)]
struct LeaseRow {
    lease_id: u64,
    status: String,
    offer_id: u32,
    price_per_second: String,
    balance: String,
    paid_until: Option<u64>,
    as_of: u64,
}

async fn list(buyer: Option<Address>, endpoints: &Endpoints, out: &Output) -> anyhow::Result<()> {
    let buyer = match buyer {
        Some(b) => b,
        None => endpoints
            .keys
            .signer()
            .context("--buyer was not given, so your own leases are listed")?
            .address(),
    };
    let indexer = Indexer::new(&endpoints.indexer);
    let page: serde_json::Value = indexer
        .get(
            &format!("/v1/buyers/{buyer:#x}/leases"),
            &[("limit", "500".into())],
        )
        .await?;
    if out.json {
        out.result(&page, String::new);
        return Ok(());
    }
    let rows: Vec<LeaseRow> = serde_json::from_value(page["items"].clone())
        .context("the indexer's lease list does not have the expected fields")?;
    if rows.is_empty() {
        println!("{buyer} has no leases: open one with `utter lease open`");
        return Ok(());
    }
    let token = token_from_indexer_or_chain(endpoints, out).await;
    let wei = |s: &str| U256::from_str_radix(s, 10).unwrap_or_default();
    let mut table = Table::new(vec![
        "ID",
        "STATUS",
        "OFFER",
        "PRICE",
        "BALANCE",
        "PAID UNTIL",
    ]);
    for r in rows {
        table.row(vec![
            r.lease_id.to_string(),
            r.status,
            r.offer_id.to_string(),
            token.per_hour(wei(&r.price_per_second)),
            token.format(wei(&r.balance)),
            r.paid_until
                .map_or("-".into(), |at| When { at, now: r.as_of }.to_string()),
        ]);
    }
    println!("{}", table.render(terminal_width()));
    Ok(())
}

/// Tops lease `id` up with `amount` wei (approving first when needed), after `summary` is confirmed
/// (`None`: already confirmed). Returns the transaction.
pub async fn send_top_up(
    chain: &Chain,
    id: u64,
    amount: U256,
    summary: Option<String>,
    out: &Output,
) -> anyhow::Result<B256> {
    chain.check_balance(amount).await?;
    let escrow = chain.escrow();
    let lease = U256::from(id);
    let receipt = chain
        .pay(
            out,
            "topping up the lease",
            chain.deployment.escrow,
            amount,
            summary,
            |p| escrow.topUpWithPermit(lease, amount, p.deadline, p.v, p.r, p.s),
            escrow.topUp(lease, amount),
        )
        .await?;
    Ok(receipt.transaction_hash)
}

async fn top_up(chain: &Chain, id: u64, funding: &Funding, out: &Output) -> anyhow::Result<()> {
    let r = report(chain, id, None).await?;
    if r.status == "closed" {
        bail!(
            "lease {id} is closed: it cannot be topped up; open a new one with `utter lease open`"
        );
    }
    let token = &chain.token;
    let price = U256::from_str_radix(&r.price_per_second, 10)?;
    let amount = funding.wei(token, price)?;
    let summary = format!(
        "Top up lease {id} ({}) with {}: {} more at {}",
        r.status,
        token.format(amount),
        format_duration((amount / price).to::<u64>()),
        token.per_hour(price)
    );
    let tx = send_top_up(chain, id, amount, Some(summary), out).await?;
    let after = report(chain, id, None).await?;
    out.result(
        &serde_json::json!({"lease_id": id, "tx": tx, "amount": amount.to_string(), "balance": after.balance, "paid_until": after.paid_until, "status": after.status}),
        || {
            let mut text = format!("topped up lease {id} with {} (tx {tx})", token.format(amount));
            if let Some(until) = after.paid_until {
                text.push_str(&format!("; paid until {}", When { at: until, now: after.as_of }));
            }
            text
        },
    );
    Ok(())
}

async fn stop(endpoints: &Endpoints, id: u64, out: &Output) -> anyhow::Result<()> {
    let chain = Chain::connect(endpoints, true).await?;
    let r = report(&chain, id, None).await?;
    let me = chain.me()?;
    if r.buyer != me {
        bail!(
            "lease {id} is {}'s, not yours ({me}): only its buyer may stop it",
            r.buyer
        );
    }
    if r.status == "closed" {
        bail!("lease {id} is already closed");
    }
    let escrow = chain.escrow();
    let call = escrow.stop(U256::from(id));
    chain.simulate("stopping the lease", &call).await?;
    let token = &chain.token;
    out.confirm(&format!(
        "Stop lease {id} ({}): the machine is deleted and about {} comes back to you",
        r.status,
        token.format(U256::from_str_radix(&r.balance, 10)?)
    ))?;
    let receipt = chain.send(out, "stopping the lease", call).await?;
    let ended = receipt
        .decoded_log::<LeaseEscrow::LeaseEnded>()
        .context("the receipt has no LeaseEnded event")?;
    out.result(
        &serde_json::json!({"lease_id": id, "tx": receipt.transaction_hash, "refund": ended.refund.to_string()}),
        || format!("stopped lease {id}; {} refunded (tx {})", token.format(ended.refund), receipt.transaction_hash),
    );
    Ok(())
}

async fn reclaim(endpoints: &Endpoints, id: u64, out: &Output) -> anyhow::Result<()> {
    let chain = Chain::connect(endpoints, true).await?;
    let r = report(&chain, id, None).await?;
    if !matches!(r.status, "pending" | "restart_pending") {
        bail!(
            "lease {id} is {}: only a lease whose (re)start was never acknowledged can be reclaimed",
            r.status
        );
    }
    if r.as_of <= r.deadline {
        bail!(
            "the provider may still acknowledge lease {id} until {}: reclaim after that",
            When {
                at: r.deadline,
                now: r.as_of
            }
        );
    }
    let escrow = chain.escrow();
    let call = escrow.reclaim(U256::from(id));
    chain.simulate("reclaiming the lease", &call).await?;
    let token = &chain.token;
    out.confirm(&format!(
        "Reclaim lease {id}: {} comes back, plus the pool's no-boot share of the provider's stake",
        token.format(U256::from_str_radix(&r.balance, 10)?)
    ))?;
    let receipt = chain.send(out, "reclaiming the lease", call).await?;
    let ended = receipt
        .decoded_log::<LeaseEscrow::LeaseEnded>()
        .context("the receipt has no LeaseEnded event")?;
    out.result(
        &serde_json::json!({"lease_id": id, "tx": receipt.transaction_hash, "refund": ended.refund.to_string(), "slashed": ended.slashed.to_string()}),
        || {
            format!(
                "reclaimed lease {id}: {} refunded and {} of the provider's stake (tx {})",
                token.format(ended.refund),
                token.format(ended.slashed),
                receipt.transaction_hash
            )
        },
    );
    Ok(())
}

/// `utter trust ...`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Add to your trust deposit: more leases at once, and no anonymous-start fee.
    Deposit {
        /// Tokens to deposit.
        amount: String,
    },
    /// Start withdrawing part of the deposit (it stops counting now and unbonds for 7 days).
    WithdrawRequest {
        /// Tokens to withdraw.
        amount: String,
    },
    /// Withdraw the deposit whose unbonding has passed.
    Withdraw {
        /// Where the tokens go (default: your address).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Show a buyer's deposit, karma and open reports.
    Show {
        /// The buyer (default: your address).
        address: Option<Address>,
    },
}

/// Runs `utter trust ...`.
pub async fn trust(
    command: TrustCommand,
    endpoints: &Endpoints,
    out: &Output,
) -> anyhow::Result<()> {
    let signing = !matches!(command, TrustCommand::Show { address: Some(_) });
    let chain = Chain::connect(endpoints, signing).await?;
    let token = chain.token.clone();
    let trust = chain.buyer_trust();
    match command {
        TrustCommand::Deposit { amount } => {
            let amount = token.parse(&amount)?;
            if amount.is_zero() {
                bail!("the amount is zero: give a positive amount");
            }
            chain.check_balance(amount).await?;
            out.confirm(&format!(
                "Deposit {} into your buyer trust",
                token.format(amount)
            ))?;
            chain
                .approve(out, chain.deployment.buyer_trust, amount)
                .await?;
            let receipt = chain.send(out, "depositing", trust.deposit(amount)).await?;
            finish(&chain, receipt.transaction_hash, out).await
        }
        TrustCommand::WithdrawRequest { amount } => {
            let amount = token.parse(&amount)?;
            let call = trust.requestWithdrawal(amount);
            chain.simulate("requesting the withdrawal", &call).await?;
            out.confirm(&format!(
                "Start withdrawing {} of your trust deposit: it stops counting now and unbonds for 7 days",
                token.format(amount)
            ))?;
            let receipt = chain.send(out, "requesting the withdrawal", call).await?;
            finish(&chain, receipt.transaction_hash, out).await
        }
        TrustCommand::Withdraw { to } => {
            let to = to.unwrap_or(chain.me()?);
            let call = trust.withdraw(to);
            chain.simulate("withdrawing the deposit", &call).await?;
            let account = trust.accountOf(chain.me()?).call().await?;
            out.confirm(&format!(
                "Withdraw {} of unbonded trust deposit to {to}",
                token.format(U256::from(account.unbonding))
            ))?;
            let receipt = chain.send(out, "withdrawing the deposit", call).await?;
            finish(&chain, receipt.transaction_hash, out).await
        }
        TrustCommand::Show { address } => {
            let buyer = match address {
                Some(a) => a,
                None => chain.me()?,
            };
            show_trust(&chain, buyer, None, out).await
        }
    }
}

async fn finish(chain: &Chain, tx: B256, out: &Output) -> anyhow::Result<()> {
    show_trust(chain, chain.me()?, Some(tx), out).await
}

async fn show_trust(
    chain: &Chain,
    buyer: Address,
    tx: Option<B256>,
    out: &Output,
) -> anyhow::Result<()> {
    let trust = chain.buyer_trust();
    let account = trust.accountOf(buyer).call().await?;
    let reports = trust.openReportsOf(buyer).call().await?;
    let record = chain.escrow().buyerRecord(buyer).call().await?;
    let now = chain.now().await?;
    let token = &chain.token;
    let unbonding_ends: u64 = account.unbondingEnds.to();
    let value = serde_json::json!({
        "buyer": buyer,
        "tx": tx,
        "deposit": U256::from(account.deposit).to_string(),
        "unbonding": U256::from(account.unbonding).to_string(),
        "unbonding_ends": unbonding_ends,
        "karma": U256::from(record.karma).to_string(),
        "active_leases": record.active,
        "open_reports": reports.openReports.to::<u64>(),
    });
    out.result(&value, || {
        let mut text = String::new();
        if let Some(tx) = tx {
            text.push_str(&format!("done (tx {tx})\n"));
        }
        text.push_str(&format!(
            "buyer {buyer}\n  deposit    {}\n  unbonding  {}",
            token.format(U256::from(account.deposit)),
            token.format(U256::from(account.unbonding)),
        ));
        if account.unbonding > alloy::primitives::aliases::U96::ZERO {
            text.push_str(&format!(
                ", free {}",
                When {
                    at: unbonding_ends,
                    now
                }
            ));
        }
        text.push_str(&format!(
            "\n  karma      {}\n  leases     {} active\n  reports    {} open",
            token.format(U256::from(record.karma)),
            record.active,
            reports.openReports
        ));
        text
    });
    Ok(())
}
