//! The agent: each tick reads the chain and the cloud, [`plan`]s, and carries the plan out.
//!
//! Nothing is remembered between ticks that the chain or the cloud does not hold, except which
//! actions are in flight (so a transaction is not sent twice while it waits to be mined), the
//! transactions sent and not yet mined (checked once per tick, never awaited), the last listing of
//! the cloud, and the ids of the offers the agent published (a small JSON file). A restart lists the
//! cloud and reads the chain before anything else, so it resumes exactly.

use crate::{
    access::{self, AccessDetails},
    chain::{ChainError, ChainView},
    cloud::{Cloud, CloudError, CloudServer, CreateServer, Flavor, FloatingIp},
    config::{FileConfig, OfferConfig, parse_amount},
    plan::{self, Action, Policy, Server, Spare},
};
use alloy::{
    primitives::{Address, B256, U256, aliases::U96},
    providers::{DynProvider, Provider},
};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use utter_bindings::{
    ComputeToken, LeaseEscrow, Offers,
    Offers::{Image, OfferSpec, OfferTerms},
    ProviderRegistry,
};
use utter_indexer::model::{image_names_key, lease_status, offer_status};

/// Why the agent cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The chain could not be read.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The cloud failed.
    #[error("cloud: {0}")]
    Cloud(#[from] CloudError),
    /// Flavors or images the configuration names do not exist in the cloud.
    #[error("the cloud lacks what the configuration names: {}", .0.join("; "))]
    Missing(Vec<String>),
    /// A transaction failed.
    #[error("transaction {what}: {reason}")]
    Transaction {
        /// What it was.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The configuration is wrong in a way only visible with the chain.
    #[error("config: {0}")]
    Config(String),
    /// Not ready yet (e.g. the guest has not printed its SSH host keys): tried again later.
    #[error("not ready: {0}")]
    NotReady(String),
    /// The state folder (its offers file or lock) could not be used.
    #[error("the agent's state file {path}: {reason}")]
    OffersFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// How long an action sent is not sent again while the chain or cloud has not caught up with it,
/// on a chain acted on at its head; each confirmation adds [`IN_FLIGHT_PER_CONFIRMATION`].
const IN_FLIGHT: Duration = Duration::from_secs(60);
/// What one confirmation adds to the in-flight window: a block of a slow chain (Ethereum's 12 s)
/// with room to spare, so a mined action is seen in the confirmed view before it would be sent again.
const IN_FLIGHT_PER_CONFIRMATION: Duration = Duration::from_secs(15);

/// The in-flight window of an agent acting `confirmations` blocks under the head.
pub fn in_flight_window(confirmations: u64) -> Duration {
    IN_FLIGHT + IN_FLIGHT_PER_CONFIRMATION * u32::try_from(confirmations).unwrap_or(u32::MAX)
}

/// How long a transaction may stay unmined before it is given up (and the nonce re-read).
const TX_TIMEOUT: Duration = Duration::from_secs(120);

/// The first pause after a failed cloud call of an action; it doubles with each failure.
const RETRY_FIRST: Duration = Duration::from_millis(500);

/// The longest pause between retries of a failing cloud call.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// A transaction sent and not yet seen mined.
#[derive(Clone, Debug)]
struct PendingTx {
    hash: B256,
    nonce: u64,
    what: &'static str,
    /// The in-flight mark it holds.
    key: (u64, &'static str),
    sent: Instant,
}

/// The pause before the next attempt after `failures` failed cloud calls in a row.
pub fn retry_pause(failures: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(RETRY_CAP)
}

/// A Prometheus histogram: cumulative counts under fixed bounds, a count and a sum. Its size is
/// fixed, however many leases it has seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// The buckets' upper bounds, ascending (`+Inf` is implied).
    pub bounds: &'static [f64],
    /// Observations at most each bound (not cumulative here; [`Self::cumulative`] adds them up).
    pub buckets: Vec<u64>,
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl Histogram {
    /// An empty histogram with these bounds.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        }
    }

    /// Records one observation.
    pub fn observe(&mut self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| value <= b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += value;
    }

    /// `(bound, observations at most bound)` for every bound, as Prometheus's `le` buckets.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds
            .iter()
            .zip(self.buckets.iter().scan(0, |total, n| {
                *total += n;
                Some(*total)
            }))
            .map(|(&b, n)| (b, n))
    }
}

/// Bounds of the time to a create request: the benchmark's target is 0.2 s.
const REQUEST_BOUNDS: &[f64] = &[0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// Bounds of the time from create request to acknowledgement.
const BOOT_BOUNDS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

impl Default for Counters {
    fn default() -> Self {
        Self {
            actions: BTreeMap::new(),
            cloud_errors: 0,
            cloud_errors_by: BTreeMap::new(),
            tx_errors: 0,
            boot_request_latency: Histogram::new(REQUEST_BOUNDS),
            boot_latency: Histogram::new(BOOT_BOUNDS),
            withdrawn: U256::ZERO,
        }
    }
}

/// What the agent counts, for its metrics.
#[derive(Clone, Debug)]
pub struct Counters {
    /// Actions carried out, by kind.
    pub actions: BTreeMap<&'static str, u64>,
    /// Cloud calls that failed.
    pub cloud_errors: u64,
    /// Cloud calls that failed, by the action (or `list`, `room`) and the kind of error.
    pub cloud_errors_by: BTreeMap<(&'static str, &'static str), u64>,
    /// Transactions that failed.
    pub tx_errors: u64,
    /// Seconds from the tick that first saw a funded lease to its server's create request (or a
    /// spare's claim).
    pub boot_request_latency: Histogram,
    /// Seconds from the create request (or claim) to the acknowledgement sent.
    pub boot_latency: Histogram,
    /// Token wei withdrawn.
    pub withdrawn: U256,
}

/// One offer as the agent runs it.
#[derive(Clone, Debug)]
pub struct RunningOffer {
    /// The configuration.
    pub config: OfferConfig,
    /// Its id on-chain.
    pub offer_id: u32,
    /// The flavor.
    pub flavor: Flavor,
    /// Image id on-chain to Glance image id.
    pub images: BTreeMap<B256, String>,
}

/// The agent.
#[derive(Debug)]
pub struct Agent<C> {
    config: FileConfig,
    chain: ChainView,
    cloud: Arc<C>,
    provider: DynProvider,
    me: Address,
    offers: BTreeMap<u32, RunningOffer>,
    in_flight: HashMap<(u64, &'static str), Instant>,
    /// Transactions sent and not yet mined, in nonce order.
    pending: Vec<PendingTx>,
    /// The nonce of the next transaction; `None` reads it from the node (pending block).
    next_nonce: Option<u64>,
    /// Failed cloud calls by action: how many in a row and when to try again.
    retries: HashMap<(u64, &'static str), (u32, Instant)>,
    /// The last listing of the cloud's servers and when it was taken.
    listing: Option<(Instant, Vec<CloudServer>)>,
    /// Each lease's status at the last tick: a change ends whatever was in flight for it.
    statuses: HashMap<u64, plan::ChainStatus>,
    boot_requested: HashMap<u64, Instant>,
    /// When a tick first saw each lease that waits for a boot.
    first_seen: HashMap<u64, Instant>,
    /// The offers this agent paused because the cloud has no room for one more of their servers.
    paused: BTreeSet<u32>,
    /// How long an action in flight is not sent again ([`in_flight_window`]).
    in_flight_window: Duration,
    /// The state folder's lock, held while the agent lives.
    state_lock: Option<std::fs::File>,
    /// When the images and flavors were last looked up by name, and whether a failed boot asks
    /// for it now.
    last_resolve: Instant,
    resolve_due: bool,
    /// When each lease's acknowledgement first waited for the guest's SSH host keys.
    host_key_wait: HashMap<u64, Instant>,
    /// The servers of each lease waiting for its acknowledgement that went to ERROR.
    boot_attempts: HashMap<u64, BTreeSet<String>>,
    /// Leases missing a server in the listings, since when.
    missing_since: HashMap<u64, Instant>,
    /// Offers whose servers Nova found no host for, and until when they stay paused.
    no_host_until: BTreeMap<u32, Instant>,
    /// The status each offer's pause or resume in flight asks for.
    offer_target: BTreeMap<u32, u8>,
    /// When the stake was last checked, and whether a slash calls for a check now.
    last_stake_check: Option<Instant>,
    stake_dirty: bool,
    last_withdraw: Option<Instant>,
    /// What it did.
    pub counters: Counters,
    policy: Policy,
    age_identity: Option<SecretIdentity>,
    /// The external network's id, resolved by [`Self::prepare`] from `cloud.floating_network`.
    floating_network: Option<String>,
    /// When the floating IPs were last swept for ones no server of a lease holds.
    last_floating_sweep: Option<Instant>,
}

/// The provider's age identity; its Debug shows the public key only.
struct SecretIdentity(age::x25519::Identity);

impl std::fmt::Debug for SecretIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretIdentity({})", self.0.to_public())
    }
}

/// The tag every server of this agent carries: chain, escrow and provider (64 bits of each
/// address), so agents of two providers, or of two deployments, sharing one project never take
/// each other's servers or floating IPs for orphans. At most 45 characters (Nova allows 60).
pub fn scope_tag(chain_id: u64, escrow: Address, provider: Address) -> String {
    let short = |a: Address| alloy::primitives::hex::encode(&a.as_slice()[..8]);
    format!("utter:{chain_id}:{}:{}", short(escrow), short(provider))
}

/// The tag naming a server's lease.
pub fn lease_tag(lease_id: u64) -> String {
    format!("utter-lease:{lease_id}")
}

/// The tag of a hot spare waiting for a lease of an offer.
pub fn spare_tag(offer_id: u32) -> String {
    format!("utter-spare:{offer_id}")
}

/// What a lease's floating IP says in its description: the scope and lease tags, so the cloud
/// records whose address it is and a restarted agent finds it again.
pub fn floating_ip_description(scope: &str, lease_id: u64) -> String {
    format!("{scope} {}", lease_tag(lease_id))
}

/// The lease a floating IP of this scope belongs to.
fn floating_ip_lease(scope: &str, description: &str) -> Option<u64> {
    description
        .strip_prefix(scope)?
        .strip_prefix(" utter-lease:")?
        .parse()
        .ok()
}

/// How often floating IPs are swept for ones whose lease has no server.
const FLOATING_SWEEP: Duration = Duration::from_secs(30);

/// How often images and flavors are looked up by name again.
const RESOLVE_EVERY: Duration = Duration::from_secs(600);

/// Servers that may fail for one lease before the failure is reported (refunded).
const MAX_BOOT_ATTEMPTS: u32 = 3;

/// Whether Nova's scheduler found no hypervisor for the server (its fault in ERROR says "No valid
/// host was found"): no other boot of the flavor would fare better for a while.
fn no_valid_host(server: &CloudServer) -> bool {
    server.status == plan::ServerStatus::Error
        && server
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("No valid host was found"))
}

/// The tag of a spare handed to a lease whose rebuild is not confirmed yet.
pub const CLAIMED_TAG: &str = "utter-claimed";

fn spare_of(server: &CloudServer) -> Option<u32> {
    server
        .tags
        .iter()
        .find_map(|t| t.strip_prefix("utter-spare:")?.parse().ok())
}

fn lease_of(server: &CloudServer) -> Option<u64> {
    server
        .tags
        .iter()
        .find_map(|t| t.strip_prefix("utter-lease:")?.parse().ok())
}

fn tx_error(what: &str) -> impl FnOnce(alloy::contract::Error) -> AgentError + '_ {
    move |e| AgentError::Transaction {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

async fn confirm<P: Provider, D: alloy::contract::CallDecoder>(
    what: &str,
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<alloy::rpc::types::TransactionReceipt, AgentError> {
    let pending = call.send().await.map_err(tx_error(what))?;
    let receipt = tokio::time::timeout(Duration::from_secs(120), pending.get_receipt())
        .await
        .map_err(|_| AgentError::Transaction {
            what: what.to_owned(),
            reason: "no receipt within 120 s".into(),
        })?
        .map_err(|e| AgentError::Transaction {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
    if !receipt.status() {
        return Err(AgentError::Transaction {
            what: what.to_owned(),
            reason: format!("reverted in {:?}", receipt.transaction_hash),
        });
    }
    Ok(receipt)
}

impl<C: Cloud> Agent<C> {
    /// An agent for `me` (whose key `provider` signs with).
    pub fn new(config: FileConfig, chain: ChainView, cloud: Arc<C>, provider: DynProvider) -> Self {
        let me = chain.me();
        let cloud_timeout = config.cloud.timeout_secs;
        let window = in_flight_window(config.confirmations);
        Self {
            config,
            chain,
            cloud,
            provider,
            me,
            offers: BTreeMap::new(),
            in_flight: HashMap::new(),
            pending: Vec::new(),
            next_nonce: None,
            retries: HashMap::new(),
            listing: None,
            statuses: HashMap::new(),
            boot_requested: HashMap::new(),
            first_seen: HashMap::new(),
            paused: BTreeSet::new(),
            no_host_until: BTreeMap::new(),
            missing_since: HashMap::new(),
            boot_attempts: HashMap::new(),
            host_key_wait: HashMap::new(),
            state_lock: None,
            in_flight_window: window,
            last_resolve: Instant::now(),
            resolve_due: false,
            offer_target: BTreeMap::new(),
            last_stake_check: None,
            stake_dirty: false,
            last_withdraw: None,
            counters: Counters::default(),
            // A failure report must land before the deadline even behind a cloud call that times out.
            policy: Policy {
                boot_failure_margin: Policy::default()
                    .boot_failure_margin
                    .max(cloud_timeout + 15),
                ..Policy::default()
            },
            age_identity: None,
            floating_network: None,
            last_floating_sweep: None,
        }
    }

    /// Gives the agent the age identity buyers' user data is encrypted to; [`Self::prepare`]
    /// publishes its public key on-chain.
    pub fn with_age_identity(mut self, identity: age::x25519::Identity) -> Self {
        self.age_identity = Some(SecretIdentity(identity));
        self
    }

    /// The chain view.
    pub fn chain(&self) -> &ChainView {
        &self.chain
    }

    /// The cloud.
    pub fn cloud(&self) -> &C {
        &self.cloud
    }

    /// A handle on the cloud, shared with the HTTP endpoints (and kept by tests that "kill" an agent).
    pub fn cloud_handle(&self) -> Arc<C> {
        self.cloud.clone()
    }

    /// The offers it runs, by on-chain id.
    pub fn offers(&self) -> &BTreeMap<u32, RunningOffer> {
        &self.offers
    }

    fn scope(&self) -> String {
        let d = self.chain.deployment();
        scope_tag(d.chain_id, d.escrow, self.me)
    }

    fn offers_file(&self) -> Option<PathBuf> {
        self.config
            .state_dir
            .as_ref()
            .map(|d| d.join("offers.json"))
    }

    /// Checks the cloud has every flavor and image, stakes, and publishes or updates the offers.
    pub async fn prepare(&mut self) -> Result<(), AgentError> {
        self.lock_state_dir()?;
        // The cloud first: nothing is sent on-chain for offers the cloud cannot serve.
        let mut missing = Vec::new();
        let mut resolved = Vec::new();
        for offer in &self.config.offers {
            let flavor = self.cloud.find_flavor(&offer.flavor).await?;
            if flavor.is_none() {
                missing.push(format!(
                    "flavor {:?} (offer {:?})",
                    offer.flavor, offer.name
                ));
            }
            let mut images = BTreeMap::new();
            for image in &offer.images {
                match self.cloud.find_image(&image.glance).await? {
                    Some(id) => {
                        images.insert(image.id(), id);
                    }
                    None => {
                        missing.push(format!("image {:?} (offer {:?})", image.glance, offer.name))
                    }
                }
            }
            resolved.push((offer.clone(), flavor, images));
        }
        if let Some(name) = &self.config.cloud.floating_network {
            match self.cloud.find_network(name).await? {
                Some(network) if network.external => self.floating_network = Some(network.id),
                Some(network) => missing.push(format!(
                    "external network {name:?} (cloud.floating_network): network {} is not \
                     external (router:external), so it has no floating IPs",
                    network.id
                )),
                None => missing.push(format!(
                    "external network {name:?} (cloud.floating_network)"
                )),
            }
        }
        if !missing.is_empty() {
            return Err(AgentError::Missing(missing));
        }
        self.chain.sync().await?;
        self.ensure_encryption_key().await?;
        let mut ids = self.load_offer_ids()?;
        for (offer, flavor, images) in resolved {
            let flavor = flavor.expect("checked above");
            self.ensure_stake(offer.pool_id).await?;
            let known = match ids.get(&offer.name).copied() {
                Some(id) if self.is_live_offer_of_mine(id) => Some(id),
                _ => {
                    // The state file is new or lost: an offer of ours on-chain with exactly this
                    // spec is this one, rather than a second offer nobody serves.
                    let claimed: BTreeSet<u32> = ids.values().copied().collect();
                    let adopted = self.matching_offer(&offer, &flavor, &claimed)?;
                    if let Some(id) = adopted {
                        tracing::info!(offer = %offer.name, offer_id = id, "offer found on-chain (not in the state file): adopted");
                    }
                    adopted
                }
            };
            let offer_id = self.publish(&offer, &flavor, known).await?;
            ids.insert(offer.name.clone(), offer_id);
            self.save_offer_ids(&ids)?;
            if self
                .chain
                .state()
                .offers
                .get(&offer_id)
                .is_some_and(|o| o.status == offer_status::PAUSED)
            {
                // Paused on-chain (by an earlier run that found the cloud full): resumed once the
                // cloud has room, as the configuration wants it sold.
                self.paused.insert(offer_id);
            }
            self.offers.insert(
                offer_id,
                RunningOffer {
                    config: offer,
                    offer_id,
                    flavor,
                    images,
                },
            );
        }
        self.pause_strays().await?;
        self.chain.sync().await?;
        Ok(())
    }

    /// Whether `id` is an offer of this provider that is not retired.
    fn is_live_offer_of_mine(&self, id: u32) -> bool {
        self.chain
            .state()
            .offers
            .get(&id)
            .is_some_and(|o| o.provider == self.me && o.status != offer_status::RETIRED)
    }

    /// This provider's live offer in the config offer's pool with exactly the spec and images the
    /// config gives it, not `claimed` by another; the oldest when several match.
    fn matching_offer(
        &self,
        offer: &OfferConfig,
        flavor: &Flavor,
        claimed: &BTreeSet<u32>,
    ) -> Result<Option<u32>, AgentError> {
        let (spec, _, images) = Self::spec_and_terms(offer, flavor)?;
        let image_names = image_names_key(images.iter().map(|i| i.name.as_str()));
        Ok(self
            .chain
            .state()
            .offers
            .rows()
            .filter(|o| o.provider == self.me && o.status != offer_status::RETIRED)
            .filter(|o| o.pool_id == offer.pool_id && !claimed.contains(&o.offer_id))
            .filter(|o| same_spec(o, &spec) && o.image_names == image_names)
            .map(|o| o.offer_id)
            .min())
    }

    /// Pauses this provider's active offers that the configuration no longer names: buyers could
    /// open leases on them that nothing boots. Their leases are still served to the end (halts,
    /// restarts, deletions); a new lease on one is refunded.
    async fn pause_strays(&mut self) -> Result<(), AgentError> {
        let strays: Vec<u32> = self
            .chain
            .state()
            .offers
            .rows()
            .filter(|o| o.provider == self.me && o.status == offer_status::ACTIVE)
            .filter(|o| !self.offers.contains_key(&o.offer_id))
            .map(|o| o.offer_id)
            .collect();
        let offers = Offers::new(self.chain.deployment().offers, &self.provider);
        for id in strays {
            confirm(
                "pause an offer not in the configuration",
                offers.pauseOffer(id),
            )
            .await?;
            tracing::warn!(
                offer_id = id,
                "offer not in the configuration: paused (retire it with `utter provider offer retire {id}`)"
            );
        }
        Ok(())
    }

    fn load_offer_ids(&self) -> Result<BTreeMap<String, u32>, AgentError> {
        let Some(path) = self.offers_file() else {
            return Ok(BTreeMap::new());
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AgentError::OffersFile {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(AgentError::OffersFile {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Looks the offers' Glance images and flavors up by name again, every [`RESOLVE_EVERY`] and
    /// after a boot the cloud rejected: an image re-uploaded under its name (a routine rotation) has
    /// a new id, and boots with the old one would fail until a restart.
    async fn resolve_images(&mut self) {
        if !self.resolve_due && self.last_resolve.elapsed() < RESOLVE_EVERY {
            return;
        }
        self.resolve_due = false;
        self.last_resolve = Instant::now();
        let ids: Vec<u32> = self.offers.keys().copied().collect();
        for offer_id in ids {
            let config = self.offers[&offer_id].config.clone();
            for image in &config.images {
                match self.cloud.find_image(&image.glance).await {
                    Ok(Some(id)) => {
                        let images = &mut self.offers.get_mut(&offer_id).expect("listed").images;
                        if images.insert(image.id(), id.clone()).as_ref() != Some(&id) {
                            tracing::info!(offer_id, image = %image.glance, %id, "image id changed: new boots use it");
                        }
                    }
                    Ok(None) => {
                        tracing::warn!(offer_id, image = %image.glance, "the image is gone from Glance: boots with it fail")
                    }
                    Err(error) => self.count_cloud_error("resolve", &error),
                }
            }
            match self.cloud.find_flavor(&config.flavor).await {
                Ok(Some(flavor)) => {
                    let offer = self.offers.get_mut(&offer_id).expect("listed");
                    if offer.flavor.id != flavor.id {
                        tracing::info!(offer_id, flavor = %config.flavor, id = %flavor.id, "flavor id changed: new boots use it");
                        offer.flavor.id = flavor.id;
                    }
                }
                Ok(None) => {
                    tracing::warn!(offer_id, flavor = %config.flavor, "the flavor is gone: boots with it fail")
                }
                Err(error) => self.count_cloud_error("resolve", &error),
            }
        }
    }

    /// Takes the state folder's lock (`agent.lock`, held until the process ends): two agents of
    /// one provider would race for nonces and boot two servers for one lease.
    fn lock_state_dir(&mut self) -> Result<(), AgentError> {
        let Some(dir) = &self.config.state_dir else {
            return Ok(());
        };
        let path = dir.join("agent.lock");
        let error = |reason: String| AgentError::OffersFile {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| error(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => {
                self.state_lock = Some(file);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(error(
                "another agent runs with this state_dir: stop it first (one agent per provider key)"
                    .into(),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(error(e.to_string())),
        }
    }

    fn save_offer_ids(&self, ids: &BTreeMap<String, u32>) -> Result<(), AgentError> {
        let Some(path) = self.offers_file() else {
            return Ok(());
        };
        let error = |e: std::io::Error| AgentError::OffersFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        // Written aside, then renamed: a crash leaves the old file or the new one, never half.
        let temp = path.with_extension("json.tmp");
        std::fs::write(
            &temp,
            serde_json::to_vec_pretty(ids).expect("ids serialize"),
        )
        .map_err(error)?;
        std::fs::rename(&temp, &path).map_err(error)
    }

    async fn ensure_encryption_key(&self) -> Result<(), AgentError> {
        let Some(identity) = &self.age_identity else {
            return Ok(());
        };
        let key = crate::user_data::public_key(&identity.0);
        let registry = ProviderRegistry::new(self.chain.deployment().registry, &self.provider);
        let current = registry
            .encryptionKeyOf(self.me)
            .call()
            .await
            .map_err(tx_error("encryptionKeyOf"))?;
        if current != key {
            confirm("set the encryption key", registry.setEncryptionKey(key)).await?;
            tracing::info!(%key, "age encryption key published");
        }
        Ok(())
    }

    async fn ensure_stake(&mut self, pool_id: u32) -> Result<(), AgentError> {
        let Some(amount) = self.stake_shortfall(pool_id).await? else {
            return Ok(());
        };
        let registry = ProviderRegistry::new(self.chain.deployment().registry, &self.provider);
        let token = ComputeToken::new(self.chain.deployment().token, &self.provider);
        confirm(
            "approve the stake",
            token.approve(self.chain.deployment().registry, amount),
        )
        .await?;
        confirm("stake", registry.stake(pool_id, amount)).await?;
        tracing::info!(pool_id, %amount, "staked");
        Ok(())
    }

    /// What is missing from the stake in `pool_id`: the configured `stake` (at least the pool's
    /// minimum) less what is bonded; `None` when nothing is.
    async fn stake_shortfall(&self, pool_id: u32) -> Result<Option<U256>, AgentError> {
        let registry = ProviderRegistry::new(self.chain.deployment().registry, &self.provider);
        let pools = utter_bindings::Pools::new(self.chain.deployment().pools, &self.provider);
        let min_stake = U256::from(
            pools
                .minStakeOf(pool_id)
                .call()
                .await
                .map_err(tx_error("minStakeOf"))?,
        );
        let wanted = match &self.config.stake {
            Some(stake) => {
                parse_amount("stake", stake).map_err(|e| AgentError::Config(e.to_string()))?
            }
            None => min_stake,
        }
        .max(min_stake);
        let bonded = U256::from(
            registry
                .bondedOf(pool_id, self.me)
                .call()
                .await
                .map_err(tx_error("bondedOf"))?,
        );
        Ok((bonded < wanted).then(|| wanted - bonded))
    }

    /// Tops the stake up in every pool of its offers when a slash (or anything else) left it under
    /// what the agent keeps: under the pool's minimum the provider is not eligible, so its offers
    /// cannot be resumed and buyers cannot open leases on them. Checked every minute and after each
    /// failed boot it reported; the approval and the stake are sent without waiting.
    async fn maintain_stake(&mut self) {
        let due = self.stake_dirty
            || self
                .last_stake_check
                .is_none_or(|at| at.elapsed() >= STAKE_CHECK);
        if !due {
            return;
        }
        self.stake_dirty = false;
        self.last_stake_check = Some(Instant::now());
        let pools: BTreeSet<u32> = self.offers.values().map(|o| o.config.pool_id).collect();
        for pool_id in pools {
            let key = (STAKE_KEYS + u64::from(pool_id), "stake");
            if self.in_flight.contains_key(&key) {
                continue;
            }
            let amount = match self.stake_shortfall(pool_id).await {
                Ok(Some(amount)) => amount,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(pool_id, %error, "cannot read the stake");
                    continue;
                }
            };
            let d = *self.chain.deployment();
            let token = ComputeToken::new(d.token, self.provider.clone());
            let balance = match token.balanceOf(self.me).call().await {
                Ok(balance) => balance,
                Err(error) => {
                    tracing::warn!(pool_id, %error, "cannot read the token balance");
                    continue;
                }
            };
            if balance < amount {
                tracing::warn!(pool_id, %amount, %balance, "the stake is short and the provider's balance cannot top it up: send it tokens (offers stay unsellable while under the pool's minimum)");
                continue;
            }
            let registry = ProviderRegistry::new(d.registry, self.provider.clone());
            let approve = token.approve(d.registry, amount);
            let stake = registry.stake(pool_id, amount).gas(STAKE_GAS);
            let sent = match self
                .send("approve the stake", (key.0, "approve_stake"), approve)
                .await
            {
                Ok(()) => self.send("stake", key, stake).await,
                Err(error) => Err(error),
            };
            match sent {
                Ok(()) => {
                    *self.counters.actions.entry("stake").or_default() += 1;
                    tracing::info!(pool_id, %amount, "topping the stake up");
                }
                Err(error) => tracing::warn!(pool_id, %error, "cannot top the stake up"),
            }
        }
    }

    fn spec_and_terms(
        offer: &OfferConfig,
        flavor: &Flavor,
    ) -> Result<(OfferSpec, OfferTerms, Vec<Image>), AgentError> {
        let price = parse_amount("price_per_second", &offer.price_per_second)
            .map_err(|e| AgentError::Config(e.to_string()))?;
        if price > U256::from(U96::MAX) {
            return Err(AgentError::Config(format!(
                "offer {:?}: price_per_second does not fit 96 bits",
                offer.name
            )));
        }
        let price = U96::from(price.to::<u128>());
        let spec = OfferSpec {
            vcpus: flavor.vcpus,
            ramMiB: flavor.ram_mib,
            diskGiB: flavor.disk_gib.max(1),
            gpuCount: offer.gpu_count,
            bandwidthUpMbps: offer.bandwidth_up_mbps,
            bandwidthDownMbps: offer.bandwidth_down_mbps,
            publicIpv4: offer.public_ipv4,
            publicIpv6: offer.public_ipv6,
            gpuModel: offer.gpu_model.clone(),
            region: offer.region.clone(),
        };
        let terms = OfferTerms {
            pricePerSecond: price,
            capacity: offer.capacity,
            bootTimeout: offer.boot_timeout,
            retention: offer.retention,
        };
        let images = offer
            .images
            .iter()
            .map(|i| Image {
                id: i.id(),
                name: i.name.clone(),
            })
            .collect();
        Ok((spec, terms, images))
    }

    /// Publishes the offer, or brings the published one up to date. Returns its id.
    async fn publish(
        &mut self,
        offer: &OfferConfig,
        flavor: &Flavor,
        known: Option<u32>,
    ) -> Result<u32, AgentError> {
        let (spec, terms, images) = Self::spec_and_terms(offer, flavor)?;
        let offers = Offers::new(self.chain.deployment().offers, &self.provider);
        if let Some(id) = known
            && let Some(current) = self.chain.state().offers.get(&id)
            && current.provider == self.me
            && current.status != offer_status::RETIRED
        {
            let same_terms = same_spec(current, &spec)
                && current.price_per_second == U256::from(terms.pricePerSecond)
                && current.capacity == terms.capacity
                && current.boot_timeout == terms.bootTimeout
                && current.retention == terms.retention;
            if !same_terms {
                confirm("update offer", offers.updateOffer(id, spec, terms)).await?;
                tracing::info!(offer = %offer.name, offer_id = id, "offer updated");
            }
            let expected = image_names_key(images.iter().map(|i| i.name.as_str()));
            if current.image_names != expected {
                confirm("set images", offers.setImages(id, images)).await?;
            }
            return Ok(id);
        }
        let receipt = confirm(
            "publish offer",
            offers.publishOffer(offer.pool_id, spec, terms, images),
        )
        .await?;
        let id = receipt
            .decoded_log::<Offers::OfferPublished>()
            .map(|log| log.data.offerId)
            .ok_or_else(|| AgentError::Transaction {
                what: "publish offer".into(),
                reason: "no OfferPublished event in the receipt".into(),
            })?;
        tracing::info!(offer = %offer.name, offer_id = id, "offer published");
        Ok(id)
    }

    /// Sends a transaction without waiting for it: it holds the in-flight mark `key` until a later
    /// tick finds it mined ([`Self::check_transactions`]). Nonces are counted here, so several can be
    /// pending at once; a failed send re-reads the nonce from the node.
    async fn send<P: Provider, D: alloy::contract::CallDecoder>(
        &mut self,
        what: &'static str,
        key: (u64, &'static str),
        call: alloy::contract::CallBuilder<P, D>,
    ) -> Result<(), AgentError> {
        let nonce = match self.next_nonce {
            Some(nonce) => nonce,
            None => self
                .provider
                .get_transaction_count(self.me)
                .pending()
                .await
                .map_err(|e| AgentError::Transaction {
                    what: what.to_owned(),
                    reason: format!("reading the nonce: {e}"),
                })?,
        };
        match call.nonce(nonce).send().await {
            Ok(sent) => {
                let hash = *sent.tx_hash();
                self.next_nonce = Some(nonce + 1);
                self.in_flight.insert(key, Instant::now());
                self.pending.push(PendingTx {
                    hash,
                    nonce,
                    what,
                    key,
                    sent: Instant::now(),
                });
                tracing::debug!(what, %hash, nonce, "transaction sent");
                Ok(())
            }
            Err(error) => {
                self.next_nonce = None;
                Err(tx_error(what)(error))
            }
        }
    }

    /// Looks at the transactions sent: one `eth_getTransactionCount` tells which nonces are mined,
    /// then one receipt per mined transaction. A success keeps its in-flight mark until the chain
    /// view shows the change; a revert, a replaced or a timed-out transaction drops it so the next
    /// plan decides again.
    async fn check_transactions(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mined = match self.provider.get_transaction_count(self.me).await {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "cannot read the nonce; transactions checked next tick");
                return;
            }
        };
        for tx in std::mem::take(&mut self.pending) {
            if tx.nonce >= mined {
                if tx.sent.elapsed() < TX_TIMEOUT {
                    self.pending.push(tx);
                } else {
                    self.counters.tx_errors += 1;
                    self.in_flight.remove(&tx.key);
                    self.next_nonce = None;
                    tracing::warn!(what = tx.what, hash = %tx.hash, "transaction not mined in time; re-planning");
                }
                continue;
            }
            match self.provider.get_transaction_receipt(tx.hash).await {
                Ok(Some(receipt)) if receipt.status() => {
                    self.in_flight.insert(tx.key, Instant::now());
                    if tx.key.1 == "report_boot_failure" {
                        // A failed boot is slashed: the stake may be under the pool's minimum now.
                        self.stake_dirty = true;
                    }
                    if let Some(log) = receipt.decoded_log::<LeaseEscrow::EarningsWithdrawn>() {
                        self.counters.withdrawn += log.data.amount;
                        tracing::info!(amount = %log.data.amount, "earnings withdrawn");
                    }
                    tracing::debug!(what = tx.what, hash = %tx.hash, "transaction mined");
                }
                Ok(receipt) => {
                    // Reverted, or its nonce went to another transaction: the chain moved on.
                    self.counters.tx_errors += 1;
                    self.in_flight.remove(&tx.key);
                    tracing::warn!(what = tx.what, hash = %tx.hash, mined = receipt.is_some(), "transaction failed; re-planning");
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read a receipt; checked next tick");
                    self.pending.push(tx);
                }
            }
        }
    }

    /// Transactions sent and not yet seen mined.
    pub fn pending_transactions(&self) -> usize {
        self.pending.len()
    }

    /// The cloud's servers of this agent, as lease servers and hot spares.
    fn servers(&self, cloud: Vec<CloudServer>) -> (Vec<Server>, Vec<Spare>) {
        let mut servers = Vec::new();
        let mut spares = Vec::new();
        for s in cloud {
            if let Some(lease_id) = lease_of(&s) {
                servers.push(Server {
                    lease_id,
                    claimed: s.tags.iter().any(|t| t == CLAIMED_TAG),
                    id: s.id,
                    status: s.status,
                    created_at: s.created_at,
                });
            } else if let Some(offer_id) = spare_of(&s) {
                spares.push(Spare {
                    offer_id,
                    id: s.id,
                    status: s.status,
                    created_at: s.created_at,
                });
            }
        }
        (servers, spares)
    }

    /// One round: read the chain, check the transactions sent, boot new leases at once from the last
    /// listing, and, once per `cloud_poll_ms`, list the cloud, plan everything and act. Returns the
    /// actions carried out.
    pub async fn tick(&mut self) -> Result<Vec<Action>, AgentError> {
        self.chain.sync().await?;
        self.check_transactions().await;
        let now = self.chain.now();
        // Every lease of this provider, also of offers the configuration no longer names: they are
        // halted, restarted and ended like the others (and refunded when they wait for a boot).
        let leases = self.chain.my_leases();
        let window = self.in_flight_window;
        self.in_flight.retain(|_, at| at.elapsed() < window);
        for lease in &leases {
            let before = self.statuses.insert(lease.lease_id, lease.status);
            if before == Some(lease.status) {
                continue;
            }
            if before.is_none() && lease.status == plan::ChainStatus::Pending {
                self.first_seen.insert(lease.lease_id, Instant::now());
            }
            if !matches!(
                lease.status,
                plan::ChainStatus::Pending | plan::ChainStatus::RestartPending
            ) {
                // Acknowledged, failed or ended: no boot of it is timed or counted any more.
                self.first_seen.remove(&lease.lease_id);
                self.boot_requested.remove(&lease.lease_id);
                self.boot_attempts.remove(&lease.lease_id);
                self.host_key_wait.remove(&lease.lease_id);
            }
            self.in_flight.retain(|(id, _), _| *id != lease.lease_id);
            self.retries.retain(|(id, _), _| *id != lease.lease_id);
        }
        let wanted: BTreeMap<u32, u32> = self
            .offers
            .iter()
            .map(|(&id, offer)| (id, offer.config.hot_spares))
            .filter(|&(_, n)| n > 0)
            .collect();
        let every = self.config.cloud_poll_interval();
        let mut done = Vec::new();
        // Between listings, a lease without a server in the last listing and with nothing of this
        // process in flight has none: boot it now rather than after the next listing. The listing
        // must be younger than an in-flight mark, which stands for the servers created since.
        if !every.is_zero()
            && let Some((at, listed)) = &self.listing
            && at.elapsed() < self.in_flight_window / 2
        {
            let (servers, spares) = self.servers(listed.clone());
            let boots: Vec<Action> =
                plan::plan_with_spares(now, &leases, &servers, &spares, &wanted, self.policy)
                    .into_iter()
                    .filter(|a| {
                        matches!(a, Action::Boot { lease_id }
                            if !self.in_flight.keys().any(|(id, _)| id == lease_id))
                    })
                    .collect();
            for action in boots {
                self.run(action, &mut done).await;
            }
        }
        if self
            .listing
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < every)
        {
            return Ok(done);
        }
        let cloud = match self.cloud.list_servers(&self.scope()).await {
            Ok(servers) => servers,
            Err(error) => {
                self.count_cloud_error("list", &error);
                return Err(error.into());
            }
        };
        self.listing = Some((Instant::now(), cloud.clone()));
        self.note_hosts_full(&cloud);
        // Leases whose server failed for a reason another boot may not meet (not "No valid host").
        let retryable: BTreeMap<u64, String> = cloud
            .iter()
            .filter(|s| s.status == plan::ServerStatus::Error && !no_valid_host(s))
            .filter_map(|s| Some((lease_of(s)?, s.id.clone())))
            .collect();
        let (servers, spares) = self.servers(cloud);
        // A listing can be partial (a Nova cell that is down drops its servers from filtered
        // listings): a lease whose server is missing is given up on (terminated, its address
        // released) only once it has been missing for `missing_grace_secs`.
        let grace = Duration::from_secs(self.config.cloud.missing_grace_secs);
        let listed: BTreeSet<u64> = servers.iter().map(|s| s.lease_id).collect();
        let seen_at = Instant::now();
        for lease in &leases {
            if lease.status == plan::ChainStatus::Closed || listed.contains(&lease.lease_id) {
                self.missing_since.remove(&lease.lease_id);
            } else {
                self.missing_since.entry(lease.lease_id).or_insert(seen_at);
            }
        }
        let live: BTreeSet<u64> = leases.iter().map(|l| l.lease_id).collect();
        self.missing_since.retain(|id, _| live.contains(id));
        let actions = plan::plan_with_spares(now, &leases, &servers, &spares, &wanted, self.policy);
        let mut dry: BTreeMap<u64, bool> = BTreeMap::new();
        for mut action in actions {
            if let Action::Boot { lease_id }
            | Action::Claim { lease_id, .. }
            | Action::Rebuild { lease_id, .. } = action
                && !self.serves(lease_id)
            {
                // An offer the configuration no longer names: nothing to boot it with.
                action = Action::ReportBootFailure { lease_id };
            }
            if let Action::Stop { lease_id, .. } | Action::Halt { lease_id } = action {
                let now_dry = match dry.get(&lease_id) {
                    Some(&known) => known,
                    None => {
                        let known = self.dry_now(lease_id).await;
                        dry.insert(lease_id, known);
                        known
                    }
                };
                if !now_dry {
                    continue;
                }
            }
            if let Action::Terminate { lease_id } = action
                && self
                    .missing_since
                    .get(&lease_id)
                    .is_none_or(|at| at.elapsed() < grace)
            {
                continue;
            }
            // A server in ERROR is deleted and booted again, up to MAX_BOOT_ATTEMPTS, while the
            // deadline allows (the plan reports the failure itself once it is near); the refund
            // comes after the last attempt.
            if let Action::ReportBootFailure { lease_id } = action
                && let Some(server) = retryable.get(&lease_id)
            {
                let failed = self.boot_attempts.entry(lease_id).or_default();
                let new = failed.insert(server.clone());
                let count = failed.len();
                if count < MAX_BOOT_ATTEMPTS as usize {
                    if new {
                        tracing::warn!(
                            lease_id,
                            failed = count,
                            "the server failed: booting another"
                        );
                        for kind in ["boot", "claim", "rebuild"] {
                            self.in_flight.remove(&(lease_id, kind));
                        }
                    }
                    continue;
                }
            }
            self.run(action, &mut done).await;
        }
        let deleted: BTreeSet<&str> = done
            .iter()
            .filter_map(|a| match a {
                Action::Delete { server_id, .. } => Some(server_id.as_str()),
                _ => None,
            })
            .collect();
        if self.floating_network.is_some()
            && (!deleted.is_empty()
                || self
                    .last_floating_sweep
                    .is_none_or(|at| at.elapsed() >= FLOATING_SWEEP))
        {
            let mut held: BTreeSet<u64> = servers
                .iter()
                .filter(|s| !deleted.contains(s.id.as_str()))
                .map(|s| s.lease_id)
                .collect();
            held.extend(
                self.missing_since
                    .iter()
                    .filter(|(_, at)| at.elapsed() < grace)
                    .map(|(&id, _)| id),
            );
            self.sweep_floating_ips(&held).await;
        }
        self.maintain_stake().await;
        self.resolve_images().await;
        self.adjust_offers().await;
        self.maybe_withdraw(now).await;
        Ok(done)
    }

    /// Carries out one action unless it is in flight or waiting for its retry; records the outcome.
    async fn run(&mut self, action: Action, done: &mut Vec<Action>) {
        let key = action_key(&action);
        // A spare shows in the cloud's listing as soon as it is created: counting it is enough.
        let tracked = !matches!(action, Action::BootSpare { .. });
        if tracked && self.in_flight.contains_key(&key) {
            return;
        }
        if let Action::Boot { lease_id } | Action::Claim { lease_id, .. } = &action
            && self
                .in_flight
                .contains_key(&(*lease_id, "report_boot_failure"))
        {
            // Being refunded: no new server for it.
            return;
        }
        if self
            .retries
            .get(&key)
            .is_some_and(|&(_, next)| Instant::now() < next)
        {
            return;
        }
        match self.act(&action).await {
            Ok(()) => {
                self.retries.remove(&key);
                if tracked {
                    self.in_flight.entry(key).or_insert_with(Instant::now);
                }
                *self.counters.actions.entry(key.1).or_default() += 1;
                done.push(action);
            }
            Err(AgentError::Cloud(error)) => {
                self.count_cloud_error(key.1, &error);
                if !error.is_transient()
                    && matches!(
                        action,
                        Action::Boot { .. } | Action::Claim { .. } | Action::Rebuild { .. }
                    )
                {
                    // The image or flavor may have been replaced under the same name.
                    self.resolve_due = true;
                }
                if matches!(action, Action::Boot { .. }) {
                    // Nova may have created the server and lost the reply: no boot again before a
                    // fresh listing says whether it exists.
                    self.listing = None;
                }
                let (failures, pause) = self.retry_later(key);
                tracing::warn!(?action, %error, failures, ?pause, "cloud call failed; retrying after a pause");
            }
            Err(AgentError::NotReady(reason)) => {
                let (_, pause) = self.retry_later(key);
                tracing::debug!(?action, %reason, ?pause, "not ready; trying again after a pause");
            }
            Err(error) => {
                self.counters.tx_errors += 1;
                // Often the chain moved on (e.g. the buyer stopped first): the next plan will tell.
                self.in_flight.insert(
                    key,
                    Instant::now() - self.in_flight_window + Duration::from_secs(5),
                );
                tracing::warn!(?action, %error, "action failed");
            }
        }
    }

    /// Schedules the action's next try after a pause that doubles with each failure in a row;
    /// returns the failures so far and the pause.
    fn retry_later(&mut self, key: (u64, &'static str)) -> (u32, Duration) {
        let failures = self.retries.get(&key).map_or(0, |&(n, _)| n) + 1;
        let pause = retry_pause(failures);
        self.retries.insert(key, (failures, Instant::now() + pause));
        (failures, pause)
    }

    fn count_cloud_error(&mut self, call: &'static str, error: &CloudError) {
        self.counters.cloud_errors += 1;
        *self
            .counters
            .cloud_errors_by
            .entry((call, error_kind(error)))
            .or_default() += 1;
    }

    async fn act(&mut self, action: &Action) -> Result<(), AgentError> {
        let escrow = LeaseEscrow::new(self.chain.deployment().escrow, self.provider.clone());
        let key = action_key(action);
        match action {
            Action::Boot { lease_id } => self.boot(*lease_id).await,
            Action::Claim {
                lease_id,
                server_id,
            } => self.hand_over(*lease_id, server_id, true).await,
            Action::Rebuild {
                lease_id,
                server_id,
            } => self.hand_over(*lease_id, server_id, false).await,
            Action::BootSpare { offer_id } => self.boot_spare(*offer_id).await,
            Action::Start { server_id, .. } => Ok(self.cloud.start_server(server_id).await?),
            Action::Stop { server_id, .. } => Ok(self.cloud.stop_server(server_id).await?),
            Action::Delete { server_id, .. } => Ok(self.cloud.delete_server(server_id).await?),
            Action::Acknowledge {
                lease_id,
                server_id,
            } => self.acknowledge(*lease_id, server_id).await,
            Action::Halt { lease_id } => {
                let call = escrow.halt(U256::from(*lease_id));
                self.send("halt", key, call).await
            }
            Action::Close { lease_id } => {
                let call = escrow.close(U256::from(*lease_id));
                self.send("close", key, call).await
            }
            Action::ReportBootFailure { lease_id } => {
                let call = escrow.reportBootFailure(U256::from(*lease_id));
                self.send("report boot failure", key, call).await
            }
            Action::Terminate { lease_id } => {
                let call = escrow.terminate(U256::from(*lease_id));
                self.send("terminate", key, call).await
            }
        }
    }

    /// What a lease's server is made of: the offer's flavor, the lease's image, the buyer's key and
    /// user data. `None` when the lease cannot be served (user data that does not decrypt, a key
    /// age cannot encrypt to, an image no longer configured): the boot is then reported failed (a
    /// refund) instead.
    async fn server_request(&mut self, lease_id: u64) -> Result<Option<CreateServer>, AgentError> {
        let lease = self
            .chain
            .lease(lease_id)
            .cloned()
            .ok_or_else(|| AgentError::Config(format!("lease {lease_id} unknown")))?;
        let offer = self.offers.get(&lease.offer_id).ok_or_else(|| {
            AgentError::Config(format!("offer {} not run by this agent", lease.offer_id))
        })?;
        let Some(image) = offer.images.get(&lease.image_id).cloned() else {
            // Chosen when the offer still listed it; the configuration has dropped it since.
            tracing::warn!(lease_id, image = %lease.image_id, "the lease's image is no longer configured: reporting a failed boot");
            self.report_boot_failure(lease_id).await?;
            return Ok(None);
        };
        let flavor_id = offer.flavor.id.clone();
        let ssh_key = self
            .chain
            .opening(lease_id)
            .map(|o| o.ssh_public_key.clone())
            .unwrap_or_default();
        let d = *self.chain.deployment();
        let metadata_file = serde_json::json!({
            "chain_id": d.chain_id,
            "escrow": format!("{:#x}", d.escrow),
            "lease_id": lease_id,
            "indexer_url": self.config.indexer_url,
        });
        // A key the access details cannot be encrypted to (an ECDSA or security-key one) would
        // boot a machine nobody can be told how to reach: refund now instead.
        let probe = AccessDetails {
            chain_id: d.chain_id,
            lease_id,
            host: String::new(),
            port: 22,
            user: String::new(),
            host_key_fingerprint: String::new(),
        };
        if let Err(error) = access::encrypt(&ssh_key, &probe) {
            tracing::warn!(lease_id, %error, "the buyer's SSH key cannot receive access details: reporting a failed boot");
            self.report_boot_failure(lease_id).await?;
            return Ok(None);
        }
        let user_data = crate::user_data::cloud_config(&ssh_key, &metadata_file);
        let encrypted = self
            .chain
            .opening(lease_id)
            .map(|o| o.encrypted_user_data.clone())
            .unwrap_or_default();
        let encrypted = alloy::primitives::hex::decode(&encrypted).unwrap_or_default();
        let buyers = if encrypted.is_empty() {
            None
        } else {
            let plain = self
                .age_identity
                .as_ref()
                .ok_or_else(|| "this agent has no age identity".to_owned())
                .and_then(|id| {
                    crate::user_data::decrypt(&id.0, &encrypted).map_err(|e| e.to_string())
                });
            match plain {
                Ok(plain) => Some(plain),
                Err(reason) => {
                    // Data the provider cannot read would boot the wrong machine: refund instead.
                    tracing::warn!(lease_id, %reason, "the buyer's user data does not decrypt: reporting a failed boot");
                    let escrow = LeaseEscrow::new(d.escrow, self.provider.clone());
                    let call = escrow.reportBootFailure(U256::from(lease_id));
                    self.send(
                        "report boot failure",
                        (lease_id, "report_boot_failure"),
                        call,
                    )
                    .await?;
                    return Ok(None);
                }
            }
        };
        Ok(Some(CreateServer {
            name: format!("utter-{}-lease-{lease_id}", d.chain_id),
            flavor_id,
            image_id: image,
            tags: vec![self.scope(), lease_tag(lease_id)],
            metadata: BTreeMap::from([
                ("utter_chain_id".to_owned(), d.chain_id.to_string()),
                ("utter_escrow".to_owned(), format!("{:#x}", d.escrow)),
                ("utter_lease_id".to_owned(), lease_id.to_string()),
                (
                    "utter_indexer_url".to_owned(),
                    self.config.indexer_url.clone(),
                ),
            ]),
            user_data: crate::user_data::combine(&user_data, buyers.as_deref()),
        }))
    }

    async fn boot(&mut self, lease_id: u64) -> Result<(), AgentError> {
        let Some(request) = self.server_request(lease_id).await? else {
            return Ok(());
        };
        let id = self.cloud.create_server(&request).await?;
        self.record_boot_request(lease_id);
        tracing::info!(lease_id, server = %id, "server requested");
        Ok(())
    }

    fn record_boot_request(&mut self, lease_id: u64) {
        if let Some(seen) = self.first_seen.remove(&lease_id) {
            self.counters
                .boot_request_latency
                .observe(seen.elapsed().as_secs_f64());
        }
        self.boot_requested.insert(lease_id, Instant::now());
    }

    /// Hands a running spare to a lease (`claim`) or finishes an interrupted hand-over: the server is
    /// first tagged as the lease's and as claimed (one call: it is never untagged), then rebuilt with
    /// the lease's image and the buyer's user data, then the claimed tag goes. A crash in between
    /// leaves it claimed, and the next plan rebuilds it again rather than acknowledge it as it is.
    async fn hand_over(
        &mut self,
        lease_id: u64,
        server_id: &str,
        claim: bool,
    ) -> Result<(), AgentError> {
        let Some(request) = self.server_request(lease_id).await? else {
            return Ok(());
        };
        let mut claimed = request.tags.clone();
        claimed.push(CLAIMED_TAG.to_owned());
        if claim {
            self.cloud.set_tags(server_id, &claimed).await?;
            self.record_boot_request(lease_id);
        }
        self.cloud
            .rebuild_server(server_id, &request.image_id, &request.user_data)
            .await?;
        self.cloud.set_tags(server_id, &request.tags).await?;
        tracing::info!(lease_id, server = %server_id, "hot spare handed over");
        Ok(())
    }

    async fn boot_spare(&mut self, offer_id: u32) -> Result<(), AgentError> {
        let offer = self
            .offers
            .get(&offer_id)
            .ok_or_else(|| AgentError::Config(format!("offer {offer_id} not run by this agent")))?;
        let image = offer
            .images
            .values()
            .next()
            .ok_or_else(|| AgentError::Config(format!("offer {offer_id} has no image")))?;
        let d = self.chain.deployment();
        let request = CreateServer {
            name: format!("utter-{}-spare-{offer_id}", d.chain_id),
            flavor_id: offer.flavor.id.clone(),
            image_id: image.clone(),
            tags: vec![self.scope(), spare_tag(offer_id)],
            metadata: BTreeMap::from([("utter_spare_for_offer".to_owned(), offer_id.to_string())]),
            user_data: "#cloud-config\n".to_owned(),
        };
        let id = self.cloud.create_server(&request).await?;
        tracing::info!(offer_id, server = %id, "hot spare requested");
        Ok(())
    }

    async fn acknowledge(&mut self, lease_id: u64, server_id: &str) -> Result<(), AgentError> {
        let server = self
            .cloud
            .get_server(server_id)
            .await?
            .ok_or_else(|| CloudError::NotFound(format!("server {server_id}")))?;
        let console = self
            .cloud
            .console_log(server_id, 200)
            .await
            .unwrap_or_default();
        let (fingerprint_text, fingerprint) = host_key_fingerprint(&console);
        if fingerprint_text.is_empty() && self.wait_for_host_key(lease_id) {
            return Err(AgentError::NotReady(format!(
                "server {server_id}: the console shows no SSH host key fingerprints yet"
            )));
        }
        let ssh_key = self
            .chain
            .opening(lease_id)
            .map(|o| o.ssh_public_key.clone())
            .unwrap_or_default();
        let public = self
            .chain
            .lease(lease_id)
            .and_then(|l| self.offers.get(&l.offer_id))
            .is_some_and(|o| o.config.public_ipv4);
        let host = if public {
            match self.public_address(lease_id, server_id).await {
                Ok(address) => address,
                Err(error) if !error.is_transient() => {
                    // The promised address cannot be had (pool exhausted, no port): refund now
                    // rather than let the buyer wait out the boot deadline.
                    tracing::warn!(lease_id, %error, "no public address for the lease: reporting a failed boot");
                    self.count_cloud_error("floating_ip", &error);
                    return self.report_boot_failure(lease_id).await;
                }
                Err(error) => return Err(error.into()),
            }
        } else {
            server
                .addresses
                .first()
                .cloned()
                .unwrap_or_else(|| server.name.clone())
        };
        let details = AccessDetails {
            chain_id: self.chain.deployment().chain_id,
            lease_id,
            host,
            port: 22,
            user: crate::user_data::LOGIN.into(),
            host_key_fingerprint: fingerprint_text,
        };
        let ciphertext = match access::encrypt(&ssh_key, &details) {
            Ok(ciphertext) => ciphertext,
            Err(error) => {
                // The buyer gave a key nobody can encrypt to: refund it rather than run blind.
                tracing::warn!(lease_id, %error, "cannot encrypt access details: reporting a failed boot");
                return self.report_boot_failure(lease_id).await;
            }
        };
        let escrow = LeaseEscrow::new(self.chain.deployment().escrow, self.provider.clone());
        let call = escrow.acknowledge(U256::from(lease_id), ciphertext.into(), fingerprint);
        self.send("acknowledge", (lease_id, "acknowledge"), call)
            .await?;
        if let Some(at) = self.boot_requested.remove(&lease_id) {
            self.counters
                .boot_latency
                .observe(at.elapsed().as_secs_f64());
        }
        tracing::info!(lease_id, server = %server_id, "acknowledged");
        Ok(())
    }

    /// Whether the lease's offer is one this agent runs (so it knows how to boot it).
    fn serves(&self, lease_id: u64) -> bool {
        self.chain
            .lease(lease_id)
            .is_some_and(|l| self.offers.contains_key(&l.offer_id))
    }

    /// Whether the lease is dry at the chain's head, not only in the confirmed view: a top-up in
    /// the last few blocks must not stop a machine its buyer has just paid for. When the chain
    /// cannot be asked, the view's answer stands.
    async fn dry_now(&self, lease_id: u64) -> bool {
        let escrow = LeaseEscrow::new(self.chain.deployment().escrow, &self.provider);
        match escrow.leaseState(U256::from(lease_id)).call().await {
            Ok(state) if state.status != lease_status::HALTED => {
                tracing::info!(lease_id, "topped up in the latest blocks: not stopped");
                false
            }
            _ => true,
        }
    }

    /// Whether to wait for the guest to print its SSH host keys before acknowledging a first boot:
    /// cloud-init prints them a while after Nova says ACTIVE. At most `host_key_wait_secs` after the
    /// first try, and never into the boot deadline's margin; a restart does not wait (cloud-init
    /// prints them once per instance).
    fn wait_for_host_key(&mut self, lease_id: u64) -> bool {
        let wait = Duration::from_secs(self.config.cloud.host_key_wait_secs);
        let Some(lease) = self.chain.lease(lease_id) else {
            return false;
        };
        if wait.is_zero() || lease.status != lease_status::PENDING {
            return false;
        }
        let margin = 2 * self.policy.boot_failure_margin;
        if self.chain.now() + margin >= lease.deadline {
            return false;
        }
        let since = *self
            .host_key_wait
            .entry(lease_id)
            .or_insert_with(Instant::now);
        since.elapsed() < wait
    }

    /// Tells the chain the lease cannot be served: the buyer is refunded before the deadline.
    async fn report_boot_failure(&mut self, lease_id: u64) -> Result<(), AgentError> {
        let escrow = LeaseEscrow::new(self.chain.deployment().escrow, self.provider.clone());
        let call = escrow.reportBootFailure(U256::from(lease_id));
        self.send(
            "report boot failure",
            (lease_id, "report_boot_failure"),
            call,
        )
        .await
    }

    /// The lease's public address: its floating IP (found by description, so a restart or a
    /// resumed lease keeps the same one), associated with the server's port; allocated when it
    /// has none.
    async fn public_address(&self, lease_id: u64, server_id: &str) -> Result<String, CloudError> {
        let network = self.floating_network.as_deref().ok_or_else(|| {
            CloudError::Rejected("no floating network was resolved (cloud.floating_network)".into())
        })?;
        let port = self
            .cloud
            .server_ports(server_id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                CloudError::Rejected(format!(
                    "server {server_id} has no port to hold a floating IP (is cloud.network set?)"
                ))
            })?;
        let description = floating_ip_description(&self.scope(), lease_id);
        let mine: Vec<FloatingIp> = self
            .cloud
            .floating_ips(network)
            .await?
            .into_iter()
            .filter(|ip| ip.description == description)
            .collect();
        if let Some(ip) = mine.iter().find(|ip| ip.port_id.as_deref() == Some(&port)) {
            return Ok(ip.address.clone());
        }
        let ip = match mine.first() {
            Some(ip) => self.cloud.associate_floating_ip(&ip.id, &port).await?,
            None => {
                let ip = self
                    .cloud
                    .create_floating_ip(network, &port, &description)
                    .await?;
                tracing::info!(lease_id, server = %server_id, address = %ip.address, "floating IP allocated");
                ip
            }
        };
        Ok(ip.address)
    }

    /// Releases the floating IPs of this scope that no server of their lease holds any more: the
    /// lease's server was deleted (or the agent died before releasing), or a lost reply left a
    /// second, unassociated one. `held` are the leases whose server the cloud holds (or was
    /// missing from the listings for less than `missing_grace_secs`).
    async fn sweep_floating_ips(&mut self, held: &BTreeSet<u64>) {
        let Some(network) = self.floating_network.clone() else {
            return;
        };
        let ips = match self.cloud.floating_ips(&network).await {
            Ok(ips) => ips,
            Err(error) => {
                self.count_cloud_error("floating_ip", &error);
                tracing::warn!(%error, "cannot list the floating IPs");
                return;
            }
        };
        self.last_floating_sweep = Some(Instant::now());
        let scope = self.scope();
        let associated: BTreeSet<u64> = ips
            .iter()
            .filter(|ip| ip.port_id.is_some())
            .filter_map(|ip| floating_ip_lease(&scope, &ip.description))
            .collect();
        for ip in ips {
            let Some(lease_id) = floating_ip_lease(&scope, &ip.description) else {
                continue;
            };
            let spare = ip.port_id.is_none() && associated.contains(&lease_id);
            if held.contains(&lease_id) && !spare {
                continue;
            }
            match self.cloud.delete_floating_ip(&ip.id).await {
                Ok(()) => {
                    *self
                        .counters
                        .actions
                        .entry("release_floating_ip")
                        .or_default() += 1;
                    tracing::info!(lease_id, address = %ip.address, "floating IP released");
                }
                Err(error) => {
                    self.count_cloud_error("floating_ip", &error);
                    tracing::warn!(lease_id, address = %ip.address, %error, "cannot release a floating IP");
                }
            }
        }
    }

    /// Notes the offers whose servers Nova could not place ("No valid host was found"): the
    /// hypervisors have no room for their flavor, which no quota shows to a project. They pause for
    /// `capacity_pause_secs`, so buyers are not sold boots that would be refunded.
    fn note_hosts_full(&mut self, cloud: &[CloudServer]) {
        let pause = Duration::from_secs(self.config.cloud.capacity_pause_secs);
        for server in cloud.iter().filter(|s| no_valid_host(s)) {
            let offer = match (lease_of(server), spare_of(server)) {
                (Some(lease_id), _) => self.chain.lease(lease_id).map(|l| l.offer_id),
                (None, spare) => spare,
            };
            if let Some(offer_id) = offer.filter(|id| self.offers.contains_key(id)) {
                let until = Instant::now() + pause;
                if self.no_host_until.insert(offer_id, until).is_none() {
                    tracing::warn!(offer_id, server = %server.id, ?pause, "Nova found no host for the offer's flavor: pausing it");
                }
            }
        }
        self.no_host_until
            .retain(|_, until| Instant::now() < *until);
    }

    /// Pauses each offer while the project's quota has no room for one more server of its flavor
    /// (instances, vCPUs or RAM), or while Nova finds no host for it, and resumes it after.
    async fn adjust_offers(&mut self) {
        let room = match self.cloud.room().await {
            Ok(room) => room,
            Err(error) => {
                self.count_cloud_error("room", &error);
                return;
            }
        };
        let offers = Offers::new(self.chain.deployment().offers, self.provider.clone());
        let ids: Vec<(u32, bool)> = self
            .offers
            .iter()
            .map(|(&id, offer)| {
                let no_host = self.no_host_until.contains_key(&id);
                (id, no_host || !room.fits(&offer.flavor))
            })
            .collect();
        // The chain view lags a few blocks behind the transactions sent: the status wanted is
        // compared with the view each time, and a transaction in flight is waited for.
        for (id, full) in ids {
            if full && self.paused.insert(id) {
                tracing::info!(
                    offer_id = id,
                    ?room,
                    "pausing the offer: no room for its flavor"
                );
            }
            if !self.paused.contains(&id) {
                // Not paused by this agent: a pause of the provider's own is left alone.
                continue;
            }
            let status = self.chain.state().offers.get(&id).map(|o| o.status);
            let key = (OFFER_KEYS + u64::from(id), "offer_status");
            if let Some(&target) = self.offer_target.get(&id) {
                if status == Some(target) {
                    // The view shows what the transaction sent asked for: it is done.
                    self.offer_target.remove(&id);
                    self.in_flight.remove(&key);
                } else if self.in_flight.contains_key(&key) {
                    // Still on its way (or mined and not yet in the view).
                    continue;
                } else {
                    // Failed or timed out: decided again below.
                    self.offer_target.remove(&id);
                }
            }
            let wanted = if full {
                offer_status::PAUSED
            } else {
                offer_status::ACTIVE
            };
            if status == Some(wanted) {
                if !full {
                    self.paused.remove(&id);
                    tracing::info!(offer_id = id, "offer resumed: the cloud has room again");
                }
                continue;
            }
            let result = match (full, status) {
                (true, Some(offer_status::ACTIVE)) => {
                    self.offer_target.insert(id, offer_status::PAUSED);
                    self.send("pause offer", key, offers.pauseOffer(id)).await
                }
                (false, Some(offer_status::PAUSED)) => {
                    self.offer_target.insert(id, offer_status::ACTIVE);
                    self.send("resume offer", key, offers.resumeOffer(id)).await
                }
                // Retired (or unknown): nothing to pause or resume any more.
                _ => {
                    self.paused.remove(&id);
                    Ok(())
                }
            };
            if let Err(error) = result {
                tracing::warn!(offer_id = id, %error, "could not change the offer's status");
            }
        }
    }

    /// Withdraws earnings in one batch once they reach the threshold, at most once per interval.
    async fn maybe_withdraw(&mut self, now: u64) {
        let interval = Duration::from_secs(self.config.withdraw_interval_secs);
        if self.last_withdraw.is_some_and(|at| at.elapsed() < interval) {
            return;
        }
        let threshold = parse_amount("withdraw_threshold", &self.config.withdraw_threshold)
            .unwrap_or(U256::MAX);
        let (total, ids) = self.chain.unwithdrawn(now);
        if total < threshold || ids.is_empty() {
            return;
        }
        let key = (WITHDRAW_KEY, "withdraw");
        if self.pending.iter().any(|tx| tx.key == key) {
            return;
        }
        self.last_withdraw = Some(Instant::now());
        let escrow = LeaseEscrow::new(self.chain.deployment().escrow, self.provider.clone());
        let batch: Vec<U256> = ids.iter().take(200).map(|&id| U256::from(id)).collect();
        // The amount is counted from the receipt, in a later tick.
        if let Err(error) = self
            .send("withdraw", key, escrow.withdraw(batch, self.me))
            .await
        {
            tracing::warn!(%error, "withdrawal failed");
        }
    }

    /// What the HTTP endpoints show (the loop adds the tick's time and error).
    pub fn status(&self) -> crate::http::Status {
        let d = self.chain.deployment();
        crate::http::Status {
            chain_id: d.chain_id,
            escrow: d.escrow,
            provider: self.me,
            confirmed_block: self.chain.confirmed_block(),
            last_tick: None,
            last_error: None,
            leases: self.leases_by_status(),
            buyers: self
                .chain
                .state()
                .leases
                .rows()
                .filter(|l| l.provider == self.me)
                .map(|l| (l.lease_id, l.buyer))
                .collect(),
            counters: self.counters.clone(),
            unwithdrawn: self.chain.unwithdrawn(self.chain.now()).0,
        }
    }

    /// Leases by status, for metrics.
    pub fn leases_by_status(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for lease in self
            .chain
            .state()
            .leases
            .rows()
            .filter(|l| l.provider == self.me)
        {
            let name = match lease.status {
                lease_status::PENDING => "pending",
                lease_status::RUNNING => "running",
                lease_status::HALTED => "halted",
                lease_status::RESTART_PENDING => "restart_pending",
                _ => "closed",
            };
            *counts.entry(name).or_default() += 1;
        }
        counts
    }
}

/// In-flight keys of offers' pauses and resumes: `OFFER_KEYS + offer id`, above every lease id.
const OFFER_KEYS: u64 = u64::MAX - (1 << 40);

/// The in-flight key of the withdrawal.
const WITHDRAW_KEY: u64 = OFFER_KEYS - 1;

/// In-flight keys of stake top-ups: `STAKE_KEYS + pool id`, below the withdrawal's.
const STAKE_KEYS: u64 = WITHDRAW_KEY - (1 << 33);

/// How often the stake is checked against the pools' minimums (a slash can come from a buyer's
/// reclaim the agent did not cause).
const STAKE_CHECK: Duration = Duration::from_secs(60);

/// Gas of a stake top-up, set rather than estimated: it is sent right behind its approval, and an
/// estimate before the approval is mined would fail.
const STAKE_GAS: u64 = 200_000;

/// Whether an offer as the chain records it has this spec.
fn same_spec(offer: &utter_indexer::model::Offer, spec: &OfferSpec) -> bool {
    offer.vcpus == spec.vcpus
        && offer.ram_mib == spec.ramMiB
        && offer.disk_gib == spec.diskGiB
        && offer.region == spec.region
        && offer.gpu_count == spec.gpuCount
        && offer.gpu_model == spec.gpuModel
        && offer.public_ipv4 == spec.publicIpv4
        && offer.public_ipv6 == spec.publicIpv6
        && offer.bandwidth_up_mbps == spec.bandwidthUpMbps
        && offer.bandwidth_down_mbps == spec.bandwidthDownMbps
}

/// The kind of a cloud error, for metrics.
fn error_kind(error: &CloudError) -> &'static str {
    match error {
        CloudError::Auth(_) => "auth",
        CloudError::NotFound(_) => "not_found",
        CloudError::Rejected(_) => "rejected",
        CloudError::Unavailable(_) => "unavailable",
    }
}

/// What an action is about, to keep it from being sent twice while in flight.
fn action_key(action: &Action) -> (u64, &'static str) {
    let subject = match action {
        Action::Boot { lease_id }
        | Action::Claim { lease_id, .. }
        | Action::Rebuild { lease_id, .. }
        | Action::Start { lease_id, .. }
        | Action::Acknowledge { lease_id, .. }
        | Action::Stop { lease_id, .. }
        | Action::Halt { lease_id }
        | Action::ReportBootFailure { lease_id }
        | Action::Terminate { lease_id }
        | Action::Close { lease_id } => *lease_id,
        // Never kept in flight (see `tick`): the key only has to be distinct.
        Action::BootSpare { offer_id } => u64::MAX - u64::from(*offer_id),
        Action::Delete { server_id, .. } => hash_id(server_id),
    };
    (subject, action.kind())
}

fn hash_id(id: &str) -> u64 {
    let digest = alloy::primitives::keccak256(id);
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The SSH host key fingerprint cloud-init prints to the console (`SHA256:...`, the ED25519 one when
/// there are several), as text and as the 32 bytes the escrow stores; `("", zero)` when absent.
pub fn host_key_fingerprint(console: &str) -> (String, B256) {
    // The last complete block: a rebuilt server's console may still hold its first life's keys.
    let mut inside = false;
    let mut block: Option<&str> = None;
    let mut best: Option<&str> = None;
    for line in console.lines() {
        if line.contains("BEGIN SSH HOST KEY FINGERPRINTS") {
            inside = true;
            block = None;
            continue;
        }
        if line.contains("END SSH HOST KEY FINGERPRINTS") {
            if inside && block.is_some() {
                best = block;
            }
            inside = false;
            continue;
        }
        if inside
            && let Some(fp) = line.split_whitespace().find(|w| w.starts_with("SHA256:"))
            && (block.is_none() || line.contains("ED25519"))
        {
            block = Some(fp);
        }
    }
    let Some(text) = best else {
        return (String::new(), B256::ZERO);
    };
    let bytes = base64_decode(text.trim_start_matches("SHA256:"));
    let hash = if bytes.len() == 32 {
        B256::from_slice(&bytes)
    } else {
        B256::ZERO
    };
    (text.to_owned(), hash)
}

/// Unpadded standard base64, as OpenSSH prints fingerprints.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        let Some(value) = ALPHABET.iter().position(|&a| a == c) else {
            return Vec::new();
        };
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ed25519_host_key_fingerprint_is_read_from_the_console() {
        let console = "boot\n-----BEGIN SSH HOST KEY FINGERPRINTS-----\n\
            3072 SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA root@vm (RSA)\n\
            256 SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU root@vm (ED25519)\n\
            -----END SSH HOST KEY FINGERPRINTS-----\n";
        let (text, bytes) = host_key_fingerprint(console);
        assert_eq!(text, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
        // The SHA-256 of the empty string, whose base64 this is.
        assert_eq!(
            bytes.to_string(),
            "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            host_key_fingerprint("FAKE CONSOLE OUTPUT"),
            (String::new(), B256::ZERO)
        );
        // A rebuilt server's console holds its first life's keys, then the new ones: the last
        // complete block counts; a block still being printed does not.
        let rebuilt = format!(
            "{}-----BEGIN SSH HOST KEY FINGERPRINTS-----\n\
             256 SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB root@vm (ED25519)\n\
             -----END SSH HOST KEY FINGERPRINTS-----\n\
             -----BEGIN SSH HOST KEY FINGERPRINTS-----\n\
             256 SHA256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC root@vm (ED25519)\n",
            console
        );
        assert_eq!(
            host_key_fingerprint(&rebuilt).0,
            "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
        );
    }

    #[test]
    fn the_in_flight_window_outlasts_the_confirmations() {
        assert_eq!(in_flight_window(0), Duration::from_secs(60));
        assert_eq!(in_flight_window(2), Duration::from_secs(90));
        // Twelve confirmations of 12 s blocks are mined and confirmed in 144 s: the window is longer.
        assert!(in_flight_window(12) > Duration::from_secs(12 * 12));
        assert!(in_flight_window(u64::MAX) > Duration::from_secs(1 << 32));
    }

    #[test]
    fn cloud_retries_pause_longer_each_time_up_to_a_cap() {
        assert_eq!(retry_pause(1), RETRY_FIRST);
        assert_eq!(retry_pause(2), RETRY_FIRST * 2);
        assert_eq!(retry_pause(4), RETRY_FIRST * 8);
        assert_eq!(retry_pause(10), RETRY_CAP);
        assert_eq!(retry_pause(u32::MAX), RETRY_CAP);
    }

    #[test]
    fn tags_fit_nova_limits() {
        let scope = scope_tag(
            u64::MAX,
            Address::repeat_byte(0xab),
            Address::repeat_byte(0xcd),
        );
        assert_eq!(
            scope,
            "utter:18446744073709551615:abababababababab:cdcdcdcdcdcdcdcd"
        );
        assert!(scope.len() <= 60 && lease_tag(u64::MAX).len() <= 60);
        // Nova's tags may hold neither '/' nor ','.
        assert!(!scope.contains(['/', ',']));
        let server = CloudServer {
            id: "s".into(),
            name: "n".into(),
            status: crate::plan::ServerStatus::Active,
            tags: vec![scope, lease_tag(42)],
            created_at: 0,
            addresses: vec![],
            fault: None,
        };
        assert_eq!(lease_of(&server), Some(42));
    }
}
