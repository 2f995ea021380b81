//! The agent's HTTP endpoints on a real socket: console logs only for the lease's buyer (EIP-191),
//! health and metrics.

use alloy::signers::{SignerSync, local::PrivateKeySigner};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};
use tokio::sync::watch;
use utter_provider_agent::{
    agent::{lease_tag, scope_tag},
    cloud::{Cloud, CreateServer, Flavor, memory::MemoryCloud},
    http::{Http, Status, console_message, router},
};

const CHAIN: u64 = 31337;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

async fn serve(status: Status, cloud: Arc<MemoryCloud>) -> String {
    // The receiver keeps the last value after the sender is gone.
    let (_, rx) = watch::channel(status);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router(Http { cloud, status: rx })).await });
    url
}

#[tokio::test]
async fn only_the_buyer_reads_its_console_log() {
    let buyer = PrivateKeySigner::random();
    let stranger = PrivateKeySigner::random();
    let escrow = alloy::primitives::Address::repeat_byte(7);
    let provider = alloy::primitives::Address::repeat_byte(9);
    let cloud = Arc::new(MemoryCloud::new(
        vec![Flavor {
            id: "f".into(),
            name: "f".into(),
            vcpus: 1,
            ram_mib: 512,
            disk_gib: 1,
        }],
        vec![("image".into(), "i".into())],
    ));
    cloud
        .create_server(&CreateServer {
            name: "lease-5-machine".into(),
            flavor_id: "f".into(),
            image_id: "i".into(),
            tags: vec![scope_tag(CHAIN, escrow, provider), lease_tag(5)],
            metadata: BTreeMap::new(),
            user_data: String::new(),
        })
        .await
        .expect("create");
    let status = Status {
        chain_id: CHAIN,
        escrow,
        provider,
        confirmed_block: Some(10),
        last_tick: Some(now()),
        buyers: BTreeMap::from([(5, buyer.address()), (6, buyer.address())]),
        ..Status::default()
    };
    let url = serve(status, cloud).await;
    let client = reqwest::Client::new();
    let get = async |lease: u64, signer: &PrivateKeySigner, expires: u64| {
        let signature = signer
            .sign_message_sync(console_message(CHAIN, lease, expires).as_bytes())
            .expect("sign");
        let response = client
            .get(format!(
                "{url}/v1/leases/{lease}/console?expires={expires}&signature={signature}"
            ))
            .send()
            .await
            .expect("request");
        let code = response.status().as_u16();
        (code, response.text().await.expect("body"))
    };
    let expires = now() + 300;
    let (code, body) = get(5, &buyer, expires).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("console of lease-5-machine"), "{body}");
    let (code, body) = get(5, &stranger, expires).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("not_the_buyer"));
    let (code, body) = get(5, &buyer, now() - 1).await;
    assert_eq!(code, 401, "{body}");
    let (code, _) = get(5, &buyer, now() + 3_600).await;
    assert_eq!(code, 401, "a signature valid for an hour is refused");
    let (code, body) = get(9, &buyer, expires).await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = get(6, &buyer, expires).await;
    assert_eq!(code, 404, "a lease without a machine: {body}");
    for bad in [
        format!("{url}/v1/leases/5/console?expires=soon&signature=0x00"),
        format!("{url}/v1/leases/5/console?expires={expires}&signature=0x1234"),
        format!("{url}/v1/leases/five/console?expires={expires}&signature=0x00"),
        format!("{url}/v1/leases/5/console?expires={expires}"),
    ] {
        let response = client.get(&bad).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        let body: serde_json::Value = response.json().await.expect("JSON error");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    // The signature of one lease does not open another.
    let signature = buyer
        .sign_message_sync(console_message(CHAIN, 5, expires).as_bytes())
        .expect("sign");
    let response = client
        .get(format!(
            "{url}/v1/leases/6/console?expires={expires}&signature={signature}"
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn health_and_metrics_tell_the_truth() {
    let cloud = Arc::new(MemoryCloud::default());
    let mut status = Status {
        chain_id: CHAIN,
        last_tick: Some(now()),
        leases: BTreeMap::from([("running", 3), ("halted", 1)]),
        ..Status::default()
    };
    status.counters.actions.insert("boot", 4);
    status.counters.cloud_errors = 2;
    status
        .counters
        .cloud_errors_by
        .insert(("acknowledge", "unavailable"), 2);
    for seconds in [0.04, 0.15, 0.15, 3.0, 45.0] {
        status.counters.boot_request_latency.observe(seconds);
    }
    status.counters.boot_latency.observe(7.5);
    status.unwithdrawn = alloy::primitives::U256::from(1_234_000u64);
    let url = serve(status.clone(), cloud.clone()).await;
    let health = reqwest::get(format!("{url}/health")).await.expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("utter_agent_leases{status=\"running\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("utter_agent_actions_total{kind=\"boot\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("utter_agent_cloud_errors_total 2")
            && metrics.contains(
                "utter_agent_cloud_errors_total{call=\"acknowledge\",error=\"unavailable\"} 2"
            ),
        "{metrics}"
    );
    // Histograms: cumulative buckets, +Inf, sum and count.
    for line in [
        "# TYPE utter_agent_boot_request_seconds histogram",
        "utter_agent_boot_request_seconds_bucket{le=\"0.05\"} 1",
        "utter_agent_boot_request_seconds_bucket{le=\"0.2\"} 3",
        "utter_agent_boot_request_seconds_bucket{le=\"5\"} 4",
        "utter_agent_boot_request_seconds_bucket{le=\"30\"} 4",
        "utter_agent_boot_request_seconds_bucket{le=\"+Inf\"} 5",
        "utter_agent_boot_request_seconds_count 5",
        "utter_agent_boot_seconds_bucket{le=\"5\"} 0",
        "utter_agent_boot_seconds_bucket{le=\"10\"} 1",
        "utter_agent_boot_seconds_sum 7.5",
        "utter_agent_unwithdrawn_wei 1234000",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }
    let sum: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("utter_agent_boot_request_seconds_sum "))
        .expect("sum")
        .parse()
        .expect("a number");
    assert!((sum - 48.34).abs() < 1e-9, "{sum}");

    status.last_error = Some("cloud: the cloud is unavailable: 503".into());
    let url = serve(status, cloud).await;
    let health = reqwest::get(format!("{url}/health")).await.expect("health");
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.expect("json");
    assert!(body["last_error"].as_str().expect("error").contains("503"));
}
