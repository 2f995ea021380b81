//! What the integration tests share: the pinned anvil, a provider that signs as its accounts, sending
//! calls, and moving the chain's clock.

#![allow(dead_code, unreachable_pub)]

use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use std::path::PathBuf;

/// The anvil binary that `scripts/bootstrap` installed from npm for this platform.
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

/// A fresh anvil chain.
pub fn spawn_anvil() -> AnvilInstance {
    Anvil::at(pinned_anvil())
        .try_spawn()
        .expect("the pinned anvil starts")
}

/// A provider that signs as anvil's account `index`, and that account's address.
pub fn wallet(anvil: &AnvilInstance, index: usize) -> (DynProvider, Address) {
    let signer = PrivateKeySigner::from(anvil.keys()[index].clone());
    let address = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.endpoint_url())
        .erased();
    (provider, address)
}

/// A provider that signs as any of anvil's first `count` accounts (pick one with `.from(address)`),
/// and their addresses.
pub fn wallets(anvil: &AnvilInstance, count: usize) -> (DynProvider, Vec<Address>) {
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

/// Sends a call, waits for it and checks that it succeeded; `what` names it in failures.
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

/// The timestamp of the block a transaction was mined in.
pub async fn mined_at(provider: &impl Provider, receipt: &TransactionReceipt) -> u64 {
    let number = receipt.block_number.expect("a mined receipt has a block");
    let block = provider
        .get_block_by_number(number.into())
        .await
        .expect("block")
        .expect("exists");
    block.header.timestamp
}

/// Moves anvil's clock `seconds` forward and mines a block there.
pub async fn warp(provider: &impl Provider, seconds: u64) {
    let _: serde_json::Value = provider
        .raw_request("evm_increaseTime".into(), (seconds,))
        .await
        .expect("evm_increaseTime");
    let _: serde_json::Value = provider
        .raw_request("evm_mine".into(), ())
        .await
        .expect("evm_mine");
}
