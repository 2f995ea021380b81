//! The public HTTP API.

use crate::{apply::EventRecord, metrics::Metrics, store::Store, sync::Progress};
use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use std::{path::PathBuf, sync::Arc};
use tokio::sync::{broadcast, watch};
use utter_bindings::Deployment;

/// What the API handlers share.
#[derive(Clone, Debug)]
pub struct ApiContext {
    /// The database.
    pub store: Store,
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

/// The API's routes.
pub fn router(context: ApiContext) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(context)
}

async fn health(State(context): State<ApiContext>) -> impl IntoResponse {
    let Progress { head, indexed, .. } = context.progress.borrow().clone();
    (
        StatusCode::OK,
        axum::Json(
            serde_json::json!({"head": head, "indexed": indexed, "lag": head.saturating_sub(indexed)}),
        ),
    )
}

async fn metrics(State(context): State<ApiContext>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        context.metrics.render(),
    )
}

/// The OpenAPI document, as JSON.
pub fn openapi_json() -> String {
    "{}".to_owned()
}
