//! The pinned anvil and the few things every test does with it: start it, sign as its accounts, send a
//! call and check it succeeded, move the clock, mine.
//!
//! Chains started here are reproducible: the genesis block has the fixed time [`GENESIS_TIMESTAMP`], and
//! [`pin_clock`] makes every later block one second after the previous one (instead of following the
//! wall clock), so the same transactions give the same blocks, timestamps and state on every run.
//! [`warp`] moves the clock by setting the next block's time exactly, which works with a pinned clock
//! (where `evm_increaseTime` would be ignored).

use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
    transports::TransportResult,
};
use std::path::PathBuf;

/// The genesis time of chains started by [`spawn_anvil`]: 2026-01-01T00:00:00Z.
pub const GENESIS_TIMESTAMP: u64 = 1_767_225_600;

/// How many funded accounts [`spawn_anvil`] creates: enough for a deployer, pool operators, providers
/// and buyers of a [`Scenario`](crate::Scenario), with room for a test's own.
pub const ACCOUNTS: usize = 30;

/// The anvil binary that `scripts/bootstrap` installed from npm for this platform.
///
/// # Panics
///
/// When it is missing (the toolchain was not bootstrapped).
pub fn pinned_anvil() -> PathBuf {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        arch => arch,
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../toolchain/node_modules/@foundry-rs")
        .join(format!("anvil-{os}-{arch}/bin/anvil"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/bootstrap first",
        path.display()
    );
    path
}

/// A fresh automining anvil chain with [`ACCOUNTS`] funded accounts and its genesis at
/// [`GENESIS_TIMESTAMP`]. Call [`pin_clock`] before sending anything for reproducible block times.
///
/// # Panics
///
/// When anvil does not start.
pub fn spawn_anvil() -> AnvilInstance {
    spawn_anvil_with(|anvil| anvil)
}

/// Like [`spawn_anvil`], with more settings applied by `configure`, e.g.
/// `spawn_anvil_with(|anvil| anvil.arg("--no-mining"))` for a chain that mines only when told.
///
/// # Panics
///
/// When anvil does not start.
pub fn spawn_anvil_with(configure: impl FnOnce(Anvil) -> Anvil) -> AnvilInstance {
    let anvil = Anvil::at(pinned_anvil()).args([
        "--accounts".to_owned(),
        ACCOUNTS.to_string(),
        "--timestamp".to_owned(),
        GENESIS_TIMESTAMP.to_string(),
    ]);
    configure(anvil)
        .try_spawn()
        .expect("the pinned anvil starts")
}

/// A provider that signs as any of anvil's first `count` accounts (pick one with `.from(address)` on
/// a call), and their addresses, in anvil's order.
///
/// # Panics
///
/// When anvil has fewer than `count` accounts, or `count` is zero.
pub fn wallets(anvil: &AnvilInstance, count: usize) -> (DynProvider, Vec<Address>) {
    assert!(count > 0, "at least one wallet");
    assert!(
        count <= anvil.keys().len(),
        "anvil has {} accounts, {count} asked",
        anvil.keys().len()
    );
    let signers: Vec<_> = anvil.keys()[..count]
        .iter()
        .cloned()
        .map(PrivateKeySigner::from)
        .collect();
    let addresses = signers.iter().map(PrivateKeySigner::address).collect();
    let mut wallet = EthereumWallet::from(signers[0].clone());
    for signer in &signers[1..] {
        wallet.register_signer(signer.clone());
    }
    let provider = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(anvil.endpoint_url())
        .erased();
    (provider, addresses)
}

/// Makes every block from now on one second after the previous one, whatever the wall clock says
/// (`anvil_setBlockTimestampInterval`), so block times depend only on what was sent.
pub async fn pin_clock(provider: &impl Provider) -> TransportResult<()> {
    let _: serde_json::Value = provider
        .raw_request("anvil_setBlockTimestampInterval".into(), (1,))
        .await?;
    Ok(())
}

/// Switches anvil's automining on or off (`evm_setAutomine`).
pub async fn set_automine(provider: &impl Provider, on: bool) -> TransportResult<()> {
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (on,))
        .await?;
    Ok(())
}

/// Sends a call, waits for its receipt and checks that it succeeded; `what` names it in failures.
/// Needs an automining chain (or someone else mining).
///
/// # Panics
///
/// When the call cannot be sent, is not mined or reverts.
pub async fn confirm<P: Provider, D: CallDecoder>(
    what: &str,
    call: CallBuilder<P, D>,
) -> TransactionReceipt {
    let pending = call
        .send()
        .await
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let receipt = pending
        .get_receipt()
        .await
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(receipt.status(), "{what} reverted");
    receipt
}

/// The number and timestamp of the latest block.
pub async fn latest(provider: &impl Provider) -> TransportResult<(u64, u64)> {
    let block = provider
        .get_block_by_number(alloy::rpc::types::BlockNumberOrTag::Latest)
        .await?
        .expect("the latest block exists");
    Ok((block.header.number, block.header.timestamp))
}

/// Mines one block `seconds` after the latest one (at least one second later), with whatever
/// transactions are pending. Exact whether or not the clock is pinned.
pub async fn warp(provider: &impl Provider, seconds: u64) -> TransportResult<()> {
    let (_, now) = latest(provider).await?;
    let _: serde_json::Value = provider
        .raw_request("evm_setNextBlockTimestamp".into(), (now + seconds.max(1),))
        .await?;
    mine(provider, 1).await
}

/// Mines `blocks` blocks (`evm_mine`), each with whatever transactions are pending.
pub async fn mine(provider: &impl Provider, blocks: u64) -> TransportResult<()> {
    for _ in 0..blocks {
        let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await?;
    }
    Ok(())
}
