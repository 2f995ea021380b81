//! The agent's view of the chain: every event of the contracts up to a few blocks below the head,
//! applied with the indexer's own rules (`utter_indexer::apply`), so the agent needs no indexer and
//! agrees with it by construction.
//!
//! Each poll that finds a new head costs four RPC calls whatever the number of leases: the latest
//! header, the header of the last applied block (still canonical?), the logs of the new confirmed
//! range, and its last header. A poll that finds the same head costs one. Catching up reads the logs
//! in ranges of at most [`MAX_LOG_RANGE`] blocks, two calls each (the logs, the range's last header),
//! and records each range as applied before reading the next, so a failure half-way loses nothing.
//! A node that refuses a range (hosted RPCs cap `eth_getLogs` by blocks or by results) gets half of
//! it, down to one block; the range doubles again after [`GROW_AFTER`] full ranges served in a row.
//!
//! [`Endpoint`] is how the agent reaches the node: a request timeout, and errors that show the URL
//! only as `scheme://host:port/…`, since its path or query often holds an API key.

use crate::plan::{ChainStatus, Lease as PlanLease};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::{
        client::RpcClient,
        json_rpc::{RequestPacket, ResponsePacket},
        types::{Filter, Log},
    },
    transports::{
        RpcError, TransportError, TransportErrorKind, TransportFut,
        http::{Http, reqwest::Url},
    },
};
use std::{
    collections::HashMap,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
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

/// Largest `eth_getLogs` range, in blocks.
pub const MAX_LOG_RANGE: u64 = 10_000;

/// Full-size `eth_getLogs` ranges served in a row after which the range doubles (up to
/// [`MAX_LOG_RANGE`]). More than one, so a node with a fixed cap costs one refused call every few
/// ranges rather than every other one.
pub const GROW_AFTER: u32 = 4;

/// Whether `error` may be a node refusing a range as too large: a JSON-RPC error (-32005 "query
/// returned more than 10000 results", -32602 "block range too large", …), an HTTP error other than
/// 429, or an answer that did not parse. Not a connection failure nor a timeout: halving would only
/// repeat the wait.
fn may_be_too_large(error: &TransportError) -> bool {
    match error {
        RpcError::ErrorResp(_) | RpcError::DeserError { .. } => true,
        RpcError::Transport(kind) => kind.as_http_error().is_some_and(|e| e.status != 429),
        _ => false,
    }
}

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
    /// Blocks the next `eth_getLogs` asks for at most.
    log_range: u64,
    /// Full-size ranges served in a row since the range last changed.
    log_successes: u32,
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
            log_range: MAX_LOG_RANGE,
            log_successes: 0,
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
            let (end, logs) = self.logs(start, target).await?;
            // The range's last header before anything is applied: the range and its hash are then
            // recorded together, so an error leaves the view as it was after the previous range.
            let hash = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(end))
                .await
                .map_err(rpc(format!("eth_getBlockByNumber {end}")))?
                .ok_or(ChainError::MissingBlock(end))?
                .header
                .hash;
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
            self.last = Some((end, hash));
            start = end + 1;
        }
        self.head = Some(head.header.hash);
        Ok(true)
    }

    /// The logs of the contracts from `start` to `target` or, when the node refuses that many
    /// blocks, to where it agrees to: returns the last block read and the logs. Halves the range on
    /// each refusal; a refused single block is an error.
    async fn logs(&mut self, start: u64, target: u64) -> Result<(u64, Vec<Log>), ChainError> {
        loop {
            let end = start.saturating_add(self.log_range - 1).min(target);
            let filter = Filter::new()
                .address(self.applier.addresses())
                .from_block(start)
                .to_block(end);
            match self.provider.get_logs(&filter).await {
                Ok(logs) => {
                    if end - start + 1 == self.log_range && self.log_range < MAX_LOG_RANGE {
                        self.log_successes += 1;
                        if self.log_successes >= GROW_AFTER {
                            self.log_range = (self.log_range * 2).min(MAX_LOG_RANGE);
                            self.log_successes = 0;
                            tracing::debug!(blocks = self.log_range, "eth_getLogs range grown");
                        }
                    }
                    return Ok((end, logs));
                }
                Err(error) if end > start && may_be_too_large(&error) => {
                    let span = end - start + 1;
                    self.log_range = span / 2;
                    self.log_successes = 0;
                    tracing::debug!(
                        from = start,
                        to = end,
                        %error,
                        blocks = self.log_range,
                        "eth_getLogs refused: asking for fewer blocks"
                    );
                }
                Err(error) => return Err(rpc(format!("eth_getLogs {start}..={end}"))(error)),
            }
        }
    }

    /// Blocks the next `eth_getLogs` asks for at most: [`MAX_LOG_RANGE`] until the node refuses a
    /// range.
    pub fn log_range(&self) -> u64 {
        self.log_range
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

/// What may be shown of an RPC endpoint's URL: its scheme, host and port, then `/…` when it has a
/// path, query or fragment (which often hold an API key, as in `https://mainnet.infura.io/v3/KEY`);
/// never a user or password. Text that is not a URL is not shown at all.
pub fn redact_url(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return "(not a URL)".into();
    };
    let mut shown = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
    if let Some(port) = parsed.port() {
        shown.push_str(&format!(":{port}"));
    }
    let path = parsed.path();
    if !(path.is_empty() || path == "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        shown.push_str("/…");
    }
    shown
}

/// Why an RPC endpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The text is not a URL (the text itself is not repeated: it may hold a key).
    #[error("not a URL: {0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// An Ethereum JSON-RPC endpoint as the agent talks to it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    url: Url,
    shown: String,
    /// Spellings of the whole URL, replaced by `shown` in messages.
    wholes: Vec<String>,
    /// Its path, query, fragment, user and password, replaced by `…`.
    parts: Vec<String>,
}

impl Endpoint {
    /// The endpoint at `url`.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let parsed = Url::parse(url).map_err(|e| EndpointError::Url(e.to_string()))?;
        let mut wholes = vec![
            url.trim().to_owned(),
            parsed.as_str().to_owned(),
            parsed.as_str().trim_end_matches('/').to_owned(),
        ];
        let mut parts: Vec<String> = [
            Some(parsed.path()).filter(|p| *p != "/"),
            parsed.query(),
            parsed.fragment(),
            parsed.password(),
            Some(parsed.username()),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
        // Pieces this short (a one-letter user, a path of "/v1") would garble messages more than
        // they protect anything; a URL's own spelling is replaced whatever its length.
        parts.retain(|s| s.len() >= 4);
        for list in [&mut wholes, &mut parts] {
            list.sort_by_key(|s| std::cmp::Reverse(s.len()));
            list.dedup();
        }
        Ok(Self {
            shown: redact_url(url),
            url: parsed,
            wholes,
            parts,
        })
    }

    /// The URL as it may be shown: see [`redact_url`].
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` without any part of the URL that [`Self::shown`] hides: the whole URL becomes the shown
    /// one, a path, query, user or password `…`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for whole in &self.wholes {
            text = text.replace(whole.as_str(), &self.shown);
        }
        for part in &self.parts {
            text = text.replace(part.as_str(), "…");
        }
        text
    }

    /// A JSON-RPC client of the endpoint: each request fails after `timeout` without an answer
    /// (connecting included, which alone may take at most 10 s), and no error it returns names more
    /// of the URL than [`Self::shown`].
    pub fn client(&self, timeout: Duration) -> Result<RpcClient, EndpointError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(EndpointError::Client)?;
        let http = Http::with_client(client, self.url.clone());
        let is_local = http.guess_local();
        let transport = Scrubbing {
            http,
            endpoint: Arc::new(self.clone()),
            timeout,
        };
        Ok(RpcClient::new(transport, is_local))
    }

    /// `error` with its text scrubbed; a request that timed out says so and names the setting.
    fn scrub_error(&self, error: TransportError, timeout: Duration) -> TransportError {
        match error {
            RpcError::Transport(TransportErrorKind::Custom(custom)) => {
                let text = match custom.downcast::<reqwest::Error>() {
                    Ok(error) if error.is_timeout() && error.is_connect() => format!(
                        "could not connect to {} within {} s",
                        self.shown,
                        timeout.min(Duration::from_secs(10)).as_secs()
                    ),
                    Ok(error) if error.is_timeout() => format!(
                        "request timed out: no answer from {} within {} s (rpc_timeout_secs)",
                        self.shown,
                        timeout.as_secs()
                    ),
                    Ok(error) => chain_text(&error.without_url()),
                    Err(other) => chain_text(other.as_ref()),
                };
                TransportErrorKind::custom_str(&self.scrub(&text))
            }
            RpcError::Transport(kind) if kind.as_http_error().is_some() => {
                let http = kind.as_http_error().expect("an HTTP error");
                let body = self.scrub(&http.body);
                if body == http.body {
                    RpcError::Transport(kind)
                } else {
                    TransportErrorKind::http_error(http.status, body)
                }
            }
            RpcError::DeserError { err, text } => RpcError::DeserError {
                err,
                text: self.scrub(&text),
            },
            other => other,
        }
    }
}

/// An error's message followed by its sources', `: `-separated.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let next_text = next.to_string();
        if !text.ends_with(&next_text) {
            text.push_str(": ");
            text.push_str(&next_text);
        }
        source = next.source();
    }
    text
}

/// The HTTP transport, with every error scrubbed of the URL.
#[derive(Clone, Debug)]
struct Scrubbing {
    http: Http<reqwest::Client>,
    endpoint: Arc<Endpoint>,
    timeout: Duration,
}

impl tower_service::Service<RequestPacket> for Scrubbing {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.http.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let reply = self.http.call(request);
        let endpoint = self.endpoint.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            reply
                .await
                .map_err(|error| endpoint.scrub_error(error, timeout))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_shows_its_scheme_host_and_port_only() {
        for (url, shown) in [
            (
                "https://mainnet.infura.io/v3/SECRETKEY",
                "https://mainnet.infura.io/…",
            ),
            (
                "https://eth-mainnet.g.alchemy.com/v2/SECRETKEY",
                "https://eth-mainnet.g.alchemy.com/…",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
            (
                "https://node.example:8443/?apikey=SECRETKEY",
                "https://node.example:8443/…",
            ),
            (
                "https://user:SECRETKEY@node.example/",
                "https://node.example",
            ),
            ("http://[::1]:8545/rpc#SECRETKEY", "http://[::1]:8545/…"),
            ("not a url SECRETKEY", "(not a URL)"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn scrubbing_removes_every_spelling_of_the_url_and_its_secret_parts() {
        let endpoint =
            Endpoint::parse("https://user:hunter22@x.example:8443/v2/SECRETKEY?k=OTHERSECRET")
                .expect("a URL");
        assert_eq!(endpoint.shown(), "https://x.example:8443/…");
        let text = endpoint.scrub(
            "error sending request for url (https://user:hunter22@x.example:8443/v2/SECRETKEY?k=OTHERSECRET): \
             404 /v2/SECRETKEY, k=OTHERSECRET, password hunter22",
        );
        for secret in ["SECRETKEY", "OTHERSECRET", "hunter22"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("https://x.example:8443/…"), "{text}");
        // A text without the URL is left alone.
        assert_eq!(endpoint.scrub("connection refused"), "connection refused");
        let error = Endpoint::parse("no scheme/SECRETKEY")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a URL") && !error.contains("SECRETKEY"),
            "{error}"
        );
    }

    #[test]
    fn refusals_shrink_the_range_and_outages_do_not() {
        let refused: TransportError = RpcError::ErrorResp(alloy::rpc::json_rpc::ErrorPayload {
            code: -32005,
            message: "query returned more than 10000 results".into(),
            data: None,
        });
        assert!(may_be_too_large(&refused));
        assert!(may_be_too_large(&TransportErrorKind::http_error(
            413,
            "too large".into()
        )));
        assert!(!may_be_too_large(&TransportErrorKind::http_error(
            429,
            "slow down".into()
        )));
        assert!(!may_be_too_large(&TransportErrorKind::custom_str(
            "request timed out"
        )));
    }
}
