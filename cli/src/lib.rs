//! The `utter` command line: one binary, one subcommand per thing the contracts allow a buyer, a
//! provider or a pool operator to do, and `utter devnet`, the whole exchange on one machine.
//!
//! - [`keys`]: the signing key from an encrypted keystore or `--private-key`; `utter keys`.
//! - [`chain`]: the RPC node, the deployment's contracts, simulating and sending transactions.
//! - [`revert`]: a refused call as the contract's custom error and what to do about it.
//! - [`api`]: the indexer's HTTP API.
//! - [`buyer`]: `utter offers`, `utter lease ...`, `utter trust ...`.
//! - [`keep_alive`]: `utter lease keep-alive`, topping a lease up to a runway within a cap.
//! - [`provider`]: `utter provider ...`.
//! - [`operator`]: `utter pool ...`.
//! - [`units`] and [`output`]: amounts, durations, times, tables, JSON and the confirmation.
//! - [`devnet`]: anvil, the contracts, a demo market, the OpenStack lab, the indexer and an agent.

pub mod api;
pub mod buyer;
pub mod chain;
pub mod devnet;
pub mod keep_alive;
pub mod keys;
pub mod operator;
pub mod output;
pub mod provider;
pub mod revert;
pub mod units;

use clap::{Args, Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

/// utter: rent and sell virtual machines for tokens held in on-chain escrow.
#[derive(Debug, Parser)]
#[command(name = "utter", version, about)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes (each also from the environment).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct Globals {
    /// The chain's JSON-RPC endpoint.
    #[arg(
        long,
        global = true,
        env = "UTTER_RPC",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc: String,
    /// The indexer's HTTP API (offers search, lease lists, and the deployment when no file is given).
    #[arg(
        long,
        global = true,
        env = "UTTER_INDEXER",
        default_value = "http://127.0.0.1:8580"
    )]
    indexer: String,
    /// The deployment's addresses file; when absent it is fetched from the indexer.
    #[arg(long, global = true, env = "UTTER_DEPLOYMENT")]
    deployment: Option<PathBuf>,
    /// An encrypted keystore to sign with (password from UTTER_KEYSTORE_PASSWORD or a prompt).
    #[arg(long, global = true, env = "UTTER_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// A raw private key to sign with, for scripts (prefer a keystore).
    #[arg(long, global = true, env = "UTTER_PRIVATE_KEY", hide_env_values = true)]
    private_key: Option<String>,
    /// Send without asking for confirmation.
    #[arg(long, short = 'y', global = true)]
    yes: bool,
    /// Print the result as one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole exchange locally: anvil, the contracts, a demo market, the OpenStack lab,
    /// the indexer and a provider agent. Ctrl-C stops everything it started.
    Devnet(devnet::DevnetArgs),
    /// Create a keystore, or show the key's address.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// List and filter the offers on sale (from the indexer).
    Offers(buyer::OffersArgs),
    /// Open, show, list, top up, stop and keep alive leases.
    #[command(subcommand)]
    Lease(buyer::LeaseCommand),
    /// A buyer's trust deposit: raise it, withdraw it, show it.
    #[command(subcommand)]
    Trust(buyer::TrustCommand),
    /// Providers: join a pool, stake, publish offers, withdraw earnings, unbond.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Pool operators: create a pool, set fees and trust, rule on abuse reports.
    #[command(subcommand)]
    Pool(operator::PoolCommand),
}

/// Parses the command line, runs the command, and prints an error as `error: ...` with its causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let g = cli.globals;
    let out = output::Output {
        json: g.json,
        yes: g.yes,
    };
    let endpoints = chain::Endpoints {
        rpc: g.rpc,
        indexer: g.indexer,
        deployment: g.deployment,
        keys: keys::KeySource {
            keystore: g.keystore,
            private_key: g.private_key,
        },
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Devnet(args) => devnet::run(args).await,
            Command::Keys(command) => keys::run(command, &endpoints.keys, &out),
            Command::Offers(args) => buyer::offers(args, &endpoints, &out).await,
            Command::Lease(command) => buyer::lease(command, &endpoints, &out).await,
            Command::Trust(command) => buyer::trust(command, &endpoints, &out).await,
            Command::Provider(command) => provider::run(command, &endpoints, &out).await,
            Command::Pool(command) => operator::run(command, &endpoints, &out).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
