//! Prometheus metrics of the indexer and its API.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::sync::{Arc, Mutex};

/// Labels of an API request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route pattern, e.g. `/v1/leases/{id}`.
    pub route: String,
    /// The status class, e.g. `2xx`.
    pub status: String,
}

/// Every metric, registered once.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    /// Blocks applied.
    pub blocks: Counter,
    /// Events applied.
    pub events: Counter,
    /// Reorgs handled.
    pub reorgs: Counter,
    /// Blocks rolled back by reorgs.
    pub reorged_blocks: Counter,
    /// The chain head as last seen.
    pub head: Gauge,
    /// The last applied block.
    pub indexed: Gauge,
    /// Blocks between the head and the last applied block.
    pub lag: Gauge,
    /// Seconds to write one batch.
    pub batch_seconds: Histogram,
    /// Seconds of one `eth_getLogs` call.
    pub rpc_seconds: Histogram,
    /// RPC calls that failed.
    pub rpc_errors: Counter,
    /// Seconds per API request.
    pub api_seconds: Family<RouteLabels, Histogram>,
}

fn seconds_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("utter_indexer");
        let metrics = Self {
            registry: Arc::default(),
            blocks: Counter::default(),
            events: Counter::default(),
            reorgs: Counter::default(),
            reorged_blocks: Counter::default(),
            head: Gauge::default(),
            indexed: Gauge::default(),
            lag: Gauge::default(),
            batch_seconds: Histogram::new(seconds_buckets()),
            rpc_seconds: Histogram::new(seconds_buckets()),
            rpc_errors: Counter::default(),
            api_seconds: Family::new_with_constructor(|| Histogram::new(seconds_buckets())),
        };
        registry.register("blocks", "Blocks applied", metrics.blocks.clone());
        registry.register("events", "Events applied", metrics.events.clone());
        registry.register(
            "reorgs",
            "Chain reorganisations handled",
            metrics.reorgs.clone(),
        );
        registry.register(
            "reorged_blocks",
            "Blocks rolled back by reorganisations",
            metrics.reorged_blocks.clone(),
        );
        registry.register("chain_head", "Chain head block", metrics.head.clone());
        registry.register(
            "indexed_block",
            "Last applied block",
            metrics.indexed.clone(),
        );
        registry.register(
            "batch_write_seconds",
            "Seconds to write one batch to the database",
            metrics.batch_seconds.clone(),
        );
        registry.register(
            "rpc_get_logs_seconds",
            "Seconds per eth_getLogs call",
            metrics.rpc_seconds.clone(),
        );
        registry.register("rpc_errors", "Failed RPC calls", metrics.rpc_errors.clone());
        registry.register(
            "api_request_seconds",
            "Seconds per API request",
            metrics.api_seconds.clone(),
        );
        *metrics.registry.lock().expect("fresh mutex") = registry;
        metrics
    }
}

impl Metrics {
    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}
