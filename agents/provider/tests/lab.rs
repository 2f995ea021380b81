//! The agent against a real OpenStack (the project's lab: Keystone, Placement, Glance, Nova with its
//! fake hypervisor) and a real anvil with the real contracts. The test command starts the lab and
//! exports `UTTER_LAB_CLOUDS_YAML`; without it these tests say so and pass without running.

mod common;
#[path = "common/proxy.rs"]
mod proxy;

use alloy::primitives::U256;
use common::{CLOSED, HALTED, Market, PRICE, RESTART_PENDING, RUNNING};
use std::{sync::Arc, time::Duration};
use utter_provider_agent::{
    access,
    agent::Agent,
    cloud::{
        Cloud, clouds_yaml,
        openstack::{OpenStack, Options},
    },
    plan::ServerStatus,
};
use utter_testkit::anvil::{confirm, warp};

async fn lab_cloud() -> Option<Arc<OpenStack>> {
    lab_cloud_with(Options::default()).await
}

async fn lab_cloud_with(options: Options) -> Option<Arc<OpenStack>> {
    let Ok(path) = std::env::var("UTTER_LAB_CLOUDS_YAML") else {
        eprintln!(
            "SKIPPED: no OpenStack lab (UTTER_LAB_CLOUDS_YAML unset; scripts/test starts one)"
        );
        return None;
    };
    let config =
        clouds_yaml::load(Some(std::path::Path::new(&path)), "utter-lab").expect("lab cloud");
    Some(Arc::new(
        OpenStack::connect(config, options)
            .await
            .expect("the lab answers"),
    ))
}

/// Ticks until `done` holds for the agent's cloud and chain, mining so the agent sees its own
/// transactions, for at most `seconds`.
async fn tick_until<C: Cloud>(
    market: &Market,
    agent: &mut Agent<C>,
    seconds: u64,
    what: &str,
    mut done: impl AsyncFnMut(&Market, &Agent<C>) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        market.settle_chain().await;
        let _ = agent.tick().await;
        if done(market, agent).await {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn server_status(cloud: &OpenStack, market: &Market, lease: u64) -> Vec<ServerStatus> {
    let scope = market.scope();
    let tag = utter_provider_agent::agent::lease_tag(lease);
    cloud
        .list_servers(&scope)
        .await
        .expect("list")
        .into_iter()
        .filter(|s| s.tags.contains(&tag))
        .map(|s| s.status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_boot_halt_resume_and_end_on_a_real_openstack() {
    let Some(cloud) = lab_cloud().await else {
        return;
    };
    let market = Market::new("lab-lifecycle").await;
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares against the lab");
    let offer_id = *agent.offers().keys().next().expect("offer");

    // Three leases at once.
    let leases = [
        market.open_lease(offer_id, 600).await,
        market.open_lease(offer_id, 600).await,
        market.open_lease(offer_id, 1200).await,
    ];
    tick_until(
        &market,
        &mut agent,
        120,
        "all three running",
        async |m, _| {
            let mut all = true;
            for &lease in &leases {
                all &= m.status(lease).await == RUNNING;
            }
            all
        },
    )
    .await;
    for &lease in &leases {
        assert_eq!(
            server_status(&cloud, &market, lease).await,
            [ServerStatus::Active]
        );
        let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
            .expect("the buyer decrypts its access details");
        assert_eq!(details.lease_id, lease);
    }

    // The first two run dry (anvil's clock jumps); the third still has time.
    warp(&market.provider, 700).await.expect("warp");
    tick_until(
        &market,
        &mut agent,
        120,
        "two halted and stopped",
        async |m, _| m.status(leases[0]).await == HALTED && m.status(leases[1]).await == HALTED,
    )
    .await;
    tick_until(
        &market,
        &mut agent,
        120,
        "their servers shut off",
        async |m, _| {
            server_status(&cloud, m, leases[0]).await == [ServerStatus::Shutoff]
                && server_status(&cloud, m, leases[1]).await == [ServerStatus::Shutoff]
        },
    )
    .await;
    assert_eq!(market.status(leases[2]).await, RUNNING);
    assert_eq!(
        server_status(&cloud, &market, leases[2]).await,
        [ServerStatus::Active]
    );

    // A top-up resumes the first: its kept server starts again and is acknowledged.
    confirm(
        "top up",
        market
            .escrow()
            .topUp(U256::from(leases[0]), U256::from(PRICE) * U256::from(600))
            .from(market.buyer),
    )
    .await;
    assert_eq!(market.status(leases[0]).await, RESTART_PENDING);
    tick_until(
        &market,
        &mut agent,
        120,
        "the first resumed",
        async |m, _| m.status(leases[0]).await == RUNNING,
    )
    .await;
    assert_eq!(
        server_status(&cloud, &market, leases[0]).await,
        [ServerStatus::Active]
    );

    // The buyer stops the third; the second's retention ends and it is closed: servers deleted.
    confirm(
        "stop",
        market
            .escrow()
            .stop(U256::from(leases[2]))
            .from(market.buyer),
    )
    .await;
    warp(&market.provider, 3_700)
        .await
        .expect("warp past retention");
    tick_until(
        &market,
        &mut agent,
        120,
        "ended leases lose their servers",
        async |m, _| {
            server_status(&cloud, m, leases[1]).await.is_empty()
                && server_status(&cloud, m, leases[2]).await.is_empty()
                && m.status(leases[1]).await == CLOSED
        },
    )
    .await;
    assert_eq!(market.status(leases[2]).await, CLOSED);
    // The first ran dry again during the long jump, and was closed after its retention too.
    tick_until(
        &market,
        &mut agent,
        120,
        "everything cleaned up",
        async |m, _| {
            m.status(leases[0]).await == CLOSED
                && server_status(&cloud, m, leases[0]).await.is_empty()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_each_step_of_a_boot_the_agent_keeps_one_server_per_lease() {
    let Some(cloud) = lab_cloud().await else {
        return;
    };
    let market = Market::new("lab-kill").await;
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    // After every tick the agent is dropped and a new one starts from the chain and the cloud alone.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let mut round = 0;
    while std::time::Instant::now() < deadline {
        round += 1;
        market.settle_chain().await;
        let _ = agent.tick().await;
        let servers = server_status(&cloud, &market, lease).await;
        assert!(servers.len() <= 1, "round {round}: {servers:?}");
        if market.status(lease).await == RUNNING && servers == [ServerStatus::Active] {
            return;
        }
        agent = market.agent(agent.cloud_handle(), "utter.small", "utter-tiny");
        agent.prepare().await.expect("prepares again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the lease never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flavor_the_cloud_cannot_boot_is_refunded_before_the_deadline() {
    let Some(cloud) = lab_cloud().await else {
        return;
    };
    let market = Market::new("lab-noroom").await;
    let mut agent = market.agent(cloud.clone(), "utter.noroom", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    tick_until(
        &market,
        &mut agent,
        120,
        "the failed boot reported",
        async |m, _| m.status(lease).await == CLOSED,
    )
    .await;
    assert_eq!(
        market.funds(lease).await,
        alloy::primitives::aliases::U96::ZERO,
        "the buyer was refunded"
    );
    tick_until(
        &market,
        &mut agent,
        60,
        "the ERROR server deleted",
        async |m, _| server_status(&cloud, m, lease).await.is_empty(),
    )
    .await;
    // Nova found no host for the flavor: the offer is paused rather than sold again.
    tick_until(&market, &mut agent, 30, "the offer paused", async |_, _| {
        market.offer_status(offer_id).await == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_naming_what_the_cloud_lacks_is_refused_clearly() {
    let Some(cloud) = lab_cloud().await else {
        return;
    };
    let market = Market::new("lab-missing").await;
    let mut agent = market.agent(cloud, "utter.huge", "no-such-image");
    let error = agent.prepare().await.unwrap_err().to_string();
    assert!(
        error.contains("flavor \"utter.huge\"") && error.contains("image \"no-such-image\""),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_spare_is_rebuilt_for_a_lease_on_a_real_openstack() {
    let Some(cloud) = lab_cloud().await else {
        return;
    };
    let market = Market::new("lab-spares").await;
    let mut config = market.config("utter.small", "utter-tiny");
    config.offers[0].hot_spares = 1;
    let mut agent = market.agent_with_config(cloud.clone(), config);
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let scope = market.scope();
    let spare_tag = utter_provider_agent::agent::spare_tag(offer_id);
    tick_until(&market, &mut agent, 120, "a running spare", async |_, _| {
        cloud
            .list_servers(&scope)
            .await
            .expect("list")
            .iter()
            .any(|s| s.tags.contains(&spare_tag) && s.status == ServerStatus::Active)
    })
    .await;
    let spare = cloud
        .list_servers(&scope)
        .await
        .expect("list")
        .into_iter()
        .find(|s| s.tags.contains(&spare_tag))
        .expect("spare")
        .id;
    let lease = market.open_lease(offer_id, 600).await;
    tick_until(
        &market,
        &mut agent,
        120,
        "the lease running on the spare",
        async |m, _| m.status(lease).await == RUNNING,
    )
    .await;
    let server = cloud
        .get_server(&spare)
        .await
        .expect("get")
        .expect("exists");
    assert!(
        server
            .tags
            .contains(&utter_provider_agent::agent::lease_tag(lease)),
        "{:?}",
        server.tags
    );
    assert!(
        !server
            .tags
            .iter()
            .any(|t| t == "utter-claimed" || t.starts_with("utter-spare"))
    );
    // And a new spare is on its way.
    tick_until(&market, &mut agent, 120, "a new spare", async |_, _| {
        cloud
            .list_servers(&scope)
            .await
            .expect("list")
            .iter()
            .any(|s| s.tags.contains(&spare_tag) && s.id != spare)
    })
    .await;
    // Clean up the lab: retire everything this test made.
    confirm(
        "stop",
        market.escrow().stop(U256::from(lease)).from(market.buyer),
    )
    .await;
    for server in cloud.list_servers(&scope).await.expect("list") {
        cloud.delete_server(&server.id).await.expect("delete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_failing_with_500s_and_timeouts_is_retried_within_the_deadline() {
    let Ok(clouds_yaml) = std::env::var("UTTER_LAB_CLOUDS_YAML") else {
        eprintln!(
            "SKIPPED: no OpenStack lab (UTTER_LAB_CLOUDS_YAML unset; scripts/test starts one)"
        );
        return;
    };
    // The lab's Nova, reached through the proxy via `compute_endpoint_override`.
    let lab: serde_json::Value = serde_json::from_slice(
        &std::fs::read(std::path::Path::new(&clouds_yaml).with_file_name("lab.json"))
            .expect("lab.json"),
    )
    .expect("lab.json parses");
    let nova = format!("http://127.0.0.1:{}", lab["ports"]["nova"]);
    let (proxy_url, faults) = proxy::start(&nova).await;
    let mut config =
        clouds_yaml::load(Some(std::path::Path::new(&clouds_yaml)), "utter-lab").expect("cloud");
    config.compute_endpoint_override = Some(format!("{proxy_url}/v2.1"));
    let options = Options {
        timeout: Duration::from_secs(2),
        ..Options::default()
    };
    let cloud = Arc::new(
        OpenStack::connect(config, options)
            .await
            .expect("connects through the proxy"),
    );
    let market = Market::new("lab-faults").await;
    let mut agent = market.agent(cloud.clone(), "utter.small", "utter-tiny");
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    faults.errors.store(4, std::sync::atomic::Ordering::SeqCst);
    faults.hangs.store(2, std::sync::atomic::Ordering::SeqCst);
    tick_until(
        &market,
        &mut agent,
        120,
        "running despite the faults",
        async |m, _| m.status(lease).await == RUNNING,
    )
    .await;
    assert_eq!(
        faults.injected.load(std::sync::atomic::Ordering::SeqCst),
        6,
        "every fault was hit"
    );
    assert!(
        agent.counters.cloud_errors >= 1,
        "the errors were counted: {:?}",
        agent.counters
    );
    assert_eq!(
        server_status(&cloud, &market, lease).await,
        [ServerStatus::Active],
        "exactly one server"
    );
    assert_eq!(
        market.status(lease).await,
        RUNNING,
        "acknowledged before the boot deadline"
    );
    confirm(
        "stop",
        market.escrow().stop(U256::from(lease)).from(market.buyer),
    )
    .await;
    tick_until(&market, &mut agent, 60, "cleaned up", async |m, _| {
        server_status(&cloud, m, lease).await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_lease_gets_one_floating_ip_through_kills_and_loses_it_at_the_end() {
    let options = Options {
        network: "private".parse().expect("a network name"),
        ..Options::default()
    };
    let Some(cloud) = lab_cloud_with(options).await else {
        return;
    };
    let market = Market::new("lab-public").await;
    let config = || market.public_config("utter.small", "utter-tiny", "private", "public");
    let mut agent = market.agent_with_config(cloud.clone(), config());
    agent.prepare().await.expect("prepares");
    let offer_id = *agent.offers().keys().next().expect("offer");
    let lease = market.open_lease(offer_id, 600).await;
    let public = cloud
        .find_network("public")
        .await
        .expect("neutron")
        .expect("the lab's external network");
    let description = utter_provider_agent::agent::floating_ip_description(&market.scope(), lease);
    let addresses = async || {
        cloud
            .floating_ips(&public.id)
            .await
            .expect("floating IPs")
            .into_iter()
            .filter(|ip| ip.description == description)
            .collect::<Vec<_>>()
    };
    // Killed after every tick: one server and at most one address, whatever step it died at.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        assert!(std::time::Instant::now() < deadline, "the lease never ran");
        market.settle_chain().await;
        let _ = agent.tick().await;
        let servers = server_status(&cloud, &market, lease).await;
        assert!(servers.len() <= 1, "{servers:?}");
        let ips = addresses().await;
        assert!(ips.len() <= 1, "{ips:?}");
        if market.status(lease).await == RUNNING {
            break;
        }
        agent = market.agent_with_config(agent.cloud_handle(), config());
        agent.prepare().await.expect("prepares again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ips = addresses().await;
    assert_eq!(ips.len(), 1, "{ips:?}");
    let scope = market.scope();
    let tag = utter_provider_agent::agent::lease_tag(lease);
    let server = cloud
        .list_servers(&scope)
        .await
        .expect("list")
        .into_iter()
        .find(|s| s.tags.contains(&tag))
        .expect("the lease's server");
    let ports = cloud.server_ports(&server.id).await.expect("ports");
    assert_eq!(ips[0].port_id.as_ref(), ports.first(), "{ips:?} {ports:?}");
    let details = access::decrypt(&market.ssh_private, &market.encrypted_access(lease).await)
        .expect("the buyer decrypts");
    assert_eq!(details.host, ips[0].address);
    assert!(details.host.starts_with("203.0.113."), "{details:?}");

    // The buyer stops: the server goes and the address is released.
    confirm(
        "stop",
        market.escrow().stop(U256::from(lease)).from(market.buyer),
    )
    .await;
    tick_until(
        &market,
        &mut agent,
        120,
        "the server deleted and its address released",
        async |m, _| {
            server_status(&cloud, m, lease).await.is_empty() && addresses().await.is_empty()
        },
    )
    .await;
    assert_eq!(market.status(lease).await, CLOSED);
}
