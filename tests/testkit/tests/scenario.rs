//! The random driver on a real anvil: a long run covers every action with few reverts and leaves
//! books that balance; the same seed gives the same chain.

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::BlockId,
};
use std::{collections::BTreeMap, time::Instant};
use utter_bindings::{BuyerTrust, ComputeToken, LeaseEscrow, Offers, Pools};
use utter_testkit::{
    ACTION_KINDS, Scenario, ScenarioConfig, Snapshot,
    anvil::{ACCOUNTS, spawn_anvil, spawn_anvil_with, wallets},
    read_snapshot,
};

/// The seed of the long run.
const SEED: u64 = 0x00C0_FFEE;
/// `LeaseStatus.Running` and `LeaseStatus.Closed`.
const RUNNING: u8 = 2;
const CLOSED: u8 = 5;
/// `ReportStatus.Open`.
const OPEN: u8 = 1;

/// Sets a scenario up on `anvil`, runs `steps` steps and reads the state at the latest block.
async fn run(
    anvil: &AnvilInstance,
    seed: u64,
    steps: u64,
    config: ScenarioConfig,
) -> (Scenario, Snapshot, u64) {
    let (provider, accounts) = wallets(anvil, ACCOUNTS);
    let mut scenario = Scenario::setup(provider.clone(), &accounts, seed, config)
        .await
        .expect("the scenario sets up");
    let started = Instant::now();
    scenario.run(steps).await.expect("the scenario runs");
    eprintln!(
        "{steps} steps in {:.1?}: {:?}",
        started.elapsed(),
        scenario.counts()
    );
    for revert in scenario.reverts() {
        eprintln!("reverted: {revert}");
    }
    let (block, snapshot) = scenario.snapshot().await.expect("the state reads back");
    // The same read, pinned to an earlier block, sees the earlier state.
    let earlier = read_snapshot(
        scenario.provider(),
        scenario.deployment(),
        &scenario.accounts(),
        BlockId::number(block / 2),
    )
    .await
    .expect("an earlier state reads back");
    assert!(earlier.leases.len() < snapshot.leases.len());
    (scenario, snapshot, block)
}

#[tokio::test]
async fn three_hundred_random_steps_perform_every_action_and_keep_the_books() {
    let anvil = spawn_anvil();
    let steps = 300;
    let (scenario, snapshot, block) = run(&anvil, SEED, steps, ScenarioConfig::default()).await;

    // Every kind of action happened; almost nothing reverted.
    let counts = scenario.counts();
    let missing: Vec<_> = ACTION_KINDS
        .iter()
        .filter(|kind| !counts.contains_key(*kind))
        .collect();
    assert!(missing.is_empty(), "never performed: {missing:?}");
    let reverted = counts.get("reverted").copied().unwrap_or(0);
    assert!(
        u64::from(reverted) * 20 < steps,
        "{reverted} of {steps} actions reverted: {:#?}",
        scenario.reverts()
    );

    // The snapshot holds every id the contracts counted.
    let provider = scenario.provider();
    let system = scenario.deployment();
    let at = BlockId::number(block);
    let pools = Pools::new(system.pools, provider);
    let offers = Offers::new(system.offers, provider);
    let escrow = LeaseEscrow::new(system.escrow, provider);
    let trust = BuyerTrust::new(system.buyer_trust, provider);
    let token = ComputeToken::new(system.token, provider);
    let pool_count = pools.poolCount().block(at).call().await.expect("poolCount");
    let offer_count = offers
        .offerCount()
        .block(at)
        .call()
        .await
        .expect("offerCount");
    let lease_count = escrow
        .leaseCount()
        .block(at)
        .call()
        .await
        .expect("leaseCount");
    let report_count = trust
        .reportCount()
        .block(at)
        .call()
        .await
        .expect("reportCount");
    assert_eq!(snapshot.pools.len(), pool_count as usize);
    assert_eq!(pool_count, 3);
    assert_eq!(snapshot.offers.len(), offer_count as usize);
    assert_eq!(U256::from(snapshot.leases.len()), lease_count);
    assert_eq!(U256::from(snapshot.reports.len()), report_count);
    assert!(
        snapshot
            .leases
            .keys()
            .copied()
            .eq(1..=lease_count.to::<u64>())
    );
    assert!(
        snapshot.leases.len() > 30,
        "{} leases",
        snapshot.leases.len()
    );

    // Rates: the global rate sums the running leases' prices, each pool's anonymous rate its
    // running anonymous leases'.
    let running = || snapshot.leases.values().filter(|l| l.status == RUNNING);
    let global: U256 = running().map(|l| l.price_per_second).sum();
    assert_eq!(snapshot.global_rate, global);
    for (&id, pool) in &snapshot.pools {
        let anon: U256 = running()
            .filter(|l| l.is_anonymous && snapshot.offers[&l.offer_id].pool_id == id)
            .map(|l| l.price_per_second)
            .sum();
        assert_eq!(pool.anon_rate, anon, "pool {id}");
    }
    assert!(
        snapshot.leases.values().any(|l| l.is_anonymous),
        "some buyers start anonymous"
    );

    // Offer loads and buyer records count the leases.
    for (&id, offer) in &snapshot.offers {
        let of_offer = || snapshot.leases.values().filter(|l| l.offer_id == id);
        let open = of_offer().filter(|l| l.status != CLOSED).count();
        assert_eq!(offer.active_leases as usize, open, "offer {id}");
        assert_eq!(
            offer.total_leases as usize,
            of_offer().count(),
            "offer {id}"
        );
    }
    assert!(
        snapshot
            .offers
            .values()
            .any(|o| o.active_leases == o.capacity),
        "some offer is full"
    );
    let mut opened: BTreeMap<Address, (u32, u64)> = BTreeMap::new();
    for lease in snapshot.leases.values() {
        let entry = opened.entry(lease.buyer).or_default();
        entry.0 += u32::from(lease.status != CLOSED);
        entry.1 += 1;
    }
    for (buyer, (active, total)) in &opened {
        let record = &snapshot.buyers[buyer];
        assert_eq!((record.active, record.opened), (*active, *total), "{buyer}");
    }

    // Reports point at their lease's parties; only open reports are unresolved.
    for report in snapshot.reports.values() {
        let lease = &snapshot.leases[&report.lease_id];
        assert_eq!(report.buyer, lease.buyer);
        assert_eq!(report.provider, snapshot.offers[&lease.offer_id].provider);
        assert!((OPEN..=3).contains(&report.status));
    }

    // Tokens: the escrow holds every lease's funds and the pools' fees, the registry every stake,
    // buyer trust every deposit.
    let balance = async |who: Address| {
        token
            .balanceOf(who)
            .block(at)
            .call()
            .await
            .expect("balanceOf")
    };
    let funds: U256 = snapshot.leases.values().map(|l| l.funds).sum();
    let fees: U256 = snapshot.pools.values().map(|p| p.fees).sum();
    assert_eq!(balance(system.escrow).await, funds + fees);
    let stakes: U256 = snapshot
        .stakes
        .values()
        .map(|s| s.bonded + s.unbonding)
        .sum();
    assert_eq!(balance(system.registry).await, stakes);
    let deposits: U256 = snapshot
        .buyers
        .values()
        .map(|b| b.deposit + b.unbonding)
        .sum();
    assert_eq!(balance(system.buyer_trust).await, deposits);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_chain() {
    let first = spawn_anvil();
    let second = spawn_anvil();
    let steps = 150;
    let (a, snapshot_a, block_a) = run(&first, 7, steps, ScenarioConfig::default()).await;
    let (b, snapshot_b, block_b) = run(&second, 7, steps, ScenarioConfig::default()).await;
    assert_eq!(a.counts(), b.counts());
    assert_eq!(block_a, block_b);
    assert_eq!(snapshot_a, snapshot_b);
    let header = async |scenario: &Scenario| {
        scenario
            .provider()
            .get_block_by_number(block_a.into())
            .await
            .expect("block")
            .expect("exists")
            .header
    };
    let (header_a, header_b) = (header(&a).await, header(&b).await);
    assert_eq!(header_a.timestamp, header_b.timestamp);
    assert_eq!(header_a.state_root, header_b.state_root);

    // Another seed walks elsewhere.
    let third = spawn_anvil();
    let (_, snapshot_c, _) = run(&third, 8, steps, ScenarioConfig::default()).await;
    assert_ne!(snapshot_a, snapshot_c);
}

#[tokio::test]
async fn the_scenario_mines_each_action_itself_on_a_chain_that_does_not_automine() {
    let anvil = spawn_anvil_with(|anvil| anvil.arg("--no-mining"));
    let config = ScenarioConfig {
        mine_after_each_action: true,
        ..ScenarioConfig::default()
    };
    let steps = 80;
    let (scenario, snapshot, _) = run(&anvil, SEED, steps, config).await;
    let reverted = scenario.counts().get("reverted").copied().unwrap_or(0);
    assert!(
        u64::from(reverted) * 20 < steps,
        "{:#?}",
        scenario.reverts()
    );
    assert!(!snapshot.leases.is_empty());
    let global: U256 = snapshot
        .leases
        .values()
        .filter(|l| l.status == RUNNING)
        .map(|l| l.price_per_second)
        .sum();
    assert_eq!(snapshot.global_rate, global);
}
