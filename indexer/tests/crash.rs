//! Crash safety: the indexer process is killed (SIGKILL) at random moments during the backfill and
//! during live following, more than twenty times, and restarted; in the end the database must equal
//! the chain, with no event lost or doubled.

mod common;

use common::{assert_matches_chain, eventually};
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};
use utter_bindings::Deployment;
use utter_indexer::store::Store;
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{pin_clock, spawn_anvil, wallets},
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(rpc: &str, db: &str, deployment: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_utter-indexer"))
        .args(["run", "--rpc", rpc, "--db", db, "--deployment"])
        .arg(deployment)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--finality-depth",
            "3",
            "--max-range",
            "3",
            "--poll-ms",
            "10",
            "--no-progress",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the indexer binary starts")
}

/// A tiny deterministic generator of kill delays.
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

async fn indexed(store: &Store, deployment: &Deployment) -> u64 {
    store
        .checkpoint(deployment.chain_id, deployment.escrow)
        .await
        .expect("checkpoint reads")
        .map_or(0, |c| c.block_number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_indexer_loses_and_doubles_nothing() {
    let anvil = spawn_anvil();
    let config = ScenarioConfig::default();
    let (provider, accounts) = wallets(&anvil, config.accounts_needed());
    pin_clock(&provider).await.expect("pin the clock");
    let mut scenario = Scenario::setup(provider.clone(), &accounts, 99, config)
        .await
        .expect("the market sets up");
    // A long history: the market's blocks spread over thousands of empty ones, so that the backfill
    // (three blocks per eth_getLogs) takes seconds and the kills land all over it.
    for _ in 0..10 {
        scenario.run(25).await.expect("the market runs");
        let _: serde_json::Value = {
            use alloy::providers::Provider;
            provider
                .raw_request("anvil_mine".into(), (300,))
                .await
                .expect("anvil_mine")
        };
    }
    let deployment = *scenario.deployment();
    let dir = std::env::temp_dir().join(format!("utter-indexer-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let deployment_file = dir.join("deployment.json");
    deployment.save(&deployment_file).expect("deployment saved");
    let db = format!("sqlite://{}", dir.join("index.db").display());
    let store = Store::connect(&db).await.expect("db opens");
    let rpc = anvil.endpoint();

    let mut delays = Delays(0x5eed_1234_abcd_0001);
    let mut during_backfill = 0;
    let mut during_live = 0;
    let mut previous = 0;
    for kill in 0..24 {
        let head = {
            use alloy::providers::Provider;
            provider.get_block_number().await.expect("head")
        };
        let mut child = start(&rpc, &db, &deployment_file);
        if kill < 10 {
            // Backfill: killed after a random delay.
            tokio::time::sleep(Duration::from_millis(delays.next_ms(20, 300))).await;
        } else {
            // Live: the market goes on while the indexer follows it, until the kill.
            let until = std::time::Instant::now() + Duration::from_millis(delays.next_ms(100, 800));
            while std::time::Instant::now() < until {
                scenario.step().await.expect("the market steps");
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let at = indexed(&store, &deployment).await;
        eprintln!("kill {kill}: head at start {head}, indexed {at}");
        assert!(
            at >= previous,
            "the checkpoint never goes back: {previous} -> {at}"
        );
        previous = at;
        if at + 3 < head {
            during_backfill += 1;
        } else {
            during_live += 1;
        }
    }
    assert!(
        during_backfill >= 3,
        "kills during the backfill: {during_backfill}"
    );
    assert!(
        during_live >= 3,
        "kills during live following: {during_live}"
    );

    // The last run is left to catch up, then stopped the hard way too.
    let head = {
        use alloy::providers::Provider;
        provider.get_block_number().await.expect("head")
    };
    let mut child = start(&rpc, &db, &deployment_file);
    let caught_up = eventually(120, async || indexed(&store, &deployment).await >= head).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(caught_up, "the indexer caught up with block {head}");
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &scenario.accounts(),
        head,
        "after 25 kills",
    )
    .await;
}
