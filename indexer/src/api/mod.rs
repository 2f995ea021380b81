//! The public HTTP API: JSON under `/v1`, a Server-Sent Events stream, `/health`, Prometheus
//! `/metrics` and the OpenAPI document at `/openapi.json`; the built dApp at `/` when configured.
//!
//! Every endpoint is a `GET`. Computed figures (a lease's balance, a pool's anonymous-start fee, a
//! runway) are taken at "now" = the timestamp of the last indexed block ([`App::now`]): the state
//! read is the state as of that block, so computing it at a later wall-clock time would mix times
//! (a lease could show as expired while the top-up that saved it sits in a block not yet indexed),
//! and the chain itself evaluates at `block.timestamp`. Before any block is indexed the wall clock
//! is used. `?at=<unix seconds>` overrides it.
//!
//! - [`error`]: the JSON error type and extractors that never leak axum's plain-text rejections.
//! - [`catalog`]: the offers search's data in memory, kept current by the indexer.
//! - [`offers`], [`providers`], [`pools`], [`leases`], [`buyers`], [`market`]: the endpoints.
//! - [`stream`]: the SSE stream and the runway warnings.
//! - [`trust`], [`anon_fee`], [`accounting`]: contract math ported to Rust.

mod accounting;
mod anon_fee;
mod buyers;
mod catalog;
mod db;
mod error;
mod leases;
mod market;
mod offers;
mod openapi;
mod params;
mod pools;
mod providers;
mod stream;
mod trust;

use crate::{
    apply::EventRecord,
    metrics::{Metrics, RouteLabels},
    store::Store,
    sync::Progress,
};
use axum::{
    Json, Router,
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
pub use catalog::{CatalogContents, CatalogHold, CatalogUpdate, OfferCatalog};
use error::ApiError;
use serde::{Deserialize, Serialize};
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{broadcast, watch};
use tower::ServiceExt as _;
use tower_http::{
    cors::{Any, CorsLayer},
    services::{ServeDir, ServeFile},
};
use utoipa::{IntoParams, OpenApi as _, ToSchema};
use utter_bindings::Deployment;

/// What the API handlers share.
#[derive(Clone, Debug)]
pub struct ApiContext {
    /// The database.
    pub store: Store,
    /// The offers search's catalog: [`crate::sync::Indexer::catalog`], or
    /// [`OfferCatalog::load`] when no indexer runs in this process.
    pub offers: OfferCatalog,
    /// Metrics.
    pub metrics: Metrics,
    /// Applied events as they are committed.
    pub events: broadcast::Sender<Arc<EventRecord>>,
    /// The indexer's position.
    pub progress: watch::Receiver<crate::sync::Progress>,
    /// The deployment indexed.
    pub deployment: Deployment,
    /// The built dApp, served at `/` when set.
    pub static_dir: Option<PathBuf>,
}

/// Blocks the index may trail the chain head by and still be healthy.
pub const MAX_HEALTHY_LAG: u64 = 10;

/// The router's state: the context and what the API adds to it.
#[derive(Debug)]
pub(crate) struct App {
    context: ApiContext,
    warnings: broadcast::Sender<Arc<stream::Warning>>,
}

impl App {
    /// "Now" for computed figures: `at` when given, else the last indexed block's timestamp, else
    /// (nothing indexed yet) the wall clock.
    fn now(&self, at: Option<&str>) -> Result<u64, ApiError> {
        if let Some(at) = params::number("at", at)? {
            return Ok(at as u64);
        }
        let indexed = self.context.progress.borrow().indexed_timestamp;
        if indexed > 0 {
            return Ok(indexed);
        }
        Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()))
    }
}

/// The `at` parameter alone.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AtQuery {
    /// Compute at this unix time instead of the last indexed block's.
    #[param(value_type = Option<u64>)]
    at: Option<String>,
}

/// The API's routes. Starts the runway-warning task on the current Tokio runtime.
pub fn router(context: ApiContext) -> Router {
    let (warnings, _) = broadcast::channel(1024);
    stream::spawn_runway_watch(
        context.store.clone(),
        context.progress.clone(),
        warnings.clone(),
    );
    let metrics = context.metrics.clone();
    let app = Arc::new(App { context, warnings });
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers(Any);
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .route("/v1/offers", get(offers::search))
        .route("/v1/offers/{id}", get(offers::get))
        .route("/v1/providers/{address}", get(providers::get))
        .route("/v1/pools", get(pools::list))
        .route("/v1/pools/{id}", get(pools::get))
        .route("/v1/leases/{id}", get(leases::get))
        .route("/v1/buyers/{address}", get(buyers::get))
        .route("/v1/buyers/{address}/leases", get(buyers::leases))
        .route("/v1/market", get(market::get))
        .route("/v1/deployment", get(deployment))
        .route("/v1/events/stream", get(stream::stream))
        .fallback(fallback)
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(app)
        .layer(middleware::from_fn_with_state(metrics, record_latency))
        .layer(cors)
}

/// Records each request's latency under its route pattern (`unmatched` for the fallback).
async fn record_latency(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RouteLabels {
        route,
        status: format!("{}xx", response.status().as_u16() / 100),
    };
    metrics
        .api_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Unknown API routes get a JSON 404; anything else is the dApp's when it is served (a path
/// without a file gets `index.html`, for client-side routes).
async fn fallback(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request.uri().path();
    let api_path = path == "/v1" || path.starts_with("/v1/");
    match &app.context.static_dir {
        Some(dir) if !api_path && matches!(*request.method(), Method::GET | Method::HEAD) => {
            let serve = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
            match serve.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(error) => {
                    ApiError::internal(format_args!("serving files: {error}")).into_response()
                }
            }
        }
        _ => ApiError::not_found(format!("no route {path}")).into_response(),
    }
}

/// Where indexing stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthView {
    /// The chain head last seen.
    head: u64,
    /// The last indexed block.
    indexed: u64,
    /// Its timestamp.
    indexed_timestamp: u64,
    /// `head - indexed`.
    lag: u64,
    /// Whether the backfill is done and the indexer follows new blocks.
    live: bool,
    /// `indexed > 0` and `lag <= max_lag`.
    healthy: bool,
    /// The largest healthy lag, blocks.
    max_lag: u64,
}

/// Health: 200 when the index is within 10 blocks of the head, 503 when it lags more or before the
/// first block is indexed.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses(
        (status = 200, description = "Indexing is current", body = HealthView),
        (status = 503, description = "Indexing lags or has not started", body = HealthView),
    )
)]
pub(crate) async fn health(State(app): State<Arc<App>>) -> (StatusCode, Json<HealthView>) {
    let Progress {
        head,
        indexed,
        indexed_timestamp,
        live,
    } = app.context.progress.borrow().clone();
    let lag = head.saturating_sub(indexed);
    let healthy = indexed > 0 && lag <= MAX_HEALTHY_LAG;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let view = HealthView {
        head,
        indexed,
        indexed_timestamp,
        lag,
        live,
        healthy,
        max_lag: MAX_HEALTHY_LAG,
    };
    (status, Json(view))
}

/// Where the indexed contracts live: the addresses file, so that a client needs only this API's URL.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeploymentView {
    /// The chain id.
    chain_id: u64,
    /// The deploying account.
    deployer: String,
    /// The block of the first deploy transaction.
    deploy_block: u64,
    /// `ComputeToken`.
    token: String,
    /// `Pools`.
    pools: String,
    /// `ProviderRegistry`.
    registry: String,
    /// `Offers`.
    offers: String,
    /// `BuyerTrust`.
    buyer_trust: String,
    /// `LeaseEscrow`.
    escrow: String,
}

/// The deployment this indexer follows, in the addresses-file format (`Deployment` of
/// `utter-bindings`): clients (the `utter` CLI, the dApp) learn the contracts from here.
#[utoipa::path(
    get,
    path = "/v1/deployment",
    tag = "service",
    responses((status = 200, description = "The indexed deployment", body = DeploymentView))
)]
pub(crate) async fn deployment(State(app): State<Arc<App>>) -> Json<DeploymentView> {
    let d = &app.context.deployment;
    let hex = |a: alloy::primitives::Address| format!("{a:#x}");
    Json(DeploymentView {
        chain_id: d.chain_id,
        deployer: hex(d.deployer),
        deploy_block: d.deploy_block,
        token: hex(d.token),
        pools: hex(d.pools),
        registry: hex(d.registry),
        offers: hex(d.offers),
        buyer_trust: hex(d.buyer_trust),
        escrow: hex(d.escrow),
    })
}

async fn metrics_text(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.context.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}

/// The OpenAPI document, as JSON.
pub fn openapi_json() -> String {
    openapi::ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}
