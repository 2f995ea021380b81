//! A seeded random driver of the whole exchange on a real anvil.
//!
//! [`Scenario::setup`] deploys the system, creates three pools with different rules, funds and
//! approves every account, has the providers stake, publish keys and offers. Each [`Scenario::step`]
//! then reads the state it needs from the chain, lists every action that is valid in it (opening,
//! acknowledging, topping up, halting, closing, stopping, terminating, reclaiming leases, withdrawing
//! earnings and fees, buyer deposits, abuse reports and rulings, offer and pool changes, provider
//! stakes, operator hand-overs, moving the clock) and performs one of them, chosen by a PRNG seeded
//! from the caller's seed. Kinds not yet performed are favoured, so a few hundred steps cover them all.
//!
//! Same seed and same config on a fresh chain from [`crate::anvil::spawn_anvil`] give the same chain:
//! block times are pinned ([`crate::anvil::pin_clock`]) and warps set the next block's time exactly.
//!
//! Actions are only sent when valid; one that reverts anyway (a bug in the driver or in the
//! contracts) is counted under `"reverted"` with its reason in [`Scenario::reverts`], and the run goes
//! on.

use crate::{
    anvil::{latest, mine, pin_clock, set_automine, warp},
    chain::{ReadError, read_snapshot},
    rng::Rng,
    snapshot::Snapshot,
};
use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::{Address, B256, Bytes, U256, aliases::U96, keccak256},
    providers::{DynProvider, PendingTransactionError, Provider},
    rpc::types::{BlockId, TransactionReceipt},
    transports::TransportError,
};
use futures::{StreamExt, TryStreamExt, stream};
use std::collections::{BTreeMap, BTreeSet};
use utter_bindings::{
    BuyerTrust, ComputeToken, DeployError, Deployment, LeaseEscrow, Offers, Pools,
    ProviderRegistry, buyer_trust::BuyerTrust::BuyerTrustInstance,
    compute_token::ComputeToken::ComputeTokenInstance, deploy,
    lease_escrow::LeaseEscrow::LeaseEscrowInstance, offers::Offers::OffersInstance,
    pools::Pools::PoolsInstance, provider_registry::ProviderRegistry::ProviderRegistryInstance,
};

/// Every kind of action a step may perform, as counted in [`Scenario::counts`]. Failed actions are
/// counted under `"reverted"` instead, which is not listed here.
pub const ACTION_KINDS: [&str; 32] = [
    "open_lease",
    "acknowledge",
    "top_up",
    "resume",
    "warp",
    "halt",
    "close",
    "stop",
    "terminate",
    "report_boot_failure",
    "reclaim",
    "withdraw_earnings",
    "withdraw_pool_fees",
    "buyer_deposit",
    "buyer_request_withdrawal",
    "buyer_withdraw",
    "report_abuse",
    "resolve_upheld",
    "resolve_dismissed",
    "publish_offer",
    "offer_update",
    "offer_pause",
    "offer_resume",
    "offer_retire",
    "offer_set_images",
    "provider_stake",
    "provider_unbond",
    "provider_withdraw_unbonded",
    "set_encryption_key",
    "operator_transfer",
    "operator_accept",
    "pool_update",
];

/// How often each kind is chosen, relative to the others, when it is possible at all.
const fn weight(kind: &str) -> u64 {
    match kind.as_bytes() {
        b"open_lease" => 16,
        b"acknowledge" => 14,
        b"warp" => 10,
        b"top_up" | b"withdraw_earnings" => 5,
        b"resume" | b"close" | b"reclaim" => 4,
        b"halt" | b"stop" | b"buyer_deposit" | b"buyer_withdraw" => 3,
        _ => 2,
    }
}

/// One token, in wei.
const TOKEN: u128 = 1_000_000_000_000_000_000;
/// Tokens each provider receives at setup.
const PROVIDER_FUNDS: u128 = 100_000 * TOKEN;
/// Tokens each buyer receives at setup.
const BUYER_FUNDS: u128 = 1_000_000 * TOKEN;
/// Leases the driver keeps reading after they closed: while their funds are unwithdrawn or they may
/// still be reported (`BuyerTrust.REPORT_WINDOW`).
const REPORT_WINDOW: u64 = 7 * 86_400;
/// Seconds of slack kept around every deadline, so an action is valid whichever second it lands in.
const MARGIN: u64 = 3;
/// The OS images offers pick theirs from.
const IMAGES: [&str; 6] = [
    "ubuntu-24.04",
    "debian-12",
    "fedora-41",
    "alpine-3.21",
    "nixos-24.11",
    "rocky-9",
];
/// Region labels offers pick from.
const REGIONS: [&str; 4] = ["eu-west-1", "us-east-2", "ap-south-1", "sa-east-1"];
/// GPU models offers pick from.
const GPUS: [&str; 3] = ["nvidia-a100", "nvidia-l4", "amd-mi300x"];

/// How a [`Scenario`] is set up and mines.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    /// Providers, each joining two pools with an offer in each.
    pub providers: usize,
    /// Buyers. The last one never leases: it only deposits and withdraws trust, so that withdrawing
    /// (which needs no lease held for a week) happens.
    pub buyers: usize,
    /// Most offers ever published.
    pub max_offers: usize,
    /// For an anvil started with `--no-mining`: mine one block after each action's transaction (and
    /// after each setup transaction), instead of relying on automining. The deployment itself is sent
    /// with automining switched on for its duration.
    pub mine_after_each_action: bool,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            providers: 4,
            buyers: 8,
            max_offers: 16,
            mine_after_each_action: false,
        }
    }
}

impl ScenarioConfig {
    /// How many accounts [`Scenario::setup`] needs: a deployer, four pool operators (three pools and
    /// one successor for hand-overs), the providers and the buyers.
    pub const fn accounts_needed(&self) -> usize {
        1 + OPERATORS + self.providers + self.buyers
    }
}

/// Pool operators: one per pool and one more to hand pools over to.
const OPERATORS: usize = 4;

/// Why a [`Scenario`] could not go on. A reverted action is not an error (see [`Scenario::reverts`]).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Fewer accounts were given than the config needs.
    #[error("the scenario needs {needed} accounts, {given} given")]
    TooFewAccounts {
        /// [`ScenarioConfig::accounts_needed`].
        needed: usize,
        /// How many were given.
        given: usize,
    },
    /// The config asks for no provider or fewer than two buyers.
    #[error("the scenario needs at least one provider and two buyers")]
    TooFewParticipants,
    /// Deploying the system failed.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// A node request failed.
    #[error("node request: {0}")]
    Rpc(#[from] TransportError),
    /// A call failed for another reason than a revert.
    #[error("{what}: {source}")]
    Call {
        /// The action or read.
        what: &'static str,
        /// The cause.
        source: alloy::contract::Error,
    },
    /// A transaction was sent but its receipt could not be had.
    #[error("waiting for {what}: {source}")]
    Receipt {
        /// The action.
        what: &'static str,
        /// The cause.
        source: PendingTransactionError,
    },
    /// Reading the state back failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A setup transaction reverted: the scenario's own configuration is wrong.
    #[error("setup transaction {what} reverted: {reason}")]
    SetupReverted {
        /// The transaction.
        what: &'static str,
        /// What the node said.
        reason: String,
    },
}

/// Sends transactions, mines when asked to and counts what happened.
#[derive(Debug)]
struct Sender {
    provider: DynProvider,
    mine: bool,
    counts: BTreeMap<&'static str, u32>,
    reverts: Vec<String>,
}

impl Sender {
    /// Sends `call`; on success counts it under `kind` and returns its receipt, on a revert counts
    /// `"reverted"`, logs why and returns `None`.
    async fn send<P: Provider, D: CallDecoder>(
        &mut self,
        kind: &'static str,
        call: CallBuilder<P, D>,
    ) -> Result<Option<TransactionReceipt>, ScenarioError> {
        match self.try_send(kind, call).await? {
            Ok(receipt) => {
                *self.counts.entry(kind).or_default() += 1;
                Ok(Some(receipt))
            }
            Err(reason) => {
                *self.counts.entry("reverted").or_default() += 1;
                self.reverts.push(format!("{kind}: {reason}"));
                Ok(None)
            }
        }
    }

    /// Sends a setup transaction, which must succeed.
    async fn setup<P: Provider, D: CallDecoder>(
        &mut self,
        what: &'static str,
        call: CallBuilder<P, D>,
    ) -> Result<TransactionReceipt, ScenarioError> {
        self.try_send(what, call)
            .await?
            .map_err(|reason| ScenarioError::SetupReverted { what, reason })
    }

    /// The receipt of a successful transaction, or why it reverted (in estimation or on chain).
    async fn try_send<P: Provider, D: CallDecoder>(
        &mut self,
        what: &'static str,
        call: CallBuilder<P, D>,
    ) -> Result<Result<TransactionReceipt, String>, ScenarioError> {
        let pending = match call.send().await {
            Ok(pending) => pending,
            Err(err) if is_revert(&err) => return Ok(Err(err.to_string())),
            Err(source) => return Err(ScenarioError::Call { what, source }),
        };
        if self.mine {
            mine(&self.provider, 1).await?;
        }
        let receipt = pending
            .get_receipt()
            .await
            .map_err(|source| ScenarioError::Receipt { what, source })?;
        if receipt.status() {
            Ok(Ok(receipt))
        } else {
            Ok(Err(format!(
                "transaction {} reverted",
                receipt.transaction_hash
            )))
        }
    }
}

/// Whether a failed send is the node refusing a reverting call (gas estimation) rather than a
/// transport failure.
fn is_revert(err: &alloy::contract::Error) -> bool {
    match err {
        alloy::contract::Error::TransportError(err) => err.as_error_resp().is_some(),
        _ => false,
    }
}

/// The six contracts, bound to the scenario's provider.
#[derive(Debug)]
struct Contracts {
    token: ComputeTokenInstance<DynProvider>,
    pools: PoolsInstance<DynProvider>,
    registry: ProviderRegistryInstance<DynProvider>,
    offers: OffersInstance<DynProvider>,
    trust: BuyerTrustInstance<DynProvider>,
    escrow: LeaseEscrowInstance<DynProvider>,
}

/// What the driver remembers of a pool: only it changes pools, so no need to read them back.
#[derive(Clone, Debug)]
struct PoolLocal {
    operator: Address,
    pending: Address,
    config: Pools::PoolConfig,
}

/// Who is party to a lease: fixed when it opens.
#[derive(Clone, Copy, Debug)]
struct LeaseMeta {
    buyer: Address,
    provider: Address,
    pool: u32,
    offer: u32,
}

/// A lease as read at the start of a step.
#[derive(Clone, Debug)]
struct LeaseView {
    status: u8,
    settled_at: u64,
    funds: U256,
    price: U256,
    deadline: u64,
}

impl LeaseView {
    /// When a running lease's balance is spent (`settledAt + ceil(funds / price)`).
    fn paid_until(&self) -> u64 {
        let runway = self.funds.div_ceil(self.price);
        self.settled_at
            .saturating_add(runway.try_into().unwrap_or(u64::MAX))
    }
}

/// An offer as read at the start of a step.
#[derive(Clone, Debug)]
struct OfferView {
    provider: Address,
    pool: u32,
    status: u8,
    price: U256,
    capacity: u32,
    retention: u64,
    active: u32,
}

/// A stake as read at the start of a step.
#[derive(Clone, Debug, Default)]
struct StakeView {
    bonded: U256,
    unbonding: U256,
    unbonding_ends: u64,
    joined: bool,
}

/// A buyer as read at the start of a step.
#[derive(Clone, Debug, Default)]
struct BuyerView {
    active: u32,
    karma: U256,
    last_ended_at: u64,
    deposit: U256,
    unbonding: U256,
    unbonding_ends: u64,
    open_reports: u32,
    frozen_until: u64,
}

/// What a step knows of the chain before choosing.
#[derive(Debug, Default)]
struct View {
    now: u64,
    leases: BTreeMap<u64, LeaseView>,
    offers: BTreeMap<u32, OfferView>,
    stakes: BTreeMap<(u32, Address), StakeView>,
    buyers: BTreeMap<Address, BuyerView>,
}

/// LeaseStatus values.
const PENDING: u8 = 1;
const RUNNING: u8 = 2;
const HALTED: u8 = 3;
const RESTART_PENDING: u8 = 4;
const CLOSED: u8 = 5;
/// OfferStatus values.
const ACTIVE: u8 = 1;
const PAUSED: u8 = 2;
const RETIRED: u8 = 3;

/// One action a step may take.
#[derive(Clone, Debug)]
enum Action {
    Warp,
    OpenLease { buyer: Address, offer: u32 },
    Acknowledge(u64),
    ReportBootFailure(u64),
    Reclaim(u64),
    TopUp(u64),
    Resume(u64),
    Halt(u64),
    Close(u64),
    Stop(u64),
    Terminate(u64),
    WithdrawEarnings(Address),
    WithdrawPoolFees(u32),
    BuyerDeposit(Address),
    BuyerRequestWithdrawal(Address),
    BuyerWithdraw(Address),
    ReportAbuse(u64),
    ResolveUpheld(u64),
    ResolveDismissed(u64),
    PublishOffer { provider: Address, pool: u32 },
    OfferUpdate(u32),
    OfferPause(u32),
    OfferResume(u32),
    OfferRetire(u32),
    OfferSetImages(u32),
    ProviderStake { provider: Address, pool: u32 },
    ProviderUnbond { provider: Address, pool: u32 },
    ProviderWithdrawUnbonded { provider: Address, pool: u32 },
    SetEncryptionKey(Address),
    OperatorTransfer(u32),
    OperatorAccept(u32),
    PoolUpdate(u32),
}

impl Action {
    /// The name it is counted under.
    const fn kind(&self) -> &'static str {
        match self {
            Self::Warp => "warp",
            Self::OpenLease { .. } => "open_lease",
            Self::Acknowledge(_) => "acknowledge",
            Self::ReportBootFailure(_) => "report_boot_failure",
            Self::Reclaim(_) => "reclaim",
            Self::TopUp(_) => "top_up",
            Self::Resume(_) => "resume",
            Self::Halt(_) => "halt",
            Self::Close(_) => "close",
            Self::Stop(_) => "stop",
            Self::Terminate(_) => "terminate",
            Self::WithdrawEarnings(_) => "withdraw_earnings",
            Self::WithdrawPoolFees(_) => "withdraw_pool_fees",
            Self::BuyerDeposit(_) => "buyer_deposit",
            Self::BuyerRequestWithdrawal(_) => "buyer_request_withdrawal",
            Self::BuyerWithdraw(_) => "buyer_withdraw",
            Self::ReportAbuse(_) => "report_abuse",
            Self::ResolveUpheld(_) => "resolve_upheld",
            Self::ResolveDismissed(_) => "resolve_dismissed",
            Self::PublishOffer { .. } => "publish_offer",
            Self::OfferUpdate(_) => "offer_update",
            Self::OfferPause(_) => "offer_pause",
            Self::OfferResume(_) => "offer_resume",
            Self::OfferRetire(_) => "offer_retire",
            Self::OfferSetImages(_) => "offer_set_images",
            Self::ProviderStake { .. } => "provider_stake",
            Self::ProviderUnbond { .. } => "provider_unbond",
            Self::ProviderWithdrawUnbonded { .. } => "provider_withdraw_unbonded",
            Self::SetEncryptionKey(_) => "set_encryption_key",
            Self::OperatorTransfer(_) => "operator_transfer",
            Self::OperatorAccept(_) => "operator_accept",
            Self::PoolUpdate(_) => "pool_update",
        }
    }
}

/// A seeded random walk through the exchange on one chain. See the [module docs](self).
#[derive(Debug)]
pub struct Scenario {
    config: ScenarioConfig,
    rng: Rng,
    deployment: Deployment,
    c: Contracts,
    tx: Sender,
    deployer: Address,
    operators: Vec<Address>,
    providers: Vec<Address>,
    buyers: Vec<Address>,
    pools: BTreeMap<u32, PoolLocal>,
    offer_images: BTreeMap<u32, Vec<B256>>,
    leases: BTreeMap<u64, LeaseMeta>,
    /// Leases read every step: open ones, and closed ones with funds to withdraw or still reportable.
    tracked: BTreeSet<u64>,
    reported: BTreeSet<u64>,
    /// Open reports and the lease they are about.
    open_reports: BTreeMap<u64, u64>,
    steps: u64,
}

impl Scenario {
    /// Deploys the system from `accounts[0]` and sets the market up (pools, funded and approved
    /// accounts, stakes, keys, offers). `provider` must sign as every one of `accounts` (see
    /// [`crate::anvil::wallets`]) and talk to an anvil whose clock may be pinned.
    pub async fn setup(
        provider: DynProvider,
        accounts: &[Address],
        seed: u64,
        config: ScenarioConfig,
    ) -> Result<Self, ScenarioError> {
        let needed = config.accounts_needed();
        if accounts.len() < needed {
            return Err(ScenarioError::TooFewAccounts {
                needed,
                given: accounts.len(),
            });
        }
        if config.providers == 0 || config.buyers < 2 {
            return Err(ScenarioError::TooFewParticipants);
        }
        let deployer = accounts[0];
        let operators = accounts[1..=OPERATORS].to_vec();
        let providers = accounts[1 + OPERATORS..1 + OPERATORS + config.providers].to_vec();
        let buyers = accounts[1 + OPERATORS + config.providers..needed].to_vec();

        pin_clock(&provider).await?;
        if config.mine_after_each_action {
            set_automine(&provider, true).await?;
        }
        let deployment = deploy(&provider, deployer).await?;
        if config.mine_after_each_action {
            set_automine(&provider, false).await?;
        }
        let c = Contracts {
            token: ComputeToken::new(deployment.token, provider.clone()),
            pools: Pools::new(deployment.pools, provider.clone()),
            registry: ProviderRegistry::new(deployment.registry, provider.clone()),
            offers: Offers::new(deployment.offers, provider.clone()),
            trust: BuyerTrust::new(deployment.buyer_trust, provider.clone()),
            escrow: LeaseEscrow::new(deployment.escrow, provider.clone()),
        };
        let tx = Sender {
            provider,
            mine: config.mine_after_each_action,
            counts: BTreeMap::new(),
            reverts: Vec::new(),
        };
        let mut scenario = Self {
            config,
            rng: Rng::new(seed),
            deployment,
            c,
            tx,
            deployer,
            operators,
            providers,
            buyers,
            pools: BTreeMap::new(),
            offer_images: BTreeMap::new(),
            leases: BTreeMap::new(),
            tracked: BTreeSet::new(),
            reported: BTreeSet::new(),
            open_reports: BTreeMap::new(),
            steps: 0,
        };
        scenario.set_market_up().await?;
        Ok(scenario)
    }

    /// Pools, funds, approvals, stakes, keys and offers.
    async fn set_market_up(&mut self) -> Result<(), ScenarioError> {
        let (c, tx) = (&self.c, &mut self.tx);
        for (index, config) in initial_pools().into_iter().enumerate() {
            let operator = self.operators[index];
            tx.setup(
                "createPool",
                c.pools.createPool(config.clone()).from(operator),
            )
            .await?;
            let id = u32::try_from(index + 1).expect("three pools");
            self.pools.insert(
                id,
                PoolLocal {
                    operator,
                    pending: Address::ZERO,
                    config,
                },
            );
        }
        for &who in &self.providers {
            tx.setup(
                "fund a provider",
                c.token
                    .transfer(who, U256::from(PROVIDER_FUNDS))
                    .from(self.deployer),
            )
            .await?;
            tx.setup(
                "approve the registry",
                c.token
                    .approve(self.deployment.registry, U256::MAX)
                    .from(who),
            )
            .await?;
        }
        for &who in &self.buyers {
            tx.setup(
                "fund a buyer",
                c.token
                    .transfer(who, U256::from(BUYER_FUNDS))
                    .from(self.deployer),
            )
            .await?;
            tx.setup(
                "approve the escrow",
                c.token.approve(self.deployment.escrow, U256::MAX).from(who),
            )
            .await?;
            tx.setup(
                "approve buyer trust",
                c.token
                    .approve(self.deployment.buyer_trust, U256::MAX)
                    .from(who),
            )
            .await?;
        }
        let pool_count = self.pools.len();
        for (index, &who) in self.providers.iter().enumerate() {
            if index + 1 < self.providers.len() {
                let key = B256::from(self.rng.word());
                tx.setup(
                    "setEncryptionKey",
                    c.registry.setEncryptionKey(key).from(who),
                )
                .await?;
            }
            for pool in [index % pool_count + 1, (index + 1) % pool_count + 1] {
                let pool = u32::try_from(pool).expect("three pools");
                let min_stake = U256::from(self.pools[&pool].config.minStake);
                tx.setup(
                    "stake",
                    c.registry.stake(pool, min_stake * U256::from(2)).from(who),
                )
                .await?;
                let (spec, terms, images) = random_offer(&mut self.rng);
                let ids = images.iter().map(|image| image.id).collect();
                let receipt = tx
                    .setup(
                        "publishOffer",
                        c.offers.publishOffer(pool, spec, terms, images).from(who),
                    )
                    .await?;
                let offer = receipt
                    .decoded_log::<Offers::OfferPublished>()
                    .expect("publishOffer emits OfferPublished")
                    .offerId;
                self.offer_images.insert(offer, ids);
            }
        }
        Ok(())
    }

    /// The deployed system's addresses.
    pub const fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Every account the scenario uses: deployer, pool operators, providers, buyers. Pass them to
    /// [`crate::read_snapshot`] to see every stake and record.
    pub fn accounts(&self) -> Vec<Address> {
        std::iter::once(self.deployer)
            .chain(self.operators.iter().copied())
            .chain(self.providers.iter().copied())
            .chain(self.buyers.iter().copied())
            .collect()
    }

    /// How many actions of each kind succeeded (names from [`ACTION_KINDS`]), and under `"reverted"`
    /// how many were sent and failed.
    pub const fn counts(&self) -> &BTreeMap<&'static str, u32> {
        &self.tx.counts
    }

    /// Why each failed action failed, in order: `"kind: reason"`.
    pub fn reverts(&self) -> &[String] {
        &self.tx.reverts
    }

    /// Steps taken so far.
    pub const fn steps(&self) -> u64 {
        self.steps
    }

    /// The provider the scenario sends with.
    pub const fn provider(&self) -> &DynProvider {
        &self.tx.provider
    }

    /// The whole state at the latest block, and that block's number: [`crate::read_snapshot`] over
    /// [`Scenario::accounts`].
    pub async fn snapshot(&self) -> Result<(u64, Snapshot), ScenarioError> {
        let (block, _) = latest(&self.tx.provider).await?;
        let snapshot = read_snapshot(
            &self.tx.provider,
            &self.deployment,
            &self.accounts(),
            BlockId::number(block),
        )
        .await?;
        Ok((block, snapshot))
    }

    /// Takes `steps` steps.
    pub async fn run(&mut self, steps: u64) -> Result<(), ScenarioError> {
        for _ in 0..steps {
            self.step().await?;
        }
        Ok(())
    }

    /// Reads the state, chooses one valid action at random and performs it. Returns its kind (it may
    /// still have reverted: see [`Scenario::counts`]).
    pub async fn step(&mut self) -> Result<&'static str, ScenarioError> {
        self.steps += 1;
        let view = self.read_view().await?;
        let candidates = self.candidates(&view);
        let mut kinds: Vec<(&'static str, u64)> = Vec::new();
        for action in &candidates {
            let kind = action.kind();
            if kinds.iter().all(|(k, _)| *k != kind) {
                let boost = if self.tx.counts.contains_key(kind) {
                    1
                } else {
                    4
                };
                kinds.push((kind, weight(kind) * boost));
            }
        }
        let total: u64 = kinds.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.range(0, total - 1);
        let mut chosen = kinds[0].0;
        for (kind, w) in &kinds {
            if roll < *w {
                chosen = kind;
                break;
            }
            roll -= w;
        }
        let of_kind: Vec<&Action> = candidates.iter().filter(|a| a.kind() == chosen).collect();
        let action = (*self.rng.pick(&of_kind)).clone();
        self.perform(action, &view).await?;
        Ok(chosen)
    }

    /// Reads the leases the driver tracks, every offer, every stake and every buyer at the latest block.
    async fn read_view(&mut self) -> Result<View, ScenarioError> {
        let (number, now) = latest(&self.tx.provider).await?;
        let block = BlockId::number(number);
        let c = &self.c;
        let leases = stream::iter(self.tracked.iter().copied())
            .map(|id| async move {
                let lease = c
                    .escrow
                    .getLease(U256::from(id))
                    .block(block)
                    .call()
                    .await
                    .map_err(|source| ScenarioError::Call {
                        what: "getLease",
                        source,
                    })?;
                Ok::<_, ScenarioError>((
                    id,
                    LeaseView {
                        status: lease.status,
                        settled_at: lease.settledAt.to(),
                        funds: U256::from(lease.funds),
                        price: U256::from(lease.pricePerSecond),
                        deadline: lease.deadline.to(),
                    },
                ))
            })
            .buffered(64)
            .try_collect::<BTreeMap<_, _>>();
        let offers = stream::iter(self.offer_images.keys().copied())
            .map(|id| async move {
                let call = |source| ScenarioError::Call {
                    what: "getOffer",
                    source,
                };
                let (offer, load) = futures::try_join!(
                    async {
                        c.offers
                            .getOffer(id)
                            .block(block)
                            .call()
                            .await
                            .map_err(call)
                    },
                    async {
                        c.escrow
                            .offerLoad(id)
                            .block(block)
                            .call()
                            .await
                            .map_err(call)
                    },
                )?;
                Ok::<_, ScenarioError>((
                    id,
                    OfferView {
                        provider: offer.provider,
                        pool: offer.poolId,
                        status: offer.status,
                        price: U256::from(offer.pricePerSecond),
                        capacity: offer.capacity,
                        retention: offer.retention.into(),
                        active: load.active,
                    },
                ))
            })
            .buffered(64)
            .try_collect::<BTreeMap<_, _>>();
        let pairs: Vec<(u32, Address)> = self
            .pools
            .keys()
            .flat_map(|&pool| self.providers.iter().map(move |&who| (pool, who)))
            .collect();
        let stakes = stream::iter(pairs)
            .map(|(pool, who)| async move {
                let stake = c
                    .registry
                    .stakeOf(pool, who)
                    .block(block)
                    .call()
                    .await
                    .map_err(|source| ScenarioError::Call {
                        what: "stakeOf",
                        source,
                    })?;
                Ok::<_, ScenarioError>((
                    (pool, who),
                    StakeView {
                        bonded: U256::from(stake.bonded),
                        unbonding: U256::from(stake.unbonding),
                        unbonding_ends: stake.unbondingEnds.to(),
                        joined: stake.joined,
                    },
                ))
            })
            .buffered(64)
            .try_collect::<BTreeMap<_, _>>();
        let buyers = stream::iter(self.buyers.iter().copied())
            .map(|who| async move {
                let call = |source| ScenarioError::Call {
                    what: "buyer state",
                    source,
                };
                let (record, account, reports) = futures::try_join!(
                    async {
                        c.escrow
                            .buyerRecord(who)
                            .block(block)
                            .call()
                            .await
                            .map_err(call)
                    },
                    async {
                        c.trust
                            .accountOf(who)
                            .block(block)
                            .call()
                            .await
                            .map_err(call)
                    },
                    async {
                        c.trust
                            .openReportsOf(who)
                            .block(block)
                            .call()
                            .await
                            .map_err(call)
                    },
                )?;
                Ok::<_, ScenarioError>((
                    who,
                    BuyerView {
                        active: record.active,
                        karma: U256::from(record.karma),
                        last_ended_at: record.lastEndedAt.to(),
                        deposit: U256::from(account.deposit),
                        unbonding: U256::from(account.unbonding),
                        unbonding_ends: account.unbondingEnds.to(),
                        open_reports: reports.openReports.to(),
                        frozen_until: reports.frozenUntil.to(),
                    },
                ))
            })
            .buffered(64)
            .try_collect::<BTreeMap<_, _>>();
        let (leases, offers, stakes, buyers) = futures::try_join!(leases, offers, stakes, buyers)?;
        // Forget closed leases with nothing left to withdraw and past their report window.
        for (id, lease) in &leases {
            if lease.status == CLOSED
                && lease.funds.is_zero()
                && (self.reported.contains(id) || now > lease.settled_at + REPORT_WINDOW)
            {
                self.tracked.remove(id);
            }
        }
        Ok(View {
            now,
            leases,
            offers,
            stakes,
            buyers,
        })
    }

    /// Whether `provider` has the pool's minimum bonded stake.
    fn eligible(&self, view: &View, pool: u32, provider: Address) -> bool {
        let min = U256::from(self.pools[&pool].config.minStake);
        view.stakes
            .get(&(pool, provider))
            .is_some_and(|stake| stake.bonded >= min)
    }

    /// How many leases `buyer` may hold in `pool` (`LeaseEscrow._limit`).
    fn limit(&self, view: &View, pool: u32, buyer: Address) -> u64 {
        let trust = &self.pools[&pool].config.trust;
        let state = &view.buyers[&buyer];
        let mut limit = U256::from(trust.baseLeases);
        if !trust.depositPerLease.is_zero() {
            limit += state.deposit / U256::from(trust.depositPerLease);
        }
        if !trust.karmaPerLease.is_zero() {
            limit += state.karma / U256::from(trust.karmaPerLease);
        }
        limit.min(U256::from(trust.maxLeases)).to()
    }

    /// Every action valid now, in a fixed order.
    fn candidates(&self, view: &View) -> Vec<Action> {
        let now = view.now;
        let mut out = vec![Action::Warp];

        // Buyers open leases on active offers with room, served by eligible providers.
        let lessees = &self.buyers[..self.buyers.len() - 1];
        for (&id, offer) in &view.offers {
            if offer.status != ACTIVE
                || offer.active >= offer.capacity
                || !self.eligible(view, offer.pool, offer.provider)
            {
                continue;
            }
            for &buyer in lessees {
                if u64::from(view.buyers[&buyer].active) < self.limit(view, offer.pool, buyer) {
                    out.push(Action::OpenLease { buyer, offer: id });
                }
            }
        }

        // The lease lifecycle.
        let mut earners = BTreeSet::new();
        for (&id, lease) in &view.leases {
            let meta = self.leases[&id];
            earners.insert(meta.provider);
            if !self.reported.contains(&id)
                && (lease.status != CLOSED || now + MARGIN <= lease.settled_at + REPORT_WINDOW)
            {
                out.push(Action::ReportAbuse(id));
            }
            if lease.status == CLOSED {
                continue;
            }
            out.push(Action::Stop(id));
            let retention = view.offers[&meta.offer].retention;
            match lease.status {
                PENDING | RESTART_PENDING => {
                    out.push(Action::TopUp(id));
                    if now + MARGIN <= lease.deadline {
                        out.push(Action::Acknowledge(id));
                        out.push(Action::ReportBootFailure(id));
                    } else if now > lease.deadline {
                        out.push(Action::Reclaim(id));
                    }
                    if lease.status == RESTART_PENDING {
                        out.push(Action::Terminate(id));
                    }
                }
                RUNNING => {
                    out.push(Action::Terminate(id));
                    let paid_until = lease.paid_until();
                    if paid_until > now + MARGIN {
                        out.push(Action::TopUp(id));
                    } else if paid_until <= now {
                        out.push(Action::Halt(id));
                        let retention_ends = paid_until + retention;
                        if now + MARGIN <= retention_ends {
                            out.push(Action::Resume(id));
                        } else if now > retention_ends {
                            out.push(Action::Close(id));
                        }
                    }
                }
                HALTED => {
                    out.push(Action::Terminate(id));
                    if now + MARGIN <= lease.deadline {
                        out.push(Action::Resume(id));
                    } else if now > lease.deadline {
                        out.push(Action::Close(id));
                    }
                }
                _ => {}
            }
        }
        out.extend(earners.into_iter().map(Action::WithdrawEarnings));

        // Pools: fees, rulings, hand-overs, rule changes.
        for (&id, pool) in &self.pools {
            out.push(Action::WithdrawPoolFees(id));
            out.push(Action::PoolUpdate(id));
            if pool.pending == Address::ZERO {
                out.push(Action::OperatorTransfer(id));
            } else {
                out.push(Action::OperatorAccept(id));
            }
        }
        for &report in self.open_reports.keys() {
            out.push(Action::ResolveUpheld(report));
            out.push(Action::ResolveDismissed(report));
        }

        // Buyers' trust deposits.
        for (&who, buyer) in &view.buyers {
            out.push(Action::BuyerDeposit(who));
            if !buyer.deposit.is_zero() {
                out.push(Action::BuyerRequestWithdrawal(who));
            }
            let frozen = buyer.open_reports != 0 && now <= buyer.frozen_until + MARGIN;
            let reportable =
                buyer.last_ended_at != 0 && now <= buyer.last_ended_at + REPORT_WINDOW + MARGIN;
            if !buyer.unbonding.is_zero()
                && now >= buyer.unbonding_ends
                && !frozen
                && buyer.active == 0
                && !reportable
            {
                out.push(Action::BuyerWithdraw(who));
            }
        }

        // Offers.
        for (&id, offer) in &view.offers {
            match offer.status {
                ACTIVE => out.push(Action::OfferPause(id)),
                PAUSED if self.eligible(view, offer.pool, offer.provider) => {
                    out.push(Action::OfferResume(id));
                }
                _ => {}
            }
            if offer.status != RETIRED {
                out.extend([
                    Action::OfferUpdate(id),
                    Action::OfferRetire(id),
                    Action::OfferSetImages(id),
                ]);
            }
        }

        // Providers: stakes, keys, new offers.
        for &provider in &self.providers {
            out.push(Action::SetEncryptionKey(provider));
            for &pool in self.pools.keys() {
                let stake = view
                    .stakes
                    .get(&(pool, provider))
                    .cloned()
                    .unwrap_or_default();
                out.push(Action::ProviderStake { provider, pool });
                if !stake.bonded.is_zero() {
                    out.push(Action::ProviderUnbond { provider, pool });
                }
                if !stake.unbonding.is_zero() && now >= stake.unbonding_ends {
                    out.push(Action::ProviderWithdrawUnbonded { provider, pool });
                }
                if self.offer_images.len() < self.config.max_offers
                    && self.eligible(view, pool, provider)
                {
                    out.push(Action::PublishOffer { provider, pool });
                }
            }
        }
        out
    }

    /// Sends `action`'s transaction (or warps) and records what it changed.
    async fn perform(&mut self, action: Action, view: &View) -> Result<(), ScenarioError> {
        let kind = action.kind();
        let (c, tx, rng) = (&self.c, &mut self.tx, &mut self.rng);
        match action {
            Action::Warp => {
                let seconds = match rng.range(0, 99) {
                    0..45 => rng.range(1, 600),
                    45..80 => rng.range(600, 4 * 3_600),
                    80..95 => rng.range(4 * 3_600, 2 * 86_400),
                    _ => rng.range(2 * 86_400, 8 * 86_400),
                };
                warp(&tx.provider, seconds).await?;
                *tx.counts.entry(kind).or_default() += 1;
            }
            Action::OpenLease { buyer, offer } => {
                let state = &view.offers[&offer];
                let images = &self.offer_images[&offer];
                let image = *rng.pick(images);
                let seconds = if rng.chance(70) {
                    rng.range(60, 3_600)
                } else {
                    rng.range(3_600, 86_400)
                };
                let user_data = if rng.chance(50) {
                    let len = rng.range(1, 256) as usize;
                    Bytes::from(rng.bytes(len))
                } else {
                    Bytes::new()
                };
                let params = LeaseEscrow::OpenParams {
                    offerId: offer,
                    imageId: image,
                    deposit: state.price * U256::from(seconds),
                    maxPricePerSecond: state.price,
                    maxAnonFee: U256::from(self.pools[&state.pool].config.trust.anonMaxFee),
                    sshPublicKey: format!("ssh-ed25519 AAAA{:016x} buyer@utter", rng.next_u64()),
                    encryptedUserData: user_data,
                };
                if let Some(receipt) = tx
                    .send(kind, c.escrow.openLease(params).from(buyer))
                    .await?
                {
                    let opened = receipt
                        .decoded_log::<LeaseEscrow::LeaseOpened>()
                        .expect("openLease emits LeaseOpened");
                    let id: u64 = opened.leaseId.to();
                    self.leases.insert(
                        id,
                        LeaseMeta {
                            buyer,
                            provider: state.provider,
                            pool: state.pool,
                            offer,
                        },
                    );
                    self.tracked.insert(id);
                }
            }
            Action::Acknowledge(id) => {
                let meta = self.leases[&id];
                let len = rng.range(0, 512) as usize;
                let access = Bytes::from(rng.bytes(len));
                let fingerprint = B256::from(rng.word());
                tx.send(
                    kind,
                    c.escrow
                        .acknowledge(U256::from(id), access, fingerprint)
                        .from(meta.provider),
                )
                .await?;
            }
            Action::ReportBootFailure(id) => {
                let meta = self.leases[&id];
                tx.send(
                    kind,
                    c.escrow
                        .reportBootFailure(U256::from(id))
                        .from(meta.provider),
                )
                .await?;
            }
            Action::Reclaim(id) => {
                let meta = self.leases[&id];
                tx.send(kind, c.escrow.reclaim(U256::from(id)).from(meta.buyer))
                    .await?;
            }
            Action::TopUp(id) | Action::Resume(id) => {
                let meta = self.leases[&id];
                let price = view.leases[&id].price;
                let amount = price * U256::from(rng.range(60, 7_200));
                // Anyone may top up; usually the buyer does.
                let from = if rng.chance(80) {
                    meta.buyer
                } else {
                    *rng.pick(&self.buyers)
                };
                tx.send(kind, c.escrow.topUp(U256::from(id), amount).from(from))
                    .await?;
            }
            Action::Halt(id) => {
                let from = *rng.pick(&self.buyers);
                tx.send(kind, c.escrow.halt(U256::from(id)).from(from))
                    .await?;
            }
            Action::Close(id) => {
                let from = *rng.pick(&self.providers);
                tx.send(kind, c.escrow.close(U256::from(id)).from(from))
                    .await?;
            }
            Action::Stop(id) => {
                let meta = self.leases[&id];
                tx.send(kind, c.escrow.stop(U256::from(id)).from(meta.buyer))
                    .await?;
            }
            Action::Terminate(id) => {
                let meta = self.leases[&id];
                tx.send(kind, c.escrow.terminate(U256::from(id)).from(meta.provider))
                    .await?;
            }
            Action::WithdrawEarnings(provider) => {
                let own: Vec<u64> = view
                    .leases
                    .keys()
                    .copied()
                    .filter(|id| self.leases[id].provider == provider)
                    .collect();
                let mut batch: Vec<U256> = own
                    .iter()
                    .filter(|_| rng.chance(60))
                    .take(8)
                    .map(|&id| U256::from(id))
                    .collect();
                if batch.is_empty() {
                    batch.push(U256::from(*rng.pick(&own)));
                }
                tx.send(kind, c.escrow.withdraw(batch, provider).from(provider))
                    .await?;
            }
            Action::WithdrawPoolFees(pool) => {
                let operator = self.pools[&pool].operator;
                tx.send(
                    kind,
                    c.escrow.withdrawPoolFees(pool, operator).from(operator),
                )
                .await?;
            }
            Action::BuyerDeposit(buyer) => {
                let amount = U256::from(rng.range(1, 40)) * U256::from(TOKEN);
                tx.send(kind, c.trust.deposit(amount).from(buyer)).await?;
            }
            Action::BuyerRequestWithdrawal(buyer) => {
                let deposit = view.buyers[&buyer].deposit;
                let amount = if rng.chance(40) {
                    deposit
                } else {
                    fraction(rng, deposit)
                };
                tx.send(kind, c.trust.requestWithdrawal(amount).from(buyer))
                    .await?;
            }
            Action::BuyerWithdraw(buyer) => {
                tx.send(kind, c.trust.withdraw(buyer).from(buyer)).await?;
            }
            Action::ReportAbuse(id) => {
                let meta = self.leases[&id];
                let evidence = format!("ipfs://evidence/{id}/{:08x}", rng.next_u64() as u32);
                if let Some(receipt) = tx
                    .send(
                        kind,
                        c.trust
                            .reportAbuse(U256::from(id), evidence)
                            .from(meta.provider),
                    )
                    .await?
                {
                    let report: u64 = receipt
                        .decoded_log::<BuyerTrust::AbuseReported>()
                        .expect("reportAbuse emits AbuseReported")
                        .reportId
                        .to();
                    self.reported.insert(id);
                    self.open_reports.insert(report, id);
                }
            }
            Action::ResolveUpheld(report) | Action::ResolveDismissed(report) => {
                let upheld = matches!(action, Action::ResolveUpheld(_));
                let meta = self.leases[&self.open_reports[&report]];
                let pool = &self.pools[&meta.pool];
                let slash = if upheld {
                    let buyer = &view.buyers[&meta.buyer];
                    let max = (buyer.deposit + buyer.unbonding)
                        * U256::from(pool.config.trust.maxBuyerSlashBps)
                        / U256::from(10_000);
                    fraction(rng, max)
                } else {
                    U256::ZERO
                };
                if tx
                    .send(
                        kind,
                        c.trust
                            .resolveReport(U256::from(report), upheld, slash)
                            .from(pool.operator),
                    )
                    .await?
                    .is_some()
                {
                    self.open_reports.remove(&report);
                }
            }
            Action::PublishOffer { provider, pool } => {
                let (spec, terms, images) = random_offer(rng);
                let ids: Vec<B256> = images.iter().map(|image| image.id).collect();
                if let Some(receipt) = tx
                    .send(
                        kind,
                        c.offers
                            .publishOffer(pool, spec, terms, images)
                            .from(provider),
                    )
                    .await?
                {
                    let offer = receipt
                        .decoded_log::<Offers::OfferPublished>()
                        .expect("publishOffer emits OfferPublished")
                        .offerId;
                    self.offer_images.insert(offer, ids);
                }
            }
            Action::OfferUpdate(id) => {
                let provider = view.offers[&id].provider;
                let (spec, terms, _) = random_offer(rng);
                tx.send(kind, c.offers.updateOffer(id, spec, terms).from(provider))
                    .await?;
            }
            Action::OfferPause(id) => {
                let provider = view.offers[&id].provider;
                tx.send(kind, c.offers.pauseOffer(id).from(provider))
                    .await?;
            }
            Action::OfferResume(id) => {
                let provider = view.offers[&id].provider;
                tx.send(kind, c.offers.resumeOffer(id).from(provider))
                    .await?;
            }
            Action::OfferRetire(id) => {
                let provider = view.offers[&id].provider;
                tx.send(kind, c.offers.retireOffer(id).from(provider))
                    .await?;
            }
            Action::OfferSetImages(id) => {
                let provider = view.offers[&id].provider;
                let images = random_images(rng);
                let ids = images.iter().map(|image| image.id).collect();
                if tx
                    .send(kind, c.offers.setImages(id, images).from(provider))
                    .await?
                    .is_some()
                {
                    self.offer_images.insert(id, ids);
                }
            }
            Action::ProviderStake { provider, pool } => {
                let min = U256::from(self.pools[&pool].config.minStake);
                let joined = view
                    .stakes
                    .get(&(pool, provider))
                    .is_some_and(|stake| stake.joined);
                let amount = if joined {
                    min * U256::from(rng.range(1, 4)) / U256::from(2)
                } else {
                    min * U256::from(rng.range(1, 3))
                };
                tx.send(kind, c.registry.stake(pool, amount).from(provider))
                    .await?;
            }
            Action::ProviderUnbond { provider, pool } => {
                let bonded = view.stakes[&(pool, provider)].bonded;
                let min = U256::from(self.pools[&pool].config.minStake);
                let amount = if bonded > min && rng.chance(75) {
                    fraction(rng, bonded - min).max(U256::from(1))
                } else if rng.chance(50) {
                    bonded
                } else {
                    fraction(rng, bonded).max(U256::from(1))
                };
                tx.send(kind, c.registry.unbond(pool, amount).from(provider))
                    .await?;
            }
            Action::ProviderWithdrawUnbonded { provider, pool } => {
                tx.send(
                    kind,
                    c.registry.withdrawUnbonded(pool, provider).from(provider),
                )
                .await?;
            }
            Action::SetEncryptionKey(provider) => {
                let key = B256::from(rng.word());
                tx.send(kind, c.registry.setEncryptionKey(key).from(provider))
                    .await?;
            }
            Action::OperatorTransfer(pool) => {
                let current = self.pools[&pool].operator;
                let others: Vec<Address> = self
                    .operators
                    .iter()
                    .copied()
                    .filter(|&who| who != current)
                    .collect();
                let next = *rng.pick(&others);
                if tx
                    .send(kind, c.pools.transferOperator(pool, next).from(current))
                    .await?
                    .is_some()
                {
                    self.pools.get_mut(&pool).expect("known pool").pending = next;
                }
            }
            Action::OperatorAccept(pool) => {
                let pending = self.pools[&pool].pending;
                if tx
                    .send(kind, c.pools.acceptOperator(pool).from(pending))
                    .await?
                    .is_some()
                {
                    let local = self.pools.get_mut(&pool).expect("known pool");
                    local.operator = pending;
                    local.pending = Address::ZERO;
                }
            }
            Action::PoolUpdate(pool) => {
                let local = &self.pools[&pool];
                let config = varied_pool(rng, &local.config);
                if tx
                    .send(
                        kind,
                        c.pools
                            .updatePool(pool, config.clone())
                            .from(local.operator),
                    )
                    .await?
                    .is_some()
                {
                    self.pools.get_mut(&pool).expect("known pool").config = config;
                }
            }
        }
        Ok(())
    }
}

/// A random share (1 % to 100 %) of `amount`.
fn fraction(rng: &mut Rng, amount: U256) -> U256 {
    amount * U256::from(rng.range(1, 100)) / U256::from(100)
}

/// Tokens as a `uint96`.
fn tokens96(whole: u128) -> U96 {
    U96::from(whole * TOKEN)
}

/// The three pools: an open one with a fee where nobody is anonymous; an anonymous-fee one where
/// buyers below a deposit or karma threshold pay a start fee; a strict one with a tight lease cap,
/// free anonymous starts and long unbonding.
fn initial_pools() -> Vec<Pools::PoolConfig> {
    vec![
        Pools::PoolConfig {
            name: "open compute".into(),
            metadataURI: "https://open.example/rules".into(),
            feeBps: 500,
            noBootSlashBps: 1_000,
            bootFailSlashBps: 500,
            providerUnbonding: 3_600,
            minStake: tokens96(100),
            trust: Pools::TrustParams {
                trustedDeposit: U96::ZERO,
                trustedKarma: U96::ZERO,
                anonTargetShareBps: 2_000,
                maxBuyerSlashBps: 1_000,
                baseLeases: 2,
                maxLeases: 4,
                depositPerLease: U96::ZERO,
                karmaPerLease: U96::ZERO,
                anonMinFee: U96::ZERO,
                anonMaxFee: U96::ZERO,
            },
        },
        Pools::PoolConfig {
            name: "anonymous friendly".into(),
            metadataURI: "ipfs://bafy-anon-pool".into(),
            feeBps: 1_000,
            noBootSlashBps: 2_000,
            bootFailSlashBps: 1_000,
            providerUnbonding: 7_200,
            minStake: tokens96(50),
            trust: Pools::TrustParams {
                trustedDeposit: tokens96(50),
                trustedKarma: U96::from(TOKEN / 100),
                anonTargetShareBps: 1_000,
                maxBuyerSlashBps: 5_000,
                baseLeases: 1,
                maxLeases: 6,
                depositPerLease: tokens96(20),
                karmaPerLease: U96::from(TOKEN / 100),
                anonMinFee: U96::from(TOKEN / 1_000),
                anonMaxFee: U96::from(TOKEN / 10),
            },
        },
        Pools::PoolConfig {
            name: "gpu strict".into(),
            metadataURI: String::new(),
            feeBps: 0,
            noBootSlashBps: 5_000,
            bootFailSlashBps: 0,
            providerUnbonding: 86_400,
            minStake: tokens96(200),
            trust: Pools::TrustParams {
                trustedDeposit: tokens96(10),
                trustedKarma: tokens96(10),
                anonTargetShareBps: 10_000,
                maxBuyerSlashBps: 2_500,
                baseLeases: 3,
                maxLeases: 3,
                depositPerLease: U96::ZERO,
                karmaPerLease: U96::ZERO,
                anonMinFee: U96::ZERO,
                anonMaxFee: U96::ZERO,
            },
        },
    ]
}

/// `config` with some rules changed, still valid for `Pools._validate`. The minimum stake stays, so
/// providers do not all drop out of a pool at once.
fn varied_pool(rng: &mut Rng, config: &Pools::PoolConfig) -> Pools::PoolConfig {
    let mut next = config.clone();
    next.metadataURI = format!("https://pool.example/rules/{}", rng.range(1, 999));
    next.feeBps = rng.range(0, 2_000) as u16;
    next.noBootSlashBps = rng.range(0, 5_000) as u16;
    next.bootFailSlashBps = rng.range(0, u64::from(next.noBootSlashBps)) as u16;
    next.providerUnbonding = rng.range(600, 2 * 86_400) as u32;
    let trust = &mut next.trust;
    trust.anonTargetShareBps = rng.range(1, 10_000) as u16;
    trust.maxBuyerSlashBps = rng.range(0, 5_000) as u16;
    trust.baseLeases = rng.range(0, 3) as u16;
    trust.maxLeases = rng.range(u64::from(trust.baseLeases.max(1)), 6) as u16;
    if !trust.anonMaxFee.is_zero() {
        trust.anonMinFee = U96::from(TOKEN / 1_000 * u128::from(rng.range(1, 5)));
        trust.anonMaxFee = trust.anonMinFee * U96::from(rng.range(1, 100));
    }
    next
}

/// A random machine, terms and image list.
fn random_offer(rng: &mut Rng) -> (Offers::OfferSpec, Offers::OfferTerms, Vec<Offers::Image>) {
    let gpus = if rng.chance(30) {
        rng.range(1, 8) as u16
    } else {
        0
    };
    let spec = Offers::OfferSpec {
        vcpus: *rng.pick(&[1, 2, 4, 8, 16, 32]),
        ramMiB: *rng.pick(&[1_024, 2_048, 4_096, 16_384, 65_536]),
        diskGiB: *rng.pick(&[10, 20, 40, 80, 500]),
        gpuCount: gpus,
        bandwidthUpMbps: *rng.pick(&[0, 100, 1_000, 10_000]),
        bandwidthDownMbps: *rng.pick(&[100, 1_000, 10_000]),
        publicIpv4: rng.chance(60),
        publicIpv6: rng.chance(80),
        gpuModel: if gpus == 0 {
            String::new()
        } else {
            (*rng.pick(&GPUS)).into()
        },
        region: (*rng.pick(&REGIONS)).into(),
    };
    let terms = Offers::OfferTerms {
        pricePerSecond: U96::from(rng.range(1, 50) * 100_000_000_000),
        capacity: rng.range(1, 3) as u32,
        bootTimeout: *rng.pick(&[60, 300, 600, 1_800]),
        retention: *rng.pick(&[0, 600, 3_600, 86_400]),
    };
    (spec, terms, random_images(rng))
}

/// One to three distinct images from [`IMAGES`].
fn random_images(rng: &mut Rng) -> Vec<Offers::Image> {
    let count = rng.range(1, 3) as usize;
    let first = rng.index(IMAGES.len());
    (0..count)
        .map(|i| {
            let name = IMAGES[(first + i) % IMAGES.len()];
            Offers::Image {
                id: keccak256(name),
                name: name.into(),
            }
        })
        .collect()
}
