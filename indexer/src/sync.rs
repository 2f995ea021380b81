//! Following the chain: a historical backfill with `eth_getLogs` over adaptive block ranges up to the
//! last final block, then block-by-block live following with reorg detection by parent hash.
//!
//! Blocks deeper than `finality_depth` below the head are final: they are applied without undo
//! images. Newer blocks are applied one at a time, with the hash of each remembered and the image of
//! every row they change saved, so that a reorg rolls back exactly what the orphaned blocks wrote.

use crate::{
    api::OfferCatalog,
    apply::{Appended, Applier, ApplyError, EventRecord},
    metrics::Metrics,
    state::State,
    store::{Batch, BlockRecord, Checkpoint, RollbackReport, Store, StoreError},
};
use alloy::{
    eips::BlockNumberOrTag,
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    transports::TransportError,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{broadcast, mpsc, watch};
use utter_bindings::Deployment;

/// How the indexer follows the chain.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Blocks below the head after which a block is final. A reorg deeper than this stops the indexer.
    pub finality_depth: u64,
    /// First `eth_getLogs` range of the backfill, in blocks.
    pub initial_range: u64,
    /// Largest `eth_getLogs` range.
    pub max_range: u64,
    /// Write a backfill batch once it holds this many events.
    pub batch_events: usize,
    /// How often to ask for a new head when caught up.
    pub poll_interval: Duration,
    /// Show a progress bar during the backfill (when stderr is a terminal).
    pub progress: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            finality_depth: 64,
            initial_range: 2_000,
            max_range: 100_000,
            batch_events: 20_000,
            poll_interval: Duration::from_millis(100),
            progress: false,
        }
    }
}

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The RPC endpoint failed (after retries).
    #[error("RPC {call}: {source}")]
    Rpc {
        /// What was asked.
        call: String,
        /// The transport error.
        source: TransportError,
    },
    /// The node does not know a block it just announced.
    #[error("the node does not know block {0}")]
    MissingBlock(u64),
    /// The node serves another chain than the deployment's.
    #[error("the RPC endpoint serves chain {actual}, the deployment is on chain {expected}")]
    WrongChain {
        /// The deployment's chain.
        expected: u64,
        /// The node's chain.
        actual: u64,
    },
    /// A reorg replaced blocks older than the undo information kept.
    #[error(
        "reorg deeper than the finality depth ({depth} blocks): block {block} changed and no remembered block \
         is on the new chain; the database is left as it was at block {checkpoint}; re-index with a larger \
         --finality-depth"
    )]
    ReorgTooDeep {
        /// The configured depth.
        depth: u64,
        /// The first mismatching block found.
        block: u64,
        /// Where the database stands.
        checkpoint: u64,
    },
    /// A log could not be applied.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whether trying again later may succeed: the node or the database was unreachable or failed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Rpc { .. } | Self::MissingBlock(_) | Self::Store(StoreError::Sql(_))
        )
    }
}

/// What the indexer publishes as it goes: its position and each applied event.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The chain head last seen.
    pub head: u64,
    /// The last applied block.
    pub indexed: u64,
    /// Its timestamp.
    pub indexed_timestamp: u64,
    /// Whether the backfill is done.
    pub live: bool,
}

/// The chain follower.
#[derive(Debug)]
pub struct Indexer {
    store: Store,
    provider: DynProvider,
    deployment: Deployment,
    applier: Applier,
    config: SyncConfig,
    state: State,
    /// The offers search's view of `state`, as committed.
    catalog: OfferCatalog,
    checkpoint: Option<Checkpoint>,
    metrics: Metrics,
    events: broadcast::Sender<Arc<EventRecord>>,
    progress: watch::Sender<Progress>,
}

type Result<T, E = SyncError> = std::result::Result<T, E>;

fn rpc(call: impl Into<String>) -> impl FnOnce(TransportError) -> SyncError {
    let call = call.into();
    move |source| SyncError::Rpc { call, source }
}

impl Indexer {
    /// An indexer of `deployment` over `provider` into `store`, resuming at the store's checkpoint.
    pub async fn new(
        store: Store,
        provider: DynProvider,
        deployment: Deployment,
        config: SyncConfig,
        metrics: Metrics,
    ) -> Result<Self> {
        let chain_id = provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
        if chain_id != deployment.chain_id {
            return Err(SyncError::WrongChain {
                expected: deployment.chain_id,
                actual: chain_id,
            });
        }
        let checkpoint = store.checkpoint(chain_id, deployment.escrow).await?;
        let state = store.load_state().await?;
        let catalog = OfferCatalog::from_state(&state);
        let (events, _) = broadcast::channel(4096);
        let indexed = checkpoint.as_ref().map_or(0, |c| c.block_number);
        let (progress, _) = watch::channel(Progress {
            head: indexed,
            indexed,
            indexed_timestamp: checkpoint.as_ref().map_or(0, |c| c.block_timestamp),
            live: false,
        });
        Ok(Self {
            store,
            provider,
            applier: Applier::new(deployment),
            deployment,
            config,
            state,
            catalog,
            checkpoint,
            metrics,
            events,
            progress,
        })
    }

    /// Applied events as they are committed, for the live stream.
    pub fn events(&self) -> broadcast::Sender<Arc<EventRecord>> {
        self.events.clone()
    }

    /// The indexer's position as it moves.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The offers catalog the API searches, kept equal to what the database holds: updated after
    /// each committed batch, rebuilt whenever the state is reloaded from the database.
    pub fn catalog(&self) -> OfferCatalog {
        self.catalog.clone()
    }

    /// Takes the state back from the database (after a rollback, or when the memory state ran
    /// ahead of a failed write), and the catalog with it.
    async fn reload(&mut self) -> Result<()> {
        self.state = self.store.load_state().await?;
        self.catalog.replace(&self.state).await;
        Ok(())
    }

    /// The state in memory (for tests).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The last applied block.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    fn next_block(&self) -> u64 {
        self.checkpoint
            .as_ref()
            .map_or(self.deployment.deploy_block, |c| c.block_number + 1)
    }

    /// Follows the chain until `stop` turns true or a fatal error. RPC and database failures are
    /// retried with a growing pause (up to 10 s), logged and counted; a reorg deeper than the finality
    /// depth, a log that does not apply or another deployment's database stop it.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<()> {
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let pause = match self.step().await {
                Ok(true) => {
                    failures = 0;
                    continue;
                }
                Ok(false) => {
                    failures = 0;
                    self.config.poll_interval
                }
                Err(error) if error.is_transient() => {
                    failures += 1;
                    self.metrics.rpc_errors.inc();
                    let pause =
                        Duration::from_millis(100 << failures.min(7)).min(Duration::from_secs(10));
                    tracing::warn!(%error, failures, retry_in_ms = pause.as_millis() as u64, "retrying");
                    pause
                }
                Err(error) => return Err(error),
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Does one unit of work: a backfill to the final block, or one live block, or a reorg check.
    /// Returns whether the index moved.
    pub async fn step(&mut self) -> Result<bool> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(rpc("eth_blockNumber"))?;
        self.metrics.head.set(head as i64);
        let indexed = self.checkpoint.as_ref().map_or(0, |c| c.block_number);
        self.metrics.lag.set(head.saturating_sub(indexed) as i64);
        let finalized = head.saturating_sub(self.config.finality_depth);
        // Our last block must still be canonical before anything is built on it, live or backfill:
        // a reorg may have happened while the indexer was down, however long ago.
        if let Some(checkpoint) = self.checkpoint.clone() {
            let canonical = self.header(checkpoint.block_number).await?;
            if canonical.as_ref().map(|b| b.hash) != Some(checkpoint.block_hash) {
                self.reorg(checkpoint.block_number).await?;
                return Ok(true);
            }
        }
        let next = self.next_block();
        if next <= finalized && next < head {
            self.backfill(next, finalized, head).await?;
            return Ok(true);
        }
        let next = self.next_block();
        if next > head {
            self.publish(head, true);
            return Ok(false);
        }
        let Some(block) = self.header(next).await? else {
            return Ok(false);
        };
        if let Some(checkpoint) = &self.checkpoint
            && block.parent_hash != checkpoint.block_hash
        {
            let at = checkpoint.block_number;
            self.reorg(at).await?;
            return Ok(true);
        }
        let logs = self
            .provider
            .get_logs(
                &Filter::new()
                    .address(self.applier.addresses())
                    .at_block_hash(block.hash),
            )
            .await
            .map_err(rpc(format!("eth_getLogs at block {}", block.hash)))?;
        let mut timestamps = HashMap::from([(block.number, block.timestamp)]);
        let mut appended = Appended::default();
        self.apply_logs(&logs, &mut timestamps, &mut appended, Some(finalized))?;
        let checkpoint = Checkpoint {
            block_number: block.number,
            block_hash: block.hash,
            block_timestamp: block.timestamp,
        };
        self.write(appended, vec![block], checkpoint, finalized)
            .await?;
        self.publish(head, true);
        Ok(true)
    }

    async fn header(&self, number: u64) -> Result<Option<BlockRecord>> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc(format!("eth_getBlockByNumber {number}")))?;
        Ok(block.map(|b| BlockRecord {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    fn apply_logs(
        &mut self,
        logs: &[Log],
        timestamps: &mut HashMap<u64, u64>,
        appended: &mut Appended,
        keep_undo_above: Option<u64>,
    ) -> Result<()> {
        let mut current = None;
        for log in logs {
            if log.removed {
                continue;
            }
            let number = log.block_number.ok_or(ApplyError::Unpositioned)?;
            if current != Some(number) {
                let keep = keep_undo_above.is_some_and(|f| number > f);
                self.state.begin_block(number, keep);
                current = Some(number);
            }
            let position = Applier::position(log, timestamps.get(&number).copied())?;
            self.applier
                .apply(&mut self.state, log, position, appended)?;
        }
        Ok(())
    }

    async fn write(
        &mut self,
        appended: Appended,
        blocks: Vec<BlockRecord>,
        checkpoint: Checkpoint,
        finalized: u64,
    ) -> Result<()> {
        let started = Instant::now();
        let events = appended.events.clone();
        let blocks_done = checkpoint.block_number + 1 - self.next_block();
        let changes = self.state.take_changes();
        let update = OfferCatalog::prepare(&changes);
        let batch = Batch {
            appended,
            changes,
            blocks,
            checkpoint: Some(checkpoint.clone()),
            finalized,
        };
        if let Err(error) = self
            .store
            .write(batch, self.deployment.chain_id, self.deployment.escrow)
            .await
        {
            // The memory state ran ahead of the database: take it back from the database.
            self.reload().await?;
            return Err(error.into());
        }
        self.catalog.apply(update).await;
        self.metrics
            .batch_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.blocks.inc_by(blocks_done);
        self.metrics.events.inc_by(events.len() as u64);
        self.metrics.indexed.set(checkpoint.block_number as i64);
        self.checkpoint = Some(checkpoint);
        for event in events {
            // No subscriber is fine.
            let _ = self.events.send(Arc::new(event));
        }
        Ok(())
    }

    fn publish(&self, head: u64, live: bool) {
        let checkpoint = self.checkpoint.as_ref();
        self.progress.send_replace(Progress {
            head,
            indexed: checkpoint.map_or(0, |c| c.block_number),
            indexed_timestamp: checkpoint.map_or(0, |c| c.block_timestamp),
            live,
        });
    }

    /// Finds where the remembered blocks meet the canonical chain and rolls back to there.
    async fn reorg(&mut self, mismatch_at: u64) -> Result<RollbackReport> {
        let remembered = self.store.recent_blocks().await?;
        let mut fork = None;
        for block in &remembered {
            if block.number > mismatch_at {
                continue;
            }
            let canonical = self.header(block.number).await?;
            if canonical.is_some_and(|c| c.hash == block.hash) {
                fork = Some(block.clone());
                break;
            }
        }
        let checkpoint = self.checkpoint.as_ref().map_or(0, |c| c.block_number);
        let Some(fork) = fork else {
            return Err(SyncError::ReorgTooDeep {
                depth: self.config.finality_depth,
                block: mismatch_at,
                checkpoint,
            });
        };
        // No search may answer from the orphaned blocks once the rollback is committed.
        let hold = self.catalog.hold().await;
        let report = self.store.rollback(&fork).await?;
        match self.store.load_state().await {
            Ok(state) => {
                self.state = state;
                hold.replace(&self.state);
            }
            Err(error) => {
                hold.clear();
                return Err(error.into());
            }
        }
        let depth = checkpoint - fork.number;
        tracing::warn!(
            fork = fork.number,
            depth,
            rows = report.rows_restored,
            events = report.events_removed,
            "chain reorganised: rolled back"
        );
        self.metrics.reorgs.inc();
        self.metrics.reorged_blocks.inc_by(depth);
        self.checkpoint = Some(Checkpoint {
            block_number: fork.number,
            block_hash: fork.hash,
            block_timestamp: fork.timestamp,
        });
        self.metrics.indexed.set(fork.number as i64);
        Ok(report)
    }

    /// Applies the final blocks `from..=to` from `eth_getLogs` ranges fetched ahead by a task.
    async fn backfill(&mut self, from: u64, to: u64, head: u64) -> Result<()> {
        let bar = if self.config.progress {
            let bar = ProgressBar::new(to + 1 - from);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} backfill [{bar:40}] {pos}/{len} blocks {per_sec} eta {eta} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        // Two ranges fetched ahead bound the memory held in flight.
        let (tx, mut rx) = mpsc::channel::<Result<Fetched>>(2);
        let fetcher = Fetcher {
            provider: self.provider.clone(),
            addresses: self.applier.addresses(),
            range: self
                .config
                .initial_range
                .clamp(1, self.config.max_range.max(1)),
            max_range: self.config.max_range.max(1),
            metrics: self.metrics.clone(),
        };
        let task = tokio::spawn(fetcher.run(from, to, tx));
        let mut appended = Appended::default();
        let result = async {
            while let Some(fetched) = rx.recv().await {
                let mut fetched = fetched?;
                self.apply_logs(&fetched.logs, &mut fetched.timestamps, &mut appended, None)?;
                bar.set_position(fetched.end.number + 1 - from);
                bar.set_message(format!("{} events", appended.events.len()));
                let end = fetched.end;
                let full = appended.events.len() >= self.config.batch_events;
                let done = end.number >= to;
                if full || done || rx.is_empty() {
                    let checkpoint = Checkpoint {
                        block_number: end.number,
                        block_hash: end.hash,
                        block_timestamp: end.timestamp,
                    };
                    let batch = std::mem::take(&mut appended);
                    self.write(batch, vec![end], checkpoint, to).await?;
                    self.publish(head, false);
                }
            }
            Ok::<_, SyncError>(())
        }
        .await;
        task.abort();
        bar.finish_and_clear();
        if result.is_err() {
            // What was applied but not written is dropped with the memory state.
            self.reload().await?;
        }
        result
    }
}

/// One fetched range: its logs and its last block's header.
struct Fetched {
    logs: Vec<Log>,
    /// Timestamps of blocks whose logs came without one (not every node includes `blockTimestamp`).
    timestamps: HashMap<u64, u64>,
    end: BlockRecord,
}

/// Fetches ranges of logs ahead of the applier, growing the range while calls are quick and
/// splitting it when the node refuses or times out.
struct Fetcher {
    provider: DynProvider,
    addresses: Vec<alloy::primitives::Address>,
    range: u64,
    max_range: u64,
    metrics: Metrics,
}

/// Attempts of one range at the smallest size before giving up.
const MAX_ATTEMPTS: u32 = 6;

impl Fetcher {
    async fn run(mut self, from: u64, to: u64, tx: mpsc::Sender<Result<Fetched>>) {
        let mut start = from;
        let mut failures = 0;
        while start <= to {
            let end = start.saturating_add(self.range - 1).min(to);
            let filter = Filter::new()
                .address(self.addresses.clone())
                .from_block(start)
                .to_block(end);
            let started = Instant::now();
            let call =
                tokio::time::timeout(Duration::from_secs(30), self.provider.get_logs(&filter));
            let logs = match call.await {
                Ok(Ok(logs)) => logs,
                failed => {
                    self.metrics.rpc_errors.inc();
                    let reason = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    if self.range > 1 {
                        self.range = (self.range / 2).max(1);
                        tracing::debug!(start, end, range = self.range, %reason, "eth_getLogs refused: splitting");
                        continue;
                    }
                    failures += 1;
                    if failures >= MAX_ATTEMPTS {
                        let error = SyncError::Rpc {
                            call: format!("eth_getLogs {start}..={end}"),
                            source: TransportError::local_usage_str(&reason),
                        };
                        let _ = tx.send(Err(error)).await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200 << failures)).await;
                    continue;
                }
            };
            failures = 0;
            let elapsed = started.elapsed();
            self.metrics.rpc_seconds.observe(elapsed.as_secs_f64());
            let header = match self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(end))
                .await
            {
                Ok(Some(b)) => BlockRecord {
                    number: b.header.number,
                    hash: b.header.hash,
                    parent_hash: b.header.parent_hash,
                    timestamp: b.header.timestamp,
                },
                Ok(None) => {
                    let _ = tx.send(Err(SyncError::MissingBlock(end))).await;
                    return;
                }
                Err(source) => {
                    let _ = tx
                        .send(Err(SyncError::Rpc {
                            call: format!("eth_getBlockByNumber {end}"),
                            source,
                        }))
                        .await;
                    return;
                }
            };
            // Grow while a call is fast and not huge.
            if elapsed < Duration::from_millis(500) && logs.len() < 20_000 {
                self.range = (self.range * 2).min(self.max_range);
            } else if elapsed > Duration::from_secs(5) {
                self.range = (self.range / 2).max(1);
            }
            let mut timestamps = HashMap::new();
            for log in &logs {
                if let (None, Some(number)) = (log.block_timestamp, log.block_number)
                    && !timestamps.contains_key(&number)
                {
                    match self
                        .provider
                        .get_block_by_number(BlockNumberOrTag::Number(number))
                        .await
                    {
                        Ok(Some(block)) => {
                            timestamps.insert(number, block.header.timestamp);
                        }
                        _ => {
                            let _ = tx.send(Err(SyncError::MissingBlock(number))).await;
                            return;
                        }
                    }
                }
            }
            if tx
                .send(Ok(Fetched {
                    logs,
                    timestamps,
                    end: header,
                }))
                .await
                .is_err()
            {
                return;
            }
            start = end + 1;
        }
    }
}
