//! Deploys utter's contracts to a node whose first account is unlocked (anvil) and writes the
//! addresses file. Used by `scripts/devnet`:
//!
//! ```text
//! cargo run -p utter-bindings --example deploy -- http://127.0.0.1:8545 target/devnet/deployment.json
//! ```

use alloy::providers::{Provider, ProviderBuilder};
use std::{path::PathBuf, process::ExitCode};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(rpc), Some(out), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: deploy <RPC_URL> <DEPLOYMENT_JSON>");
        return ExitCode::from(2);
    };
    match run(&rpc, PathBuf::from(out)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(rpc: &str, out: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let url = rpc.parse().map_err(|e| format!("RPC URL {rpc:?}: {e}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let deployer = *provider
        .get_accounts()
        .await?
        .first()
        .ok_or("the node has no unlocked account to deploy from")?;
    let deployment = utter_bindings::deploy(&provider, deployer).await?;
    deployment.save(&out)?;
    println!("{}", serde_json::to_string_pretty(&deployment)?);
    Ok(())
}
