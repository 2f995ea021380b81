//! The HTTP API against a real database (SQLite, and PostgreSQL when one answers at
//! `postgres://postgres@127.0.0.1:5432/test`), served on a real socket and queried with reqwest.
//!
//! Rows are written straight into the tables, so each test states exactly the state it reads.

use alloy::primitives::{Address, B256, U256, address};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};
use tokio::sync::{broadcast, watch};
use utter_bindings::Deployment;
use utter_indexer::{
    api::{ApiContext, OfferCatalog, openapi_json, router},
    apply::{EventRecord, LogPosition},
    columns::{bind_all, sort_key},
    metrics::Metrics,
    model::{Buyer, Entity, Lease, Market, Offer, Pool, Provider, Stake},
    store::Store,
    sync::Progress,
};

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
const P1: Address = address!("0x1111111111111111111111111111111111111111");
const P2: Address = address!("0x2222222222222222222222222222222222222222");
const P3: Address = address!("0x3333333333333333333333333333333333333333");
const BUYER: Address = address!("0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
const OTHER_BUYER: Address = address!("0xcccccccccccccccccccccccccccccccccccccccc");
const DAY: u64 = 86_400;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh database: an SQLite file or a PostgreSQL database of its own.
enum TestDb {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl TestDb {
    fn unique() -> String {
        format!(
            "utter_api_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        )
    }

    async fn sqlite() -> (Self, Store) {
        let path = std::env::temp_dir().join(format!("{}.db", Self::unique()));
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("the SQLite store opens");
        (Self::Sqlite(path), store)
    }

    async fn postgres() -> Option<(Self, Store)> {
        sqlx::any::install_default_drivers();
        let admin =
            match tokio::time::timeout(Duration::from_secs(5), sqlx::AnyPool::connect(PG_ADMIN))
                .await
            {
                Ok(Ok(admin)) => admin,
                _ => {
                    eprintln!(
                        "PostgreSQL is not reachable at {PG_ADMIN}: skipping the PostgreSQL run"
                    );
                    return None;
                }
            };
        let name = Self::unique();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("the test database is created");
        admin.close().await;
        let store = Store::connect(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
            .await
            .expect("the PostgreSQL store opens");
        Some((Self::Postgres(name), store))
    }

    async fn finish(self, store: Store) {
        store.pool().close().await;
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Self::Postgres(name) => {
                let admin = sqlx::AnyPool::connect(PG_ADMIN)
                    .await
                    .expect("admin connects");
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .expect("the test database is dropped");
                admin.close().await;
            }
        }
    }
}

/// The API served on a socket, with the channels the indexer would drive.
struct Server {
    base: String,
    events: broadcast::Sender<Arc<EventRecord>>,
    progress: watch::Sender<Progress>,
    http: reqwest::Client,
}

fn deployment() -> Deployment {
    Deployment {
        chain_id: 31337,
        deployer: Address::repeat_byte(0xde),
        deploy_block: 7,
        token: Address::repeat_byte(1),
        pools: Address::repeat_byte(2),
        registry: Address::repeat_byte(3),
        offers: Address::repeat_byte(4),
        buyer_trust: Address::repeat_byte(5),
        escrow: Address::repeat_byte(6),
    }
}

impl Server {
    async fn start(store: Store, static_dir: Option<std::path::PathBuf>) -> Self {
        let (events, _) = broadcast::channel(16);
        let (progress, progress_rx) = watch::channel(Progress {
            head: 0,
            indexed: 0,
            indexed_timestamp: 0,
            live: false,
        });
        let context = ApiContext {
            // Rows are written straight into the tables before the server starts: the catalog is
            // read from them, as at the start of `utter-indexer run`.
            offers: OfferCatalog::load(&store).await.expect("the catalog loads"),
            store,
            metrics: Metrics::default(),
            events: events.clone(),
            progress: progress_rx,
            deployment: deployment(),
            static_dir,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let app = router(context);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            events,
            progress,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the request is answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON ({e}): {text:?}"));
        (status, body)
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn offer_ids(&self, path: &str) -> Vec<u64> {
        ids(&self.ok(path).await, "offer_id")
    }

    fn set_progress(&self, head: u64, indexed: u64, indexed_timestamp: u64) {
        self.progress.send_replace(Progress {
            head,
            indexed,
            indexed_timestamp,
            live: true,
        });
    }
}

fn ids(page: &Value, key: &str) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|item| item[key].as_u64().expect("an id"))
        .collect()
}

async fn insert<E: Entity>(store: &Store, row: &E) {
    let placeholders: Vec<String> = (1..=E::COLUMNS.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        E::TABLE,
        E::COLUMNS.join(", "),
        placeholders.join(", ")
    );
    bind_all(sqlx::query(&sql), row.values())
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("inserting into {}: {e}", E::TABLE));
}

async fn exec(store: &Store, sql: &str, values: Vec<utter_indexer::columns::Value>) {
    bind_all(sqlx::query(sql), values)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn u(v: u64) -> U256 {
    U256::from(v)
}

fn pool(pool_id: u32, min_stake: u64, target_bps: u16, max_fee: u64, anon_rate: u64) -> Pool {
    Pool {
        pool_id,
        operator: address!("0x0000000000000000000000000000000000000abc"),
        name: format!("pool-{pool_id}"),
        fee_bps: 500,
        min_stake: u(min_stake),
        anon_target_share_bps: target_bps,
        anon_min_fee: u(100),
        anon_max_fee: u(max_fee),
        anon_fee: u(1000),
        anon_fee_updated_at: 1000,
        anon_rate: u(anon_rate),
        base_leases: 2,
        max_leases: 10,
        created_at: 1,
        ..Pool::default()
    }
}

struct OfferSpec {
    id: u32,
    provider: Address,
    pool: u32,
    status: u8,
    price: u64,
    vcpus: u16,
    ram: u32,
    disk: u32,
    gpus: u16,
    gpu_model: &'static str,
    region: &'static str,
    images: &'static [&'static str],
    capacity: u32,
    active: u32,
    published: u64,
}

fn offer(s: OfferSpec) -> Offer {
    let images: Vec<Value> = s
        .images
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"id": B256::with_last_byte(i as u8 + 1).to_string(), "name": name}))
        .collect();
    Offer {
        offer_id: s.id,
        provider: s.provider,
        pool_id: s.pool,
        status: s.status,
        price_per_second: u(s.price),
        price_key: sort_key(u(s.price)),
        capacity: s.capacity,
        boot_timeout: 300,
        retention: 3600,
        images_revision: 1,
        images: Value::Array(images).to_string(),
        image_names: format!("|{}|", s.images.join("|")),
        vcpus: s.vcpus,
        ram_mib: s.ram,
        disk_gib: s.disk,
        gpu_count: s.gpus,
        gpu_model: s.gpu_model.to_owned(),
        region: s.region.to_owned(),
        active_leases: s.active,
        total_leases: 7,
        published_at: s.published,
        ..Offer::default()
    }
}

/// Pools, stakes, providers and offers:
///
/// | offer | provider | pool | status | price | vcpus | ram | avail | published | images |
/// | 1 | P1 | 1 | active | 300 | 4 | 8192 | 3 | 100 | ubuntu-24.04, debian-12 |
/// | 2 | P1 | 2 | active | 100 | 8 | 16384 | 0 | 200 | ubuntu-24.04 |
/// | 3 | P2 | 1 | active | 200 | 2 | 4096 | 1 | 300 | debian-12 |
/// | 4 | P2 | 1 | paused | 50 | 16 | 32768 | 1 | 400 | debian-12 |
/// | 5 | P3 | 1 | active | 200 | 4 | 2048 | 3 | 500 | my_image% |
///
/// Trust: P1 in pool 1 = 4 stake + 2 service = 6; P1 in pool 2 = 1 + 2 = 3; P2 in pool 1 = 1 (one
/// reclaim); P3 has no stake = 0.
async fn seed_market(store: &Store) {
    insert(store, &pool(1, 100, 1000, 10_000, 50)).await;
    insert(store, &pool(2, 1000, 2000, 0, 0)).await;
    insert(
        store,
        &Market {
            id: 1,
            global_rate: u(100),
            anon_rate: u(50),
            running_leases: 2,
            lease_count: 6,
        },
    )
    .await;
    for (pool_id, provider, bonded) in [(1, P1, 400), (2, P1, 1000), (1, P2, 100)] {
        insert(
            store,
            &Stake {
                pool_id,
                provider,
                bonded: u(bonded),
                joined: true,
                ..Stake::default()
            },
        )
        .await;
    }
    insert(
        store,
        &Provider {
            provider: P1,
            encryption_key: B256::with_last_byte(9),
            buyer_stopped: 5,
            ran_dry: 2,
            boot_failed: 1,
            terminated: 1,
            reclaimed: 0,
            completed_seconds: 8 * DAY,
            earned: u(5000),
            withdrawn: u(3000),
            offer_count: 2,
            lease_count: 9,
        },
    )
    .await;
    insert(
        store,
        &Provider {
            provider: P2,
            reclaimed: 1,
            offer_count: 2,
            ..Provider::default()
        },
    )
    .await;
    let specs = [
        OfferSpec {
            id: 1,
            provider: P1,
            pool: 1,
            status: 1,
            price: 300,
            vcpus: 4,
            ram: 8192,
            disk: 100,
            gpus: 0,
            gpu_model: "",
            region: "eu",
            images: &["ubuntu-24.04", "debian-12"],
            capacity: 4,
            active: 1,
            published: 100,
        },
        OfferSpec {
            id: 2,
            provider: P1,
            pool: 2,
            status: 1,
            price: 100,
            vcpus: 8,
            ram: 16384,
            disk: 200,
            gpus: 1,
            gpu_model: "a100",
            region: "us",
            images: &["ubuntu-24.04"],
            capacity: 2,
            active: 2,
            published: 200,
        },
        OfferSpec {
            id: 3,
            provider: P2,
            pool: 1,
            status: 1,
            price: 200,
            vcpus: 2,
            ram: 4096,
            disk: 50,
            gpus: 0,
            gpu_model: "",
            region: "eu",
            images: &["debian-12"],
            capacity: 1,
            active: 0,
            published: 300,
        },
        OfferSpec {
            id: 4,
            provider: P2,
            pool: 1,
            status: 2,
            price: 50,
            vcpus: 16,
            ram: 32768,
            disk: 500,
            gpus: 0,
            gpu_model: "",
            region: "eu",
            images: &["debian-12"],
            capacity: 1,
            active: 0,
            published: 400,
        },
        OfferSpec {
            id: 5,
            provider: P3,
            pool: 1,
            status: 1,
            price: 200,
            vcpus: 4,
            ram: 2048,
            disk: 20,
            gpus: 0,
            gpu_model: "",
            region: "eu",
            images: &["my_image%"],
            capacity: 3,
            active: 0,
            published: 500,
        },
    ];
    for spec in specs {
        insert(store, &offer(spec)).await;
    }
}

fn lease(lease_id: u64, buyer: Address, status: u8, funds: u64, settled_at: u64) -> Lease {
    Lease {
        lease_id,
        buyer,
        offer_id: 1,
        provider: P1,
        pool_id: 1,
        image_id: B256::with_last_byte(1),
        status,
        price_per_second: u(3),
        funds: u(funds),
        settled_at,
        started_at: settled_at,
        opened_at: 9_000,
        opened_block: 10,
        ..Lease::default()
    }
}

fn event_values(
    block: u64,
    log: u64,
    kind: &str,
    lease_id: u64,
    buyer: Address,
    fields: Value,
) -> Vec<utter_indexer::columns::Value> {
    use utter_indexer::columns::Value as V;
    vec![
        V::Text(B256::with_last_byte(block as u8).to_string()),
        V::Int(log as i64),
        V::Int(block as i64),
        V::Int(9_000 + block as i64),
        V::Text(B256::with_last_byte(200 + log as u8).to_string()),
        V::Text("LeaseEscrow".into()),
        V::Text(kind.into()),
        V::Int(lease_id as i64),
        V::Text(format!("{buyer:#x}")),
        V::Text(format!("{P1:#x}")),
        V::Int(1),
        V::Int(1),
        V::Text(fields.to_string()),
        V::Text("0x".into()),
        V::Text("0x".into()),
    ]
}

const INSERT_EVENT: &str = "INSERT INTO events (block_hash, log_index, block_number, block_timestamp, \
    tx_hash, contract, kind, lease_id, buyer, provider, offer_id, pool_id, fields, topics, data) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// Leases of `BUYER` (1 to 5) and `OTHER_BUYER` (6), with an opening, two acknowledgements and
/// top-ups for lease 1.
async fn seed_leases(store: &Store) {
    // Lease 1: running from 10 000 with 1000 at 3/s: paid until 10 000 + ceil(1000 / 3) = 10 334.
    insert(store, &lease(1, BUYER, 2, 1000, 10_000)).await;
    insert(store, &lease(2, BUYER, 1, 500, 0)).await;
    insert(store, &lease(3, BUYER, 3, 200, 9_000)).await;
    insert(
        store,
        &Lease {
            end_reason: 3,
            ended_at: 9_500,
            deadline: 0,
            ..lease(4, BUYER, 5, 0, 9_500)
        },
    )
    .await;
    insert(store, &lease(5, BUYER, 4, 50, 9_000)).await;
    // Lease 6: another buyer's, paid until 10 000 + ceil(6000 / 3) = 12 000.
    insert(store, &lease(6, OTHER_BUYER, 2, 6000, 10_000)).await;
    insert(
        store,
        &Buyer {
            buyer: BUYER,
            active: 3,
            opened: 5,
            karma: u(1234),
            deposit: u(500),
            open_reports: 1,
            ..Buyer::default()
        },
    )
    .await;
    use utter_indexer::columns::Value as V;
    exec(
        store,
        "INSERT INTO lease_openings (lease_id, block_number, ssh_public_key, encrypted_user_data, \
         user_data_hash) VALUES ($1, $2, $3, $4, $5)",
        vec![
            V::Int(1),
            V::Int(10),
            V::Text("ssh-ed25519 AAAA buyer".into()),
            V::Text("0xabcd".into()),
            V::Text(B256::with_last_byte(7).to_string()),
        ],
    )
    .await;
    for (block, log, fingerprint) in [(12, 0, 1u8), (15, 3, 2), (15, 1, 3)] {
        exec(
            store,
            "INSERT INTO lease_access (lease_id, block_number, log_index, acknowledged_at, \
             host_key_fingerprint, encrypted_access) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                V::Int(1),
                V::Int(block),
                V::Int(log),
                V::Int(9_000 + block),
                V::Text(B256::with_last_byte(fingerprint).to_string()),
                V::Text(format!("0xaccess{fingerprint}")),
            ],
        )
        .await;
    }
    let top_up = |amount: &str, funds: &str| {
        json!({"leaseId": 1, "payer": format!("{BUYER:#x}"), "amount": amount, "funds": funds,
               "resumed": false, "restartDeadline": 0})
    };
    exec(
        store,
        INSERT_EVENT,
        event_values(20, 0, "LeaseToppedUp", 1, BUYER, top_up("100", "700")),
    )
    .await;
    exec(
        store,
        INSERT_EVENT,
        event_values(21, 2, "LeaseToppedUp", 1, BUYER, top_up("300", "1000")),
    )
    .await;
    exec(
        store,
        INSERT_EVENT,
        event_values(21, 3, "LeaseToppedUp", 6, OTHER_BUYER, top_up("1", "2")),
    )
    .await;
    exec(
        store,
        INSERT_EVENT,
        event_values(22, 0, "LeaseOpened", 2, BUYER, json!({"leaseId": 2})),
    )
    .await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (db, store) = super::TestDb::sqlite().await;
                    super::$name(store.clone()).await;
                    db.finish(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((db, store)) = super::TestDb::postgres().await else { return };
                    super::$name(store.clone()).await;
                    db.finish(store).await;
                }
            )*
        }
    };
}

on_both_backends!(
    offer_search_applies_every_filter,
    offer_search_sorts_and_pages_stably,
    bad_parameters_name_their_field,
    offer_detail_has_images_provider_and_pool,
    provider_shows_stakes_trust_record_and_reputation,
    pools_and_market_compute_the_anon_fee_now,
    lease_money_is_computed_at_now,
    buyer_and_buyer_leases_page_by_id,
    health_metrics_openapi_and_unknown_routes,
    event_stream_filters_and_replays,
    event_stream_reports_lag,
    runway_warnings_reach_matching_streams,
    static_dir_serves_the_dapp,
);

async fn offer_search_applies_every_filter(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    let cases: &[(&str, &[u64])] = &[
        ("", &[2, 3, 5, 1]),
        ("min_vcpus=4", &[2, 5, 1]),
        ("max_vcpus=4", &[3, 5, 1]),
        ("min_ram_mib=8192", &[2, 1]),
        ("min_disk_gib=150", &[2]),
        ("min_gpu_count=1", &[2]),
        ("gpu_model=a100", &[2]),
        ("region=eu", &[3, 5, 1]),
        ("region=mars", &[]),
        ("image=ubuntu-24.04", &[2, 1]),
        ("image=debian-12", &[3, 1]),
        ("image=debian", &[]),
        ("image=UBUNTU-24.04", &[]),
        ("image=my_image%25", &[5]),
        // `_` is not a wildcard: the name is matched exactly.
        ("image=my_imag__", &[]),
        ("min_price=150", &[3, 5, 1]),
        ("max_price=200", &[2, 3, 5]),
        ("min_price=200&max_price=200", &[3, 5]),
        ("pool=2", &[2]),
        (
            "provider=0x1111111111111111111111111111111111111111",
            &[2, 1],
        ),
        ("provider=0X2222222222222222222222222222222222222222", &[3]),
        ("min_trust=1", &[2, 3, 1]),
        ("min_trust=2", &[2, 1]),
        ("min_trust=4", &[1]),
        ("min_trust=7", &[]),
        ("min_available=1", &[3, 5, 1]),
        ("min_available=2", &[5, 1]),
        ("status=paused", &[4]),
        ("status=retired", &[]),
        ("status=all", &[4, 2, 3, 5, 1]),
        ("region=eu&min_vcpus=4&image=ubuntu-24.04", &[1]),
    ];
    for (query, expected) in cases {
        let got = s.offer_ids(&format!("/v1/offers?{query}")).await;
        assert_eq!(&got, expected, "/v1/offers?{query}");
    }
    let page = s
        .ok("/v1/offers?provider=0x1111111111111111111111111111111111111111")
        .await;
    let first = &page["items"][0];
    assert_eq!(first["offer_id"], 2);
    assert_eq!(first["provider_trust_level"], 3);
    assert_eq!(first["available"], 0);
    assert_eq!(first["price_per_second"], "100");
    assert_eq!(first["images"][0]["name"], "ubuntu-24.04");
    assert_eq!(page["items"][1]["provider_trust_level"], 6);
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn offer_search_sorts_and_pages_stably(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    let sorts: &[(&str, &[u64])] = &[
        ("sort=price", &[2, 3, 5, 1]),
        ("sort=price&order=desc", &[1, 5, 3, 2]),
        // Ties break on the offer id, in the sort's direction.
        ("sort=vcpus", &[2, 5, 1, 3]),
        ("sort=vcpus&order=asc", &[3, 1, 5, 2]),
        ("sort=ram", &[2, 1, 3, 5]),
        ("sort=newest", &[5, 3, 2, 1]),
        ("sort=newest&order=asc", &[1, 2, 3, 5]),
        ("sort=available", &[5, 1, 3, 2]),
    ];
    for (query, expected) in sorts {
        assert_eq!(
            &s.offer_ids(&format!("/v1/offers?{query}")).await,
            expected,
            "{query}"
        );
        // Walking one item at a time gives the same order, across ties.
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/offers?{query}&limit=1");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = s.ok(&path).await;
            walked.extend(ids(&page, "offer_id"));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
            assert!(
                walked.len() <= expected.len(),
                "{query}: the walk does not end"
            );
        }
        assert_eq!(&walked, expected, "{query} walked one by one");
    }
    // Exactly `limit` items left: the page is full and the last.
    let page = s.ok("/v1/offers?limit=2").await;
    assert_eq!(ids(&page, "offer_id"), [2, 3]);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
    let last = s.ok(&format!("/v1/offers?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&last, "offer_id"), [5, 1]);
    assert_eq!(last["next_cursor"], Value::Null);
    let all = s.ok("/v1/offers?limit=4").await;
    assert_eq!(ids(&all, "offer_id").len(), 4);
    assert_eq!(all["next_cursor"], Value::Null);
    // Empty result.
    let empty = s.ok("/v1/offers?region=nowhere").await;
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
    // A cursor of another sort or order is refused.
    for other in ["sort=vcpus", "sort=price&order=desc", "sort=newest"] {
        let (status, body) = s.get(&format!("/v1/offers?{other}&cursor={cursor}")).await;
        assert_eq!(status, 400, "{other}: {body}");
        assert_eq!(body["error"]["field"], "cursor");
        assert_eq!(body["error"]["code"], "invalid_cursor");
    }
    // Filters combine with the cursor.
    let page = s
        .ok(&format!("/v1/offers?limit=2&cursor={cursor}&region=eu"))
        .await;
    assert_eq!(ids(&page, "offer_id"), [5, 1]);
}

async fn bad_parameters_name_their_field(store: Store) {
    seed_market(&store).await;
    seed_leases(&store).await;
    let s = Server::start(store, None).await;
    let buyer = format!("{BUYER:#x}");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "/v1/offers?min_vcpus=abc".into(),
            "min_vcpus",
            "invalid_number",
        ),
        (
            "/v1/offers?max_vcpus=-1".into(),
            "max_vcpus",
            "invalid_number",
        ),
        (
            "/v1/offers?min_ram_mib=1e3".into(),
            "min_ram_mib",
            "invalid_number",
        ),
        (
            "/v1/offers?min_disk_gib=".into(),
            "min_disk_gib",
            "invalid_number",
        ),
        (
            "/v1/offers?min_gpu_count=99999999999999999999".into(),
            "min_gpu_count",
            "invalid_number",
        ),
        (
            "/v1/offers?min_available=x".into(),
            "min_available",
            "invalid_number",
        ),
        (
            "/v1/offers?min_price=1.5".into(),
            "min_price",
            "invalid_amount",
        ),
        (
            "/v1/offers?max_price=abc".into(),
            "max_price",
            "invalid_amount",
        ),
        (
            format!("/v1/offers?max_price=1{}", "0".repeat(80)),
            "max_price",
            "invalid_amount",
        ),
        (
            "/v1/offers?provider=0x1234".into(),
            "provider",
            "invalid_address",
        ),
        (
            "/v1/offers?pool=99999999999".into(),
            "pool",
            "invalid_number",
        ),
        (
            "/v1/offers?min_trust=300".into(),
            "min_trust",
            "invalid_number",
        ),
        ("/v1/offers?image=a%7Cb".into(), "image", "invalid_value"),
        ("/v1/offers?limit=0".into(), "limit", "limit_out_of_range"),
        ("/v1/offers?limit=501".into(), "limit", "limit_out_of_range"),
        ("/v1/offers?limit=ten".into(), "limit", "invalid_number"),
        ("/v1/offers?sort=cheapest".into(), "sort", "unknown_sort"),
        ("/v1/offers?order=up".into(), "order", "invalid_value"),
        ("/v1/offers?status=gone".into(), "status", "invalid_value"),
        ("/v1/offers?cursor=zz".into(), "cursor", "invalid_cursor"),
        ("/v1/offers?cursor=6869".into(), "cursor", "invalid_cursor"),
        ("/v1/offers/abc".into(), "id", "invalid_number"),
        ("/v1/offers/1?at=yesterday".into(), "at", "invalid_number"),
        ("/v1/pools/x".into(), "id", "invalid_number"),
        ("/v1/pools?at=-5".into(), "at", "invalid_number"),
        ("/v1/leases/-1".into(), "id", "invalid_number"),
        ("/v1/leases/1?at=1.5".into(), "at", "invalid_number"),
        ("/v1/providers/0xzz".into(), "address", "invalid_address"),
        ("/v1/buyers/nope".into(), "address", "invalid_address"),
        (
            "/v1/buyers/nope/leases".into(),
            "address",
            "invalid_address",
        ),
        (
            format!("/v1/buyers/{buyer}/leases?status=lost"),
            "status",
            "invalid_value",
        ),
        (
            format!("/v1/buyers/{buyer}/leases?limit=0"),
            "limit",
            "limit_out_of_range",
        ),
        (
            format!("/v1/buyers/{buyer}/leases?cursor=abc"),
            "cursor",
            "invalid_cursor",
        ),
        (
            format!("/v1/buyers/{buyer}/leases?at=x"),
            "at",
            "invalid_number",
        ),
        ("/v1/market?at=abc".into(), "at", "invalid_number"),
        (
            "/v1/events/stream?lease=x".into(),
            "lease",
            "invalid_number",
        ),
        (
            "/v1/events/stream?buyer=0x12".into(),
            "buyer",
            "invalid_address",
        ),
        (
            "/v1/events/stream?provider=1".into(),
            "provider",
            "invalid_address",
        ),
        (
            "/v1/events/stream?offer=-2".into(),
            "offer",
            "invalid_number",
        ),
        (
            "/v1/events/stream?since_block=z".into(),
            "since_block",
            "invalid_number",
        ),
    ];
    for (path, field, code) in &cases {
        let (status, body) = s.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["field"], *field, "{path}: {body}");
        assert_eq!(body["error"]["code"], *code, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A malformed query string (a parameter twice) is a JSON 400 too.
    let (status, body) = s.get("/v1/offers?limit=1&limit=2").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_query");
    // A bad Last-Event-ID header names the header.
    let response = s
        .http
        .get(format!("{}/v1/events/stream", s.base))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["field"], "Last-Event-ID");
    // Unknown ids are JSON 404s.
    for path in [
        "/v1/offers/99",
        "/v1/pools/99",
        "/v1/leases/99",
        "/v1/providers/0x9999999999999999999999999999999999999999",
        "/v1/buyers/0x9999999999999999999999999999999999999999",
    ] {
        let (status, body) = s.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // An unknown buyer simply has no leases.
    let page = s
        .ok("/v1/buyers/0x9999999999999999999999999999999999999999/leases")
        .await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

async fn offer_detail_has_images_provider_and_pool(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    let offer = s.ok("/v1/offers/1?at=1000").await;
    assert_eq!(offer["offer_id"], 1);
    assert_eq!(offer["status"], "active");
    assert_eq!(offer["region"], "eu");
    let names: Vec<&str> = offer["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["ubuntu-24.04", "debian-12"]);
    assert_eq!(
        offer["images"][0]["id"],
        B256::with_last_byte(1).to_string()
    );
    assert_eq!(offer["provider_trust_level"], 6);
    let provider = &offer["provider_summary"];
    assert_eq!(provider["address"], format!("{P1:#x}"));
    assert_eq!(provider["trust_level"], 6);
    assert_eq!(
        provider["encryption_key"],
        B256::with_last_byte(9).to_string()
    );
    assert_eq!(provider["completed_seconds"], 8 * DAY);
    assert_eq!(provider["reputation"]["completion_rate_bps"], 7777);
    assert_eq!(offer["pool"]["pool_id"], 1);
    assert_eq!(offer["pool"]["name"], "pool-1");
    assert_eq!(offer["pool"]["current_anon_fee"], "1000");
    // Offer 2 is in pool 2, where P1's trust is 3.
    let offer = s.ok("/v1/offers/2").await;
    assert_eq!(offer["provider_summary"]["trust_level"], 3);
    // Offer 5's provider has no record and no stake.
    let offer = s.ok("/v1/offers/5").await;
    assert_eq!(offer["provider_summary"]["trust_level"], 0);
    assert_eq!(offer["provider_summary"]["encryption_key"], Value::Null);
    assert_eq!(
        offer["provider_summary"]["reputation"]["completion_rate_bps"],
        Value::Null
    );
}

async fn provider_shows_stakes_trust_record_and_reputation(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    // Any case in the path.
    let p = s
        .ok("/v1/providers/0x1111111111111111111111111111111111111111")
        .await;
    assert_eq!(p["address"], format!("{P1:#x}"));
    let stakes = p["stakes"].as_array().expect("stakes");
    assert_eq!(stakes.len(), 2);
    assert_eq!(stakes[0]["pool_id"], 1);
    assert_eq!(stakes[0]["bonded"], "400");
    assert_eq!(stakes[0]["min_stake"], "100");
    assert_eq!(stakes[0]["trust_level"], 6);
    assert_eq!(stakes[1]["pool_id"], 2);
    assert_eq!(stakes[1]["trust_level"], 3);
    assert_eq!(p["record"]["buyer_stopped"], 5);
    assert_eq!(p["record"]["completed_seconds"], 8 * DAY);
    assert_eq!(
        p["earnings"],
        json!({"earned": "5000", "withdrawn": "3000"})
    );
    // 7 completions of 9 ended; 1 boot failure; 1 termination.
    let r = &p["reputation"];
    assert_eq!(
        (
            r["completions"].as_u64(),
            r["failures"].as_u64(),
            r["ended"].as_u64()
        ),
        (Some(7), Some(2), Some(9))
    );
    assert_eq!(r["completion_rate_bps"], 7777);
    assert_eq!(r["boot_failure_rate_bps"], 1111);
    assert_eq!(r["termination_rate_bps"], 1111);
    assert_eq!(ids(&json!({"items": p["offers"]}), "offer_id"), [1, 2]);
    let p2 = s
        .ok("/v1/providers/0x2222222222222222222222222222222222222222")
        .await;
    assert_eq!(p2["stakes"][0]["trust_level"], 1);
    assert_eq!(p2["reputation"]["boot_failure_rate_bps"], 10_000);
    // Offers only (no record, no stake) still make a provider.
    let p3 = s
        .ok("/v1/providers/0x3333333333333333333333333333333333333333")
        .await;
    assert_eq!(p3["stakes"], json!([]));
    assert_eq!(ids(&json!({"items": p3["offers"]}), "offer_id"), [5]);
}

async fn pools_and_market_compute_the_anon_fee_now(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    // Pool 1: anonymous share 50 % against a 10 % target: deviation capped at +10000. Checkpoint
    // 1000 at t=1000; at t=2200 two periods have passed: 1000 → 1125 → ceil(1265.625) = 1266.
    let pools = s.ok("/v1/pools?at=2200").await;
    let items = pools["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["pool_id"], 1);
    assert_eq!(items[0]["anon_deviation_bps"], 10_000);
    assert_eq!(items[0]["current_anon_fee"], "1266");
    assert_eq!(items[0]["anon_fee_checkpoint"], "1000");
    assert_eq!(items[0]["as_of"], 2200);
    assert_eq!(items[0]["min_stake"], "100");
    assert_eq!(items[0]["pending_operator"], Value::Null);
    // Pool 2: a zero ceiling means no fee.
    assert_eq!(items[1]["current_anon_fee"], "0");
    assert_eq!(items[1]["anon_deviation_bps"], -10_000);
    // 40 periods: 32 steps, stopped at the ceiling 10 000.
    let pool = s.ok("/v1/pools/1?at=25000").await;
    assert_eq!(pool["current_anon_fee"], "10000");
    // "Now" defaults to the last indexed block's time.
    s.set_progress(10, 10, 1600);
    assert_eq!(s.ok("/v1/pools/1").await["current_anon_fee"], "1125");
    let market = s.ok("/v1/market?at=2200").await;
    assert_eq!(market["global_rate"], "100");
    assert_eq!(market["anon_rate"], "50");
    assert_eq!(market["anon_share_bps"], 5000);
    assert_eq!(market["running_leases"], 2);
    assert_eq!(market["lease_count"], 6);
    assert_eq!(market["pools"][0]["current_anon_fee"], "1266");
    assert_eq!(market["pools"][0]["anon_share_bps"], 5000);
    assert_eq!(market["pools"][1]["current_anon_fee"], "0");
}

async fn lease_money_is_computed_at_now(store: Store) {
    seed_market(&store).await;
    seed_leases(&store).await;
    let s = Server::start(store, None).await;
    // Running: 100 s at 3/s spent.
    let l = s.ok("/v1/leases/1?at=10100").await;
    assert_eq!(l["status"], "running");
    assert_eq!(l["recorded_status"], "running");
    assert_eq!(l["balance"], "700");
    assert_eq!(l["earned_unwithdrawn"], "300");
    assert_eq!(l["paid_until"], 10_334);
    assert_eq!(l["runway_seconds"], 234);
    assert_eq!(l["end_reason"], Value::Null);
    assert_eq!(l["buyer"], format!("{BUYER:#x}"));
    assert_eq!(l["opening"]["ssh_public_key"], "ssh-ed25519 AAAA buyer");
    assert_eq!(
        l["opening"]["user_data_hash"],
        B256::with_last_byte(7).to_string()
    );
    // The latest acknowledgement by (block, log index).
    assert_eq!(l["access"]["block_number"], 15);
    assert_eq!(l["access"]["encrypted_access"], "0xaccess2");
    assert_eq!(
        l["access"]["host_key_fingerprint"],
        B256::with_last_byte(2).to_string()
    );
    let top_ups = l["top_ups"].as_array().expect("top-ups");
    assert_eq!(top_ups.len(), 2);
    assert_eq!(top_ups[0]["amount"], "100");
    assert_eq!(top_ups[1]["amount"], "300");
    assert_eq!(top_ups[1]["funds"], "1000");
    assert_eq!(top_ups[1]["payer"], format!("{BUYER:#x}"));
    assert_eq!(top_ups[1]["block_number"], 21);
    // One second before the runway ends: 1 wei left (ceil runway bills the last second in full).
    let l = s.ok("/v1/leases/1?at=10333").await;
    assert_eq!(
        (l["status"].as_str(), l["balance"].as_str()),
        (Some("running"), Some("1"))
    );
    // Spent: expired, the whole balance earned.
    let l = s.ok("/v1/leases/1?at=10334").await;
    assert_eq!(l["status"], "expired");
    assert_eq!(l["recorded_status"], "running");
    assert_eq!(l["balance"], "0");
    assert_eq!(l["earned_unwithdrawn"], "1000");
    assert_eq!(l["runway_seconds"], 0);
    // Default now: the indexed block's time.
    s.set_progress(30, 30, 10_010);
    assert_eq!(s.ok("/v1/leases/1").await["balance"], "970");
    assert_eq!(s.ok("/v1/leases/1").await["as_of"], 10_010);
    let pending = s.ok("/v1/leases/2?at=99999").await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(
        (
            pending["balance"].as_str(),
            pending["earned_unwithdrawn"].as_str()
        ),
        (Some("500"), Some("0"))
    );
    assert_eq!(pending["paid_until"], Value::Null);
    assert_eq!(pending["opening"], Value::Null);
    assert_eq!(pending["access"], Value::Null);
    assert_eq!(pending["top_ups"], json!([]));
    let halted = s.ok("/v1/leases/3").await;
    assert_eq!(halted["status"], "halted");
    assert_eq!(
        (
            halted["balance"].as_str(),
            halted["earned_unwithdrawn"].as_str()
        ),
        (Some("0"), Some("200"))
    );
    assert_eq!(halted["paid_until"], 9_000);
    let closed = s.ok("/v1/leases/4").await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["end_reason"], "boot_failed");
    assert_eq!(closed["balance"], "0");
    let restart = s.ok("/v1/leases/5").await;
    assert_eq!(restart["status"], "restart_pending");
    assert_eq!(restart["balance"], "50");
}

async fn buyer_and_buyer_leases_page_by_id(store: Store) {
    seed_market(&store).await;
    seed_leases(&store).await;
    let s = Server::start(store, None).await;
    let buyer = format!("{BUYER:#x}");
    let b = s
        .ok(&format!(
            "/v1/buyers/{}",
            buyer.to_uppercase().replace("0X", "0x")
        ))
        .await;
    assert_eq!(b["address"], buyer);
    assert_eq!(b["active"], 3);
    assert_eq!(b["opened"], 5);
    assert_eq!(b["karma"], "1234");
    assert_eq!(b["deposit"], "500");
    assert_eq!(b["unbonding"], "0");
    assert_eq!(b["open_reports"], 1);
    let all = s.ok(&format!("/v1/buyers/{buyer}/leases")).await;
    assert_eq!(ids(&all, "lease_id"), [5, 4, 3, 2, 1]);
    assert_eq!(all["next_cursor"], Value::Null);
    let mut walked = Vec::new();
    let mut path = format!("/v1/buyers/{buyer}/leases?limit=2");
    loop {
        let page = s.ok(&path).await;
        walked.push(ids(&page, "lease_id"));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/buyers/{buyer}/leases?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(walked, [vec![5, 4], vec![3, 2], vec![1]]);
    let filtered: &[(&str, &[u64])] = &[
        ("running", &[1]),
        ("pending", &[2]),
        ("halted", &[3]),
        ("restart_pending", &[5]),
        ("closed", &[4]),
        ("open", &[5, 3, 2, 1]),
    ];
    for (status, expected) in filtered {
        let page = s
            .ok(&format!("/v1/buyers/{buyer}/leases?status={status}"))
            .await;
        assert_eq!(&ids(&page, "lease_id"), expected, "status={status}");
    }
    let page = s
        .ok(&format!(
            "/v1/buyers/{buyer}/leases?status=running&at=10100"
        ))
        .await;
    assert_eq!(page["items"][0]["balance"], "700");
    let exact = s.ok(&format!("/v1/buyers/{buyer}/leases?limit=5")).await;
    assert_eq!(exact["next_cursor"], Value::Null);
}

async fn health_metrics_openapi_and_unknown_routes(store: Store) {
    seed_market(&store).await;
    let s = Server::start(store, None).await;
    let (status, body) = s.get("/health").await;
    assert_eq!(status, 503, "nothing indexed yet: {body}");
    assert_eq!(body["healthy"], false);
    s.set_progress(100, 95, 5000);
    let (status, body) = s.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["head"].as_u64(),
            body["indexed"].as_u64(),
            body["lag"].as_u64()
        ),
        (Some(100), Some(95), Some(5))
    );
    assert_eq!(body["live"], true);
    s.set_progress(120, 95, 5000);
    let (status, body) = s.get("/health").await;
    assert_eq!(status, 503);
    assert_eq!(body["lag"], 25);

    let served: Deployment = serde_json::from_value(s.ok("/v1/deployment").await)
        .expect("/v1/deployment is an addresses file");
    assert_eq!(served, deployment());

    s.ok("/v1/offers/1").await;
    let (status, _) = s.get("/v1/offers/77").await;
    assert_eq!(status, 404);
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"route="/v1/offers/{id}",status="2xx""#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="/v1/offers/{id}",status="4xx""#),
        "{metrics}"
    );

    let doc: Value = s.ok("/openapi.json").await;
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&openapi_json()).expect("JSON")
    );
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/v1/offers",
        "/v1/offers/{id}",
        "/v1/providers/{address}",
        "/v1/pools",
        "/v1/pools/{id}",
        "/v1/leases/{id}",
        "/v1/buyers/{address}",
        "/v1/buyers/{address}/leases",
        "/v1/market",
        "/v1/events/stream",
        "/health",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is documented"
        );
    }
    let params: Vec<&str> = doc["paths"]["/v1/offers"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    for name in [
        "min_vcpus",
        "image",
        "min_trust",
        "min_available",
        "sort",
        "cursor",
        "limit",
    ] {
        assert!(params.contains(&name), "{name} documented");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    let (status, body) = s.get("/v1/nothing/here").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = s.get("/elsewhere").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let response = s
        .http
        .post(format!("{}/v1/offers", s.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    // CORS for browsers.
    let response = s
        .http
        .get(format!("{}/v1/market", s.base))
        .header("Origin", "https://example.org")
        .send()
        .await
        .expect("answered");
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
}

/// Reads Server-Sent Events from a response.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

impl SseReader {
    async fn open(s: &Server, path: &str, last_event_id: Option<&str>) -> Self {
        let mut request = s.http.get(format!("{}{path}", s.base));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/event-stream"))
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event with data (keep-alive comments skipped), or `None` after `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        tokio::time::timeout(wait, async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let (mut event, mut id, mut data) = (None, None, String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = Some(v.trim().to_owned());
                        } else if let Some(v) = line.strip_prefix("id:") {
                            id = Some(v.trim().to_owned());
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if let Some(event) = event {
                        let data = serde_json::from_str(&data).expect("JSON data");
                        return Some(Sse { event, id, data });
                    }
                }
                let chunk = self.response.chunk().await.expect("the stream continues")?;
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .ok()
        .flatten()
    }

    async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }
}

fn record(
    block: u64,
    log: u64,
    kind: &'static str,
    lease_id: u64,
    buyer: Address,
) -> Arc<EventRecord> {
    Arc::new(EventRecord {
        position: LogPosition {
            block_number: block,
            block_hash: B256::with_last_byte(block as u8),
            block_timestamp: 9_000 + block,
            tx_hash: B256::with_last_byte(100),
            log_index: log,
        },
        contract: "LeaseEscrow",
        kind,
        lease_id: Some(lease_id),
        buyer: Some(buyer),
        provider: Some(P1),
        offer_id: Some(lease_id as u32),
        pool_id: Some(1),
        fields: json!({"leaseId": lease_id}),
        topics: "0x".into(),
        data: "0x".into(),
    })
}

async fn event_stream_filters_and_replays(store: Store) {
    seed_market(&store).await;
    seed_leases(&store).await;
    let s = Server::start(store, None).await;
    let mut by_lease = SseReader::open(&s, "/v1/events/stream?lease=1", None).await;
    let mut by_buyer = SseReader::open(
        &s,
        &format!(
            "/v1/events/stream?buyer={:#x}&provider={P1:#x}",
            OTHER_BUYER
        ),
        None,
    )
    .await;
    let mut by_offer = SseReader::open(&s, "/v1/events/stream?offer=6", None).await;
    let mut everything = SseReader::open(&s, "/v1/events/stream", None).await;
    s.events
        .send(record(30, 0, "LeaseOpened", 2, BUYER))
        .expect("subscribers");
    s.events
        .send(record(30, 1, "LeaseToppedUp", 6, OTHER_BUYER))
        .expect("subscribers");
    s.events
        .send(record(31, 0, "LeaseToppedUp", 1, BUYER))
        .expect("subscribers");

    let e = by_lease.next().await;
    assert_eq!(e.event, "LeaseToppedUp");
    assert_eq!(e.id.as_deref(), Some("31-0"));
    assert_eq!(e.data["lease_id"], 1);
    assert_eq!(e.data["kind"], "LeaseToppedUp");
    assert_eq!(e.data["contract"], "LeaseEscrow");
    assert_eq!(e.data["block_number"], 31);
    assert_eq!(e.data["buyer"], format!("{BUYER:#x}"));
    assert_eq!(e.data["fields"], json!({"leaseId": 1}));
    let e = by_buyer.next().await;
    assert_eq!(
        (e.event.as_str(), e.data["lease_id"].as_u64()),
        ("LeaseToppedUp", Some(6))
    );
    assert_eq!(by_offer.next().await.data["offer_id"], 6);
    let kinds: Vec<u64> = [
        everything.next().await,
        everything.next().await,
        everything.next().await,
    ]
    .iter()
    .map(|e| e.data["lease_id"].as_u64().expect("lease"))
    .collect();
    assert_eq!(kinds, [2, 6, 1]);
    // Nothing else arrives for the filtered streams.
    assert!(
        by_lease
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );

    // Replay from the events table: since a block (inclusive), then live without duplicates.
    let mut replay = SseReader::open(&s, "/v1/events/stream?lease=1&since_block=21", None).await;
    let e = replay.next().await;
    assert_eq!(
        (e.id.as_deref(), e.data["fields"]["amount"].as_str()),
        (Some("21-2"), Some("300"))
    );
    s.events
        .send(record(21, 2, "LeaseToppedUp", 1, BUYER))
        .expect("subscribers");
    s.events
        .send(record(32, 0, "LeaseStopped", 1, BUYER))
        .expect("subscribers");
    let e = replay.next().await;
    assert_eq!(
        (e.event.as_str(), e.id.as_deref()),
        ("LeaseStopped", Some("32-0"))
    );
    // Last-Event-ID: strictly after it.
    let mut resumed = SseReader::open(&s, "/v1/events/stream", Some("20-0")).await;
    let ids: Vec<String> = [
        resumed.next().await,
        resumed.next().await,
        resumed.next().await,
    ]
    .into_iter()
    .map(|e| e.id.expect("an id"))
    .collect();
    assert_eq!(ids, ["21-2", "21-3", "22-0"]);
}

async fn event_stream_reports_lag(store: Store) {
    let s = Server::start(store, None).await;
    let mut reader = SseReader::open(&s, "/v1/events/stream", None).await;
    // The channel holds 16: without yielding, 40 sends overrun this subscriber.
    for i in 0..40 {
        s.events
            .send(record(40 + i, 0, "LeaseOpened", 1, BUYER))
            .expect("subscribers");
    }
    let e = reader.next().await;
    assert_eq!(e.event, "lagged");
    assert_eq!(e.data["stream"], "events");
    assert_eq!(e.data["skipped"], 24);
    // The stream goes on with what is left.
    let e = reader.next().await;
    assert_eq!(e.event, "LeaseOpened");
    assert_eq!(e.data["block_number"], 64);
}

async fn runway_warnings_reach_matching_streams(store: Store) {
    seed_market(&store).await;
    seed_leases(&store).await;
    let s = Server::start(store, None).await;
    let mut mine = SseReader::open(&s, &format!("/v1/events/stream?buyer={BUYER:#x}"), None).await;
    let mut lease6 = SseReader::open(&s, "/v1/events/stream?lease=6", None).await;
    // Lease 1 is paid until 10 334, lease 6 until 12 000.
    s.set_progress(50, 50, 6_000);
    assert!(
        mine.next_within(Duration::from_millis(500)).await.is_none(),
        "no runway is low yet"
    );
    s.set_progress(51, 51, 9_000);
    let w = mine.next().await;
    assert_eq!(w.event, "runway_low");
    assert_eq!(w.id, None);
    assert_eq!(w.data["lease_id"], 1);
    assert_eq!(w.data["threshold_seconds"], 3600);
    assert_eq!(w.data["paid_until"], 10_334);
    assert_eq!(w.data["block_number"], 51);
    // Once per threshold.
    s.set_progress(52, 52, 9_100);
    s.set_progress(53, 53, 9_800);
    let w = mine.next().await;
    assert_eq!(
        (w.event.as_str(), w.data["threshold_seconds"].as_u64()),
        ("runway_low", Some(600))
    );
    s.set_progress(54, 54, 10_334);
    let w = mine.next().await;
    assert_eq!(w.event, "ran_dry");
    assert_eq!(w.data["lease_id"], 1);
    s.set_progress(55, 55, 10_400);
    assert!(
        mine.next_within(Duration::from_millis(500)).await.is_none(),
        "ran_dry once"
    );
    // Lease 6 (another buyer) crossed 1 h at 9 000 (3000 s left) and only its stream heard.
    let w = lease6.next().await;
    assert_eq!(
        (w.event.as_str(), w.data["lease_id"].as_u64()),
        ("runway_low", Some(6))
    );
    assert_eq!(w.data["buyer"], format!("{OTHER_BUYER:#x}"));
}

async fn static_dir_serves_the_dapp(store: Store) {
    let dir = std::env::temp_dir().join(TestDb::unique());
    std::fs::create_dir_all(&dir).expect("a directory");
    std::fs::write(dir.join("index.html"), "<h1>utter</h1>").expect("written");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("written");
    let s = Server::start(store, Some(dir.clone())).await;
    let text = |path: &'static str| {
        let http = s.http.clone();
        let url = format!("{}{path}", s.base);
        async move {
            let response = http.get(url).send().await.expect("answered");
            (
                response.status().as_u16(),
                response.text().await.expect("text"),
            )
        }
    };
    assert_eq!(text("/").await, (200, "<h1>utter</h1>".to_owned()));
    assert_eq!(text("/app.js").await, (200, "console.log(1)".to_owned()));
    assert_eq!(text("/leases/42").await, (200, "<h1>utter</h1>".to_owned()));
    let (status, body) = s.get("/v1/missing").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(s.get("/v1/market").await.0, 200);
    let _ = std::fs::remove_dir_all(dir);
}
