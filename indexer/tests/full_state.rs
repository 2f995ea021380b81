//! Full-state check: drive random lease lifecycles on a real anvil with the real contracts, index
//! them, and compare every table with the state read back from the contracts.

mod common;

use common::{
    assert_matches_chain, catch_up, indexer, postgres_store, sqlite_store, test_sync_config,
};
use utter_indexer::store::Store;
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{pin_clock, spawn_anvil, wallets},
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
