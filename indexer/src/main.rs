//! `utter-indexer`: the indexer's command line.

use alloy::providers::Provider as _;
use anyhow::Context as _;
use clap::Parser;
use std::sync::Arc;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;
use utter_indexer::{
    api::{self, ApiContext},
    config::{Cli, Command, LogFormat},
    metrics::Metrics,
    store::Store,
    sync::{Indexer, SyncConfig},
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("utter-indexer: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let args = match cli.command {
        Command::Openapi => {
            println!("{}", api::openapi_json());
            return Ok(());
        }
        Command::Run(args) => *args,
    };
    let config = args.resolve()?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
    }
    let deployment = utter_bindings::Deployment::load(&config.deployment)?;
    let store = Store::connect(&config.db)
        .await
        .with_context(|| format!("opening the database {}", config.db))?;
    let url = config
        .rpc
        .parse()
        .with_context(|| format!("--rpc {:?} is not a URL", config.rpc))?;
    let provider = alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url)
        .erased();
    let metrics = Metrics::default();
    let sync_config = SyncConfig {
        finality_depth: config.finality_depth,
        max_range: config.max_range,
        poll_interval: config.poll_interval,
        progress: config.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ..SyncConfig::default()
    };
    let mut indexer = Indexer::new(
        store.clone(),
        provider,
        deployment,
        sync_config,
        metrics.clone(),
    )
    .await
    .with_context(|| format!("connecting to the chain at {}", config.rpc))?;
    let context = ApiContext {
        offers: indexer.catalog(),
        store,
        metrics,
        events: indexer.events(),
        progress: indexer.progress(),
        deployment,
        static_dir: config.static_dir.clone(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    tracing::info!(listen = %config.listen, db = %config.db, rpc = %config.rpc, "serving the API");
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let signal_stop = stop_tx.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted: stopping");
        signal_stop.send_replace(true);
    });
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, api::router(context))
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    let result = indexer.run(stop_rx).await;
    stop_tx.send_replace(true);
    server.await.context("the API server task")??;
    result.context("indexing")?;
    Ok(())
}
