//! The chain view through the agent's own RPC transport, on a real anvil: behind a proxy that refuses
//! `eth_getLogs` ranges the way hosted RPCs do (too many blocks, too many results) it syncs to the
//! same state as without, through a refused single block and a reorg; a node that never answers
//! fails within the timeout; and no error names the URL's key.

mod common;

use alloy::{
    primitives::U256,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
};
use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    response::Response,
};
use common::{CONFIRMATIONS, Market};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use utter_provider_agent::chain::{ChainView, Endpoint, GROW_AFTER, MAX_LOG_RANGE};

/// What the proxy refuses, and what it saw.
#[derive(Debug)]
struct Caps {
    /// Largest `eth_getLogs` range served, in blocks.
    max_blocks: AtomicU64,
    /// Most logs one `eth_getLogs` may return.
    max_results: AtomicU64,
    /// `eth_getLogs` calls refused.
    refused: AtomicU32,
    /// The `eth_getLogs` ranges served (first and last block).
    served: Mutex<Vec<(u64, u64)>>,
}

impl Caps {
    fn new() -> Self {
        Self {
            max_blocks: AtomicU64::new(u64::MAX),
            max_results: AtomicU64::new(u64::MAX),
            refused: AtomicU32::new(0),
            served: Mutex::new(Vec::new()),
        }
    }

    fn set(&self, max_blocks: u64, max_results: u64) {
        self.max_blocks.store(max_blocks, Ordering::SeqCst);
        self.max_results.store(max_results, Ordering::SeqCst);
        self.refused.store(0, Ordering::SeqCst);
        self.served.lock().expect("lock").clear();
    }

    /// The sizes of the `eth_getLogs` ranges served, in blocks.
    fn served(&self) -> Vec<u64> {
        self.ranges()
            .iter()
            .map(|(from, to)| to - from + 1)
            .collect()
    }

    fn ranges(&self) -> Vec<(u64, u64)> {
        self.served.lock().expect("lock").clone()
    }
}

#[derive(Clone)]
struct Proxy {
    target: String,
    caps: Arc<Caps>,
    client: reqwest::Client,
}

fn block(value: &Value) -> u64 {
    let text = value.as_str().expect("a block number");
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("hex")
}

/// A JSON-RPC error the way hosted nodes send one: HTTP `status`, the error in the body.
fn refuse(status: u16, id: &Value, code: i64, message: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                .to_string(),
        ))
        .expect("response")
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let body = to_bytes(request.into_body(), 64 << 20).await.expect("body");
    let call: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let logs = call["method"] == "eth_getLogs";
    let mut range = (0, 0);
    if logs {
        let filter = &call["params"][0];
        range = (block(&filter["fromBlock"]), block(&filter["toBlock"]));
        let span = range.1 - range.0 + 1;
        let max = proxy.caps.max_blocks.load(Ordering::SeqCst);
        if span > max {
            proxy.caps.refused.fetch_add(1, Ordering::SeqCst);
            // Alchemy's and Infura's wording; HTTP 200 like them.
            return refuse(
                200,
                &call["id"],
                -32602,
                format!("block range too large: {span} blocks, the limit is {max}"),
            );
        }
    }
    let reply = proxy
        .client
        .post(&proxy.target)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("anvil answers");
    let status = reply.status().as_u16();
    let bytes = reply.bytes().await.expect("anvil's body");
    if logs {
        let answer: Value = serde_json::from_slice(&bytes).expect("JSON");
        let results = answer["result"].as_array().map_or(0, Vec::len) as u64;
        let max = proxy.caps.max_results.load(Ordering::SeqCst);
        if results > max {
            proxy.caps.refused.fetch_add(1, Ordering::SeqCst);
            // Infura's wording; HTTP 400 this time (alloy reads the error from the body either way).
            return refuse(
                400,
                &call["id"],
                -32005,
                format!("query returned more than {max} results"),
            );
        }
        proxy.caps.served.lock().expect("lock").push(range);
    }
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .expect("response")
}

/// A proxy to `target` on a free loopback port: its URL and its caps (none at first).
async fn start_proxy(target: &str) -> (String, Arc<Caps>) {
    let caps = Arc::new(Caps::new());
    let proxy = Proxy {
        target: target.to_owned(),
        caps: caps.clone(),
        client: reqwest::Client::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(forward).with_state(proxy)).await
    });
    (url, caps)
}

/// A provider through the agent's own transport.
fn agent_provider(url: &str, timeout: Duration) -> DynProvider {
    let endpoint = Endpoint::parse(url).expect("a URL");
    ProviderBuilder::new()
        .connect_client(endpoint.client(timeout).expect("a client"))
        .erased()
}

/// Everything a view holds, comparable.
fn snapshot(view: &ChainView) -> Value {
    let state = view.state();
    fn rows<E: serde::Serialize>(rows: impl Iterator<Item = E>) -> Value {
        Value::Array(
            rows.map(|row| serde_json::to_value(row).expect("serializes"))
                .collect(),
        )
    }
    let openings: BTreeMap<u64, String> = view
        .my_leases()
        .iter()
        .map(|l| (l.lease_id, format!("{:?}", view.opening(l.lease_id))))
        .collect();
    json!({
        "confirmed": view.confirmed_block(),
        "pools": rows(state.pools.rows()),
        "stakes": rows(state.stakes.rows()),
        "providers": rows(state.providers.rows()),
        "offers": rows(state.offers.rows()),
        "leases": rows(state.leases.rows()),
        "buyers": rows(state.buyers.rows()),
        "reports": rows(state.reports.rows()),
        "market": rows(state.market.rows()),
        "my_leases": format!("{:?}", view.my_leases()),
        "openings": openings,
    })
}

async fn anvil_mine(provider: &DynProvider, blocks: u64) {
    let _: Value = provider
        .raw_request("anvil_mine".into(), (U256::from(blocks),))
        .await
        .expect("anvil_mine");
}

/// The most logs of the contracts in one block, and in all, up to the confirmed head.
async fn densest_block(market: &Market, view: &ChainView) -> (u64, u64) {
    let addresses = [
        market.deployment.pools,
        market.deployment.registry,
        market.deployment.offers,
        market.deployment.buyer_trust,
        market.deployment.escrow,
    ];
    let logs = market
        .provider
        .get_logs(
            &Filter::new()
                .address(addresses.to_vec())
                .from_block(market.deployment.deploy_block)
                .to_block(view.confirmed_block().expect("synced")),
        )
        .await
        .expect("logs");
    let mut per_block = BTreeMap::<u64, u64>::new();
    for log in &logs {
        *per_block
            .entry(log.block_number.expect("mined"))
            .or_default() += 1;
    }
    (
        per_block.values().copied().max().expect("some logs"),
        logs.len() as u64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_log_ranges_give_the_same_view_through_a_refused_block_and_a_reorg() {
    let market = Market::new("log-ranges").await;
    // A market with history spread over blocks: stake, an offer, leases some blocks apart (three:
    // the offer serves four at once, and the reorg below opens one more).
    let mut agent = market.agent(
        Arc::new(common::memory_cloud()),
        "utter.small",
        "utter-tiny",
    );
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("one offer");
    for _ in 0..3 {
        market.open_lease(offer_id, 600).await;
        anvil_mine(&market.provider, 9).await;
    }
    market.settle_chain().await;

    let mut direct = ChainView::new(
        market.host_provider(),
        market.deployment,
        market.host,
        CONFIRMATIONS,
    );
    assert!(direct.sync().await.expect("syncs directly"));
    assert_eq!(direct.my_leases().len(), 3);
    let (densest, total) = densest_block(&market, &direct).await;
    assert!(total > densest, "{total} logs, {densest} in one block");
    let span = direct.confirmed_block().expect("synced") - market.deployment.deploy_block + 1;
    assert!(span > 32, "the history spans {span} blocks");

    let (proxy, caps) = start_proxy(&market.anvil.endpoint()).await;
    let view = || {
        ChainView::new(
            agent_provider(&proxy, Duration::from_secs(30)),
            market.deployment,
            market.host,
            CONFIRMATIONS,
        )
    };

    // At most 16 blocks per call: the range halves from 10,000 until the node agrees.
    caps.set(16, u64::MAX);
    let mut by_blocks = view();
    assert!(by_blocks.sync().await.expect("syncs 16 blocks at a time"));
    assert_eq!(snapshot(&by_blocks), snapshot(&direct));
    assert!(caps.refused.load(Ordering::SeqCst) > 0);
    let served = caps.served();
    assert!(served.iter().all(|&n| n <= 16), "{served:?}");
    // It may have just doubled past the cap after GROW_AFTER full ranges: then the next call is
    // refused once. Refusals stay a fraction of the calls served.
    assert!(by_blocks.log_range() <= 32, "{}", by_blocks.log_range());
    let refusals = caps.refused.load(Ordering::SeqCst) as usize;
    assert!(
        refusals <= 12 + served.len() / GROW_AFTER as usize,
        "{refusals} refused, {} served",
        served.len()
    );

    // At most `densest` logs per call: ranges shrink where logs are dense.
    caps.set(u64::MAX, densest);
    let mut by_results = view();
    assert!(by_results.sync().await.expect("syncs a few logs at a time"));
    assert_eq!(snapshot(&by_results), snapshot(&direct));
    assert!(caps.refused.load(Ordering::SeqCst) > 0);
    assert!(by_results.log_range() < MAX_LOG_RANGE);

    // A block with more logs than the node returns: the sync fails at that one block, naming it and
    // the node's reason, and keeps what it read before; once the node serves it, the view is whole
    // (nothing applied twice).
    caps.set(u64::MAX, densest - 1);
    let mut refused = view();
    let error = refused.sync().await.unwrap_err().to_string();
    assert!(
        error.contains("eth_getLogs") && error.contains("more than"),
        "{error}"
    );
    let (from, to) = error
        .split("eth_getLogs ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|range| range.split_once("..="))
        .expect("a range in the error");
    assert_eq!(from, to, "{error}");
    let from: u64 = from.parse().expect("a block number");
    assert!(from > market.deployment.deploy_block, "{error}");
    assert_eq!(
        refused.confirmed_block(),
        Some(from - 1),
        "kept up to the block before"
    );
    caps.set(u64::MAX, u64::MAX);
    assert!(refused.sync().await.expect("syncs once served"));
    assert_eq!(caps.ranges()[0].0, from, "resumed at the refused block");
    assert_eq!(snapshot(&refused), snapshot(&direct));

    // The range grows back once the node serves more: doubling after GROW_AFTER full ranges (from
    // at most 32 to at least 256 within 2,000 blocks).
    caps.set(u64::MAX, u64::MAX);
    let before = by_blocks.log_range();
    anvil_mine(&market.provider, 2_000).await;
    market.settle_chain().await;
    assert!(direct.sync().await.expect("direct"));
    assert!(by_blocks.sync().await.expect("proxied"));
    assert_eq!(snapshot(&by_blocks), snapshot(&direct));
    assert!(
        by_blocks.log_range() >= 256,
        "{before} -> {}",
        by_blocks.log_range()
    );
    let served = caps.served();
    assert!(served.iter().any(|&n| n >= 128), "{served:?}");
    assert!(
        served.windows(2).all(|w| w[1] <= w[0] * 2),
        "the range doubles at most: {served:?}"
    );
    assert_eq!(caps.refused.load(Ordering::SeqCst), 0);

    // A reorg deeper than the confirmations: the capped view notices and re-reads everything.
    caps.set(16, u64::MAX);
    let snapshot_id: Value = market
        .provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .expect("evm_snapshot");
    let lease = market.open_lease(offer_id, 600).await;
    anvil_mine(&market.provider, 5).await;
    assert!(by_blocks.sync().await.expect("sees the lease"));
    assert!(by_blocks.lease(lease).is_some());
    let _: Value = market
        .provider
        .raw_request("evm_revert".into(), (snapshot_id,))
        .await
        .expect("evm_revert");
    anvil_mine(&market.provider, 10).await;
    assert!(by_blocks.sync().await.expect("re-reads after the reorg"));
    assert_eq!(by_blocks.reorgs(), 1);
    assert!(
        by_blocks.lease(lease).is_none(),
        "the reorged lease is gone"
    );
    let mut fresh = ChainView::new(
        market.host_provider(),
        market.deployment,
        market.host,
        CONFIRMATIONS,
    );
    assert!(fresh.sync().await.expect("fresh"));
    assert_eq!(snapshot(&by_blocks), snapshot(&fresh));
    assert!(caps.served().iter().all(|&n| n <= 16));
}

/// A server that accepts connections and never answers: its URL (with a key in the path).
fn hung_rpc() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("http://{address}/v3/SECRETKEY")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_absent_node_fails_in_time_without_naming_the_key() {
    let market = Market::new("rpc-timeout").await;
    let hung = hung_rpc();
    let host = hung.trim_end_matches("/v3/SECRETKEY").to_owned();

    // A node that never answers: the sync fails after the timeout, saying so.
    let mut view = ChainView::new(
        agent_provider(&hung, Duration::from_secs(1)),
        market.deployment,
        market.host,
        CONFIRMATIONS,
    );
    let started = Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(20), view.sync())
        .await
        .expect("the timeout ends the request")
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.contains("timed out") && error.contains("rpc_timeout_secs"),
        "{error}"
    );
    assert!(error.contains(&format!("{host}/…")), "{error}");
    assert!(!error.contains("SECRETKEY"), "{error}");

    // Nobody listening, with the key in the path, a query and a password: none appears.
    for url in [
        "http://127.0.0.1:1/v3/SECRETKEY",
        "http://127.0.0.1:1/?apikey=SECRETKEY",
        "http://user:SECRETKEY@127.0.0.1:1/",
    ] {
        let mut view = ChainView::new(
            agent_provider(url, Duration::from_secs(5)),
            market.deployment,
            market.host,
            CONFIRMATIONS,
        );
        let error = view.sync().await.unwrap_err().to_string();
        assert!(!error.contains("SECRETKEY"), "{url}: {error}");
        assert!(error.contains("eth_getBlockByNumber"), "{url}: {error}");
        assert!(
            error.to_lowercase().contains("connect"),
            "the cause is kept: {url}: {error}"
        );
    }
}
