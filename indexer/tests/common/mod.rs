//! What the indexer's integration tests share: the indexed state as a [`Snapshot`], read from the
//! database (not from the indexer's memory), and running an indexer to the chain head.

#![allow(dead_code, unreachable_pub)]

use alloy::{
    primitives::{B256, U256},
    providers::{DynProvider, Provider},
};
use std::time::Duration;
use utter_bindings::Deployment;
use utter_indexer::{
    api::OfferCatalog,
    metrics::Metrics,
    store::Store,
    sync::{Indexer, SyncConfig},
};
use utter_testkit::snapshot::{
    BuyerState, LeaseState, OfferState, PoolState, ProviderState, ReportState, Snapshot, StakeState,
};

/// The state the database holds, in the shape the contracts are read into.
pub async fn db_snapshot(store: &Store) -> Snapshot {
    let state = store.load_state().await.expect("the state loads");
    let mut snapshot = Snapshot::default();
    for p in state.pools.rows() {
        snapshot.pools.insert(
            p.pool_id,
            PoolState {
                operator: p.operator,
                pending_operator: p.pending_operator,
                name: p.name.clone(),
                metadata_uri: p.metadata_uri.clone(),
                fee_bps: p.fee_bps,
                no_boot_slash_bps: p.no_boot_slash_bps,
                boot_fail_slash_bps: p.boot_fail_slash_bps,
                provider_unbonding: p.provider_unbonding,
                min_stake: p.min_stake,
                trust: [
                    p.trusted_deposit,
                    p.trusted_karma,
                    U256::from(p.anon_target_share_bps),
                    U256::from(p.max_buyer_slash_bps),
                    U256::from(p.base_leases),
                    U256::from(p.max_leases),
                    p.deposit_per_lease,
                    p.karma_per_lease,
                    p.anon_min_fee,
                    p.anon_max_fee,
                ],
                fees: p.fees,
                anon_rate: p.anon_rate,
            },
        );
    }
    for s in state.stakes.rows().filter(|s| s.joined) {
        snapshot.stakes.insert(
            (s.pool_id, s.provider),
            StakeState {
                bonded: s.bonded,
                unbonding: s.unbonding,
                unbonding_ends: s.unbonding_ends,
                joined: s.joined,
            },
        );
    }
    for p in state.providers.rows() {
        let record = ProviderState {
            buyer_stopped: p.buyer_stopped,
            ran_dry: p.ran_dry,
            boot_failed: p.boot_failed,
            terminated: p.terminated,
            reclaimed: p.reclaimed,
            completed_seconds: p.completed_seconds,
            encryption_key: p.encryption_key,
        };
        if record != ProviderState::default() {
            snapshot.providers.insert(p.provider, record);
        }
    }
    for o in state.offers.rows() {
        snapshot.offers.insert(
            o.offer_id,
            OfferState {
                provider: o.provider,
                pool_id: o.pool_id,
                status: o.status,
                price_per_second: o.price_per_second,
                capacity: o.capacity,
                boot_timeout: o.boot_timeout,
                retention: o.retention,
                images_revision: o.images_revision,
                vcpus: o.vcpus,
                ram_mib: o.ram_mib,
                disk_gib: o.disk_gib,
                gpu_count: o.gpu_count,
                gpu_model: o.gpu_model.clone(),
                bandwidth_up_mbps: o.bandwidth_up_mbps,
                bandwidth_down_mbps: o.bandwidth_down_mbps,
                public_ipv4: o.public_ipv4,
                public_ipv6: o.public_ipv6,
                region: o.region.clone(),
                active_leases: o.active_leases,
                total_leases: o.total_leases,
            },
        );
    }
    for l in state.leases.rows() {
        snapshot.leases.insert(
            l.lease_id,
            LeaseState {
                buyer: l.buyer,
                offer_id: l.offer_id,
                status: l.status,
                is_anonymous: l.is_anonymous,
                settled_at: l.settled_at,
                funds: l.funds,
                price_per_second: l.price_per_second,
                deadline: l.deadline,
                fee_bps: l.fee_bps,
            },
        );
    }
    for b in state.buyers.rows() {
        if b.opened == 0 && b.deposit.is_zero() && b.unbonding.is_zero() {
            continue;
        }
        snapshot.buyers.insert(
            b.buyer,
            BuyerState {
                active: b.active,
                opened: b.opened,
                karma: b.karma,
                last_ended_at: b.last_ended_at,
                deposit: b.deposit,
                unbonding: b.unbonding,
                unbonding_ends: b.unbonding_ends,
            },
        );
    }
    for r in state.reports.rows() {
        snapshot.reports.insert(
            r.report_id,
            ReportState {
                lease_id: r.lease_id,
                buyer: r.buyer,
                provider: r.provider,
                pool_id: r.pool_id,
                status: r.status,
            },
        );
    }
    snapshot.global_rate = state.market.get(&1).map_or(U256::ZERO, |m| m.global_rate);
    snapshot
}

/// A sync configuration for tests: small ranges so the backfill takes several batches.
pub fn test_sync_config(finality_depth: u64) -> SyncConfig {
    SyncConfig {
        finality_depth,
        initial_range: 4,
        max_range: 64,
        batch_events: 200,
        poll_interval: Duration::from_millis(20),
        progress: false,
    }
}

/// A new indexer over `store`.
pub async fn indexer(
    store: &Store,
    provider: &DynProvider,
    deployment: Deployment,
    config: SyncConfig,
) -> Indexer {
    Indexer::new(
        store.clone(),
        provider.clone(),
        deployment,
        config,
        Metrics::default(),
    )
    .await
    .expect("the indexer starts")
}

/// Steps `indexer` until it has applied the chain head.
pub async fn catch_up(indexer: &mut Indexer, provider: &DynProvider) -> (u64, B256) {
    loop {
        let head = provider.get_block_number().await.expect("head");
        let moved = indexer.step().await.expect("the indexer steps");
        let at = indexer.checkpoint().map(|c| (c.block_number, c.block_hash));
        if !moved
            && let Some((number, hash)) = at
            && number == head
        {
            return (number, hash);
        }
    }
}

/// A fresh SQLite database file in a temporary directory.
pub async fn sqlite_store(name: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("utter-indexer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("index.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite opens");
    (store, path)
}

/// A fresh PostgreSQL database on the local server, or `None` (with a note) when none is reachable.
pub async fn postgres_store(name: &str) -> Option<(Store, String)> {
    let admin = std::env::var("UTTER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    sqlx::any::install_default_drivers();
    let Ok(pool) = sqlx::AnyPool::connect(&admin).await else {
        eprintln!("SKIPPED (PostgreSQL half): no PostgreSQL at {admin}");
        return None;
    };
    let database = format!("utter_{name}_{}", std::process::id());
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database}"))
        .execute(&pool)
        .await;
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&pool)
        .await
        .expect("create the test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    let url = format!("{base}/{database}");
    let store = Store::connect(&url).await.expect("postgres opens");
    Some((store, url))
}

/// Polls until `f` holds, for at most `seconds`.
pub async fn eventually(seconds: u64, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The zero hash, named.
pub const NO_HASH: B256 = B256::ZERO;

/// Asserts that the database equals the contracts' state at `block`, table by table, and that it
/// holds exactly the chain's events up to `block`: none lost, none doubled, none orphaned.
pub async fn assert_matches_chain(
    store: &Store,
    provider: &DynProvider,
    deployment: &Deployment,
    accounts: &[alloy::primitives::Address],
    block: u64,
    at: &str,
) -> Snapshot {
    let chain = utter_testkit::read_snapshot(
        provider,
        deployment,
        accounts,
        alloy::eips::BlockId::number(block),
    )
    .await
    .expect("the chain state reads");
    let indexed = db_snapshot(store).await;
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

    let logs = provider
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(vec![
                    deployment.pools,
                    deployment.registry,
                    deployment.offers,
                    deployment.buyer_trust,
                    deployment.escrow,
                ])
                .from_block(deployment.deploy_block)
                .to_block(block),
        )
        .await
        .expect("eth_getLogs");
    let rows =
        sqlx::query("SELECT block_hash, log_index FROM events ORDER BY block_number, log_index")
            .fetch_all(store.pool())
            .await
            .expect("events read");
    let stored: Vec<(String, i64)> = rows
        .iter()
        .map(|row| {
            use sqlx::Row;
            (row.get::<String, _>(0), row.get::<i64, _>(1))
        })
        .collect();
    let expected: Vec<(String, i64)> = logs
        .iter()
        .map(|log| {
            (
                log.block_hash.expect("mined").to_string(),
                log.log_index.expect("mined") as i64,
            )
        })
        .collect();
    assert_eq!(stored.len(), expected.len(), "event count, {at}");
    assert_eq!(stored, expected, "events, {at}");
    chain
}

/// The indexer's offers catalog (what `/v1/offers` searches) equals one read afresh from the
/// database: every offer's view and trust level, and every sort order.
pub async fn assert_catalog_matches_db(indexer: &Indexer, store: &Store, at: &str) {
    let kept = indexer.catalog().contents().await;
    let fresh = OfferCatalog::load(store)
        .await
        .expect("the catalog loads")
        .contents()
        .await;
    assert!(!fresh.views.is_empty(), "{at}: the market has offers");
    assert_eq!(
        kept, fresh,
        "{at}: the offers catalog differs from the database"
    );
}
