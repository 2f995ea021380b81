//! Full-state check: drive random lease lifecycles on a real anvil with the real contracts, index
//! them, and compare every table with the state read back from the contracts.

mod common;

use alloy::{eips::BlockId, primitives::U256};
use common::{
    assert_catalog_matches_db, assert_matches_chain, catch_up, indexer, postgres_store,
    sqlite_store, test_sync_config,
};
use utter_bindings::LeaseEscrow;
use utter_indexer::{
    api::{self, ApiContext},
    metrics::Metrics,
    store::Store,
};
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{latest, pin_clock, spawn_anvil, wallets},
};

async fn index_a_random_market(store: Store, seed: u64, steps: u64) {
    let anvil = spawn_anvil();
    let config = ScenarioConfig::default();
    let (provider, accounts) = wallets(&anvil, config.accounts_needed());
    pin_clock(&provider).await.expect("pin the clock");
    let mut scenario = Scenario::setup(provider.clone(), &accounts, seed, config)
        .await
        .expect("the market sets up");

    // Index part of the history, then more while it goes on: backfill, hand-over and live blocks,
    // compared with the contracts after every round.
    let mut indexer = indexer(
        &store,
        &provider,
        *scenario.deployment(),
        test_sync_config(3),
    )
    .await;
    let rounds = 8;
    let mut leases = 0;
    for round in 0..rounds {
        scenario
            .run(steps / rounds)
            .await
            .expect("the scenario runs");
        let (block, _) = catch_up(&mut indexer, &provider).await;
        let at = format!("round {round}, block {block}");
        assert_catalog_matches_db(&indexer, &store, &at).await;
        let chain = assert_matches_chain(
            &store,
            &provider,
            scenario.deployment(),
            &scenario.accounts(),
            block,
            &at,
        )
        .await;
        leases = chain.leases.len();
    }
    assert!(leases > 20, "the scenario opened leases: {leases}");

    // The API's view of each lease "now" equals the contract's `leaseState` at the same time.
    let (block, timestamp) = latest(&provider).await.expect("latest");
    catch_up(&mut indexer, &provider).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let context = ApiContext {
        offers: indexer.catalog(),
        store: store.clone(),
        metrics: Metrics::default(),
        events: indexer.events(),
        progress: indexer.progress(),
        deployment: *scenario.deployment(),
        static_dir: None,
    };
    tokio::spawn(async move { axum::serve(listener, api::router(context)).await });
    let escrow = LeaseEscrow::new(scenario.deployment().escrow, &provider);
    let client = reqwest::Client::new();
    let names = [
        "none",
        "pending",
        "running",
        "halted",
        "restart_pending",
        "closed",
    ];
    for id in 1..=leases as u64 {
        let chain = escrow
            .leaseState(U256::from(id))
            .block(BlockId::number(block))
            .call()
            .await
            .expect("leaseState");
        let view: serde_json::Value = client
            .get(format!("{url}/v1/leases/{id}?at={timestamp}"))
            .send()
            .await
            .expect("GET lease")
            .json()
            .await
            .expect("JSON");
        let status = view["status"].as_str().expect("status");
        let expected = names[chain.status as usize];
        // A running lease whose balance is spent is `expired` in the API, `Halted` in `leaseState`.
        assert!(
            status == expected || (status == "expired" && expected == "halted"),
            "lease {id}: {status} vs {expected}"
        );
        assert_eq!(
            view["balance"],
            chain.balance.to_string(),
            "lease {id} balance"
        );
        assert_eq!(
            view["earned_unwithdrawn"],
            chain.earned.to_string(),
            "lease {id} earnings"
        );
        if chain.paidUntil.to::<u64>() != 0 {
            assert_eq!(
                view["paid_until"],
                chain.paidUntil.to::<u64>(),
                "lease {id} paid until"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_index_equals_the_contracts_after_a_random_market() {
    let (store, _path) = sqlite_store("full-state").await;
    index_a_random_market(store, 7, 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_index_equals_the_contracts_after_a_random_market() {
    let Some((store, _url)) = postgres_store("full_state").await else {
        return;
    };
    index_a_random_market(store, 11, 400).await;
}
