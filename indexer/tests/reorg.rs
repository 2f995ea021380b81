//! Reorgs on a real anvil (`--no-mining`, mined explicitly): blocks of depths 1 to 10 orphaned during
//! live following, twice in a row, and while the indexer is down. After each, the database must equal
//! the new canonical chain, event for event; a reorg deeper than the finality depth must stop the
//! indexer and leave the database as it was.

mod common;

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolEvent},
};
use common::{
    assert_catalog_matches_db, assert_matches_chain, catch_up, indexer, postgres_store,
    sqlite_store, test_sync_config,
};
use serde_json::json;
use utter_bindings::{BuyerTrust, ComputeToken, Deployment};
use utter_indexer::{store::Store, sync::SyncError};
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{mine, pin_clock, spawn_anvil_with, wallets},
};

const FINALITY: u64 = 12;

/// Replaces the last `depth` blocks with as many new ones; the first new block carries a trust
/// deposit of `amount` by `buyer`, so the new branch has events of its own.
async fn reorg(
    provider: &DynProvider,
    deployment: &Deployment,
    buyer: Address,
    depth: u64,
    amount: u64,
) {
    let approve = TransactionRequest::default()
        .from(buyer)
        .to(deployment.token)
        .input(
            ComputeToken::approveCall {
                spender: deployment.buyer_trust,
                value: U256::from(amount),
            }
            .abi_encode()
            .into(),
        );
    // Explicit gas: anvil would estimate it against the state before the approval.
    let deposit = TransactionRequest::default()
        .from(buyer)
        .gas_limit(300_000)
        .to(deployment.buyer_trust)
        .input(
            BuyerTrust::depositCall {
                amount: U256::from(amount),
            }
            .abi_encode()
            .into(),
        );
    let _: serde_json::Value = provider
        .raw_request(
            "anvil_reorg".into(),
            (depth, json!([[approve, 0], [deposit, 0]])),
        )
        .await
        .expect("anvil_reorg");
    // The new branch must really carry the deposit, or the test would compare nothing new.
    let head = provider.get_block_number().await.expect("head");
    let deposits = provider
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(deployment.buyer_trust)
                .event_signature(BuyerTrust::Deposited::SIGNATURE_HASH)
                .from_block(head + 1 - depth)
                .to_block(head),
        )
        .await
        .expect("eth_getLogs");
    assert_eq!(
        deposits.len(),
        1,
        "the new branch of a {depth}-deep reorg has its deposit"
    );
}

async fn rollback(provider: &DynProvider, depth: u64) {
    let _: serde_json::Value = provider
        .raw_request("anvil_rollback".into(), (depth,))
        .await
        .expect("anvil_rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reorgs_of_depth_one_to_ten_leave_the_index_equal_to_the_new_chain() {
    let (store, _path) = sqlite_store("reorg").await;
    reorgs_of_depth_one_to_ten(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reorgs_of_depth_one_to_ten_leave_the_index_equal_to_the_new_chain() {
    let Some((store, _url)) = postgres_store("reorg").await else {
        return;
    };
    reorgs_of_depth_one_to_ten(store).await;
}

async fn reorgs_of_depth_one_to_ten(store: Store) {
    let anvil = spawn_anvil_with(|anvil| anvil.arg("--no-mining"));
    let config = ScenarioConfig {
        mine_after_each_action: true,
        ..ScenarioConfig::default()
    };
    let (provider, accounts) = wallets(&anvil, config.accounts_needed());
    pin_clock(&provider).await.expect("pin the clock");
    let mut scenario = Scenario::setup(provider.clone(), &accounts, 21, config)
        .await
        .expect("the market sets up");
    let deployment = *scenario.deployment();
    let everyone = scenario.accounts();
    // The last buyer only ever deposits: the new branches' deposits come from it.
    let depositor = *accounts.last().expect("accounts");
    let mut indexer = indexer(&store, &provider, deployment, test_sync_config(FINALITY)).await;
    scenario.run(120).await.expect("the market runs");
    catch_up(&mut indexer, &provider).await;

    // Each depth from 1 to 10, the indexer following between reorgs.
    for depth in 1..=10 {
        reorg(&provider, &deployment, depositor, depth, depth).await;
        let (block, _) = catch_up(&mut indexer, &provider).await;
        assert_matches_chain(
            &store,
            &provider,
            &deployment,
            &everyone,
            block,
            &format!("reorg depth {depth}"),
        )
        .await;
        assert_catalog_matches_db(&indexer, &store, &format!("reorg depth {depth}")).await;
    }

    // Twice in a row with no indexing between, the second deeper than the first.
    reorg(&provider, &deployment, depositor, 3, 11).await;
    reorg(&provider, &deployment, depositor, 7, 12).await;
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "two reorgs in a row",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "two reorgs in a row").await;

    // Twice in a row on the same height, indexing in between.
    for amount in [13, 14] {
        reorg(&provider, &deployment, depositor, 4, amount).await;
        let (block, _) = catch_up(&mut indexer, &provider).await;
        assert_matches_chain(
            &store,
            &provider,
            &deployment,
            &everyone,
            block,
            "same-height reorg",
        )
        .await;
        assert_catalog_matches_db(&indexer, &store, "same-height reorg").await;
    }

    // While the indexer is down: a new indexer over the same database finds the fork.
    drop(indexer);
    reorg(&provider, &deployment, depositor, 6, 15).await;
    let mut indexer =
        common::indexer(&store, &provider, deployment, test_sync_config(FINALITY)).await;
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "reorg while down",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "reorg while down").await;

    // While the indexer is down for long: the fork is then deeper than the finality depth below the
    // head, but not below what the indexer remembers, so it is still found.
    drop(indexer);
    reorg(&provider, &deployment, depositor, 5, 18).await;
    mine(&provider, FINALITY * 3).await.expect("mine");
    let mut indexer =
        common::indexer(&store, &provider, deployment, test_sync_config(FINALITY)).await;
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "reorg, then down long",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "reorg, then down long").await;

    // A chain that got shorter, then grew again with other blocks.
    rollback(&provider, 5).await;
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "rollback by 5",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "rollback by 5").await;
    mine(&provider, 2).await.expect("mine");
    reorg(&provider, &deployment, depositor, 2, 16).await;
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "rollback then growth",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "rollback then growth").await;

    // The market goes on normally on top of all that.
    mine(&provider, FINALITY + 2).await.expect("mine");
    let (block, _) = catch_up(&mut indexer, &provider).await;
    assert_matches_chain(
        &store,
        &provider,
        &deployment,
        &everyone,
        block,
        "after the reorgs",
    )
    .await;
    assert_catalog_matches_db(&indexer, &store, "after the reorgs").await;

    // Deeper than the finality depth: the indexer stops loudly and the database stays as it was.
    let before = common::db_snapshot(&store).await;
    let checkpoint = indexer.checkpoint().cloned().expect("indexed");
    reorg(&provider, &deployment, depositor, FINALITY + 4, 17).await;
    let error = loop {
        match indexer.step().await {
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert!(matches!(error, SyncError::ReorgTooDeep { .. }), "{error}");
    assert!(error.to_string().contains("--finality-depth"), "{error}");
    assert_eq!(common::db_snapshot(&store).await, before);
    let stored = store
        .checkpoint(deployment.chain_id, deployment.escrow)
        .await
        .expect("checkpoint")
        .expect("some");
    assert_eq!(stored, checkpoint);
}

/// The hand-over from backfill to live following, with the boundary at different places: every
/// event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_hands_over_to_live_following_without_gaps_or_doubles() {
    let anvil = spawn_anvil_with(|anvil| anvil.arg("--no-mining"));
    let config = ScenarioConfig {
        mine_after_each_action: true,
        ..ScenarioConfig::default()
    };
    let (provider, accounts) = wallets(&anvil, config.accounts_needed());
    pin_clock(&provider).await.expect("pin the clock");
    let mut scenario = Scenario::setup(provider.clone(), &accounts, 5, config)
        .await
        .expect("the market sets up");
    let deployment = *scenario.deployment();
    scenario.run(60).await.expect("the market runs");
    for finality in [0, 1, 2, 5, 30] {
        let (store, _path) = sqlite_store(&format!("handover-{finality}")).await;
        let mut indexer = indexer(&store, &provider, deployment, test_sync_config(finality)).await;
        // One step backfills to the final block; the rest follow live, while new blocks come.
        indexer.step().await.expect("backfill");
        scenario.run(5).await.expect("the market runs");
        let (block, _) = catch_up(&mut indexer, &provider).await;
        assert_matches_chain(
            &store,
            &provider,
            &deployment,
            &scenario.accounts(),
            block,
            &format!("finality depth {finality}"),
        )
        .await;
        let head = provider.get_block_number().await.expect("head");
        assert_eq!(block, head);
    }
}
