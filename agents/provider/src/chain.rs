//! The agent's view of the chain: every event of the contracts up to a few blocks below the head,
//! applied with the indexer's own rules (`utter_indexer::apply`), so the agent needs no indexer and
//! agrees with it by construction.
//!
//! Each poll that finds a new head costs four RPC calls whatever the number of leases: the latest
//! header, the header of the last applied block (still canonical?), the logs of the new confirmed
//! range, and its last header. A poll that finds the same head costs one.

use crate::plan::{ChainStatus, Lease as PlanLease};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    transports::TransportError,
};
use std::collections::HashMap;
use utter_bindings::Deployment;
use utter_indexer::{
    apply::{Appended, Applier, ApplyError, LeaseOpeningRecord},
    model::{Lease, lease_status},
    state::State,
};

/// Why the chain could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC endpoint failed.
    #[error("RPC {call}: {source}")]
    Rpc {
        /// What was asked.
        call: String,
        /// Why it failed.
        source: TransportError,
    },
    /// The node lacks a block it announced.
    #[error("the node does not know block {0}")]
    MissingBlock(u64),
    /// An event did not apply.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

fn rpc(call: impl Into<String>) -> impl FnOnce(TransportError) -> ChainError {
    let call = call.into();
    move |source| ChainError::Rpc { call, source }
}

/// Largest `eth_getLogs` range.
const MAX_RANGE: u64 = 10_000;

/// The state of the contracts, `confirmations` blocks deep.
#[derive(Debug)]
pub struct ChainView {
    provider: DynProvider,
    deployment: Deployment,
    applier: Applier,
    me: Address,
    confirmations: u64,
    state: State,
    openings: HashMap<u64, LeaseOpeningRecord>,
    last: Option<(u64, B256)>,
    head_timestamp: u64,
    /// The latest head seen: an unchanged head makes a poll cost one call.
    head: Option<B256>,
    reorgs: u64,
}

impl ChainView {
    /// A view of `deployment` for the provider `me`, acting on blocks `confirmations` deep.
    pub fn new(
        provider: DynProvider,
        deployment: Deployment,
        me: Address,
        confirmations: u64,
    ) -> Self {
        Self {
            provider,
            applier: Applier::new(deployment),
            deployment,
            me,
            confirmations,
            state: State::default(),
            openings: HashMap::new(),
            last: None,
            head_timestamp: 0,
            head: None,
            reorgs: 0,
        }
    }

    /// Catches up with the confirmed head. Returns whether new blocks were applied.
    pub async fn sync(&mut self) -> Result<bool, ChainError> {
        let head = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc("eth_getBlockByNumber latest"))?
            .ok_or(ChainError::MissingBlock(0))?;
        self.head_timestamp = head.header.timestamp;
        if self.head == Some(head.header.hash) && self.last.is_some() {
            // Nothing new since the last complete poll: no reorg and no logs to read.
            return Ok(false);
        }
        let target = head.header.number.saturating_sub(self.confirmations);
        if let Some((number, hash)) = self.last {
            let canonical = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(number))
                .await
                .map_err(rpc(format!("eth_getBlockByNumber {number}")))?;
            if canonical.map(|b| b.header.hash) != Some(hash) {
                // A reorg deeper than the confirmations: start over from the deployment.
                tracing::warn!(
                    block = number,
                    "confirmed block replaced by a reorg: re-reading the chain"
                );
                self.reorgs += 1;
                self.state = State::default();
                self.openings.clear();
                self.last = None;
            }
        }
        let from = self
            .last
            .map_or(self.deployment.deploy_block, |(n, _)| n + 1);
        if from > target {
            self.head = Some(head.header.hash);
            return Ok(false);
        }
        let mut start = from;
        while start <= target {
            let end = (start + MAX_RANGE - 1).min(target);
            let logs = self
                .provider
                .get_logs(
                    &Filter::new()
                        .address(self.applier.addresses())
                        .from_block(start)
                        .to_block(end),
                )
                .await
                .map_err(rpc(format!("eth_getLogs {start}..={end}")))?;
            let mut appended = Appended::default();
            for log in &logs {
                let number = log.block_number.ok_or(ApplyError::Unpositioned)?;
                self.state.begin_block(number, false);
                let position = Applier::position(log, None)?;
                self.applier
                    .apply(&mut self.state, log, position, &mut appended)?;
            }
            // The agent keeps no database: what changed needs no writing back.
            drop(self.state.take_changes());
            for opening in appended.openings {
                let mine = self
                    .state
                    .leases
                    .get(&opening.lease_id)
                    .is_some_and(|l| l.provider == self.me);
                if mine {
                    self.openings.insert(opening.lease_id, opening);
                }
            }
            start = end + 1;
        }
        let end = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(target))
            .await
            .map_err(rpc(format!("eth_getBlockByNumber {target}")))?
            .ok_or(ChainError::MissingBlock(target))?;
        self.last = Some((target, end.header.hash));
        self.head = Some(head.header.hash);
        Ok(true)
    }

    /// The latest block's timestamp: "now" for deadlines and runways, which run on chain time.
    pub fn now(&self) -> u64 {
        self.head_timestamp
    }

    /// The last applied block.
    pub fn confirmed_block(&self) -> Option<u64> {
        self.last.map(|(n, _)| n)
    }

    /// Reorgs deeper than the confirmations seen so far.
    pub fn reorgs(&self) -> u64 {
        self.reorgs
    }

    /// The whole state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The provider this view serves.
    pub fn me(&self) -> Address {
        self.me
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// A lease.
    pub fn lease(&self, lease_id: u64) -> Option<&Lease> {
        self.state.leases.get(&lease_id)
    }

    /// What a lease of this provider was opened with.
    pub fn opening(&self, lease_id: u64) -> Option<&LeaseOpeningRecord> {
        self.openings.get(&lease_id)
    }

    /// This provider's leases, in the shape the planner takes.
    pub fn my_leases(&self) -> Vec<PlanLease> {
        self.state
            .leases
            .rows()
            .filter(|l| l.provider == self.me)
            .map(|l| PlanLease {
                lease_id: l.lease_id,
                offer_id: l.offer_id,
                status: match l.status {
                    lease_status::PENDING => ChainStatus::Pending,
                    lease_status::RUNNING => ChainStatus::Running,
                    lease_status::HALTED => ChainStatus::Halted,
                    lease_status::RESTART_PENDING => ChainStatus::RestartPending,
                    _ => ChainStatus::Closed,
                },
                deadline: l.deadline,
                paid_until: paid_until(l),
                image_id: l.image_id,
            })
            .collect()
    }

    /// Earnings of this provider waiting in leases at `now` (before the pool fee), and those leases.
    pub fn unwithdrawn(&self, now: u64) -> (U256, Vec<u64>) {
        let mut total = U256::ZERO;
        let mut ids = Vec::new();
        for lease in self.state.leases.rows().filter(|l| l.provider == self.me) {
            let earned = match lease.status {
                lease_status::RUNNING => {
                    let elapsed = U256::from(now.saturating_sub(lease.settled_at));
                    (elapsed * lease.price_per_second).min(lease.funds)
                }
                lease_status::HALTED | lease_status::CLOSED => lease.funds,
                _ => U256::ZERO,
            };
            if !earned.is_zero() {
                total += earned;
                ids.push(lease.lease_id);
            }
        }
        (total, ids)
    }
}

/// When a running lease runs dry: `settled_at + ceil(funds / price)`, the runway capped like the
/// escrow's at 2^32 - 1 seconds.
pub fn paid_until(lease: &Lease) -> u64 {
    if lease.price_per_second.is_zero() {
        return u64::MAX;
    }
    let runway = lease.funds.div_ceil(lease.price_per_second);
    let runway: u64 = runway.min(U256::from(u32::MAX)).to();
    lease.settled_at + runway
}
