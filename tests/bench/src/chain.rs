//! Building a long chain of utter events on the pinned anvil, fast.
//!
//! The realistic part comes from the testkit's [`Scenario`] (pools, stakes, offers with images, lease
//! lifecycles whose `LeaseOpened` events carry SSH keys and user data). The bulk comes from 40 of
//! anvil's unlocked accounts cycling `BuyerTrust.deposit(1)` / `requestWithdrawal(1)` (one event each),
//! sent by the thousand as batched `eth_sendTransaction` calls with explicit nonce and gas (no
//! estimation) to an anvil that is not mining, then mined with one `evm_mine` per block. Empty blocks
//! between the busy ones (`anvil_mine`) spread the events over a realistic number of blocks.
//!
//! The finished chain can be kept under `target/bench/` (anvil's `--dump-state`, written when the
//! anvil that built it stops) and loaded again with `--load-state`; it is a cache only, rebuilt
//! whenever it is missing or does not load.

use crate::rpc::{Rpc, parse_hex};
use alloy::{
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, U256},
    providers::Provider as _,
    sol_types::SolCall,
};
use anyhow::{Context as _, ensure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    path::{Path, PathBuf},
    time::Instant,
};
use utter_bindings::{BuyerTrust, ComputeToken, Deployment};
use utter_testkit::{
    Scenario, ScenarioConfig,
    anvil::{GENESIS_TIMESTAMP, pin_clock, pinned_anvil, wallets},
};

/// Accounts anvil is started with: the scenario's, then the bulk senders.
pub const ACCOUNTS: usize = 64;
/// Accounts that send the bulk deposit/withdrawal cycles.
pub const BULK_ACCOUNTS: usize = 40;
/// Gas given to each bulk transaction (a cold first deposit needs ~75k).
const BULK_GAS: u64 = 150_000;
/// Block gas limit: room for thousands of transactions per block.
const GAS_LIMIT: u64 = 4_000_000_000;
/// Transactions per JSON-RPC batch.
const BATCH: usize = 1_000;

/// The pinned anvil with [`ACCOUNTS`] accounts, the testkit's genesis time, a block gas limit for
/// thousands of transactions, and only the last 128 blocks' states kept (nothing here reads older state).
///
/// # Panics
///
/// When anvil does not start.
pub fn spawn_anvil(extra: &[&str]) -> AnvilInstance {
    let mut args: Vec<String> = [
        "--accounts",
        &ACCOUNTS.to_string(),
        "--timestamp",
        &GENESIS_TIMESTAMP.to_string(),
        "--gas-limit",
        &GAS_LIMIT.to_string(),
        "--prune-history",
        "128",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Anvil::at(pinned_anvil())
        .args(args)
        .try_spawn()
        .expect("the pinned anvil starts")
}

/// What chain to build.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainSpec {
    /// Bulk events (deposit/withdrawal cycles).
    pub bulk_events: u64,
    /// Bulk events per busy block.
    pub events_per_block: u64,
    /// Empty blocks after each busy block.
    pub gap_blocks: u64,
    /// Scenario steps in all (lease lifecycles and the rest), spread between the busy blocks.
    pub scenario_steps: u64,
    /// The scenario's seed.
    pub seed: u64,
}

impl ChainSpec {
    /// The cache file for this spec under `dir`.
    pub fn cache_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!(
            "chain-v2-{}-{}-{}-{}-{}.json",
            self.bulk_events,
            self.events_per_block,
            self.gap_blocks,
            self.scenario_steps,
            self.seed
        ))
    }
}

/// A built (or loaded) chain, running.
#[derive(Debug)]
pub struct Chain {
    /// The anvil serving it (killed on drop).
    pub anvil: AnvilInstance,
    /// The deployed system.
    pub deployment: Deployment,
    /// The head block.
    pub head: u64,
    /// Seconds spent building or loading it.
    pub seconds: f64,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Scenario actions that succeeded, when built now.
    pub scenario_actions: u64,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    spec: ChainSpec,
    deployment: Deployment,
    head: u64,
}

/// The chain of `spec`: loaded from `cache_dir` when a matching image is there, else built (and,
/// when `cache_dir` is given, dumped there by anvil when the returned chain's anvil stops).
pub async fn build_or_load(spec: &ChainSpec, cache_dir: Option<&Path>) -> anyhow::Result<Chain> {
    if let Some(dir) = cache_dir {
        let meta = spec.cache_file(dir);
        let state = meta.with_extension("state");
        if meta.is_file() && state.is_file() {
            match load(spec, &meta, &state).await {
                Ok(chain) => return Ok(chain),
                Err(error) => eprintln!(
                    "chain cache {} unusable ({error:#}): rebuilding",
                    meta.display()
                ),
            }
        }
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_file(&meta);
        let _ = std::fs::remove_file(&state);
        let chain = build(spec, Some(&state)).await?;
        let cache = CacheFile {
            spec: spec.clone(),
            deployment: chain.deployment,
            head: chain.head,
        };
        std::fs::write(&meta, serde_json::to_vec(&cache)?)?;
        return Ok(chain);
    }
    build(spec, None).await
}

async fn load(spec: &ChainSpec, meta: &Path, state: &Path) -> anyhow::Result<Chain> {
    let started = Instant::now();
    let cache: CacheFile = serde_json::from_slice(&std::fs::read(meta)?)?;
    ensure!(&cache.spec == spec, "made for another spec");
    let state = state.to_str().context("a UTF-8 path")?;
    let anvil = spawn_anvil(&["--load-state", state]);
    let rpc = Rpc::new(anvil.endpoint());
    let head = rpc.block_number().await?;
    ensure!(head == cache.head, "head {head}, expected {}", cache.head);
    // The events must be there, not only the state.
    let logs: Vec<Value> = rpc
        .call(
            "eth_getLogs",
            json!([{"address": cache.deployment.buyer_trust, "fromBlock": "0x0", "toBlock": "latest"}]),
        )
        .await?;
    ensure!(
        logs.len() as u64 >= spec.bulk_events,
        "the loaded chain has {} bulk logs",
        logs.len()
    );
    Ok(Chain {
        anvil,
        deployment: cache.deployment,
        head,
        seconds: started.elapsed().as_secs_f64(),
        cached: true,
        scenario_actions: 0,
    })
}

/// The bulk senders of a chain from [`spawn_anvil`]: anvil's accounts after the scenario's.
pub fn bulk_accounts(anvil: &AnvilInstance) -> Vec<Address> {
    let first = ScenarioConfig::default().accounts_needed();
    anvil.addresses()[first..first + BULK_ACCOUNTS].to_vec()
}

/// Sets a market up on `anvil` with the scenario (automining), funds and approves the bulk senders
/// from the deployer, and returns the scenario.
pub async fn set_up(anvil: &AnvilInstance, seed: u64) -> anyhow::Result<Scenario> {
    let config = ScenarioConfig::default();
    let (provider, accounts) = wallets(anvil, config.accounts_needed());
    pin_clock(&provider).await?;
    let scenario = Scenario::setup(provider.clone(), &accounts, seed, config)
        .await
        .context("the scenario sets up")?;
    let deployment = *scenario.deployment();
    let rpc = Rpc::new(anvil.endpoint());
    let senders = bulk_accounts(anvil);
    // The deployer still holds most of the supply: a slice to each sender, then each approves.
    let token = ComputeToken::new(deployment.token, provider.clone());
    let balance = token.balanceOf(deployment.deployer).call().await?;
    let share = balance / U256::from(4 * senders.len());
    // Not mining meanwhile: explicit nonces and gas, everything in one block.
    rpc.set_automine(false).await?;
    let nonce: String = rpc
        .call(
            "eth_getTransactionCount",
            json!([deployment.deployer, "pending"]),
        )
        .await?;
    let deployer_nonce = parse_hex(&nonce)?;
    let mut calls = Vec::new();
    for (i, sender) in senders.iter().enumerate() {
        let transfer = ComputeToken::transferCall {
            to: *sender,
            value: share,
        };
        calls.push(send_params(
            deployment.deployer,
            deployment.token,
            &transfer.abi_encode(),
            Some(deployer_nonce + i as u64),
            Some(BULK_GAS),
        ));
        let nonce: String = rpc
            .call("eth_getTransactionCount", json!([sender, "pending"]))
            .await?;
        let approve = ComputeToken::approveCall {
            spender: deployment.buyer_trust,
            value: U256::MAX,
        };
        calls.push(send_params(
            *sender,
            deployment.token,
            &approve.abi_encode(),
            Some(parse_hex(&nonce)?),
            Some(BULK_GAS),
        ));
    }
    send_all(&rpc, calls).await?;
    rpc.mine().await?;
    rpc.set_automine(true).await?;
    let allowance = token
        .allowance(*senders.last().expect("senders"), deployment.buyer_trust)
        .call()
        .await?;
    ensure!(allowance == U256::MAX, "the bulk senders approved");
    let _ = provider.get_block_number().await?;
    Ok(scenario)
}

fn send_params(
    from: Address,
    to: Address,
    data: &[u8],
    nonce: Option<u64>,
    gas: Option<u64>,
) -> (&'static str, Value) {
    let mut tx = json!({
        "from": from,
        "to": to,
        "data": format!("0x{}", alloy::primitives::hex::encode(data)),
    });
    if let Some(nonce) = nonce {
        tx["nonce"] = json!(format!("{nonce:#x}"));
    }
    if let Some(gas) = gas {
        tx["gas"] = json!(format!("{gas:#x}"));
        tx["gasPrice"] = json!("0x2540be400");
    }
    ("eth_sendTransaction", json!([tx]))
}

async fn send_all(rpc: &Rpc, calls: Vec<(&'static str, Value)>) -> anyhow::Result<()> {
    for chunk in calls.chunks(BATCH) {
        rpc.batch(chunk).await?;
    }
    Ok(())
}

/// Sends bulk deposit/withdrawal transactions from the bulk senders: each sender alternates
/// `deposit(1)` and `requestWithdrawal(1)`, so every transaction emits exactly one event of
/// `BuyerTrust`. Tracks nonces itself; nothing is mined here.
#[derive(Debug)]
pub struct BulkSender {
    rpc: Rpc,
    buyer_trust: Address,
    /// Each sender, its next nonce and whether it holds a deposit of 1 to withdraw.
    senders: Vec<(Address, u64, bool)>,
    next: usize,
}

impl BulkSender {
    /// Senders of `anvil`'s bulk accounts against `deployment`, at their current nonces. The accounts
    /// must hold no trust deposit yet (each starts with a deposit).
    pub async fn new(anvil: &AnvilInstance, deployment: &Deployment) -> anyhow::Result<Self> {
        let rpc = Rpc::new(anvil.endpoint());
        let mut senders = Vec::new();
        for address in bulk_accounts(anvil) {
            let nonce: String = rpc
                .call("eth_getTransactionCount", json!([address, "pending"]))
                .await?;
            senders.push((address, parse_hex(&nonce)?, false));
        }
        Ok(Self {
            rpc,
            buyer_trust: deployment.buyer_trust,
            senders,
            next: 0,
        })
    }

    /// Sends `count` transactions (one event each), round-robin over the senders.
    pub async fn send(&mut self, count: u64) -> anyhow::Result<()> {
        let deposit = BuyerTrust::depositCall {
            amount: U256::from(1),
        }
        .abi_encode();
        let withdraw = BuyerTrust::requestWithdrawalCall {
            amount: U256::from(1),
        }
        .abi_encode();
        let mut calls = Vec::with_capacity(count as usize);
        let senders = self.senders.len();
        for _ in 0..count {
            let (from, nonce, holds) = &mut self.senders[self.next];
            self.next = (self.next + 1) % senders;
            // Deposit 1, then withdraw it, and again.
            let data = if *holds { &withdraw } else { &deposit };
            *holds = !*holds;
            calls.push(send_params(
                *from,
                self.buyer_trust,
                data,
                Some(*nonce),
                Some(BULK_GAS),
            ));
            *nonce += 1;
        }
        send_all(&self.rpc, calls).await
    }
}

/// Builds the chain of `spec` on a fresh anvil, which dumps its state to `dump` when it stops.
pub async fn build(spec: &ChainSpec, dump: Option<&Path>) -> anyhow::Result<Chain> {
    let started = Instant::now();
    let anvil = match dump {
        Some(path) => spawn_anvil(&["--dump-state", path.to_str().context("a UTF-8 path")?]),
        None => spawn_anvil(&[]),
    };
    let mut scenario = set_up(&anvil, spec.seed).await?;
    let deployment = *scenario.deployment();
    let rpc = Rpc::new(anvil.endpoint());
    let mut bulk = BulkSender::new(&anvil, &deployment).await?;
    let rounds = spec.bulk_events.div_ceil(spec.events_per_block.max(1));
    let scenario_rounds = rounds.clamp(1, 20);
    let steps_per = spec.scenario_steps / scenario_rounds;
    let mut sent = 0;
    let mut last_note = Instant::now();
    // Seconds spent: scenario, sending, mining busy blocks, mining empty blocks.
    let mut spent = [0.0f64; 4];
    let mut clock = Instant::now();
    let lap = |i: usize, spent: &mut [f64; 4], clock: &mut Instant| {
        spent[i] += clock.elapsed().as_secs_f64();
        *clock = Instant::now();
    };
    for round in 0..rounds {
        if round % (rounds / scenario_rounds).max(1) == 0 && steps_per > 0 {
            rpc.set_automine(true).await?;
            scenario.run(steps_per).await.context("scenario steps")?;
        }
        lap(0, &mut spent, &mut clock);
        rpc.set_automine(false).await?;
        let count = spec.events_per_block.min(spec.bulk_events - sent);
        bulk.send(count).await?;
        lap(1, &mut spent, &mut clock);
        rpc.mine().await?;
        let block: Value = rpc
            .call("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let included = block["transactions"].as_array().map_or(0, Vec::len) as u64;
        ensure!(
            included == count,
            "block {} holds {included} of {count} bulk transactions",
            block["number"]
        );
        sent += count;
        lap(2, &mut spent, &mut clock);
        rpc.mine_many(spec.gap_blocks).await?;
        lap(3, &mut spent, &mut clock);
        if last_note.elapsed().as_secs() >= 10 {
            eprintln!(
                "building: {sent}/{} bulk events, {:.0} s (scenario {:.0} s, sending {:.0} s, mining {:.0} s, empty blocks {:.0} s)",
                spec.bulk_events,
                started.elapsed().as_secs_f64(),
                spent[0],
                spent[1],
                spent[2],
                spent[3],
            );
            last_note = Instant::now();
        }
    }
    rpc.set_automine(true).await?;
    let head = rpc.block_number().await?;
    let scenario_actions = scenario
        .counts()
        .iter()
        .filter(|(k, _)| **k != "reverted")
        .map(|(_, v)| u64::from(*v))
        .sum();
    Ok(Chain {
        anvil,
        deployment,
        head,
        seconds: started.elapsed().as_secs_f64(),
        cached: false,
        scenario_actions,
    })
}
