//! A minimal JSON-RPC client for what alloy's providers do slowly or not at all: batches of thousands
//! of `eth_sendTransaction` calls, and anvil's own methods.

use anyhow::{Context as _, bail};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A JSON-RPC endpoint.
#[derive(Clone, Debug)]
pub struct Rpc {
    client: reqwest::Client,
    url: String,
}

impl Rpc {
    /// A client of `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: url.into(),
        }
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with `params` and decodes the result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> anyhow::Result<T> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response: Value = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("{method}: sending"))?
            .json()
            .await
            .with_context(|| format!("{method}: reading the answer"))?;
        if let Some(error) = response.get("error") {
            bail!("{method}: {error}");
        }
        serde_json::from_value(response["result"].clone())
            .with_context(|| format!("{method}: decoding the result"))
    }

    /// Sends `calls` as one batch and returns their results in order; fails on the first error.
    pub async fn batch(&self, calls: &[(&str, Value)]) -> anyhow::Result<Vec<Value>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, (method, params))| {
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            })
            .collect();
        let response: Vec<Value> = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .context("batch: sending")?
            .json()
            .await
            .context("batch: reading the answer")?;
        let mut results = vec![Value::Null; calls.len()];
        for item in response {
            let id = item["id"].as_u64().context("batch: an answer without id")? as usize;
            if let Some(error) = item.get("error") {
                bail!("batch: {} failed: {error}", calls[id].0);
            }
            results[id] = item["result"].clone();
        }
        Ok(results)
    }

    /// The latest block number.
    pub async fn block_number(&self) -> anyhow::Result<u64> {
        let hex: String = self.call("eth_blockNumber", json!([])).await?;
        parse_hex(&hex)
    }

    /// Mines one block (`evm_mine`).
    pub async fn mine(&self) -> anyhow::Result<()> {
        let _: Value = self.call("evm_mine", json!([])).await?;
        Ok(())
    }

    /// Mines `blocks` empty blocks at once (`anvil_mine`).
    pub async fn mine_many(&self, blocks: u64) -> anyhow::Result<()> {
        if blocks > 0 {
            let _: Value = self
                .call("anvil_mine", json!([format!("{blocks:#x}")]))
                .await?;
        }
        Ok(())
    }

    /// Switches automining on or off.
    pub async fn set_automine(&self, on: bool) -> anyhow::Result<()> {
        let _: Value = self.call("evm_setAutomine", json!([on])).await?;
        Ok(())
    }
}

/// A `0x` hex quantity as a number.
pub fn parse_hex(hex: &str) -> anyhow::Result<u64> {
    u64::from_str_radix(hex.trim_start_matches("0x"), 16)
        .with_context(|| format!("{hex:?} is not a hex quantity"))
}
