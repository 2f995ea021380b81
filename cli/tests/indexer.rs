//! Commands that read the indexer, against a real indexer (in this process, on SQLite) syncing the
//! real anvil and serving its API on a loopback socket: the offers table and JSON with filters, a
//! buyer's lease list, and the deployment fetched from `/v1/deployment`.

mod common;

use common::{IMAGE, Market};
use std::time::Duration;
use tokio::sync::watch;
use utter_indexer::{
    api::{ApiContext, router},
    metrics::Metrics,
    store::Store,
    sync::{Indexer, SyncConfig},
};

/// Starts an indexer of `m`'s chain with its API; returns its URL and the stop switch.
async fn start_indexer(m: &Market) -> (String, watch::Sender<bool>) {
    let path = m.dir.join("index.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite opens");
    let config = SyncConfig {
        finality_depth: 0,
        poll_interval: Duration::from_millis(50),
        progress: false,
        ..SyncConfig::default()
    };
    let metrics = Metrics::default();
    let mut indexer = Indexer::new(
        store.clone(),
        m.provider.clone(),
        m.deployment,
        config,
        metrics.clone(),
    )
    .await
    .expect("the indexer starts");
    let context = ApiContext {
        offers: indexer.catalog(),
        store,
        metrics,
        events: indexer.events(),
        progress: indexer.progress(),
        deployment: m.deployment,
        static_dir: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(context)).await });
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move { indexer.run(stopped).await });
    (url, stop)
}

/// Waits until the indexer has applied the chain's head.
async fn caught_up(m: &Market, url: &str) {
    use alloy::providers::Provider;
    let head = m.provider.get_block_number().await.unwrap();
    for _ in 0..200 {
        let health: serde_json::Value = reqwest::get(format!("{url}/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["indexed"].as_u64() >= Some(head) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the indexer did not reach block {head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn offers_and_leases_come_from_the_indexer() {
    let m = Market::start("indexer").await;
    let offer = m.offer().await;
    let (url, _stop) = start_indexer(&m).await;
    caught_up(&m, &url).await;
    let env = [("UTTER_INDEXER", url.as_str())];
    // No deployment file: the addresses come from the indexer.
    let env_no_file = [("UTTER_INDEXER", url.as_str()), ("UTTER_DEPLOYMENT", "")];

    let listed = m
        .utter_with(None, &["offers", "--json"], &env_no_file, None)
        .json();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["offer_id"], offer);
    assert_eq!(items[0]["images"][0]["name"], IMAGE);

    // Filters pass through: each one that excludes the offer excludes it.
    for filter in [
        vec!["--min-vcpus", "4"],
        vec!["--region", "elsewhere"],
        vec!["--image", "debian-12"],
        vec!["--max-price", "0.35"],
        vec!["--min-ram-mib", "8192"],
        vec!["--pool", "2"],
    ] {
        let mut args = vec!["offers", "--json"];
        args.extend(filter.iter().copied());
        let page = m.utter_with(None, &args, &env, None).json();
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            0,
            "{filter:?} should exclude it"
        );
    }
    let page = m
        .utter_with(
            None,
            &[
                "offers",
                "--json",
                "--max-price",
                "0.36",
                "--min-vcpus",
                "2",
                "--image",
                IMAGE,
            ],
            &env,
            None,
        )
        .json();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "at the limit it is kept"
    );
    let bad = m.utter_with(None, &["offers", "--sort", "colour"], &env, None);
    assert!(bad.err().contains("sort"), "{}", bad.stderr);

    // The table fits the terminal: a narrow one drops columns, and says so.
    let table = m.utter_with(
        None,
        &["offers"],
        &[("UTTER_INDEXER", url.as_str()), ("COLUMNS", "200")],
        None,
    );
    assert!(table.ok, "{}", table.stderr);
    assert!(
        table.stdout.contains("0.36 UTC/h") && table.stdout.contains("eu-test-1"),
        "{}",
        table.stdout
    );
    let narrow = m.utter_with(
        None,
        &["offers"],
        &[("UTTER_INDEXER", url.as_str()), ("COLUMNS", "40")],
        None,
    );
    assert!(
        narrow
            .stdout
            .lines()
            .all(|l| l.len() <= 40 || l.starts_with('(')),
        "{}",
        narrow.stdout
    );
    assert!(narrow.stdout.contains("hidden"), "{}", narrow.stdout);

    // A lease opened through utter shows up in the buyer's list.
    let opened = m.lease_open(offer).duration("1h").env(&env_no_file).json();
    caught_up(&m, &url).await;
    let leases = m
        .utter_with(Some(m.buyer), &["lease", "list", "--json"], &env, None)
        .json();
    assert_eq!(leases["items"][0]["lease_id"], opened["lease_id"]);
    let text = m.utter_with(Some(m.buyer), &["lease", "list"], &env, None);
    assert!(
        text.ok && text.stdout.contains("pending"),
        "{} {}",
        text.stdout,
        text.stderr
    );
    let other = m.utter_with(
        None,
        &["lease", "list", "--buyer", &format!("{:#x}", m.host)],
        &env,
        None,
    );
    assert!(
        other.ok && other.stdout.contains("has no leases"),
        "{}",
        other.stdout
    );
}
