//! `api-load`: an open-loop HTTP load generator.
//!
//! Requests leave on a fixed schedule (`--rate` per second for `--duration` seconds, after a
//! `--warmup` that is not recorded), whatever the answers do, each in its own task; a request's
//! latency runs from its *scheduled* send time to the end of its answer's body, so a slow server is
//! charged for the queue it causes (no coordinated omission). Latencies go into an HDR histogram.
//!
//! The URLs come from `--urls FILE` (one path or URL a line, cycled), or from `--mix offers`: a
//! seeded mix of `GET /v1/offers` searches (filters on vCPUs, RAM, disk, GPUs, region, image, price,
//! pool, trust and free slots; each sort and order; page sizes 20 to 100) of which a fifth ask for a
//! second page, with cursors fetched from the server before the run.

use anyhow::{Context as _, ensure};
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

#[derive(Debug, Parser)]
#[command(name = "api-load", about = "Open-loop load on the indexer's HTTP API")]
struct Args {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Requests per second.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// A file of paths or URLs, one a line.
    #[arg(long)]
    urls: Option<PathBuf>,
    /// A built-in mix (`offers`) when no `--urls` is given.
    #[arg(long, default_value = "offers")]
    mix: String,
    /// Distinct URLs the mix makes.
    #[arg(long, default_value_t = 2_000)]
    mix_size: usize,
    /// Seed of the mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests in flight beyond which a scheduled request is counted as an error and not sent.
    #[arg(long, default_value_t = 4_000)]
    max_in_flight: u64,
    /// Label of the run in the output.
    #[arg(long, default_value = "api")]
    label: String,
    /// Write the figures to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// splitmix64.
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
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One `/v1/offers` search: a few filters, a sort, a page size.
fn offer_search(rng: &mut Rng) -> String {
    let mut q: Vec<String> = Vec::new();
    if rng.chance(40) {
        q.push(format!("min_vcpus={}", rng.pick(&[2, 4, 8, 16, 32])));
    }
    if rng.chance(10) {
        q.push(format!("max_vcpus={}", rng.pick(&[4, 8, 16])));
    }
    if rng.chance(30) {
        q.push(format!(
            "min_ram_mib={}",
            rng.pick(&[4096, 8192, 16384, 65536])
        ));
    }
    if rng.chance(15) {
        q.push(format!("min_disk_gib={}", rng.pick(&[100, 250, 500, 1000])));
    }
    if rng.chance(15) {
        q.push(format!("min_gpu_count={}", rng.pick(&[1, 2, 4])));
        if rng.chance(50) {
            q.push(format!(
                "gpu_model={}",
                rng.pick(&["nvidia-a100", "nvidia-h100", "nvidia-l4", "amd-mi300x"])
            ));
        }
    }
    if rng.chance(40) {
        q.push(format!(
            "region={}",
            rng.pick(&[
                "eu-west-1",
                "eu-central-1",
                "us-east-1",
                "us-east-2",
                "us-west-2",
                "ap-south-1",
                "ap-northeast-1",
                "sa-east-1"
            ])
        ));
    }
    if rng.chance(25) {
        q.push(format!(
            "image={}",
            rng.pick(&[
                "ubuntu-24.04",
                "ubuntu-22.04",
                "debian-12",
                "fedora-41",
                "alpine-3.21",
                "nixos-24.11"
            ])
        ));
    }
    if rng.chance(20) {
        q.push(format!(
            "max_price={}",
            rng.pick(&["100000000000", "500000000000", "2000000000000"])
        ));
    }
    if rng.chance(5) {
        q.push("min_price=50000000000".to_owned());
    }
    if rng.chance(15) {
        q.push(format!("pool={}", 1 + rng.below(12)));
    }
    if rng.chance(20) {
        q.push(format!("min_trust={}", 1 + rng.below(4)));
    }
    if rng.chance(20) {
        q.push(format!("min_available={}", 1 + rng.below(4)));
    }
    if rng.chance(5) {
        q.push(format!("status={}", rng.pick(&["paused", "all"])));
    }
    let sort = *rng.pick(&[
        "price",
        "price",
        "price",
        "vcpus",
        "ram",
        "newest",
        "available",
    ]);
    if sort != "price" || rng.chance(20) {
        q.push(format!("sort={sort}"));
    }
    if rng.chance(20) {
        q.push(format!("order={}", rng.pick(&["asc", "desc"])));
    }
    q.push(format!("limit={}", rng.pick(&[20, 20, 50, 50, 50, 100])));
    format!("/v1/offers?{}", q.join("&"))
}

/// The offers mix: searches, a fifth of them turned into second pages by asking the server.
async fn offers_mix(
    client: &reqwest::Client,
    base: &str,
    size: usize,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let mut rng = Rng(seed);
    let mut urls = Vec::with_capacity(size);
    while urls.len() < size {
        let url = offer_search(&mut rng);
        if rng.chance(20) {
            let page: Value = client
                .get(format!("{base}{url}"))
                .send()
                .await?
                .error_for_status()
                .with_context(|| url.clone())?
                .json()
                .await?;
            if let Some(cursor) = page["next_cursor"].as_str() {
                urls.push(format!("{url}&cursor={cursor}"));
                continue;
            }
        }
        urls.push(url);
    }
    Ok(urls)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4_096)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = args.base.trim_end_matches('/').to_owned();
    let urls: Vec<String> = match &args.urls {
        Some(file) => std::fs::read_to_string(file)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                if l.starts_with("http") {
                    l.to_owned()
                } else {
                    format!("{base}{l}")
                }
            })
            .collect(),
        None => {
            ensure!(args.mix == "offers", "the only built-in mix is `offers`");
            offers_mix(&client, &base, args.mix_size, args.seed)
                .await?
                .into_iter()
                .map(|u| format!("{base}{u}"))
                .collect()
        }
    };
    ensure!(!urls.is_empty(), "no URLs");
    let urls = Arc::new(urls);

    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let errors = Arc::new(AtomicU64::new(0));
    let overloaded = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let warmup = args.warmup * args.rate;
    let total = warmup + args.duration * args.rate;
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let record = i >= warmup;
        if in_flight.load(Ordering::Relaxed) >= args.max_in_flight {
            if record {
                overloaded.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let url = urls[i as usize % urls.len()].clone();
        let (client, histogram, errors, in_flight, bytes) = (
            client.clone(),
            histogram.clone(),
            errors.clone(),
            in_flight.clone(),
            bytes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let ok = match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(body) => {
                        bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                        true
                    }
                    Err(_) => false,
                },
                Ok(response) => {
                    if record && errors.load(Ordering::Relaxed) < 3 {
                        eprintln!("{} {url}", response.status());
                    }
                    false
                }
                Err(error) => {
                    if record && errors.load(Ordering::Relaxed) < 3 {
                        eprintln!("{error}: {url}");
                    }
                    false
                }
            };
            in_flight.fetch_sub(1, Ordering::Relaxed);
            if record {
                if ok {
                    let micros = scheduled.elapsed().as_micros() as u64;
                    let _ = histogram.lock().expect("histogram").record(micros.max(1));
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let sent_by = start.elapsed();
    for task in tasks {
        task.await?;
    }
    let h = histogram.lock().expect("histogram").clone();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let measured = args.duration * args.rate;
    let errors = errors.load(Ordering::Relaxed);
    let overloaded = overloaded.load(Ordering::Relaxed);
    println!(
        "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
        args.label,
        args.rate,
        measured,
        urls.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1e3,
        errors + overloaded,
        bytes.load(Ordering::Relaxed) as f64 / h.len().max(1) as f64 / 1024.0,
    );
    eprintln!(
        "{}: schedule kept to {:.1} s for {:.1} s planned; {} errors, {} not sent (over {} in flight)",
        args.label,
        sent_by.as_secs_f64(),
        total as f64 / args.rate as f64,
        errors,
        overloaded,
        args.max_in_flight
    );
    if let Some(path) = args.json {
        let out = json!({
            "label": args.label, "rate": args.rate, "requests": measured, "urls": urls.len(),
            "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "max_ms": h.max() as f64 / 1e3,
            "errors": errors, "not_sent": overloaded,
        });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}
