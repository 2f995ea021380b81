//! Sets up a demo market on a fresh devnet whose first accounts are unlocked (anvil): account 1
//! operates a pool, account 2 (the demo provider) and account 3 (the demo buyer) get tokens; see
//! [`utter_bindings::demo::setup_market`]. `utter devnet` does the same itself:
//!
//! ```text
//! cargo run -p utter-bindings --example demo_market -- http://127.0.0.1:8545 target/devnet/deployment.json
//! ```

use alloy::providers::{Provider, ProviderBuilder};
use std::process::ExitCode;
use utter_bindings::{
    Deployment,
    demo::{BUYER_TOKENS, DemoAccounts, PROVIDER_TOKENS, setup_market},
};

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

async fn run(rpc: &str, file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let deployment = Deployment::load(file)?;
    let url = rpc.parse().map_err(|e| format!("RPC URL {rpc:?}: {e}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let accounts = provider.get_accounts().await?;
    let [treasury, operator, host, buyer] = accounts[..4]
        .try_into()
        .map_err(|_| "the node needs four unlocked accounts")?;
    let accounts = DemoAccounts {
        treasury,
        operator,
        provider: host,
        buyer,
    };
    setup_market(&provider, &deployment, accounts).await?;
    println!(
        "demo pool 1 operated by {operator}; provider {host} has {PROVIDER_TOKENS} tokens, buyer {buyer} {BUYER_TOKENS}"
    );
    Ok(())
}
