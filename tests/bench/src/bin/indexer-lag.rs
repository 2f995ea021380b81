//! `indexer-lag`: how long after a block is mined its events can be queried.
//!
//! A market is set up on the pinned anvil (the testkit's scenario, automining), then anvil stops
//! automining and the real `Indexer::run` follows it in this process, into a fresh SQLite file or
//! PostgreSQL database. A driver mines a block every `--interval-ms` on a fixed schedule, each with
//! `--events-per-block` events (`BuyerTrust` deposits and withdrawals), and for each block measures the
//! time from `evm_mine` returning to the block being committed: the indexer's checkpoint row
//! (`sync_state`, written in the same transaction as the block's events) read from a separate
//! connection every millisecond. At the end every block's events are checked to be there.
//!
//! Runs each database with each `--polls` value (the indexer's head poll interval).

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context as _, ensure};
use clap::Parser;
use serde_json::json;
use sqlx::Row as _;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};
use tokio::sync::watch;
use utter_bench::{
    chain::{BulkSender, set_up, spawn_anvil},
    db::BenchDb,
    rpc::Rpc,
    stats::Percentiles,
};
use utter_indexer::{
    metrics::Metrics,
    store::Store,
    sync::{Indexer, SyncConfig},
};

#[derive(Debug, Parser)]
#[command(name = "indexer-lag", about = "Live lag of the utter indexer")]
struct Args {
    /// Blocks mined per run.
    #[arg(long, default_value_t = 300)]
    blocks: u64,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// Events per block.
    #[arg(long, default_value_t = 4)]
    events_per_block: u64,
    /// The indexer's poll intervals to try, in milliseconds.
    #[arg(long, value_delimiter = ',', default_value = "100,20")]
    polls: Vec<u64>,
    /// PostgreSQL server to create databases on ("none" to skip PostgreSQL).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// Where the SQLite files go (default: target/bench).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write the figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Longest wait for one block before it counts as missed.
const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"));
    let anvil = spawn_anvil(&[]);
    let mut scenario = set_up(&anvil, 5).await?;
    scenario.run(30).await.context("scenario steps")?;
    let deployment = *scenario.deployment();
    let rpc = Rpc::new(anvil.endpoint());
    rpc.set_automine(false).await?;
    let mut bulk = BulkSender::new(&anvil, &deployment).await?;
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(anvil.endpoint_url())
        .erased();

    let mut results = Vec::new();
    for &poll in &args.polls {
        let mut dbs = vec![BenchDb::fresh_sqlite(&dir, &format!("lag-{poll}"))?];
        if args.postgres != "none" {
            dbs.push(
                BenchDb::fresh_postgres(&args.postgres, &format!("utter_bench_lag_{poll}")).await?,
            );
        }
        for db in dbs {
            eprintln!("lag: {} with a {poll} ms poll", db.kind());
            let store = Store::connect(&db.url()).await?;
            let config = SyncConfig {
                poll_interval: Duration::from_millis(poll),
                ..SyncConfig::default()
            };
            let mut indexer = Indexer::new(
                store,
                provider.clone(),
                deployment,
                config,
                Metrics::default(),
            )
            .await?;
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = tokio::spawn(async move { indexer.run(stop_rx).await });
            // A reader of its own, as the API would be.
            sqlx::any::install_default_drivers();
            let reader = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(&db.url())
                .await?;
            let indexed = async || -> anyhow::Result<u64> {
                let row = sqlx::query("SELECT block_number FROM sync_state WHERE id = 1")
                    .fetch_optional(&reader)
                    .await?;
                Ok(match row {
                    Some(row) => row.try_get::<i64, _>(0)? as u64,
                    None => 0,
                })
            };
            let start_head = provider.get_block_number().await?;
            let deadline = Instant::now() + Duration::from_secs(120);
            while indexed().await? < start_head {
                ensure!(Instant::now() < deadline, "the indexer caught up");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut lags = Vec::new();
            let mut missed = 0;
            let started = Instant::now();
            for i in 0..args.blocks {
                let at = started + Duration::from_millis(i * args.interval_ms);
                tokio::time::sleep_until(at.into()).await;
                bulk.send(args.events_per_block).await?;
                rpc.mine().await?;
                let mined = Instant::now();
                let block = start_head + i + 1;
                loop {
                    if indexed().await? >= block {
                        lags.push(mined.elapsed());
                        break;
                    }
                    if mined.elapsed() > TIMEOUT {
                        missed += 1;
                        lags.push(mined.elapsed());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let row = sqlx::query("SELECT count(*) FROM events WHERE block_number > $1")
                .bind(start_head as i64)
                .fetch_one(&reader)
                .await?;
            let events: i64 = row.try_get(0)?;
            ensure!(
                events as u64 == args.blocks * args.events_per_block,
                "{events} events indexed, {} mined",
                args.blocks * args.events_per_block
            );
            stop_tx.send_replace(true);
            task.await??;
            reader.close().await;
            results.push((db.kind(), poll, Percentiles::of(&lags), missed));
        }
    }

    println!("## Indexer live lag");
    println!();
    println!(
        "{} blocks per run, one every {} ms, {} events each; lag = evm_mine returned -> the block's checkpoint \
         committed, read from another connection every 1 ms (finality depth 64: every block applied live with undo images)",
        args.blocks, args.interval_ms, args.events_per_block
    );
    println!();
    println!(
        "| database | poll ms | p50 ms | p90 ms | p99 ms | max ms | mean ms | missed (> 5 s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (kind, poll, p, missed) in &results {
        println!(
            "| {kind} | {poll} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {missed} |",
            p.p50, p.p90, p.p99, p.max, p.mean
        );
    }
    println!();
    println!("target: p99 < 250 ms");
    if let Some(path) = args.json {
        let out: Vec<_> = results
            .iter()
            .map(|(kind, poll, p, missed)| json!({"database": kind, "poll_ms": poll, "lag_ms": p, "missed": missed}))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}
