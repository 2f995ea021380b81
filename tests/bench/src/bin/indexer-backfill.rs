//! `indexer-backfill`: builds (or loads from `target/bench/`) a chain of ≥ 200,000 events of utter's
//! contracts on the pinned anvil, then measures
//!
//! 1. the raw `eth_getLogs` rate: one call over the whole range, and ranges of 2k/10k/50k blocks;
//! 2. the in-memory apply rate (`Applier` over the fetched logs, no database);
//! 3. the real `Indexer`'s backfill into a fresh SQLite file and a fresh PostgreSQL database, each in
//!    a child process of this binary (so that its peak RSS is the indexer's alone): events/s, wall
//!    time, peak RSS, database size, time in `eth_getLogs` and in database writes, for a few
//!    `batch_events`/`max_range` settings.
//!
//! Prints a table, and the figures as JSON with `--json`.

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant},
};
use utter_bench::{
    chain::{ChainSpec, build_or_load},
    db::BenchDb,
    stats::{metric, mib, peak_rss},
};
use utter_bindings::Deployment;
use utter_indexer::{
    apply::{Appended, Applier},
    metrics::Metrics,
    state::State,
    store::Store,
    sync::{Indexer, SyncConfig},
};

#[derive(Debug, Parser)]
#[command(
    name = "indexer-backfill",
    about = "Backfill throughput of the utter indexer"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    args: MainArgs,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// One backfill into one database (run by the main mode in a child process).
    #[command(hide = true)]
    Child(ChildArgs),
}

#[derive(Debug, Args)]
struct MainArgs {
    /// Bulk events (BuyerTrust deposit/withdrawal cycles, one event per transaction).
    #[arg(long, default_value_t = 200_000)]
    bulk_events: u64,
    /// Bulk events per busy block.
    #[arg(long, default_value_t = 1_000)]
    events_per_block: u64,
    /// Empty blocks after each busy block (anvil recomputes the state root for each: ~2.5 ms).
    #[arg(long, default_value_t = 50)]
    gap_blocks: u64,
    /// Scenario steps (lease lifecycles and the rest), spread over the chain.
    #[arg(long, default_value_t = 200)]
    scenario_steps: u64,
    /// Scenario seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Where the chain image and the databases go (default: target/bench).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Build the chain afresh and do not save it.
    #[arg(long)]
    no_cache: bool,
    /// PostgreSQL server to create databases on ("none" to skip PostgreSQL).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// `batch_events:max_range` settings to run into SQLite; the first is also run into PostgreSQL.
    #[arg(long, value_delimiter = ',', default_value = "20000:100000,5000:10000")]
    settings: Vec<String>,
    /// Run every setting into PostgreSQL too.
    #[arg(long)]
    all_settings_on_postgres: bool,
    /// Write the figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ChildArgs {
    #[arg(long)]
    rpc: String,
    #[arg(long)]
    deployment: PathBuf,
    #[arg(long)]
    db: String,
    #[arg(long)]
    batch_events: usize,
    #[arg(long)]
    max_range: u64,
}

/// What one child run measured.
#[derive(Debug, Serialize, Deserialize)]
struct RunFigures {
    /// Seconds of the backfill (the first `step`, to the last final block).
    backfill_seconds: f64,
    /// Events the backfill applied.
    backfill_events: u64,
    /// Seconds until the head was applied (the last blocks one by one).
    to_head_seconds: f64,
    /// Events in all.
    events: u64,
    /// Peak RSS of the child, bytes.
    peak_rss: u64,
    /// Sum of `eth_getLogs` seconds (the fetcher runs ahead of the applier, concurrently).
    get_logs_seconds: f64,
    /// `eth_getLogs` calls.
    get_logs_calls: f64,
    /// Sum of batch write seconds.
    write_seconds: f64,
    /// Batches written.
    batches: f64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.mode {
        Some(Mode::Child(args)) => child(args).await,
        None => run(cli.args).await,
    }
}

fn provider(url: &str) -> anyhow::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.parse()?)
        .erased())
}

async fn child(args: ChildArgs) -> anyhow::Result<()> {
    let deployment = Deployment::load(&args.deployment)?;
    let store = Store::connect(&args.db).await?;
    let provider = provider(&args.rpc)?;
    let metrics = Metrics::default();
    let config = SyncConfig {
        batch_events: args.batch_events,
        max_range: args.max_range,
        progress: false,
        ..SyncConfig::default()
    };
    let head = provider.get_block_number().await?;
    let started = Instant::now();
    let mut indexer = Indexer::new(store, provider, deployment, config, metrics.clone()).await?;
    indexer.step().await?;
    let backfill_seconds = started.elapsed().as_secs_f64();
    let backfill_events = metric(&metrics.render(), "utter_indexer_events_total") as u64;
    while indexer.checkpoint().map_or(0, |c| c.block_number) < head {
        indexer.step().await?;
    }
    let to_head_seconds = started.elapsed().as_secs_f64();
    let text = metrics.render();
    let figures = RunFigures {
        backfill_seconds,
        backfill_events,
        to_head_seconds,
        events: metric(&text, "utter_indexer_events_total") as u64,
        peak_rss: peak_rss(),
        get_logs_seconds: metric(&text, "utter_indexer_rpc_get_logs_seconds_sum"),
        get_logs_calls: metric(&text, "utter_indexer_rpc_get_logs_seconds_count"),
        write_seconds: metric(&text, "utter_indexer_batch_write_seconds_sum"),
        batches: metric(&text, "utter_indexer_batch_write_seconds_count"),
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Fetches `from..=to` in ranges of `range` blocks; returns the logs and the seconds spent.
async fn get_logs(
    provider: &DynProvider,
    addresses: &[alloy::primitives::Address],
    from: u64,
    to: u64,
    range: u64,
) -> anyhow::Result<(Vec<Log>, f64)> {
    let started = Instant::now();
    let mut logs = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + range - 1).min(to);
        let filter = Filter::new()
            .address(addresses.to_vec())
            .from_block(start)
            .to_block(end);
        logs.extend(provider.get_logs(&filter).await?);
        start = end + 1;
    }
    Ok((logs, started.elapsed().as_secs_f64()))
}

async fn run(args: MainArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"));
    std::fs::create_dir_all(&dir)?;
    let spec = ChainSpec {
        bulk_events: args.bulk_events,
        events_per_block: args.events_per_block,
        gap_blocks: args.gap_blocks,
        scenario_steps: args.scenario_steps,
        seed: args.seed,
    };
    let chain = build_or_load(&spec, (!args.no_cache).then_some(dir.as_path())).await?;
    eprintln!(
        "chain {} in {:.1} s: head {}, {} scenario actions",
        if chain.cached { "loaded" } else { "built" },
        chain.seconds,
        chain.head,
        chain.scenario_actions
    );
    let rpc_url = chain.anvil.endpoint();
    let deployment = chain.deployment;
    let deployment_file = dir.join("deployment-backfill.json");
    deployment.save(&deployment_file)?;
    let provider = provider(&rpc_url)?;
    let addresses = Applier::new(deployment).addresses();
    let (from, to) = (deployment.deploy_block, chain.head);

    // 1. Raw eth_getLogs.
    let mut raw = Vec::new();
    let (logs, seconds) = get_logs(&provider, &addresses, from, to, to - from + 1).await?;
    let events = logs.len() as u64;
    let with_timestamp = logs.iter().filter(|l| l.block_timestamp.is_some()).count();
    raw.push(("one call".to_owned(), seconds));
    for range in [2_000, 10_000, 50_000] {
        let (ranged, seconds) = get_logs(&provider, &addresses, from, to, range).await?;
        anyhow::ensure!(ranged.len() == logs.len(), "ranges return every log");
        raw.push((format!("{}k-block ranges", range / 1000), seconds));
    }
    let best_raw = raw
        .iter()
        .map(|(_, s)| events as f64 / s)
        .fold(0.0, f64::max);
    let blocks_with_events = {
        let mut blocks: Vec<u64> = logs.iter().filter_map(|l| l.block_number).collect();
        blocks.dedup();
        blocks.len()
    };

    // 2. Apply only, in memory.
    let started = Instant::now();
    let mut state = State::default();
    let applier = Applier::new(deployment);
    let mut appended = Appended::default();
    let mut current = None;
    for log in &logs {
        let number = log.block_number.context("mined log")?;
        if current != Some(number) {
            state.begin_block(number, false);
            current = Some(number);
        }
        let position = Applier::position(log, None)?;
        applier.apply(&mut state, log, position, &mut appended)?;
        if appended.events.len() >= 20_000 {
            let _ = state.take_changes();
            appended = Appended::default();
        }
    }
    let _ = state.take_changes();
    let apply_seconds = started.elapsed().as_secs_f64();
    drop(appended);
    let kinds = {
        let mut kinds: HashMap<String, u64> = HashMap::new();
        for log in &logs {
            let topic = log
                .topics()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            *kinds.entry(topic).or_default() += 1;
        }
        kinds.len()
    };
    drop(logs);

    println!("## Indexer backfill");
    println!();
    println!(
        "chain: {events} events of utter's contracts ({kinds} event kinds) in {blocks_with_events} of {} blocks \
         (blocks {from}..={to}); {} in {:.1} s; logs carry blockTimestamp: {}",
        to - from + 1,
        if chain.cached {
            "loaded from the cache"
        } else {
            "built"
        },
        chain.seconds,
        with_timestamp == events as usize
    );
    println!();
    println!("| raw eth_getLogs | seconds | logs/s |");
    println!("| --- | ---: | ---: |");
    for (what, seconds) in &raw {
        println!("| {what} | {seconds:.2} | {:.0} |", events as f64 / seconds);
    }
    println!(
        "| apply only (in memory, no DB) | {apply_seconds:.2} | {:.0} |",
        events as f64 / apply_seconds
    );
    println!();

    // 3. The real indexer, per setting and database.
    let settings: Vec<(usize, u64)> = args
        .settings
        .iter()
        .map(|s| {
            let (b, r) = s
                .split_once(':')
                .context("a setting is batch_events:max_range")?;
            Ok((b.parse()?, r.parse()?))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut runs = Vec::new();
    for (i, &(batch_events, max_range)) in settings.iter().enumerate() {
        let mut dbs = vec![BenchDb::fresh_sqlite(&dir, &format!("backfill-{i}"))?];
        if args.postgres != "none" && (i == 0 || args.all_settings_on_postgres) {
            dbs.push(
                BenchDb::fresh_postgres(&args.postgres, &format!("utter_bench_backfill_{i}"))
                    .await?,
            );
        }
        for db in dbs {
            eprintln!(
                "backfill into {} (batch_events {batch_events}, max_range {max_range})",
                db.kind()
            );
            let output = tokio::process::Command::new(std::env::current_exe()?)
                .args(["child", "--rpc", &rpc_url, "--db", &db.url()])
                .arg("--deployment")
                .arg(&deployment_file)
                .args(["--batch-events", &batch_events.to_string()])
                .args(["--max-range", &max_range.to_string()])
                .stderr(std::process::Stdio::inherit())
                .output()
                .await?;
            anyhow::ensure!(output.status.success(), "the backfill child failed");
            let figures: RunFigures = serde_json::from_slice(&output.stdout)
                .with_context(|| String::from_utf8_lossy(&output.stdout).into_owned())?;
            anyhow::ensure!(
                figures.events == events,
                "the indexer applied {} events, the chain has {events}",
                figures.events
            );
            let size = db.size().await?;
            runs.push((db.kind(), batch_events, max_range, figures, size));
        }
    }
    println!(
        "| database | batch_events | max_range | backfill s | events/s | vs raw | to head s | peak RSS MiB | DB MiB | getLogs s (calls) | write s (batches) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut json_runs = Vec::new();
    for (kind, batch_events, max_range, f, size) in &runs {
        let rate = f.backfill_events as f64 / f.backfill_seconds;
        println!(
            "| {kind} | {batch_events} | {max_range} | {:.2} | {rate:.0} | {:.0}% | {:.2} | {:.0} | {:.0} | {:.2} ({}) | {:.2} ({}) |",
            f.backfill_seconds,
            100.0 * rate / best_raw,
            f.to_head_seconds,
            mib(f.peak_rss),
            mib(*size),
            f.get_logs_seconds,
            f.get_logs_calls,
            f.write_seconds,
            f.batches,
        );
        json_runs.push(json!({
            "database": kind, "batch_events": batch_events, "max_range": max_range,
            "events_per_second": rate, "ratio_to_raw": rate / best_raw, "db_bytes": size, "figures": f,
        }));
    }
    println!();
    println!(
        "vs raw: the backfill's events/s over the best raw eth_getLogs rate ({best_raw:.0} logs/s); target ≥ 50% into SQLite"
    );
    if let Some(path) = args.json {
        let out = json!({
            "events": events, "blocks": to - from + 1, "blocks_with_events": blocks_with_events,
            "chain_seconds": chain.seconds, "chain_cached": chain.cached,
            "raw": raw.iter().map(|(w, s)| json!({"what": w, "seconds": s, "logs_per_second": events as f64 / s})).collect::<Vec<_>>(),
            "apply_only_seconds": apply_seconds,
            "runs": json_runs,
        });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    drop(chain);
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}
