//! The indexer's HTTP API: offers search, a buyer's leases, the deployment's addresses.

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

/// A client of one indexer.
#[derive(Clone, Debug)]
pub struct Indexer {
    base: String,
    http: reqwest::Client,
}

impl Indexer {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:8580`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// `GET path` with `query`, as `T`. API errors come back with the API's own message.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .with_context(|| {
                format!(
                    "cannot reach the indexer at {}: start it, or pass --indexer URL (UTTER_INDEXER)",
                    self.base
                )
            })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .with_context(|| format!("reading the indexer's answer to {url}"))?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(body);
            bail!("the indexer refused {path}: {message} (HTTP {status})");
        }
        serde_json::from_str(&body).with_context(|| {
            format!(
                "the indexer's answer to {path} is not what this utter expects: is {} an utter indexer of the same version?",
                self.base
            )
        })
    }
}
