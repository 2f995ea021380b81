//! The agent on a real anvil with the real contracts, and an in-memory cloud: the lease state
//! machine end to end, kills between steps, cloud faults, a full cloud. (The same lifecycle against
//! a real OpenStack is in `lab.rs`.)

mod common;

use alloy::{primitives::U256, providers::Provider as _};
use common::{CLOSED, HALTED, Market, PRICE, RESTART_PENDING, RUNNING, memory_cloud};
use utter_provider_agent::{
    access,
    cloud::{CloudError, Flavor, memory::MemoryCloud},
    plan::{Action, ServerStatus},
};
use utter_testkit::anvil::{confirm, warp};

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_boots_is_acknowledged_halts_resumes_and_ends() {
    let market = Market::new("lifecycle").await;
    let mut agent = market.agent(
        std::sync::Arc::new(memory_cloud()),
        "utter.small",
        "utter-tiny",
    );
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("one offer");

    let lease = market.open_lease(offer_id, 600).await;
    // Not confirmed yet: nothing happens.
    assert!(agent.tick().await.expect("tick").is_empty());
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    let servers = agent.cloud().servers();
    assert_eq!(servers.len(), 1);
    assert!(servers[0].tags.contains(&format!("utter-lease:{lease}")));

    // Killed while the server builds: a new agent finds it and boots no second one.
    let cloud = kill(agent);
    let mut agent = market.agent(cloud, "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares again");
    assert_eq!(
        *agent.offers().keys().next().expect("offer"),
        offer_id,
        "no second offer"
    );
    assert!(agent.tick().await.expect("tick").is_empty());
    agent.cloud().settle();
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(agent.cloud().servers().len(), 1);

    // The buyer reads its access details with its own SSH key.
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    assert_eq!(details.lease_id, lease);
    assert_eq!(details.host, agent.cloud().servers()[0].addresses[0]);

    // Dry: the server stops, the chain records the halt.
    warp(&market.provider, 700).await.expect("warp");
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"stop") && done.contains(&"halt"), "{done:?}");
    market.settle_chain().await;
    assert_eq!(market.status(lease).await, HALTED);
    assert_eq!(agent.cloud().servers()[0].status, ServerStatus::Shutoff);

    // A top-up inside the retention window resumes it.
    confirm(
        "top up",
        market
            .escrow()
            .topUp(U256::from(lease), U256::from(PRICE) * U256::from(600))
            .from(market.buyer),
    )
    .await;
    assert_eq!(market.status(lease).await, RESTART_PENDING);
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["start"]);
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);

    // The buyer stops: the server is deleted; the earnings are withdrawn.
    confirm(
        "stop",
        market.escrow().stop(U256::from(lease)).from(market.buyer),
    )
    .await;
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"delete"), "{done:?}");
    assert_eq!(market.status(lease).await, CLOSED);
    assert!(agent.cloud().servers().is_empty());
    assert!(agent.counters.withdrawn > U256::ZERO, "earnings withdrawn");
    assert_eq!(
        market.funds(lease).await,
        alloy::primitives::aliases::U96::ZERO,
        "nothing left in the lease"
    );
}

/// An agent on a fresh in-memory cloud with its offer published and one lease of it running
/// (booted and acknowledged): the cloud, the agent, the offer and the lease.
async fn running_lease(
    market: &Market,
    config: utter_provider_agent::config::FileConfig,
) -> (
    std::sync::Arc<MemoryCloud>,
    utter_provider_agent::agent::Agent<MemoryCloud>,
    u32,
    u64,
) {
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    cloud.settle();
    agent.tick().await.expect("tick");
    assert_eq!(market.status(lease).await, RUNNING);
    (cloud, agent, offer_id, lease)
}

/// Ends an agent as if its process died, keeping the cloud (which outlives the agent).
fn kill<C: utter_provider_agent::cloud::Cloud>(
    agent: utter_provider_agent::agent::Agent<C>,
) -> std::sync::Arc<C> {
    agent.cloud_handle()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flavor_that_cannot_boot_is_refunded_before_the_deadline() {
    let market = Market::new("bootfail").await;
    let cloud = std::sync::Arc::new(memory_cloud());
    cloud.fail_flavor(
        "f-small",
        "Build of instance aborted: the image's disk failed",
    );
    let mut agent = market.agent(cloud, "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    // Each server goes to ERROR: it is deleted and another booted, three in all, then the failure
    // is reported (the buyer refunded) well before the deadline.
    let mut all = Vec::new();
    for _ in 0..10 {
        let done = kinds(&agent.tick().await.expect("tick"));
        all.extend(done);
        if all.contains(&"report_boot_failure") {
            break;
        }
        agent.cloud().settle();
        market.settle_chain().await;
    }
    assert_eq!(
        all,
        [
            "boot",
            "delete",
            "boot",
            "delete",
            "boot",
            "report_boot_failure",
            "delete"
        ]
    );
    assert_eq!(market.status(lease).await, CLOSED);
    // A fault of this server, not of capacity: the offer stays open.
    market.mined().await;
    assert_eq!(market.offer_status(offer_id).await, 1);
    // The failed boot was slashed under the pool's minimum; the agent stakes the difference again,
    // so its offers stay sellable.
    let registry =
        utter_bindings::ProviderRegistry::new(market.deployment.registry, &market.provider);
    let pools = utter_bindings::Pools::new(market.deployment.pools, &market.provider);
    let minimum = pools
        .minStakeOf(market.pool_id)
        .call()
        .await
        .expect("minimum");
    let bonded = async || {
        market.mined().await;
        registry
            .bondedOf(market.pool_id, market.host)
            .call()
            .await
            .expect("bonded")
    };
    assert!(bonded().await < minimum, "slashed");
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(bonded().await, minimum, "topped up to the minimum");
    assert_eq!(agent.counters.actions.get("stake"), Some(&1));
    assert_eq!(
        market.funds(lease).await,
        alloy::primitives::aliases::U96::ZERO,
        "the buyer was refunded"
    );
    assert!(agent.cloud().servers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_faults_are_retried_and_a_full_cloud_pauses_the_offers() {
    let market = Market::new("faults").await;
    let mut agent = market.agent(
        std::sync::Arc::new(memory_cloud()),
        "utter.small",
        "utter-tiny",
    );
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    agent
        .cloud()
        .fail_next(CloudError::Unavailable("503 from nova".into()));
    assert!(agent.tick().await.is_err(), "the failed listing surfaces");
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    agent
        .cloud()
        .fail_next(CloudError::Unavailable("timeout".into()));
    // The listing succeeds now but the next call (get server for the ack) will not.
    agent.cloud().settle();
    let _ = agent.tick().await;
    let _ = agent.tick().await;
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(agent.cloud().servers().len(), 1, "exactly one server");
    assert_eq!(
        agent.counters.cloud_errors_by.get(&("list", "unavailable")),
        Some(&2),
        "counted by call and kind: {:?}",
        agent.counters
    );

    agent.cloud().set_max_instances(Some(1));
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    market.mined().await;
    assert_eq!(market.offer_status(offer_id).await, 2, "paused");
    agent.cloud().set_max_instances(None);
    agent.tick().await.expect("tick");
    market.mined().await;
    assert_eq!(market.offer_status(offer_id).await, 1, "resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyers_encrypted_user_data_reaches_the_machine_and_unreadable_data_is_refunded() {
    let market = Market::new("userdata").await;
    let identity = age::x25519::Identity::generate();
    let mut agent = market
        .agent(
            std::sync::Arc::new(memory_cloud()),
            "utter.small",
            "utter-tiny",
        )
        .with_age_identity(identity);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    // The buyer encrypts to the key the provider published on-chain.
    let registry =
        utter_bindings::ProviderRegistry::new(market.deployment.registry, &market.provider);
    let key = registry
        .encryptionKeyOf(market.host)
        .call()
        .await
        .expect("key");
    assert_ne!(
        key,
        alloy::primitives::B256::ZERO,
        "the agent published its key"
    );
    let to = utter_provider_agent::user_data::recipient(key).expect("recipient");
    let script = b"#!/bin/sh\necho the-buyers-own-setup\n";
    let sealed = age::encrypt(&to, script).expect("encrypt");
    let lease = market
        .open_lease_with_user_data(offer_id, 600, sealed)
        .await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    let server = agent.cloud().servers()[0].id.clone();
    let user_data = agent.cloud().user_data(&server).expect("user data");
    assert!(user_data.contains("the-buyers-own-setup"), "{user_data}");
    assert!(
        user_data.contains(&market.ssh_public.trim().to_string()),
        "{user_data}"
    );
    assert!(
        user_data.contains(&format!("\"lease_id\":{lease}")),
        "{user_data}"
    );

    // Data not encrypted to this provider: refunded rather than booted wrong.
    let lease = market
        .open_lease_with_user_data(offer_id, 600, b"not age at all".to_vec())
        .await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.status(lease).await, CLOSED);
    assert_eq!(
        agent.cloud().servers().len(),
        1,
        "no machine for the unreadable lease"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_spare_is_handed_to_a_new_lease_and_replaced() {
    let market = Market::new("spares").await;
    let mut config = market.config("utter.small", "utter-tiny");
    config.offers[0].hot_spares = 1;
    let mut agent = market.agent_with_config(std::sync::Arc::new(memory_cloud()), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot_spare"]);
    agent.cloud().settle();
    assert!(
        agent.tick().await.expect("tick").is_empty(),
        "one spare is enough"
    );
    let spare = agent.cloud().servers()[0].id.clone();

    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(
        kinds(&agent.tick().await.expect("tick")),
        ["claim", "boot_spare"]
    );
    let claimed = agent
        .cloud()
        .servers()
        .into_iter()
        .find(|s| s.id == spare)
        .expect("the spare");
    assert!(
        claimed.tags.contains(&format!("utter-lease:{lease}")),
        "{:?}",
        claimed.tags
    );
    assert!(
        !claimed
            .tags
            .iter()
            .any(|t| t.starts_with("utter-spare") || t == "utter-claimed")
    );
    let user_data = agent
        .cloud()
        .user_data(&spare)
        .expect("rebuilt with user data");
    assert!(
        user_data.contains(market.ssh_public.trim()),
        "the buyer's key: {user_data}"
    );
    agent.cloud().settle();
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(
        agent.cloud().servers().len(),
        2,
        "the lease's server and a new spare"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spare_claimed_by_an_agent_that_died_is_rebuilt_not_acknowledged() {
    let market = Market::new("spares-kill").await;
    let mut config = market.config("utter.small", "utter-tiny");
    config.offers[0].hot_spares = 1;
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent_with_config(cloud.clone(), config.clone());
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    agent.tick().await.expect("tick");
    cloud.settle();
    let spare = cloud.servers()[0].id.clone();
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    // The agent died right after tagging the spare as the lease's, before the rebuild.
    use utter_provider_agent::cloud::Cloud as _;
    cloud
        .set_tags(
            &spare,
            &[
                market.scope(),
                format!("utter-lease:{lease}"),
                "utter-claimed".into(),
            ],
        )
        .await
        .expect("tags");
    drop(agent);
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(
        done.contains(&"rebuild") && !done.contains(&"acknowledge"),
        "{done:?}"
    );
    assert!(
        cloud
            .user_data(&spare)
            .expect("rebuilt")
            .contains(market.ssh_public.trim())
    );
    cloud.settle();
    market.settle_chain().await;
    assert!(kinds(&agent.tick().await.expect("tick")).contains(&"acknowledge"));
    assert_eq!(market.status(lease).await, RUNNING);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lease_boots_between_listings_and_transactions_do_not_block_the_tick() {
    let market = Market::new("between-listings").await;
    let mut config = market.config("utter.small", "utter-tiny");
    config.cloud_poll_ms = 60_000;
    let mut agent = market.agent_with_config(std::sync::Arc::new(memory_cloud()), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    assert!(agent.tick().await.expect("tick").is_empty());
    assert_eq!(agent.cloud().listings(), 1, "a fresh agent lists first");

    // Opened after the listing: booted from it, without listing again.
    let first = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    assert_eq!(agent.cloud().listings(), 1, "no listing before the create");
    assert!(
        agent.tick().await.expect("tick").is_empty(),
        "in flight: not booted twice"
    );
    assert_eq!(agent.cloud().servers().len(), 1);

    // A restart knows no listing: it lists before it boots, and finds the server.
    let cloud = kill(agent);
    let mut config = market.config("utter.small", "utter-tiny");
    config.cloud_poll_ms = 60_000;
    let mut agent = market.agent_with_config(cloud, config);
    agent.prepare().await.expect("prepares again");
    let listed = agent.cloud().listings();
    assert!(agent.tick().await.expect("tick").is_empty());
    assert_eq!(agent.cloud().listings(), listed + 1, "listed on restart");
    assert_eq!(agent.cloud().servers().len(), 1, "no second server");

    // Two acknowledgements go out in one tick, on consecutive nonces, before any receipt is read.
    let second = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    agent.cloud().settle();
    let mut config = market.config("utter.small", "utter-tiny");
    config.cloud_poll_ms = 0;
    let mut agent = market.agent_with_config(kill(agent), config);
    agent.prepare().await.expect("prepares a third time");
    market
        .provider
        .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await
        .expect("automine off");
    let done = kinds(&agent.tick().await.expect("tick"));
    assert_eq!(done, ["acknowledge", "acknowledge"]);
    assert_eq!(
        agent.pending_transactions(),
        2,
        "both pending, none awaited"
    );
    market
        .provider
        .raw_request::<_, ()>("evm_setAutomine".into(), (true,))
        .await
        .expect("automine on");
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(
        agent.counters.tx_errors, 0,
        "both mined: {:?}",
        agent.counters
    );
    assert_eq!(market.status(first).await, RUNNING);
    assert_eq!(market.status(second).await, RUNNING);
    assert!(
        agent.tick().await.expect("tick").is_empty(),
        "nothing sent twice"
    );
}

/// The description the agent gives a lease's floating IP in this market.
fn floating_description(market: &Market, lease: u64) -> String {
    utter_provider_agent::agent::floating_ip_description(&market.scope(), lease)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_offer_gets_one_floating_ip_kept_across_a_halt_and_released_at_the_end() {
    let market = Market::new("floating").await;
    let config = market.public_config("utter.small", "utter-tiny", "private", "public");
    let cloud = std::sync::Arc::new(memory_cloud());
    // A floating IP of another deployment, and one this deployment leaked for a lease with no
    // server (an agent that died before releasing it).
    let other_port = MemoryCloud::port_of(&cloud.insert_server("other"));
    cloud
        .allocate_floating_ip(&other_port, "utter:1:0x00000000 utter-lease:1")
        .expect("another deployment's address");
    cloud
        .allocate_floating_ip(&other_port, &floating_description(&market, 999))
        .expect_err("one port holds one floating IP");
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");

    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    // Timed: from the tick that saw the lease to the create request, then to the acknowledgement.
    assert_eq!(agent.counters.boot_request_latency.count, 1);
    agent.cloud().settle();
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(agent.counters.boot_latency.count, 1);
    let ips = cloud.all_floating_ips();
    let mine: Vec<_> = ips
        .iter()
        .filter(|ip| ip.description == floating_description(&market, lease))
        .collect();
    assert_eq!(mine.len(), 1, "{ips:?}");
    let server = cloud
        .servers()
        .into_iter()
        .find(|s| s.tags.contains(&format!("utter-lease:{lease}")))
        .expect("the lease's server");
    assert_eq!(
        mine[0].port_id.as_deref(),
        Some(MemoryCloud::port_of(&server.id).as_str())
    );
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    assert_eq!(
        details.host, mine[0].address,
        "the public address, not {server:?}"
    );
    assert!(details.host.starts_with("203.0.113."), "{}", details.host);
    let address = details.host.clone();

    // Halted and resumed: the same address comes back, and no second one is allocated.
    warp(&market.provider, 700).await.expect("warp");
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"halt"), "{done:?}");
    confirm(
        "top up",
        market
            .escrow()
            .topUp(U256::from(lease), U256::from(PRICE) * U256::from(600))
            .from(market.buyer),
    )
    .await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["start"]);
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    assert_eq!(
        details.host, address,
        "the same public address after a resume"
    );
    let described = |ips: &[utter_provider_agent::cloud::FloatingIp], lease: u64| {
        ips.iter()
            .filter(|ip| ip.description == floating_description(&market, lease))
            .count()
    };
    assert_eq!(described(&cloud.all_floating_ips(), lease), 1);

    // The buyer stops: the server goes and its address is released; the other deployment's stays.
    confirm(
        "stop",
        market.escrow().stop(U256::from(lease)).from(market.buyer),
    )
    .await;
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"delete"), "{done:?}");
    let ips = cloud.all_floating_ips();
    assert_eq!(described(&ips, lease), 0, "{ips:?}");
    assert_eq!(
        ips.len(),
        1,
        "only the other deployment's address is left: {ips:?}"
    );
    assert_eq!(ips[0].description, "utter:1:0x00000000 utter-lease:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_ip_an_agent_allocated_before_dying_is_reused_and_leaked_ones_are_released() {
    let market = Market::new("floating-restart").await;
    let config = market.public_config("utter.small", "utter-tiny", "private", "public");
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent_with_config(cloud.clone(), config.clone());
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    // The agent allocated the lease's address and died before acknowledging. Meanwhile a
    // leaked address of a lease with no server waits to be released.
    let server = cloud.servers()[0].id.clone();
    let allocated = cloud
        .allocate_floating_ip(
            &MemoryCloud::port_of(&server),
            &floating_description(&market, lease),
        )
        .expect("allocated");
    let unrelated = cloud.insert_server("unrelated");
    let leaked = cloud
        .allocate_floating_ip(
            &MemoryCloud::port_of(&unrelated),
            &floating_description(&market, 999),
        )
        .expect("leaked");
    let cloud = kill(agent);
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares again");
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    assert_eq!(
        details.host, allocated.address,
        "the address allocated before the kill"
    );
    let ips = cloud.all_floating_ips();
    assert_eq!(
        ips.len(),
        1,
        "no second address, the leaked one released: {ips:?}"
    );
    assert_eq!(ips[0].id, allocated.id);
    assert!(!ips.iter().any(|ip| ip.id == leaked.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_offer_with_no_address_left_is_refunded_at_once() {
    let market = Market::new("floating-exhausted").await;
    let config = market.public_config("utter.small", "utter-tiny", "private", "public");
    let cloud = std::sync::Arc::new(memory_cloud());
    cloud.set_floating_pool(0);
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    agent.tick().await.expect("tick");
    assert_eq!(
        market.status(lease).await,
        CLOSED,
        "reported failed, not acknowledged"
    );
    assert_eq!(
        market.funds(lease).await,
        alloy::primitives::aliases::U96::ZERO,
        "the buyer was refunded"
    );
    assert!(
        agent
            .counters
            .cloud_errors_by
            .contains_key(&("floating_ip", "rejected")),
        "{:?}",
        agent.counters.cloud_errors_by
    );
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"delete"), "{done:?}");
    assert!(cloud.servers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_network_that_is_missing_or_internal_is_named_at_start() {
    let market = Market::new("floating-config").await;
    for (network, expected) in [
        (
            "nowhere",
            "external network \"nowhere\" (cloud.floating_network)",
        ),
        ("private", "network private is not external"),
    ] {
        let config = market.public_config("utter.small", "utter-tiny", "private", network);
        let mut agent = market.agent_with_config(std::sync::Arc::new(memory_cloud()), config);
        let error = agent.prepare().await.expect_err("refused").to_string();
        assert!(error.contains(expected), "{network}: {error}");
        assert!(agent.offers().is_empty(), "nothing published for {network}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_offers_whose_flavor_no_longer_fits_are_paused() {
    let market = Market::new("room").await;
    let text = format!(
        r#"{}
[[offers]]
name = "medium"
pool_id = {}
flavor = "utter.medium"
images = [{{ name = "ubuntu-24.04", glance = "utter-tiny" }}]
price_per_second = "{PRICE}"
capacity = 2
region = "lab-1"
"#,
        market.config_text("utter.small", "utter-tiny"),
        market.pool_id
    );
    let config = common::parse_config(&text);
    let cloud = MemoryCloud::new(
        vec![
            Flavor {
                id: "f-small".into(),
                name: "utter.small".into(),
                vcpus: 1,
                ram_mib: 512,
                disk_gib: 5,
            },
            Flavor {
                id: "f-medium".into(),
                name: "utter.medium".into(),
                vcpus: 2,
                ram_mib: 2048,
                disk_gib: 20,
            },
        ],
        vec![("utter-tiny".into(), "img-tiny".into())],
    );
    let cloud = std::sync::Arc::new(cloud);
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let ids: Vec<u32> = agent.offers().keys().copied().collect();
    let by_flavor = |name: &str| {
        *ids.iter()
            .find(|id| agent.offers()[id].flavor.name == name)
            .expect("offer")
    };
    let (small, medium) = (by_flavor("utter.small"), by_flavor("utter.medium"));

    // Three vCPUs, one lease of the small flavor running: two left, both fit.
    cloud.set_max_cores(Some(3));
    let lease = market.open_lease(small, 600).await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    cloud.settle();
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(
        (
            market.offer_status(small).await,
            market.offer_status(medium).await
        ),
        (1, 1)
    );

    // One more small lease: one vCPU left, so
    // the medium offer (two vCPUs) pauses and the small one stays open.
    let second = market.open_lease(small, 600).await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    cloud.settle();
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.status(second).await, RUNNING);
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(
        (
            market.offer_status(small).await,
            market.offer_status(medium).await
        ),
        (1, 2),
        "only the offer that no longer fits is paused"
    );

    // The quota grows: the medium offer is resumed.
    cloud.set_max_cores(Some(8));
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(
        (
            market.offer_status(small).await,
            market.offer_status(medium).await
        ),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_nova_finds_no_host_for_pauses_for_a_while_then_reopens() {
    let market = Market::new("nohost").await;
    let config = market.config_with_cloud("utter.small", "utter-tiny", "capacity_pause_secs = 1");
    let cloud = std::sync::Arc::new(memory_cloud());
    cloud.fail_flavor("f-small", "No valid host was found. ");
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    let done = kinds(&agent.tick().await.expect("tick"));
    assert_eq!(done, ["report_boot_failure", "delete"]);
    assert_eq!(market.status(lease).await, CLOSED, "refunded");
    assert_eq!(
        market.offer_status(offer_id).await,
        2,
        "paused: the hypervisors have no room"
    );

    // The pause ends (1 s here); the hosts have room again and the next lease boots.
    cloud.heal_flavor("f-small");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.offer_status(offer_id).await, 1, "resumed");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_missing_from_one_listing_does_not_end_its_lease_at_once() {
    let market = Market::new("missing").await;
    let config = market.config_with_cloud("utter.small", "utter-tiny", "missing_grace_secs = 1");
    let (cloud, mut agent, _, lease) = running_lease(&market, config).await;

    // The listing fails to show the server (a cell down): nothing is done about it yet.
    let server = cloud.servers()[0].id.clone();
    use utter_provider_agent::cloud::Cloud as _;
    cloud.delete_server(&server).await.expect("gone");
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(!done.contains(&"terminate"), "{done:?}");
    assert_eq!(market.status(lease).await, RUNNING);

    // Still missing after the grace (1 s here): the lease ends.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert_eq!(done, ["terminate"]);
    market.settle_chain().await;
    assert_eq!(market.status(lease).await, CLOSED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_fails_once_is_replaced_and_the_lease_runs() {
    let market = Market::new("bootretry").await;
    let cloud = std::sync::Arc::new(memory_cloud());
    cloud.fail_flavor("f-small", "Build of instance aborted: hypervisor hiccup");
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    cloud.heal_flavor("f-small");
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["delete"]);
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
    assert_eq!(cloud.servers().len(), 1, "the failed server is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_in_the_latest_blocks_keeps_the_machine_running() {
    let market = Market::new("lasttopup").await;
    let (cloud, mut agent, _, lease) =
        running_lease(&market, market.config("utter.small", "utter-tiny")).await;

    // The buyer tops up ten seconds before the lease runs dry; the next block is past the old end.
    // The agent's confirmed view (two blocks deep) has not seen the top-up, so by the head's time
    // the lease looks dry.
    warp(&market.provider, 590).await.expect("warp");
    let server = cloud.servers()[0].clone();
    confirm(
        "top up",
        market
            .escrow()
            .topUp(U256::from(lease), U256::from(PRICE) * U256::from(600))
            .from(market.buyer),
    )
    .await;
    warp(&market.provider, 20).await.expect("warp");
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(
        !done.contains(&"stop") && !done.contains(&"halt"),
        "{done:?}"
    );
    assert_eq!(
        cloud.servers()[0].status,
        ServerStatus::Active,
        "{server:?}"
    );
    assert_eq!(market.status(lease).await, RUNNING);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_found_on_chain_after_the_state_file_is_lost_and_dropped_ones_are_paused() {
    let market = Market::new("adopt").await;
    let (_, agent, first, running) =
        running_lease(&market, market.config("utter.small", "utter-tiny")).await;
    // Paused on-chain when the agent dies (say, the cloud was full).
    let offers = utter_bindings::Offers::new(market.deployment.offers, &market.provider);
    confirm("pause", offers.pauseOffer(first).from(market.host)).await;

    // The state file is lost: the new agent finds its offer on-chain instead of publishing another,
    // and resumes it since the cloud has room.
    let state = kill(agent);
    std::fs::remove_dir_all(&market.state_dir).expect("the state dir");
    market.settle_chain().await;
    let mut agent = market.agent(state, "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares again");
    assert_eq!(agent.offers().keys().copied().collect::<Vec<_>>(), [first]);
    assert_eq!(
        offers.offerCount().call().await.expect("count"),
        1,
        "no second offer"
    );
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    market.mined().await;
    assert_eq!(market.offer_status(first).await, 1, "resumed");

    // A lease waits on the first offer when the configuration stops naming it (another offer):
    // a new offer is published, the old one paused, the waiting lease refunded, the running one
    // served to its end.
    let waiting = market.open_lease(first, 600).await;
    market.settle_chain().await;
    let cloud = kill(agent);
    let mut config = market.config("utter.small", "utter-tiny");
    config.offers[0].name = "small-eu".into();
    config.offers[0].region = "eu-1".into();
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares with the new offer");
    let second = *agent.offers().keys().next().expect("offer");
    assert_ne!(second, first);
    market.mined().await;
    assert_eq!(market.offer_status(first).await, 2, "the old one paused");
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(
        market.status(waiting).await,
        CLOSED,
        "refunded: nothing boots it"
    );
    warp(&market.provider, 700).await.expect("warp");
    market.settle_chain().await;
    let done = kinds(&agent.tick().await.expect("tick"));
    assert!(done.contains(&"stop") && done.contains(&"halt"), "{done:?}");
    assert_eq!(market.status(running).await, HALTED, "still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acknowledgement_waits_for_the_guests_host_keys() {
    let market = Market::new("hostkeys").await;
    let text = market
        .config_text("utter.small", "utter-tiny")
        .replace("host_key_wait_secs = 0", "host_key_wait_secs = 30");
    let config = common::parse_config(&text);
    let cloud = std::sync::Arc::new(memory_cloud());
    cloud.print_host_keys(false);
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    cloud.settle();
    // ACTIVE, but the console shows no host keys yet: not acknowledged.
    assert!(kinds(&agent.tick().await.expect("tick")).is_empty());
    assert_eq!(market.status(lease).await, common::PENDING);

    // cloud-init prints them: acknowledged with the fingerprint, which the buyer reads.
    cloud.print_host_keys(true);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    let server = cloud.servers()[0].id.clone();
    assert_eq!(
        details.host_key_fingerprint,
        MemoryCloud::host_key_fingerprint(&server)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_access_details_cannot_be_encrypted_to_is_refunded_before_booting() {
    let market = Market::new("ecdsa").await;
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    // age encrypts to ssh-ed25519 and ssh-rsa keys only.
    let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMrnMiyVHjRFinxkr9QRQP4oTf6k5d4Hj370AHobmTB52lgXtGLU+mlbkS/36HCU/7wKGJs2KWS3ppOfcfgVo5k= buyer@laptop";
    let mut params = market.lease_params(offer_id, 600);
    params.sshPublicKey = ecdsa.into();
    let lease = market.open(params).await;
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.status(lease).await, CLOSED, "refunded");
    assert!(cloud.servers().is_empty(), "nothing was booted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_on_the_same_state_folder_is_refused() {
    let market = Market::new("twice").await;
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut first = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    first.prepare().await.expect("prepares");
    let mut second = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    let error = second.prepare().await.expect_err("refused").to_string();
    assert!(
        error.contains("another agent runs") && error.contains("agent.lock"),
        "{error}"
    );
    drop(first);
    second.prepare().await.expect("the first one is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_replaced_in_glance_under_its_name_is_found_again() {
    let market = Market::new("rotation").await;
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    // A new upload of the image: same name, new id; the old id is gone.
    cloud.replace_image("utter-tiny", "img-tiny-v2");
    let lease = market.open_lease(offer_id, 600).await;
    market.settle_chain().await;
    assert!(
        kinds(&agent.tick().await.expect("tick")).is_empty(),
        "the old id is refused"
    );
    assert!(
        agent
            .counters
            .cloud_errors_by
            .contains_key(&("boot", "rejected")),
        "{:?}",
        agent.counters.cloud_errors_by
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["boot"]);
    let image = agent.offers()[&offer_id]
        .images
        .values()
        .next()
        .cloned()
        .expect("image");
    assert_eq!(image, "img-tiny-v2");
    cloud.settle();
    assert_eq!(kinds(&agent.tick().await.expect("tick")), ["acknowledge"]);
    assert_eq!(market.status(lease).await, RUNNING);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_of_an_image_the_configuration_dropped_is_refunded() {
    let market = Market::new("dropped-image").await;
    let two = market.config_text("utter.small", "utter-tiny").replace(
        r#"images = [{ name = "ubuntu-24.04", glance = "utter-tiny" }]"#,
        r#"images = [{ name = "ubuntu-24.04", glance = "utter-tiny" }, { name = "debian-12", glance = "utter-tiny" }]"#,
    );
    let cloud = std::sync::Arc::new(memory_cloud());
    let mut agent = market.agent_with_config(cloud.clone(), common::parse_config(&two));
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let mut params = market.lease_params(offer_id, 600);
    params.imageId = utter_provider_agent::config::image_id("debian-12");
    let lease = market.open(params).await;
    // The provider drops debian-12 and restarts before the lease is booted.
    let cloud = kill(agent);
    let mut agent =
        market.agent_with_config(cloud.clone(), market.config("utter.small", "utter-tiny"));
    agent.prepare().await.expect("prepares with one image");
    market.settle_chain().await;
    agent.tick().await.expect("tick");
    assert_eq!(market.status(lease).await, CLOSED, "refunded");
    assert!(cloud.servers().is_empty(), "nothing booted");
}
