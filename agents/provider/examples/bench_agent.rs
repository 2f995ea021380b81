//! A benchmark of the provider agent (issue 4, "Performance"): RPC calls per new block while following
//! N live leases, the time from a lease's funding block to the cloud's create request, and the
//! agent's peak resident memory. Figures and method: `agents/provider/BENCH-agent.md`.
//!
//! ```sh
//! cargo run --release -p utter-provider-agent --example bench_agent
//! cargo run --release -p utter-provider-agent --example bench_agent -- --help
//! ```
//!
//! The example drives a market on the pinned anvil and runs the measured agent in a child process (the
//! example itself, `bench_agent agent ...`), so that its peak RSS is the agent's alone. The child's
//! JSON-RPC goes through a counting proxy inside the parent; the child's cloud is a [`MemoryCloud`] (or
//! the OpenStack lab) wrapped so that every create request is timestamped on the child's stdout.

use alloy::{
    network::EthereumWallet,
    node_bindings::AnvilInstance,
    primitives::{Address, B256, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context as _, bail};
use axum::{body::Bytes as Body, extract::State, http::StatusCode, response::IntoResponse};
use clap::{Parser, Subcommand};
use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead as _, Write as _},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};
use tokio::sync::mpsc;
use utter_bindings::{ComputeToken, Deployment, LeaseEscrow, Pools, demo::tokens, deploy};
use utter_provider_agent::{
    agent::Agent,
    chain::ChainView,
    cloud::{
        Cloud, CloudError, CloudServer, CreateServer, Flavor, FloatingIp, NetworkInfo, Room,
        clouds_yaml,
        memory::MemoryCloud,
        openstack::{OpenStack, Options},
    },
    config::{FileConfig, image_id},
};
use utter_testkit::anvil::{confirm, mine, pin_clock, set_automine, spawn_anvil_with, wallets};

/// Token wei per second the offers charge.
const PRICE: u64 = 1_000_000_000_000;
/// Seconds each lease is paid for: far more than the chain time the run spends (one second a block).
const PAID_SECONDS: u64 = 200_000;
/// Lease openings sent before a block is mined, when opening many (about 200k gas each).
const OPENS_PER_BLOCK: usize = 50;
/// Fee cap of the parent's own transactions (their gas and fees are set, so nothing is estimated).
const MAX_FEE: u128 = 100_000_000_000;

#[derive(Debug, Parser)]
#[command(
    about = "Benchmark of the provider agent: RPC calls per block, boot-request latency, RSS"
)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    /// Live lease counts at which RPC calls per block are measured (cumulative).
    #[arg(long, default_value = "10,100,1000", value_delimiter = ',')]
    leases: Vec<u64>,
    /// Blocks mined per RPC measurement.
    #[arg(long, default_value_t = 50)]
    blocks: u64,
    /// Milliseconds between blocks while counting RPC calls.
    #[arg(long, default_value_t = 1000)]
    block_ms: u64,
    /// The agent's poll interval (`poll_ms`) while counting RPC calls.
    #[arg(long, default_value_t = 100)]
    rpc_poll_ms: u64,
    /// New leases, one a block, timed from their block to the create request, for each poll interval.
    #[arg(long, default_value_t = 200)]
    stream: u64,
    /// The agent's poll intervals tried for the latency (milliseconds).
    #[arg(long, default_value = "100,50", value_delimiter = ',')]
    polls: Vec<u64>,
    /// New leases timed against the OpenStack lab (0: skip the lab).
    #[arg(long, default_value_t = 30)]
    lab_leases: u64,
    /// New leases timed while the agent also acknowledges (in-memory servers ACTIVE at once), once
    /// with the RPC URL on 127.0.0.1 and once on 127.0.0.2 (0: skip).
    #[arg(long, default_value_t = 8)]
    ack_leases: u64,
    /// Milliseconds between blocks for the acknowledgement runs.
    #[arg(long, default_value_t = 1000)]
    ack_block_ms: u64,
    /// Block pacing against the lab, milliseconds between blocks: 0 is anvil's automining (every
    /// transaction mined at once, the agent's acknowledgements too); otherwise blocks come at that
    /// pace and the agent's acknowledgements wait for the next one.
    #[arg(long, default_value = "0,1000", value_delimiter = ',')]
    lab_block_ms: Vec<u64>,
    /// The lab's clouds.yaml (cloud `utter-lab`).
    #[arg(long, default_value = "target/openstack-lab/clouds.yaml")]
    lab_clouds_yaml: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: the measured agent, driven through stdin, reporting on stdout.
    #[command(hide = true)]
    Agent(AgentArgs),
}

#[derive(Debug, clap::Args)]
struct AgentArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    deployment: PathBuf,
    #[arg(long)]
    rpc: String,
    /// The provider's private key (an anvil test account).
    #[arg(long)]
    key: String,
    /// A clouds.yaml with the cloud `utter-lab`; otherwise an in-memory cloud.
    #[arg(long)]
    lab: Option<PathBuf>,
    /// Alloy's receipt polling interval while the agent acknowledges the setup's leases.
    #[arg(long)]
    setup_receipt_poll_ms: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.role {
        Some(Role::Agent(args)) => runtime.block_on(agent_main(args)),
        None => runtime.block_on(bench(cli)),
    }
}

fn unix_ns() -> i128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// `VmHWM` and `VmRSS` of this process, KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

// ---------------------------------------------------------------------------------------------------
// The child: the agent, its cloud timestamped.

/// A cloud whose create requests are timestamped on stdout: `create LEASE START_NS END_NS OK`.
struct Timed<C> {
    inner: C,
    /// Time spent in `list_servers` and in `room`, with call counts, since the last report.
    listing: Mutex<(Duration, u64, Duration, u64)>,
}

impl<C> Timed<C> {
    fn new(inner: C) -> Self {
        Self {
            inner,
            listing: Mutex::new(Default::default()),
        }
    }

    fn take_listing(&self) -> (Duration, u64, Duration, u64) {
        std::mem::take(&mut *self.listing.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Moves building servers to ACTIVE where the cloud needs telling (the in-memory one).
trait Settle {
    fn settle(&self);
}

impl Settle for MemoryCloud {
    fn settle(&self) {
        MemoryCloud::settle(self);
    }
}

impl Settle for OpenStack {
    fn settle(&self) {}
}

impl<C: Cloud> Cloud for Timed<C> {
    async fn list_servers(&self, tag: &str) -> Result<Vec<CloudServer>, CloudError> {
        let started = Instant::now();
        let result = self.inner.list_servers(tag).await;
        let mut listing = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        listing.0 += started.elapsed();
        listing.1 += 1;
        result
    }
    async fn get_server(&self, id: &str) -> Result<Option<CloudServer>, CloudError> {
        self.inner.get_server(id).await
    }
    async fn create_server(&self, request: &CreateServer) -> Result<String, CloudError> {
        let start = unix_ns();
        let result = self.inner.create_server(request).await;
        let end = unix_ns();
        let lease = request
            .tags
            .iter()
            .find_map(|t| t.strip_prefix("utter-lease:"))
            .unwrap_or("-");
        println!("create {lease} {start} {end} {}", result.is_ok());
        result
    }
    async fn start_server(&self, id: &str) -> Result<(), CloudError> {
        self.inner.start_server(id).await
    }
    async fn stop_server(&self, id: &str) -> Result<(), CloudError> {
        self.inner.stop_server(id).await
    }
    async fn delete_server(&self, id: &str) -> Result<(), CloudError> {
        self.inner.delete_server(id).await
    }
    async fn console_log(&self, id: &str, lines: u32) -> Result<String, CloudError> {
        self.inner.console_log(id, lines).await
    }
    async fn find_flavor(&self, name: &str) -> Result<Option<Flavor>, CloudError> {
        self.inner.find_flavor(name).await
    }
    async fn find_image(&self, name: &str) -> Result<Option<String>, CloudError> {
        self.inner.find_image(name).await
    }
    async fn set_tags(&self, id: &str, tags: &[String]) -> Result<(), CloudError> {
        self.inner.set_tags(id, tags).await
    }
    async fn rebuild_server(
        &self,
        id: &str,
        image_id: &str,
        user_data: &str,
    ) -> Result<(), CloudError> {
        self.inner.rebuild_server(id, image_id, user_data).await
    }
    async fn room(&self) -> Result<Room, CloudError> {
        let started = Instant::now();
        let result = self.inner.room().await;
        let mut listing = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        listing.2 += started.elapsed();
        listing.3 += 1;
        result
    }
    async fn find_network(&self, name_or_id: &str) -> Result<Option<NetworkInfo>, CloudError> {
        self.inner.find_network(name_or_id).await
    }
    async fn server_ports(&self, server_id: &str) -> Result<Vec<String>, CloudError> {
        self.inner.server_ports(server_id).await
    }
    async fn floating_ips(&self, network_id: &str) -> Result<Vec<FloatingIp>, CloudError> {
        self.inner.floating_ips(network_id).await
    }
    async fn create_floating_ip(
        &self,
        network_id: &str,
        port_id: &str,
        description: &str,
    ) -> Result<FloatingIp, CloudError> {
        self.inner
            .create_floating_ip(network_id, port_id, description)
            .await
    }
    async fn associate_floating_ip(
        &self,
        id: &str,
        port_id: &str,
    ) -> Result<FloatingIp, CloudError> {
        self.inner.associate_floating_ip(id, port_id).await
    }
    async fn delete_floating_ip(&self, id: &str) -> Result<(), CloudError> {
        self.inner.delete_floating_ip(id).await
    }
}

async fn agent_main(args: AgentArgs) -> anyhow::Result<()> {
    let mut config = FileConfig::load(&args.config)?;
    let deployment = Deployment::load(&args.deployment)?;
    let signer: PrivateKeySigner = args.key.trim().parse().context("the key")?;
    let me = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(args.rpc.parse().context("the RPC URL")?)
        .erased();
    let default_receipt_poll = provider.client().poll_interval();
    let chain = ChainView::new(provider.clone(), deployment, me, config.confirmations);
    config.rpc = Some(args.rpc.clone());
    let poll = config.poll_interval();
    match &args.lab {
        None => {
            let cloud = MemoryCloud::new(
                vec![Flavor {
                    id: "f-small".into(),
                    name: "utter.small".into(),
                    vcpus: 1,
                    ram_mib: 512,
                    disk_gib: 5,
                }],
                vec![("utter-tiny".into(), "img-tiny".into())],
            );
            let agent = Agent::new(config, chain, Arc::new(Timed::new(cloud)), provider.clone());
            drive(
                agent,
                provider,
                poll,
                default_receipt_poll,
                args.setup_receipt_poll_ms,
            )
            .await
        }
        Some(path) => {
            let cloud_config =
                clouds_yaml::load(Some(path), "utter-lab").map_err(|e| anyhow::anyhow!("{e}"))?;
            let cloud = OpenStack::connect(cloud_config, Options::default()).await?;
            let agent = Agent::new(config, chain, Arc::new(Timed::new(cloud)), provider.clone());
            drive(
                agent,
                provider,
                poll,
                default_receipt_poll,
                args.setup_receipt_poll_ms,
            )
            .await
        }
    }
}

#[derive(Default)]
struct TickStats {
    ticks: u64,
    errors: u64,
    total: Duration,
    max: Duration,
}

/// The agent's loop, as `main.rs` runs it, with commands on stdin: `poll MS`, `settle 0|1`,
/// `receipt-poll-default`, `report` (prints a `report k=v ...` line and resets the tick statistics),
/// `quit`.
async fn drive<C: Cloud + Settle + 'static>(
    mut agent: Agent<Timed<C>>,
    provider: DynProvider,
    mut poll: Duration,
    default_receipt_poll: Duration,
    setup_receipt_poll_ms: Option<u64>,
) -> anyhow::Result<()> {
    let (tx, mut commands) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
        let _ = tx.send("quit".into());
    });
    agent.prepare().await?;
    // After `prepare`, whose transactions started alloy's block poller ("heartbeat") at the default
    // interval, as in production; only receipt lookups are hurried while the setup is acknowledged.
    if let Some(ms) = setup_receipt_poll_ms {
        provider
            .client()
            .set_poll_interval(Duration::from_millis(ms));
    }
    let offers: Vec<String> = agent.offers().keys().map(u32::to_string).collect();
    println!("ready {}", offers.join(" "));
    let mut settle = true;
    let mut stats = TickStats::default();
    let mut last_error = String::new();
    loop {
        let started = Instant::now();
        let result = agent.tick().await;
        let took = started.elapsed();
        stats.ticks += 1;
        stats.total += took;
        stats.max = stats.max.max(took);
        match result {
            Ok(_) => last_error.clear(),
            Err(error) => {
                stats.errors += 1;
                let text = error.to_string();
                if text != last_error {
                    eprintln!("bench agent: tick failed: {text}");
                    last_error = text;
                }
            }
        }
        if settle {
            agent.cloud().inner.settle();
        }
        let deadline = tokio::time::Instant::now() + poll;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                command = commands.recv() => {
                    let command = command.unwrap_or_else(|| "quit".into());
                    let mut words = command.split_whitespace();
                    match (words.next(), words.next()) {
                        (Some("poll"), Some(ms)) => poll = Duration::from_millis(ms.parse()?),
                        (Some("settle"), Some(on)) => settle = on == "1",
                        (Some("receipt-poll-default"), _) => {
                            provider.client().set_poll_interval(default_receipt_poll);
                        }
                        (Some("report"), _) => {
                            report(&agent, &stats);
                            stats = TickStats::default();
                        }
                        (Some("quit"), _) => return Ok(()),
                        _ => eprintln!("bench agent: unknown command {command:?}"),
                    }
                }
            }
        }
    }
}

fn report<C: Cloud>(agent: &Agent<Timed<C>>, stats: &TickStats) {
    let (hwm, rss) = memory_kib();
    let (list, lists, room, rooms) = agent.cloud().take_listing();
    let mean_ms = |d: Duration, n: u64| d.as_secs_f64() * 1e3 / n.max(1) as f64;
    let leases = agent.leases_by_status();
    let count = |name: &str| leases.get(name).copied().unwrap_or(0);
    let actions: Vec<String> = agent
        .counters
        .actions
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect();
    let mean = if stats.ticks == 0 {
        0.0
    } else {
        stats.total.as_secs_f64() * 1e3 / stats.ticks as f64
    };
    println!(
        "report ticks={} tick_errors={} tick_mean_ms={mean:.3} tick_max_ms={:.3} hwm_kib={hwm} \
         rss_kib={rss} pending={} running={} halted={} closed={} tx_errors={} cloud_errors={} \
         actions={} list_mean_ms={:.3} room_mean_ms={:.3}",
        stats.ticks,
        stats.errors,
        stats.max.as_secs_f64() * 1e3,
        count("pending"),
        count("running"),
        count("halted"),
        count("closed"),
        agent.counters.tx_errors,
        agent.counters.cloud_errors,
        actions.join(","),
        mean_ms(list, lists),
        mean_ms(room, rooms),
    );
}

// ---------------------------------------------------------------------------------------------------
// The parent: a counting JSON-RPC proxy, the market, the phases.

/// JSON-RPC calls that went through the proxy, by method.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counts {
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    counts: Counts,
}

/// Forwards each request to anvil, counting the methods of single and batched calls.
async fn forward(State(state): State<Arc<ProxyState>>, body: Body) -> axum::response::Response {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
        let calls = match &value {
            serde_json::Value::Array(calls) => calls.iter().collect(),
            one => vec![one],
        };
        let mut counts = state.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        for call in calls {
            let method = call["method"].as_str().unwrap_or("?").to_owned();
            *counts.entry(method).or_default() += 1;
        }
    }
    let answer = state
        .client
        .post(&state.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match answer.bytes().await {
                Ok(bytes) => {
                    (status, [("content-type", "application/json")], bytes).into_response()
                }
                Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Starts the proxy in front of `upstream`; returns its URL and its counts.
async fn start_proxy(upstream: String, ip: &str) -> anyhow::Result<(String, Counts)> {
    let counts = Counts::default();
    let state = Arc::new(ProxyState {
        upstream,
        client: reqwest::Client::new(),
        counts: counts.clone(),
    });
    let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/", axum::routing::post(forward))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, counts))
}

/// A market on its own anvil: the contracts, a pool whose buyers may hold thousands of leases, a
/// funded provider (the agent's key) and buyer, and two bystanders for unrelated events.
struct Market {
    anvil: AnvilInstance,
    provider: DynProvider,
    deployment: Deployment,
    host: Address,
    host_key: B256,
    buyer: Address,
    bystanders: [Address; 2],
    nonces: HashMap<Address, u64>,
    ssh_public: String,
    dir: PathBuf,
}

impl Market {
    async fn new(name: &str, chain_id: u64) -> anyhow::Result<Self> {
        let anvil = spawn_anvil_with(|a| a.chain_id(chain_id));
        let (provider, accounts) = wallets(&anvil, 6);
        pin_clock(&provider).await?;
        let [deployer, operator, host, buyer, a, b]: [Address; 6] =
            accounts.try_into().expect("6 accounts");
        let deployment = deploy(&provider, deployer).await?;
        let token = ComputeToken::new(deployment.token, &provider);
        confirm(
            "fund host",
            token.transfer(host, tokens(1_000)).from(deployer),
        )
        .await;
        confirm(
            "fund buyer",
            token.transfer(buyer, tokens(5_000)).from(deployer),
        )
        .await;
        confirm(
            "fund bystander",
            token.transfer(a, tokens(1_000)).from(deployer),
        )
        .await;
        let pools = Pools::new(deployment.pools, &provider);
        let config = Pools::PoolConfig {
            name: "agent bench pool".into(),
            metadataURI: "https://pool.example".into(),
            feeBps: 1_000,
            noBootSlashBps: 1_000,
            bootFailSlashBps: 500,
            providerUnbonding: 86_400,
            minStake: U96::from(tokens(10).to::<u128>()),
            trust: Pools::TrustParams {
                trustedDeposit: U96::ZERO,
                trustedKarma: U96::ZERO,
                anonTargetShareBps: 2_000,
                maxBuyerSlashBps: 1_000,
                // One buyer may hold every lease of the run.
                baseLeases: 5_000,
                maxLeases: 5_000,
                depositPerLease: U96::ZERO,
                karmaPerLease: U96::ZERO,
                anonMinFee: U96::ZERO,
                anonMaxFee: U96::ZERO,
            },
        };
        confirm("create pool", pools.createPool(config).from(operator)).await;
        confirm(
            "buyer approves the escrow",
            token.approve(deployment.escrow, U256::MAX).from(buyer),
        )
        .await;
        use ssh_key::{Algorithm, PrivateKey, rand_core::OsRng};
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)?;
        let dir =
            std::env::temp_dir().join(format!("utter-bench-agent-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let host_key = PrivateKeySigner::from(anvil.keys()[2].clone()).to_bytes();
        let mut nonces = HashMap::new();
        for who in [buyer, a] {
            nonces.insert(who, provider.get_transaction_count(who).await?);
        }
        Ok(Self {
            ssh_public: key.public_key().to_openssh()?,
            anvil,
            provider,
            deployment,
            host,
            host_key,
            buyer,
            bystanders: [a, b],
            nonces,
            dir,
        })
    }

    fn nonce(&mut self, who: Address) -> u64 {
        let next = self.nonces.get_mut(&who).expect("a tracked sender");
        *next += 1;
        *next - 1
    }

    /// Sends (does not wait for) a lease opening on `offer_id`; returns the transaction hash.
    async fn send_open(&mut self, offer_id: u32) -> anyhow::Result<B256> {
        let params = LeaseEscrow::OpenParams {
            offerId: offer_id,
            imageId: image_id("ubuntu-24.04"),
            deposit: U256::from(PRICE) * U256::from(PAID_SECONDS),
            maxPricePerSecond: U256::from(PRICE),
            maxAnonFee: U256::ZERO,
            sshPublicKey: self.ssh_public.clone(),
            encryptedUserData: Bytes::new(),
        };
        let nonce = self.nonce(self.buyer);
        let escrow = LeaseEscrow::new(self.deployment.escrow, &self.provider);
        let pending = escrow
            .openLease(params)
            .from(self.buyer)
            .nonce(nonce)
            .gas(1_000_000)
            .max_fee_per_gas(MAX_FEE)
            .max_priority_fee_per_gas(1)
            .send()
            .await?;
        Ok(*pending.tx_hash())
    }

    /// An event the agent does not care about: a token transfer between bystanders.
    async fn send_unrelated(&mut self) -> anyhow::Result<()> {
        let [from, to] = self.bystanders;
        let nonce = self.nonce(from);
        let token = ComputeToken::new(self.deployment.token, &self.provider);
        let _pending = token
            .transfer(to, U256::from(1))
            .from(from)
            .nonce(nonce)
            .gas(100_000)
            .max_fee_per_gas(MAX_FEE)
            .max_priority_fee_per_gas(1)
            .send()
            .await?;
        Ok(())
    }

    /// The lease a mined opening created.
    async fn lease_of(&self, hash: B256) -> anyhow::Result<Option<u64>> {
        let Some(receipt) = self.provider.get_transaction_receipt(hash).await? else {
            return Ok(None);
        };
        if !receipt.status() {
            bail!("lease opening {hash} reverted");
        }
        let log = receipt
            .decoded_log::<LeaseEscrow::LeaseOpened>()
            .context("LeaseOpened")?;
        Ok(Some(log.data.leaseId.to()))
    }

    /// Opens `count` leases, round robin on `offers`, many a block; returns their ids.
    async fn open_many(&mut self, count: u64, offers: &[u32]) -> anyhow::Result<Vec<u64>> {
        set_automine(&self.provider, false).await?;
        let mut hashes = Vec::new();
        for i in 0..count as usize {
            hashes.push(self.send_open(offers[i % offers.len()]).await?);
            if hashes.len() % OPENS_PER_BLOCK == 0 {
                mine(&self.provider, 1).await?;
            }
        }
        mine(&self.provider, 1).await?;
        let mut ids = Vec::new();
        for hash in hashes {
            let mut tries = 0;
            loop {
                if let Some(id) = self.lease_of(hash).await? {
                    ids.push(id);
                    break;
                }
                tries += 1;
                if tries > 20 {
                    bail!("lease opening {hash} never mined");
                }
                mine(&self.provider, 1).await?;
            }
        }
        set_automine(&self.provider, true).await?;
        mine(&self.provider, 1).await?;
        Ok(ids)
    }

    /// The agent's configuration file: confirmations 0, no withdrawals in the run, two offers with room.
    fn write_config(&self, poll_ms: u64, glance: &str) -> anyhow::Result<PathBuf> {
        let offer = |name: &str| {
            format!(
                r#"
[[offers]]
name = "{name}"
pool_id = 1
flavor = "utter.small"
images = [{{ name = "ubuntu-24.04", glance = "{glance}" }}]
price_per_second = "{PRICE}"
capacity = 2000
boot_timeout = 86400
retention = 3600
region = "bench-1"
"#
            )
        };
        let text = format!(
            r#"
confirmations = 0
poll_ms = {poll_ms}
state_dir = "{}"
indexer_url = "http://127.0.0.1:8580"
withdraw_threshold = "1000000000000000000000000000"
withdraw_interval_secs = 1000000
[cloud]
name = "bench"
host_key_wait_secs = 0
{}{}"#,
            self.dir.join("state").display(),
            offer("bench-a"),
            offer("bench-b"),
        );
        let path = self.dir.join("agent.toml");
        std::fs::write(&path, text)?;
        FileConfig::load(&path)?;
        let deployment = self.dir.join("deployment.json");
        self.deployment.save(&deployment)?;
        Ok(path)
    }
}

/// What the child prints.
enum Event {
    Ready(Vec<u32>),
    Create { lease: u64, start: i128, end: i128 },
    Report(HashMap<String, String>),
    Gone,
}

/// The measured agent, a child process.
struct AgentProcess {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Event>,
    creates: HashMap<u64, (i128, i128)>,
}

impl AgentProcess {
    fn spawn(
        market: &Market,
        rpc: &str,
        config: &Path,
        lab: Option<&Path>,
        fast_setup: bool,
    ) -> anyhow::Result<Self> {
        let mut command = std::process::Command::new(std::env::current_exe()?);
        command
            .arg("agent")
            .arg("--config")
            .arg(config)
            .arg("--deployment")
            .arg(market.dir.join("deployment.json"))
            .arg("--rpc")
            .arg(rpc)
            .arg("--key")
            .arg(market.host_key.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(path) = lab {
            command.arg("--lab").arg(path);
        }
        if fast_setup {
            // Only while the setup's leases are acknowledged (see `setup_receipt_poll_ms`).
            command.arg("--setup-receipt-poll-ms").arg("10");
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut words = line.split_whitespace();
                let event = match words.next() {
                    Some("ready") => Event::Ready(words.filter_map(|w| w.parse().ok()).collect()),
                    Some("create") => {
                        let mut next = || words.next().and_then(|w| w.parse::<i128>().ok());
                        match (next(), next(), next()) {
                            (Some(lease), Some(start), Some(end)) => Event::Create {
                                lease: lease as u64,
                                start,
                                end,
                            },
                            _ => continue,
                        }
                    }
                    Some("report") => Event::Report(
                        words
                            .filter_map(|w| w.split_once('='))
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                    ),
                    _ => continue,
                };
                if tx.send(event).is_err() {
                    break;
                }
            }
            let _ = tx.send(Event::Gone);
        });
        Ok(Self {
            child,
            stdin,
            events,
            creates: HashMap::new(),
        })
    }

    fn command(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// The next event, keeping create timestamps aside.
    async fn next(&mut self, timeout: Duration) -> anyhow::Result<Option<Event>> {
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Err(_) => Ok(None),
            Ok(None) | Ok(Some(Event::Gone)) => bail!("the agent process ended"),
            Ok(Some(Event::Create { lease, start, end })) => {
                self.creates.entry(lease).or_insert((start, end));
                Ok(Some(Event::Create { lease, start, end }))
            }
            Ok(Some(event)) => Ok(Some(event)),
        }
    }

    async fn ready(&mut self) -> anyhow::Result<Vec<u32>> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(Event::Ready(offers)) = self.next(Duration::from_secs(1)).await? {
                return Ok(offers);
            }
        }
        bail!("the agent did not get ready")
    }

    async fn report(&mut self) -> anyhow::Result<HashMap<String, String>> {
        self.command("report")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(Event::Report(report)) = self.next(Duration::from_secs(1)).await? {
                return Ok(report);
            }
        }
        bail!("no report from the agent")
    }

    /// Waits for `count` leases running (none pending) by the agent's own view.
    async fn wait_running(&mut self, count: u64, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let report = self.report().await?;
            let get = |k: &str| {
                report
                    .get(k)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if get("running") >= count && get("pending") == 0 {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                bail!(
                    "only {} of {count} leases running after {limit:?}: {report:?}",
                    get("running")
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn create_of(
        &mut self,
        lease: u64,
        timeout: Duration,
    ) -> anyhow::Result<Option<(i128, i128)>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(&at) = self.creates.get(&lease) {
                return Ok(Some(at));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.next(left).await?;
        }
    }

    fn quit(mut self) {
        let _ = self.command("quit");
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50/p90/p99/max/mean of milliseconds, as a table row's cells.
fn summary(samples: &[f64]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
    format!(
        "{} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1}",
        sorted.len(),
        percentile(&sorted, 50.0),
        percentile(&sorted, 90.0),
        percentile(&sorted, 99.0),
        sorted.last().copied().unwrap_or(f64::NAN),
        mean
    )
}

/// A small random number (no dependency needed): the low bits of the clock.
fn jitter(below_ms: u64) -> Duration {
    if below_ms == 0 {
        return Duration::ZERO;
    }
    let seed = unix_ns() as u64;
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    Duration::from_millis(mixed % below_ms)
}

/// A miner mining one block every `interval`, as a chain with that block time; records when each
/// block's `evm_mine` returned.
struct Miner {
    mined: Arc<Mutex<HashMap<u64, i128>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Miner {
    fn start(provider: DynProvider, interval: Duration) -> Self {
        let mined = Arc::new(Mutex::new(HashMap::new()));
        let record = mined.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if mine(&provider, 1).await.is_err() {
                    return;
                }
                let at = unix_ns();
                if let Ok(number) = provider.get_block_number().await {
                    record
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(number, at);
                }
            }
        });
        Self { mined, task }
    }

    fn mined_at(&self, block: u64) -> Option<i128> {
        self.mined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&block)
            .copied()
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One lease a block: the latency from its block (when `evm_mine` returned) to the create request.
/// `None`: the block is mined right after the opening is sent (the agent must send nothing).
/// `Some(0)`: anvil mines every transaction at once (the agent's too); the block's time is when its
/// receipt is first seen (polled every millisecond: at most that much later than the mining).
/// `Some(ms)`: blocks come at that pace whatever happens (the agent's own transactions wait for
/// the next one, as on a real chain).
async fn latency_stream(
    market: &mut Market,
    agent: &mut AgentProcess,
    offers: &[u32],
    count: u64,
    poll_ms: u64,
    block_ms: Option<u64>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, u64)> {
    let automine = block_ms == Some(0);
    set_automine(&market.provider, automine).await?;
    let miner = block_ms
        .filter(|&ms| ms > 0)
        .map(|ms| Miner::start(market.provider.clone(), Duration::from_millis(ms)));
    let mut to_start = Vec::new();
    let mut to_end = Vec::new();
    let mut missed = 0;
    for i in 0..count {
        let hash = match &miner {
            None if automine => market.send_open(offers[i as usize % offers.len()]).await?,
            None => {
                // Leases arrive at random moments of the agent's poll cycle.
                tokio::time::sleep(jitter(poll_ms.max(20))).await;
                let hash = market.send_open(offers[i as usize % offers.len()]).await?;
                mine(&market.provider, 1).await?;
                hash
            }
            Some(_) => market.send_open(offers[i as usize % offers.len()]).await?,
        };
        let mut mined = None;
        let waited = Instant::now();
        while mined.is_none() && waited.elapsed() < Duration::from_secs(30) {
            match &miner {
                None if automine => {
                    if market
                        .provider
                        .get_transaction_receipt(hash)
                        .await?
                        .is_some()
                    {
                        mined = Some(unix_ns());
                    } else {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                None => mined = Some(unix_ns()),
                Some(miner) => {
                    if let Some(receipt) = market.provider.get_transaction_receipt(hash).await?
                        && let Some(block) = receipt.block_number
                    {
                        mined = miner.mined_at(block);
                    }
                    if mined.is_none() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        }
        let mined = mined.context("the opening was never mined")?;
        let lease = market
            .lease_of(hash)
            .await?
            .context("the opening was mined")?;
        match agent.create_of(lease, Duration::from_secs(15)).await? {
            Some((start, end)) => {
                to_start.push((start - mined) as f64 / 1e6);
                to_end.push((end - mined) as f64 / 1e6);
            }
            None => missed += 1,
        }
    }
    drop(miner);
    set_automine(&market.provider, true).await?;
    mine(&market.provider, 1).await?;
    Ok((to_start, to_end, missed))
}

async fn bench(cli: Cli) -> anyhow::Result<()> {
    let run_started = Instant::now();
    let say = |line: String| println!("{line}");
    let chain_id = 7_000_000 + u64::from(std::process::id() % 100_000);

    // ---- The in-memory cloud: RPC calls per block, latency, memory.
    let mut market = Market::new("memory", chain_id).await?;
    let (proxy, counts) = start_proxy(market.anvil.endpoint(), "127.0.0.1").await?;
    let config = market.write_config(cli.rpc_poll_ms, "utter-tiny")?;
    let mut agent = AgentProcess::spawn(&market, &proxy, &config, None, true)?;
    let offers = agent.ready().await?;
    say(format!(
        "agent ready: offers {offers:?}, provider {}, chain {chain_id}, {:.1} s into the run",
        market.host,
        run_started.elapsed().as_secs_f64()
    ));
    counts.take();

    let mut live = 0;
    let mut rpc_rows = Vec::new();
    for &target in &cli.leases {
        let started = Instant::now();
        let opened = market
            .open_many(target.saturating_sub(live), &offers)
            .await?;
        live += opened.len() as u64;
        let took_open = started.elapsed();
        let took_ack = agent.wait_running(live, Duration::from_secs(600)).await?;
        say(format!(
            "{live} live leases: opened in {:.1} s, all running (booted + acknowledged by the agent) {:.1} s later",
            took_open.as_secs_f64(),
            took_ack.as_secs_f64()
        ));
        agent.command("receipt-poll-default")?;
        set_automine(&market.provider, false).await?;
        // Steady state: settle, then count.
        tokio::time::sleep(Duration::from_millis(2 * cli.rpc_poll_ms)).await;
        agent.report().await?;
        counts.take();
        let window = Instant::now();
        for b in 1..=cli.blocks {
            let at = window + Duration::from_millis(b * cli.block_ms);
            tokio::time::sleep_until(at.into()).await;
            market.send_unrelated().await?;
            market.send_unrelated().await?;
            mine(&market.provider, 1).await?;
        }
        let seen = counts.take();
        let report = agent.report().await?;
        set_automine(&market.provider, true).await?;
        mine(&market.provider, 1).await?;
        let total: u64 = seen.values().sum();
        let ticks: u64 = report["ticks"].parse().unwrap_or(0);
        // `ChainView::sync` costs one call a poll, three more when there is a new head (one
        // `eth_getLogs` among them, the only caller of that method): the rest is alloy's heartbeat.
        let logs = seen.get("eth_getLogs").copied().unwrap_or(0);
        let chain_view = ticks + 3 * logs;
        let blocks = cli.blocks as f64;
        rpc_rows.push(format!(
            "| {live} | {:.2} | {:.2} | {:.2} | {ticks} | {logs} | {} | {} | {} |",
            chain_view as f64 / blocks,
            total as f64 / blocks,
            total as f64 / ticks.max(1) as f64,
            report["tick_mean_ms"],
            report["tick_max_ms"],
            seen.iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        say(format!(
            "  counted over {} blocks ({} ms apart, poll {} ms): {seen:?}; agent: {report:?}",
            cli.blocks, cli.block_ms, cli.rpc_poll_ms
        ));
    }
    let memory_after_rpc = agent.report().await?;

    // The latency, with the live leases in the background; new servers stay BUILD (no acknowledgements).
    agent.command("settle 0")?;
    let mut latency_rows = Vec::new();
    for &poll in &cli.polls {
        agent.command(&format!("poll {poll}"))?;
        tokio::time::sleep(Duration::from_millis(2 * poll.max(cli.rpc_poll_ms))).await;
        counts.take();
        let started = Instant::now();
        let (to_start, to_end, missed) =
            latency_stream(&mut market, &mut agent, &offers, cli.stream, poll, None).await?;
        let seen = counts.take();
        let calls: u64 = seen.values().sum();
        say(format!(
            "latency, poll {poll} ms, {} leases on top of {live}: {:.1} s, {missed} missed, RPC {seen:?}",
            cli.stream,
            started.elapsed().as_secs_f64()
        ));
        latency_rows.push(format!(
            "| in-memory | {poll} | {live} | to create call | {} |",
            summary(&to_start)
        ));
        latency_rows.push(format!(
            "| in-memory | {poll} | {live} | to create returned | {} |",
            summary(&to_end)
        ));
        let _ = calls;
        live += cli.stream - missed;
    }
    let memory_end = agent.report().await?;
    agent.quit();
    drop(market);

    // ---- Acknowledgements in the way: servers go ACTIVE at once, blocks every `ack_block_ms`, the
    // agent's receipt polling as alloy sets it for the RPC URL.
    if cli.ack_leases > 0 {
        for (i, (ip, label)) in [
            (
                "127.0.0.1",
                "RPC on 127.0.0.1 (alloy polls receipts every 250 ms)",
            ),
            (
                "127.0.0.2",
                "RPC on 127.0.0.2 (not local to alloy: polls every 7 s)",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut market = Market::new("acks", chain_id + 2 + i as u64).await?;
            let (proxy, _counts) = start_proxy(market.anvil.endpoint(), ip).await?;
            let config = market.write_config(cli.rpc_poll_ms, "utter-tiny")?;
            let mut agent = AgentProcess::spawn(&market, &proxy, &config, None, false)?;
            let offers = agent.ready().await?;
            let started = Instant::now();
            let (to_start, _, missed) = latency_stream(
                &mut market,
                &mut agent,
                &offers,
                cli.ack_leases,
                cli.rpc_poll_ms,
                Some(cli.ack_block_ms),
            )
            .await?;
            let report = agent.report().await?;
            say(format!(
                "acks in the way, {label}: {} leases in {:.1} s, {missed} missed; ticks {} mean {} ms max {} ms",
                cli.ack_leases,
                started.elapsed().as_secs_f64(),
                report["ticks"],
                report["tick_mean_ms"],
                report["tick_max_ms"],
            ));
            latency_rows.push(format!(
                "| in-memory + acks, {} ms blocks, {label} | {} | - | to create call | {} |",
                cli.ack_block_ms,
                cli.rpc_poll_ms,
                summary(&to_start)
            ));
            agent.quit();
        }
    }

    // ---- The OpenStack lab: latency to Nova's create request.
    let lab = cli.lab_leases > 0 && cli.lab_clouds_yaml.is_file();
    if lab {
        let mut market = Market::new("lab", chain_id + 1).await?;
        let (proxy, _counts) = start_proxy(market.anvil.endpoint(), "127.0.0.1").await?;
        let config =
            market.write_config(cli.polls.first().copied().unwrap_or(500), "utter-tiny")?;
        let clouds = std::fs::canonicalize(&cli.lab_clouds_yaml)?;
        let mut agent = AgentProcess::spawn(&market, &proxy, &config, Some(&clouds), false)?;
        let offers = agent.ready().await?;
        for &block_ms in &cli.lab_block_ms {
            for &poll in &cli.polls {
                agent.command(&format!("poll {poll}"))?;
                tokio::time::sleep(Duration::from_millis(2 * poll)).await;
                agent.report().await?;
                let started = Instant::now();
                let (to_start, to_end, missed) = latency_stream(
                    &mut market,
                    &mut agent,
                    &offers,
                    cli.lab_leases,
                    poll,
                    Some(block_ms),
                )
                .await?;
                let report = agent.report().await?;
                let blocks = if block_ms == 0 {
                    "automine".to_owned()
                } else {
                    format!("{block_ms} ms blocks")
                };
                say(format!(
                    "lab latency, poll {poll} ms, {blocks}, {} leases: {:.1} s, {missed} missed; \
                     ticks {} mean {} ms max {} ms",
                    cli.lab_leases,
                    started.elapsed().as_secs_f64(),
                    report["ticks"],
                    report["tick_mean_ms"],
                    report["tick_max_ms"],
                ));
                latency_rows.push(format!(
                    "| OpenStack lab, {blocks} | {poll} | - | to create request | {} |",
                    summary(&to_start)
                ));
                latency_rows.push(format!(
                    "| OpenStack lab, {blocks} | {poll} | - | to Nova's answer | {} |",
                    summary(&to_end)
                ));
            }
        }
        let report = agent.report().await?;
        say(format!("lab agent: {report:?}"));
        agent.quit();
        // Nothing of the run is left in the lab.
        let cloud_config =
            clouds_yaml::load(Some(&clouds), "utter-lab").map_err(|e| anyhow::anyhow!("{e}"))?;
        let cloud = OpenStack::connect(cloud_config, Options::default()).await?;
        let scope = utter_provider_agent::agent::scope_tag(
            market.deployment.chain_id,
            market.deployment.escrow,
            market.host,
        );
        let servers = cloud.list_servers(&scope).await?;
        for server in &servers {
            cloud.delete_server(&server.id).await?;
        }
        say(format!("lab: deleted the run's {} servers", servers.len()));
    } else {
        say("lab: skipped (no clouds.yaml or --lab-leases 0)".into());
    }

    println!("\n## RPC calls per new block\n");
    println!(
        "| live leases | chain view / block | all / block | all / tick | ticks | ticks with new blocks \
         | tick mean ms | tick max ms | calls by method |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for row in &rpc_rows {
        println!("{row}");
    }
    println!("\n## Funding block to create request (ms)\n");
    println!("| cloud | poll ms | live leases | until | n | p50 | p90 | p99 | max | mean |");
    println!("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in &latency_rows {
        println!("{row}");
    }
    println!("\n## Agent memory (child process)\n");
    println!(
        "after the RPC phase ({} live leases): VmHWM {} KiB, VmRSS {} KiB",
        cli.leases.last().copied().unwrap_or(0),
        memory_after_rpc["hwm_kib"],
        memory_after_rpc["rss_kib"]
    );
    println!(
        "at the end ({live} leases): VmHWM {} KiB, VmRSS {} KiB; actions {}",
        memory_end["hwm_kib"], memory_end["rss_kib"], memory_end["actions"]
    );
    println!("\nwhole run: {:.1} s", run_started.elapsed().as_secs_f64());
    Ok(())
}
