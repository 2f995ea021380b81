//! Full-state check: drive random lease lifecycles on a real anvil with the real contracts, index
//! them, and compare every table with the state read back from the contracts.

mod common;

use alloy::eips::BlockId;
use common::{catch_up, db_snapshot, indexer, postgres_store, sqlite_store, test_sync_config};
use utter_indexer::store::Store;
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{pin_clock, spawn_anvil, wallets},
    read_snapshot,
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
        let chain = read_snapshot(
            &provider,
            scenario.deployment(),
            &scenario.accounts(),
            BlockId::number(block),
        )
        .await
        .expect("the chain state reads");
        let indexed = db_snapshot(&store).await;
        let at = format!("round {round}, block {block}");
        assert_eq!(indexed.pools, chain.pools, "pools, {at}");
        assert_eq!(indexed.stakes, chain.stakes, "stakes, {at}");
        assert_eq!(indexed.providers, chain.providers, "providers, {at}");
        assert_eq!(indexed.offers, chain.offers, "offers, {at}");
        for (id, lease) in &chain.leases {
            assert_eq!(indexed.leases.get(id), Some(lease), "lease {id}, {at}");
        }
        assert_eq!(
            indexed.leases.len(),
            chain.leases.len(),
            "lease count, {at}"
        );
        assert_eq!(indexed.buyers, chain.buyers, "buyers, {at}");
        assert_eq!(indexed.reports, chain.reports, "reports, {at}");
        assert_eq!(indexed.global_rate, chain.global_rate, "global rate, {at}");
        leases = chain.leases.len();
    }
    assert!(leases > 20, "the scenario opened leases: {leases}");
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
