//! `GET /v1/events/stream`: applied events and derived runway warnings as Server-Sent Events.
//!
//! - Each contract event is an SSE event named by its kind (`LeaseOpened`, …) with id
//!   `{block_number}-{log_index}` and a [`StreamEvent`] as JSON data.
//! - Warnings the chain cannot emit, because it records a running lease's spending lazily:
//!   `runway_low` when a running lease's paid-until time comes within 1 h and again within 10 min
//!   of the last indexed block's time, and `ran_dry` when it has passed. They carry no id (so they
//!   do not move `Last-Event-ID`). One background task ([`spawn_runway_watch`]) checks the running
//!   leases after each committed block and warns once per lease, run (acknowledgement) and
//!   threshold; a top-up that lifts the runway back above a threshold re-arms it. A lease that
//!   crosses both thresholds between two blocks gets the 10 min warning only. The memory of sent
//!   warnings lives in the API process: a restart may repeat a warning.
//! - `?lease=`, `?buyer=`, `?provider=`, `?offer=` keep the events (and warnings) concerning all of
//!   them.
//! - Replay: `Last-Event-ID: {block}-{log}` (what an `EventSource` sends on reconnect) or
//!   `?since_block=N` first sends the stored events after that position (at most
//!   [`REPLAY_LIMIT`]), then the live ones, without duplicates.
//! - A client too slow for the live stream gets a `lagged` event with the number skipped; it may
//!   reconnect with its last id to replay them. A comment line is sent every 15 s as keep-alive.

use super::{
    App,
    accounting::runway,
    db::Sql,
    error::{ApiError, ApiQuery, ErrorBody},
    params,
};
use crate::{
    apply::EventRecord,
    columns::{Column, hex_address},
    model::lease_status,
    store::Store,
    sync::Progress,
};
use alloy::primitives::U256;
use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt as _, stream};
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::{broadcast, watch};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use utoipa::{IntoParams, ToSchema};

/// Most stored events one replay sends.
pub(crate) const REPLAY_LIMIT: i64 = 10_000;

/// Runway thresholds that warn, longest first, seconds.
pub(crate) const THRESHOLDS: [u64; 2] = [3_600, 600];

/// One applied event, as sent on the stream.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct StreamEvent {
    /// `{block_number}-{log_index}`: the SSE id, for `Last-Event-ID`.
    id: String,
    /// Block.
    block_number: u64,
    /// Block hash.
    block_hash: String,
    /// Block timestamp.
    block_timestamp: u64,
    /// Transaction.
    tx_hash: String,
    /// Index of the log in its block.
    log_index: u64,
    /// The emitting contract, e.g. `LeaseEscrow`.
    contract: String,
    /// The event, e.g. `LeaseOpened`.
    kind: String,
    /// The lease it concerns.
    lease_id: Option<u64>,
    /// The buyer it concerns.
    buyer: Option<String>,
    /// The provider it concerns.
    provider: Option<String>,
    /// The offer it concerns.
    offer_id: Option<u32>,
    /// The pool it concerns.
    pool_id: Option<u32>,
    /// The decoded arguments, amounts as decimal strings.
    #[schema(value_type = Object)]
    fields: serde_json::Value,
}

impl From<&EventRecord> for StreamEvent {
    fn from(e: &EventRecord) -> Self {
        Self {
            id: format!("{}-{}", e.position.block_number, e.position.log_index),
            block_number: e.position.block_number,
            block_hash: e.position.block_hash.to_string(),
            block_timestamp: e.position.block_timestamp,
            tx_hash: e.position.tx_hash.to_string(),
            log_index: e.position.log_index,
            contract: e.contract.to_owned(),
            kind: e.kind.to_owned(),
            lease_id: e.lease_id,
            buyer: e.buyer.as_ref().map(hex_address),
            provider: e.provider.as_ref().map(hex_address),
            offer_id: e.offer_id,
            pool_id: e.pool_id,
            fields: e.fields.clone(),
        }
    }
}

/// A warning about a running lease's runway.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct Warning {
    /// `runway_low` or `ran_dry`.
    kind: String,
    /// The lease.
    lease_id: u64,
    /// Its buyer.
    buyer: String,
    /// Its provider.
    provider: String,
    /// Its offer.
    offer_id: u32,
    /// Its pool.
    pool_id: u32,
    /// `runway_low`: the threshold crossed, seconds (3600 or 600).
    threshold_seconds: Option<u64>,
    /// When its balance runs (ran) out.
    paid_until: u64,
    /// The indexed block's time at which this was noticed.
    noticed_at: u64,
    /// The indexed block at which this was noticed.
    block_number: u64,
}

/// Stream filters; all that are given must match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// Only events of this lease.
    #[param(value_type = Option<u64>)]
    lease: Option<String>,
    /// Only events concerning this buyer.
    buyer: Option<String>,
    /// Only events concerning this provider.
    provider: Option<String>,
    /// Only events concerning this offer.
    #[param(value_type = Option<u32>)]
    offer: Option<String>,
    /// First replay the stored events from this block on.
    #[param(value_type = Option<u64>)]
    since_block: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct Filter {
    lease: Option<u64>,
    buyer: Option<String>,
    provider: Option<String>,
    offer: Option<u32>,
}

impl Filter {
    fn matches(
        &self,
        lease: Option<u64>,
        buyer: Option<&str>,
        provider: Option<&str>,
        offer: Option<u32>,
    ) -> bool {
        self.lease.is_none_or(|l| lease == Some(l))
            && self.buyer.as_deref().is_none_or(|b| buyer == Some(b))
            && self.provider.as_deref().is_none_or(|p| provider == Some(p))
            && self.offer.is_none_or(|o| offer == Some(o))
    }

    fn matches_event(&self, e: &StreamEvent) -> bool {
        self.matches(
            e.lease_id,
            e.buyer.as_deref(),
            e.provider.as_deref(),
            e.offer_id,
        )
    }

    fn matches_warning(&self, w: &Warning) -> bool {
        self.matches(
            Some(w.lease_id),
            Some(&w.buyer),
            Some(&w.provider),
            Some(w.offer_id),
        )
    }
}

fn sse_event(e: &StreamEvent) -> Event {
    Event::default()
        .event(e.kind.clone())
        .id(e.id.clone())
        .json_data(e)
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

fn sse_warning(w: &Warning) -> Event {
    Event::default()
        .event(w.kind.clone())
        .json_data(w)
        .unwrap_or_else(|_| Event::default().comment("unserialisable warning"))
}

fn sse_lagged(stream: &str, skipped: u64) -> Event {
    Event::default()
        .event("lagged")
        .json_data(serde_json::json!({"stream": stream, "skipped": skipped}))
        .unwrap_or_else(|_| Event::default().comment("lagged"))
}

enum Live {
    Event(Arc<EventRecord>),
    Warning(Arc<Warning>),
    Lagged(&'static str, u64),
}

/// Parses a `Last-Event-ID` (`{block}-{log}`).
fn parse_last_event_id(value: &str) -> Result<(i64, i64), ApiError> {
    let bad = || {
        ApiError::bad(
            "Last-Event-ID",
            "invalid_value",
            "Last-Event-ID must be an id of this stream: {block_number}-{log_index}",
        )
    };
    let (block, log) = value.split_once('-').ok_or_else(bad)?;
    let block = params::number("Last-Event-ID", Some(block)).map_err(|_| bad())?;
    let log = params::number("Last-Event-ID", Some(log)).map_err(|_| bad())?;
    Ok((block.unwrap_or_default(), log.unwrap_or_default()))
}

async fn replay(
    store: &Store,
    filter: &Filter,
    after: (i64, i64),
) -> Result<Vec<StreamEvent>, ApiError> {
    let mut sql = Sql::new(
        "SELECT block_hash, log_index, block_number, block_timestamp, tx_hash, contract, kind, \
         lease_id, buyer, provider, offer_id, pool_id, fields FROM events WHERE ",
    );
    let block = sql.int(after.0);
    let log = sql.int(after.1);
    let mut conditions = vec![format!(
        "(block_number > {block} OR (block_number = {block} AND log_index > {log}))"
    )];
    if let Some(lease) = filter.lease {
        conditions.push(format!("lease_id = {}", sql.int(lease as i64)));
    }
    if let Some(buyer) = &filter.buyer {
        conditions.push(format!("buyer = {}", sql.text(buyer.clone())));
    }
    if let Some(provider) = &filter.provider {
        conditions.push(format!("provider = {}", sql.text(provider.clone())));
    }
    if let Some(offer) = filter.offer {
        conditions.push(format!("offer_id = {}", sql.int(offer.into())));
    }
    sql.push(&conditions.join(" AND "));
    let limit = sql.int(REPLAY_LIMIT);
    sql.push(&format!(" ORDER BY block_number, log_index LIMIT {limit}"));
    let rows = sql.fetch_all(store.pool()).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let block_number = u64::read(row, "block_number")?;
        let log_index = u64::read(row, "log_index")?;
        events.push(StreamEvent {
            id: format!("{block_number}-{log_index}"),
            block_number,
            block_hash: String::read(row, "block_hash")?,
            block_timestamp: u64::read(row, "block_timestamp")?,
            tx_hash: String::read(row, "tx_hash")?,
            log_index,
            contract: String::read(row, "contract")?,
            kind: String::read(row, "kind")?,
            lease_id: Option::<i64>::read_opt(row, "lease_id")?.map(|v| v as u64),
            buyer: Option::<String>::read_opt(row, "buyer")?,
            provider: Option::<String>::read_opt(row, "provider")?,
            offer_id: Option::<i64>::read_opt(row, "offer_id")?.map(|v| v as u32),
            pool_id: Option::<i64>::read_opt(row, "pool_id")?.map(|v| v as u32),
            fields: serde_json::from_str(&String::read(row, "fields")?).unwrap_or_default(),
        });
    }
    Ok(events)
}

/// Reads a nullable column.
trait ReadOpt: Sized {
    fn read_opt(row: &sqlx::any::AnyRow, name: &str) -> Result<Self, sqlx::Error>;
}

impl<T> ReadOpt for Option<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    fn read_opt(row: &sqlx::any::AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        row.try_get(name)
    }
}

/// The live event stream, as Server-Sent Events.
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "events",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Replay the stored events after this id"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: each contract event named by its kind with a StreamEvent as data; `runway_low` and `ran_dry` with a Warning; `lagged` with the number skipped", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "A bad parameter; `field` names it", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = Filter {
        lease: params::number("lease", q.lease.as_deref())?.map(|v| v as u64),
        buyer: params::opt_address("buyer", q.buyer.as_deref())?,
        provider: params::opt_address("provider", q.provider.as_deref())?,
        offer: params::bounded("offer", q.offer.as_deref(), u32::MAX.into())?.map(|v| v as u32),
    };
    let since_block = params::number("since_block", q.since_block.as_deref())?;
    let last_event_id = match headers.get("last-event-id") {
        Some(value) => Some(parse_last_event_id(value.to_str().unwrap_or_default())?),
        None => None,
    };
    // Subscribe before reading the replay, so nothing falls between the two.
    let events = BroadcastStream::new(app.context.events.subscribe()).map(|r| match r {
        Ok(e) => Live::Event(e),
        Err(BroadcastStreamRecvError::Lagged(n)) => Live::Lagged("events", n),
    });
    let warnings = BroadcastStream::new(app.warnings.subscribe()).map(|r| match r {
        Ok(w) => Live::Warning(w),
        Err(BroadcastStreamRecvError::Lagged(n)) => Live::Lagged("warnings", n),
    });
    let after = last_event_id.or(since_block.map(|b| (b, -1)));
    let replayed = match after {
        Some(after) => replay(&app.context.store, &filter, after).await?,
        None => Vec::new(),
    };
    // Live events at or before the replay's end were sent already.
    let cutoff: Option<(i64, i64)> = replayed
        .last()
        .map(|e| (e.block_number as i64, e.log_index as i64))
        .or(after);
    let live = stream::select(events, warnings).filter_map(move |item| {
        let out = match item {
            Live::Event(record) => {
                let position = (
                    record.position.block_number as i64,
                    record.position.log_index as i64,
                );
                let event = StreamEvent::from(record.as_ref());
                (cutoff.is_none_or(|c| position > c) && filter.matches_event(&event))
                    .then(|| sse_event(&event))
            }
            Live::Warning(w) => filter.matches_warning(&w).then(|| sse_warning(&w)),
            Live::Lagged(which, n) => Some(sse_lagged(which, n)),
        };
        std::future::ready(out)
    });
    let replayed = stream::iter(replayed.into_iter().map(|e| sse_event(&e)));
    let all = replayed.chain(live).map(Ok::<_, Infallible>);
    Ok(Sse::new(all).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// What has been warned about one running lease.
#[derive(Debug, Default)]
struct Warned {
    started_at: u64,
    thresholds: [bool; THRESHOLDS.len()],
    dry: bool,
}

/// The warnings already sent, by lease.
#[derive(Debug, Default)]
pub(crate) struct RunwayWatch {
    warned: HashMap<u64, Warned>,
}

/// A running lease as the watch reads it.
#[derive(Debug, Clone)]
pub(crate) struct RunningLease {
    /// Lease.
    pub(crate) lease_id: u64,
    /// Buyer.
    pub(crate) buyer: String,
    /// Provider.
    pub(crate) provider: String,
    /// Offer.
    pub(crate) offer_id: u32,
    /// Pool.
    pub(crate) pool_id: u32,
    /// When its current run started (distinguishes runs).
    pub(crate) started_at: u64,
    /// When its balance runs out.
    pub(crate) paid_until: u64,
}

impl RunwayWatch {
    /// The warnings due at `now` (block `block`) for `running`, remembering them.
    pub(crate) fn due(&mut self, running: &[RunningLease], now: u64, block: u64) -> Vec<Warning> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for lease in running {
            seen.insert(lease.lease_id);
            let warned = self.warned.entry(lease.lease_id).or_default();
            if warned.started_at != lease.started_at {
                *warned = Warned {
                    started_at: lease.started_at,
                    ..Warned::default()
                };
            }
            let warning = |kind: &str, threshold: Option<u64>| Warning {
                kind: kind.to_owned(),
                lease_id: lease.lease_id,
                buyer: lease.buyer.clone(),
                provider: lease.provider.clone(),
                offer_id: lease.offer_id,
                pool_id: lease.pool_id,
                threshold_seconds: threshold,
                paid_until: lease.paid_until,
                noticed_at: now,
                block_number: block,
            };
            if lease.paid_until <= now {
                if !warned.dry {
                    warned.dry = true;
                    warned.thresholds = [true; THRESHOLDS.len()];
                    out.push(warning("ran_dry", None));
                }
                continue;
            }
            let remaining = lease.paid_until - now;
            for (i, threshold) in THRESHOLDS.iter().enumerate() {
                if remaining > *threshold {
                    warned.thresholds[i] = false;
                }
            }
            // The most urgent threshold crossed; the longer ones count as warned with it.
            if let Some(i) = THRESHOLDS.iter().rposition(|t| remaining <= *t) {
                if !warned.thresholds[i] {
                    out.push(warning("runway_low", Some(THRESHOLDS[i])));
                }
                for flag in &mut warned.thresholds[..=i] {
                    *flag = true;
                }
            }
        }
        self.warned.retain(|id, _| seen.contains(id));
        out
    }
}

async fn running_leases(store: &Store) -> Result<Vec<RunningLease>, ApiError> {
    let mut sql = Sql::new(
        "SELECT lease_id, buyer, provider, offer_id, pool_id, funds, price_per_second, settled_at, \
         started_at FROM leases WHERE status = ",
    );
    let p = sql.int(lease_status::RUNNING.into());
    sql.push(&p);
    let rows = sql.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let funds = U256::read(row, "funds")?;
        let price = U256::read(row, "price_per_second")?;
        out.push(RunningLease {
            lease_id: u64::read(row, "lease_id")?,
            buyer: String::read(row, "buyer")?,
            provider: String::read(row, "provider")?,
            offer_id: u32::read(row, "offer_id")?,
            pool_id: u32::read(row, "pool_id")?,
            started_at: u64::read(row, "started_at")?,
            paid_until: u64::read(row, "settled_at")?.saturating_add(runway(funds, price)),
        });
    }
    Ok(out)
}

/// Starts the task that checks running leases' runways after each committed block and broadcasts
/// the warnings. It ends when the indexer's progress sender goes away. Outside a Tokio runtime
/// there is nothing to run it on, and no warnings are sent.
pub(crate) fn spawn_runway_watch(
    store: Store,
    mut progress: watch::Receiver<Progress>,
    warnings: broadcast::Sender<Arc<Warning>>,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no Tokio runtime: runway warnings are off");
        return;
    };
    runtime.spawn(async move {
        let mut watch = RunwayWatch::default();
        loop {
            let Progress {
                indexed,
                indexed_timestamp,
                ..
            } = progress.borrow_and_update().clone();
            if indexed_timestamp > 0 {
                match running_leases(&store).await {
                    Ok(running) => {
                        for warning in watch.due(&running, indexed_timestamp, indexed) {
                            // No receiver is not an error: nobody is listening.
                            let _ = warnings.send(Arc::new(warning));
                        }
                    }
                    Err(error) => tracing::warn!(?error, "checking runways"),
                }
            }
            if progress.changed().await.is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: u64, started_at: u64, paid_until: u64) -> RunningLease {
        RunningLease {
            lease_id: id,
            buyer: "0xb".into(),
            provider: "0xp".into(),
            offer_id: 1,
            pool_id: 1,
            started_at,
            paid_until,
        }
    }

    fn kinds(warnings: &[Warning]) -> Vec<(u64, String, Option<u64>)> {
        warnings
            .iter()
            .map(|w| (w.lease_id, w.kind.clone(), w.threshold_seconds))
            .collect()
    }

    #[test]
    fn warns_once_per_threshold_and_run() {
        let mut watch = RunwayWatch::default();
        let l = |paid_until| [lease(1, 100, paid_until)];
        assert!(watch.due(&l(10_000), 5_000, 1).is_empty());
        assert_eq!(
            kinds(&watch.due(&l(10_000), 6_400, 2)),
            [(1, "runway_low".into(), Some(3600))]
        );
        assert!(watch.due(&l(10_000), 6_500, 3).is_empty());
        assert_eq!(
            kinds(&watch.due(&l(10_000), 9_400, 4)),
            [(1, "runway_low".into(), Some(600))]
        );
        assert!(watch.due(&l(10_000), 9_500, 5).is_empty());
        assert_eq!(
            kinds(&watch.due(&l(10_000), 10_000, 6)),
            [(1, "ran_dry".into(), None)]
        );
        assert!(watch.due(&l(10_000), 10_100, 7).is_empty());
    }

    #[test]
    fn jumping_past_both_thresholds_warns_the_shorter_only() {
        let mut watch = RunwayWatch::default();
        let w = watch.due(&[lease(1, 0, 1_000)], 500, 1);
        assert_eq!(kinds(&w), [(1, "runway_low".into(), Some(600))]);
    }

    #[test]
    fn top_up_and_new_run_rearm() {
        let mut watch = RunwayWatch::default();
        assert_eq!(watch.due(&[lease(1, 0, 1_000)], 500, 1).len(), 1);
        // A top-up lifts the runway to 2 h: re-armed, then crossing 1 h warns again.
        assert!(watch.due(&[lease(1, 0, 7_700)], 500, 2).is_empty());
        assert_eq!(
            kinds(&watch.due(&[lease(1, 0, 7_700)], 4_100, 3)),
            [(1, "runway_low".into(), Some(3600))]
        );
        // Dry, then restarted (a new run): dry warns again.
        assert_eq!(watch.due(&[lease(1, 0, 7_700)], 7_700, 4).len(), 1);
        assert_eq!(
            kinds(&watch.due(&[lease(1, 9_000, 9_100)], 9_100, 5)),
            [(1, "ran_dry".into(), None)]
        );
    }
}
