//! The agent's HTTP endpoints: `/health`, Prometheus `/metrics`, and each lease's console log for its
//! buyer only, who proves it by signing a short message with the lease's buyer key (EIP-191).

use crate::{
    agent::{Counters, Histogram, lease_tag, scope_tag},
    cloud::Cloud,
};
use alloy::primitives::{Address, Signature};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use std::{collections::BTreeMap, fmt::Write as _, sync::Arc, time::SystemTime};
use tokio::sync::watch;

/// What the agent loop publishes after each tick.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Chain id.
    pub chain_id: u64,
    /// The escrow.
    pub escrow: Address,
    /// The provider the agent acts for.
    pub provider: Address,
    /// The last confirmed block applied.
    pub confirmed_block: Option<u64>,
    /// Unix time of the last tick that completed.
    pub last_tick: Option<u64>,
    /// The last tick's error, if it failed.
    pub last_error: Option<String>,
    /// Leases by status.
    pub leases: BTreeMap<&'static str, u64>,
    /// Each lease's buyer.
    pub buyers: BTreeMap<u64, Address>,
    /// Counters.
    pub counters: Counters,
    /// Earnings waiting to be withdrawn, token wei (before the pool's fee).
    pub unwithdrawn: alloy::primitives::U256,
}

/// The endpoints' state.
#[derive(Debug)]
pub struct Http<C> {
    /// The cloud, for console logs.
    pub cloud: Arc<C>,
    /// The loop's status.
    pub status: watch::Receiver<Status>,
}

impl<C> Clone for Http<C> {
    fn clone(&self) -> Self {
        Self {
            cloud: self.cloud.clone(),
            status: self.status.clone(),
        }
    }
}

/// Seconds a console signature may be valid for at most.
pub const MAX_SIGNATURE_LIFETIME: u64 = 600;

/// The message a buyer signs (EIP-191 `personal_sign`) to read its lease's console log.
pub fn console_message(chain_id: u64, lease_id: u64, expires: u64) -> String {
    format!("utter console log\nchain: {chain_id}\nlease: {lease_id}\nexpires: {expires}")
}

/// The routes.
pub fn router<C: Cloud + 'static>(http: Http<C>) -> Router {
    Router::new()
        .route("/health", get(health::<C>))
        .route("/metrics", get(metrics::<C>))
        .route("/v1/leases/{id}/console", get(console::<C>))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(http)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn health<C: Cloud>(State(http): State<Http<C>>) -> Response {
    let status = http.status.borrow().clone();
    let fresh = status
        .last_tick
        .is_some_and(|t| unix_now().saturating_sub(t) < 60);
    let healthy = fresh && status.last_error.is_none();
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(serde_json::json!({
            "healthy": healthy,
            "confirmed_block": status.confirmed_block,
            "last_tick": status.last_tick,
            "last_error": status.last_error,
        })),
    )
        .into_response()
}

async fn metrics<C: Cloud>(State(http): State<Http<C>>) -> Response {
    let status = http.status.borrow().clone();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP utter_agent_leases Leases on this provider's offers, by status."
    );
    let _ = writeln!(out, "# TYPE utter_agent_leases gauge");
    for (state, count) in &status.leases {
        let _ = writeln!(out, "utter_agent_leases{{status=\"{state}\"}} {count}");
    }
    let _ = writeln!(
        out,
        "# HELP utter_agent_actions_total Actions carried out, by kind."
    );
    let _ = writeln!(out, "# TYPE utter_agent_actions_total counter");
    for (kind, count) in &status.counters.actions {
        let _ = writeln!(out, "utter_agent_actions_total{{kind=\"{kind}\"}} {count}");
    }
    let _ = writeln!(
        out,
        "# HELP utter_agent_cloud_errors_total Failed cloud calls; by call and kind of error too."
    );
    let _ = writeln!(out, "# TYPE utter_agent_cloud_errors_total counter");
    let _ = writeln!(
        out,
        "utter_agent_cloud_errors_total {}",
        status.counters.cloud_errors
    );
    for ((call, kind), count) in &status.counters.cloud_errors_by {
        let _ = writeln!(
            out,
            "utter_agent_cloud_errors_total{{call=\"{call}\",error=\"{kind}\"}} {count}"
        );
    }
    let _ = writeln!(out, "# TYPE utter_agent_tx_errors_total counter");
    let _ = writeln!(
        out,
        "utter_agent_tx_errors_total {}",
        status.counters.tx_errors
    );
    let _ = writeln!(
        out,
        "# HELP utter_agent_withdrawn_wei Token wei withdrawn since start."
    );
    let _ = writeln!(out, "# TYPE utter_agent_withdrawn_wei counter");
    let _ = writeln!(
        out,
        "# HELP utter_agent_unwithdrawn_wei Earnings of the provider's leases not withdrawn yet (before the pool's fee)."
    );
    let _ = writeln!(out, "# TYPE utter_agent_unwithdrawn_wei gauge");
    let _ = writeln!(out, "utter_agent_unwithdrawn_wei {}", status.unwithdrawn);
    let _ = writeln!(
        out,
        "utter_agent_withdrawn_wei {}",
        status.counters.withdrawn
    );
    write_histogram(
        &mut out,
        "utter_agent_boot_seconds",
        "Create request (or claim of a hot spare) to acknowledgement sent, seconds.",
        &status.counters.boot_latency,
    );
    write_histogram(
        &mut out,
        "utter_agent_boot_request_seconds",
        "First sight of a funded lease to its create request (or claim), seconds.",
        &status.counters.boot_request_latency,
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

fn write_histogram(out: &mut String, name: &str, help: &str, histogram: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in histogram.cumulative() {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", histogram.count);
    let _ = writeln!(out, "{name}_sum {}", histogram.sum);
    let _ = writeln!(out, "{name}_count {}", histogram.count);
}

/// The console request's query.
#[derive(Debug, Deserialize)]
pub struct ConsoleQuery {
    expires: Option<String>,
    signature: Option<String>,
    lines: Option<String>,
}

async fn console<C: Cloud>(
    State(http): State<Http<C>>,
    Path(id): Path<String>,
    query: Result<Query<ConsoleQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(lease_id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_lease",
            "the lease id must be a number",
        );
    };
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "malformed query string",
        );
    };
    let Some(Ok(expires)) = query.expires.as_deref().map(str::parse::<u64>) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_expires",
            "expires must be a unix time in seconds",
        );
    };
    let lines = match query.lines.as_deref().map(str::parse::<u32>) {
        None => 200,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_lines",
                "lines must be 1 to 10000",
            );
        }
    };
    let now = unix_now();
    if expires < now || expires > now + MAX_SIGNATURE_LIFETIME {
        return error(
            StatusCode::UNAUTHORIZED,
            "expired",
            "expires must be in the future and at most 600 seconds away",
        );
    }
    let Some(Ok(signature)) = query.signature.as_deref().map(str::parse::<Signature>) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "signature must be 65 bytes of hex",
        );
    };
    let status = http.status.borrow().clone();
    let Some(buyer) = status.buyers.get(&lease_id).copied() else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_lease",
            "no lease of this provider has that id",
        );
    };
    let message = console_message(status.chain_id, lease_id, expires);
    match signature.recover_address_from_msg(message.as_bytes()) {
        Ok(signer) if signer == buyer => {}
        _ => {
            return error(
                StatusCode::FORBIDDEN,
                "not_the_buyer",
                "the signature is not the lease's buyer's",
            );
        }
    }
    let scope = scope_tag(status.chain_id, status.escrow, status.provider);
    let servers = match http.cloud.list_servers(&scope).await {
        Ok(servers) => servers,
        Err(e) => return error(StatusCode::BAD_GATEWAY, "cloud", &e.to_string()),
    };
    let tag = lease_tag(lease_id);
    let Some(server) = servers.iter().find(|s| s.tags.contains(&tag)) else {
        return error(
            StatusCode::NOT_FOUND,
            "no_server",
            "the lease has no machine now",
        );
    };
    match http.cloud.console_log(&server.id, lines).await {
        Ok(log) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            log,
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, "cloud", &e.to_string()),
    }
}
