//! `seed-offers`: fills a fresh indexer database with a synthetic market for the API benchmark.
//!
//! Deploys utter's contracts on the given (anvil) RPC from its first unlocked account and writes the
//! deployment file, so that `utter-indexer run` accepts the database; then writes, through the
//! indexer's own schema and column mapping (`utter_indexer::model` rows, their `COLUMNS` and
//! `values()`), `--offers` offers (varied vCPUs, RAM, disk, GPUs, regions, images, prices, pools,
//! providers and statuses), the providers, their stakes in every pool they publish in (bonded at 0
//! to 5 times the pool's minimum, so trust levels 0 to 4+ occur) and the pools, and sets the
//! checkpoint at the chain's head so that the indexer has nothing to backfill.
//!
//! These rows are synthetic: writing 100,000 offers as real chain events would take far longer, and
//! the API reads rows, not events.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::{Provider, ProviderBuilder},
};
use anyhow::Context as _;
use clap::Parser;
use serde_json::json;
use std::{path::PathBuf, time::Instant};
use utter_indexer::{
    columns::{bind_all, hex_address},
    model::{Entity, Market, Offer, Pool, Provider as ProviderRow, Stake},
    store::Store,
};

#[derive(Debug, Parser)]
#[command(
    name = "seed-offers",
    about = "A synthetic market in an indexer database"
)]
struct Args {
    /// Anvil (or another node with an unlocked account) to deploy on.
    #[arg(long)]
    rpc: String,
    /// Database URL (fresh).
    #[arg(long)]
    db: String,
    /// Where to write the deployment file.
    #[arg(long)]
    deployment: PathBuf,
    /// Offers.
    #[arg(long, default_value_t = 100_000)]
    offers: u32,
    /// Providers.
    #[arg(long, default_value_t = 2_000)]
    providers: u32,
    /// Pools.
    #[arg(long, default_value_t = 12)]
    pools: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Regions, GPU models and images offers pick from (the same names the scenario uses, and more).
const REGIONS: [&str; 8] = [
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "sa-east-1",
];
/// GPU models.
const GPUS: [&str; 4] = ["nvidia-a100", "nvidia-h100", "nvidia-l4", "amd-mi300x"];
/// Image names.
const IMAGES: [&str; 8] = [
    "ubuntu-24.04",
    "ubuntu-22.04",
    "debian-12",
    "fedora-41",
    "alpine-3.21",
    "nixos-24.11",
    "rocky-9",
    "arch-2025.01",
];

/// splitmix64: reproducible, no dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// Inserts `rows` with the indexer's column list and values, 40 rows per statement.
async fn insert<E: Entity>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[E],
) -> anyhow::Result<()> {
    let columns = E::COLUMNS;
    for chunk in rows.chunks(40) {
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", E::TABLE, columns.join(", "));
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let values = chunk.iter().flat_map(Entity::values).collect();
        bind_all(sqlx::query(&sql), values)
            .execute(&mut **tx)
            .await
            .with_context(|| format!("inserting into {}", E::TABLE))?;
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let provider = ProviderBuilder::new().connect_http(args.rpc.parse()?);
    let deployer = *provider
        .get_accounts()
        .await?
        .first()
        .context("the node has an unlocked account")?;
    let deployment = utter_bindings::deploy(&provider, deployer).await?;
    deployment.save(&args.deployment)?;
    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("the head block")?;

    let store = Store::connect(&args.db).await?;
    let mut rng = Rng(args.seed);
    let now = head.header.timestamp;
    let address = |kind: &str, i: u32| Address::from_slice(&keccak256(format!("{kind}{i}"))[12..]);

    let pools: Vec<Pool> = (1..=args.pools)
        .map(|id| Pool {
            pool_id: id,
            operator: address("operator", id),
            name: format!("pool {id}"),
            metadata_uri: format!("https://pool{id}.example/meta.json"),
            fee_bps: 100 + (id as u16 % 5) * 50,
            min_stake: U256::from(100 * TOKEN * u128::from(id % 4 + 1)),
            trusted_deposit: U256::from(50 * TOKEN),
            trusted_karma: U256::from(10 * TOKEN),
            anon_target_share_bps: 2_000,
            max_buyer_slash_bps: 5_000,
            base_leases: 2,
            max_leases: 50,
            provider_unbonding: 7 * 86_400,
            created_at: now,
            ..Pool::default()
        })
        .collect();
    let mut providers: Vec<ProviderRow> = (1..=args.providers)
        .map(|i| ProviderRow {
            provider: address("provider", i),
            encryption_key: B256::from(keccak256(format!("key{i}"))),
            completed_seconds: rng.below(400 * 86_400),
            reclaimed: u32::from(rng.below(10) == 0),
            boot_failed: rng.below(6) as u32,
            ..ProviderRow::default()
        })
        .collect();
    let mut stakes = std::collections::BTreeMap::new();
    let mut offers = Vec::with_capacity(args.offers as usize);
    for id in 1..=args.offers {
        let p = rng.below(u64::from(args.providers)) as usize;
        // A provider publishes in one or two "home" pools.
        let pool_id = ((p as u32 * 7 + (rng.below(2) as u32) * 5) % args.pools) + 1;
        let provider = providers[p].provider;
        providers[p].offer_count += 1;
        stakes.entry((pool_id, provider)).or_insert_with(|| {
            let min = pools[pool_id as usize - 1].min_stake;
            Stake {
                pool_id,
                provider,
                bonded: min * U256::from(rng.below(6)) + U256::from(rng.below(TOKEN as u64)),
                joined: true,
                ..Stake::default()
            }
        });
        let gpu = rng.below(5) == 0;
        let vcpus = *rng.pick(&[1u16, 2, 4, 8, 16, 32, 64, 96]);
        let images: Vec<&str> = (0..1 + rng.below(4)).map(|_| *rng.pick(&IMAGES)).collect();
        let mut images = images;
        images.sort_unstable();
        images.dedup();
        let price = U256::from(1_000_000_000u64 * u64::from(vcpus) * (50 + rng.below(100)))
            * U256::from(if gpu { 20 } else { 1 });
        let capacity = 1 + rng.below(32) as u32;
        offers.push(Offer {
            offer_id: id,
            provider,
            pool_id,
            status: match rng.below(10) {
                0 => 2,
                1 => 3,
                _ => 1,
            },
            price_per_second: price,
            price_key: utter_indexer::columns::sort_key(price),
            capacity,
            boot_timeout: 600,
            retention: 86_400,
            images_revision: 1,
            images: serde_json::to_string(
                &images
                    .iter()
                    .map(|name| json!({"id": keccak256(name).to_string(), "name": name}))
                    .collect::<Vec<_>>(),
            )?,
            image_names: format!("|{}|", images.join("|")),
            vcpus,
            ram_mib: u32::from(vcpus) * *rng.pick(&[1024u32, 2048, 4096, 8192]),
            disk_gib: *rng.pick(&[20u32, 50, 100, 250, 500, 1000, 2000]),
            gpu_count: if gpu { *rng.pick(&[1u16, 2, 4, 8]) } else { 0 },
            gpu_model: if gpu {
                (*rng.pick(&GPUS)).to_owned()
            } else {
                String::new()
            },
            bandwidth_up_mbps: *rng.pick(&[100u32, 1_000, 10_000]),
            bandwidth_down_mbps: *rng.pick(&[100u32, 1_000, 10_000]),
            public_ipv4: rng.below(3) != 0,
            public_ipv6: rng.below(4) != 0,
            region: (*rng.pick(&REGIONS)).to_owned(),
            active_leases: rng.below(u64::from(capacity) + 1) as u32,
            total_leases: rng.below(1_000),
            published_at: now - rng.below(365 * 86_400),
        });
    }
    let mut pools = pools;
    for stake in stakes.values() {
        pools[stake.pool_id as usize - 1].provider_count += 1;
    }
    let stakes: Vec<Stake> = stakes.into_values().collect();

    let mut tx = store.pool().begin().await?;
    insert(&mut tx, &pools).await?;
    insert(&mut tx, &providers).await?;
    insert(&mut tx, &stakes).await?;
    insert(&mut tx, &offers).await?;
    insert(
        &mut tx,
        &[Market {
            id: 1,
            ..Market::default()
        }],
    )
    .await?;
    sqlx::query(
        "INSERT INTO sync_state (id, chain_id, escrow, block_number, block_hash, block_timestamp) \
         VALUES (1, $1, $2, $3, $4, $5)",
    )
    .bind(deployment.chain_id as i64)
    .bind(hex_address(&deployment.escrow))
    .bind(head.header.number as i64)
    .bind(head.header.hash.to_string())
    .bind(head.header.timestamp as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    eprintln!(
        "seeded {} offers, {} providers, {} stakes, {} pools in {:.1} s",
        offers.len(),
        providers.len(),
        stakes.len(),
        pools.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
