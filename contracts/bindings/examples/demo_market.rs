//! Sets up a demo market on a fresh devnet whose first accounts are unlocked (anvil): account 1
//! operates a pool, account 2 (the demo provider) and account 3 (the demo buyer) get tokens. Used by
//! `scripts/devnet` after `deploy`:
//!
//! ```text
//! cargo run -p utter-bindings --example demo_market -- http://127.0.0.1:8545 target/devnet/deployment.json
//! ```

use alloy::{
    primitives::{U256, aliases::U96},
    providers::{Provider, ProviderBuilder},
};
use std::process::ExitCode;
use utter_bindings::{ComputeToken, Deployment, Pools};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(rpc), Some(file), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: demo_market <RPC_URL> <DEPLOYMENT_JSON>");
        return ExitCode::from(2);
    };
    match run(&rpc, &file).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn tokens(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10).pow(U256::from(18))
}

fn u96(amount: U256) -> U96 {
    U96::from(amount.to::<u128>())
}

async fn run(rpc: &str, file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let deployment = Deployment::load(file)?;
    let url = rpc.parse().map_err(|e| format!("RPC URL {rpc:?}: {e}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let accounts = provider.get_accounts().await?;
    let [deployer, operator, host, buyer] = accounts[..4]
        .try_into()
        .map_err(|_| "the node needs four unlocked accounts")?;
    let token = ComputeToken::new(deployment.token, &provider);
    for (to, amount) in [(host, tokens(10_000)), (buyer, tokens(1_000))] {
        token
            .transfer(to, amount)
            .from(deployer)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    let pools = Pools::new(deployment.pools, &provider);
    let config = Pools::PoolConfig {
        name: "utter demo pool".into(),
        metadataURI: "https://github.com/utter/utter".into(),
        feeBps: 500,
        noBootSlashBps: 1_000,
        bootFailSlashBps: 200,
        providerUnbonding: 86_400,
        minStake: u96(tokens(100)),
        trust: Pools::TrustParams {
            trustedDeposit: u96(tokens(50)),
            trustedKarma: u96(tokens(10)),
            anonTargetShareBps: 2_000,
            maxBuyerSlashBps: 1_000,
            baseLeases: 2,
            maxLeases: 16,
            depositPerLease: u96(tokens(25)),
            karmaPerLease: u96(tokens(5)),
            anonMinFee: u96(tokens(1) / U256::from(100)),
            anonMaxFee: u96(tokens(1)),
        },
    };
    let receipt = pools
        .createPool(config)
        .from(operator)
        .send()
        .await?
        .get_receipt()
        .await?;
    if !receipt.status() {
        return Err("creating the demo pool reverted".into());
    }
    println!(
        "demo pool 1 operated by {operator}; provider {host} has 10000 tokens, buyer {buyer} 1000"
    );
    Ok(())
}
