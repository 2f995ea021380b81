//! `utter-provider-agent`: runs the provider agent next to an OpenStack cloud.

use alloy::{
    network::EthereumWallet,
    providers::{Provider as _, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;
use utter_provider_agent::{
    agent::Agent,
    chain::{ChainView, Endpoint},
    cloud::{
        clouds_yaml,
        openstack::{OpenStack, Options},
    },
    config::FileConfig,
    http::{self, Http},
};

/// The utter provider agent: turns funded leases into OpenStack servers and empty escrows into
/// halted ones.
#[derive(Debug, Parser)]
#[command(name = "utter-provider-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run until interrupted.
    Run {
        /// The TOML configuration.
        #[arg(long, env = "UTTER_AGENT_CONFIG")]
        config: PathBuf,
        /// Ethereum JSON-RPC endpoint (overrides the file's `rpc`).
        #[arg(long, env = "UTTER_AGENT_RPC")]
        rpc: Option<String>,
        /// The deployment addresses file (overrides the file's `deployment`).
        #[arg(long, env = "UTTER_AGENT_DEPLOYMENT")]
        deployment: Option<PathBuf>,
        /// Where the HTTP endpoints listen (overrides the file's `listen`).
        #[arg(long, env = "UTTER_AGENT_LISTEN")]
        listen: Option<SocketAddr>,
        /// Log as JSON lines.
        #[arg(long)]
        json_logs: bool,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("utter-provider-agent: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The provider key: a keystore (password from the environment) or `UTTER_AGENT_PRIVATE_KEY`.
/// Neither the key nor the password is ever logged.
fn signer(config: &FileConfig) -> anyhow::Result<PrivateKeySigner> {
    if let Some(path) = &config.key.keystore {
        let variable = config
            .key
            .password_env
            .clone()
            .unwrap_or_else(|| "UTTER_AGENT_KEYSTORE_PASSWORD".into());
        let password = std::env::var(&variable).with_context(|| {
            format!(
                "the keystore {} needs its password in ${variable}",
                path.display()
            )
        })?;
        return PrivateKeySigner::decrypt_keystore(path, password)
            .with_context(|| format!("decrypting the keystore {}", path.display()));
    }
    match std::env::var("UTTER_AGENT_PRIVATE_KEY") {
        Ok(key) => key
            .trim()
            .parse()
            .context("UTTER_AGENT_PRIVATE_KEY is not a 32-byte hex private key"),
        Err(_) => bail!(
            "no provider key: set [key] keystore = \"FILE\" in the config (password in \
             $UTTER_AGENT_KEYSTORE_PASSWORD) or UTTER_AGENT_PRIVATE_KEY"
        ),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Run {
        config: config_path,
        rpc,
        deployment,
        listen,
        json_logs,
    } = cli.command;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let mut config = FileConfig::load(&config_path)?;
    if rpc.is_some() {
        config.rpc = rpc;
    }
    if deployment.is_some() {
        config.deployment = deployment;
    }
    if listen.is_some() {
        config.listen = listen;
    }
    let rpc = config
        .rpc
        .clone()
        .context("no RPC endpoint: set `rpc` in the config, --rpc or UTTER_AGENT_RPC")?;
    let deployment_path = config
        .deployment
        .clone()
        .context("no deployment file: set `deployment` in the config, --deployment or UTTER_AGENT_DEPLOYMENT")?;
    let deployment = utter_bindings::Deployment::load(&deployment_path)?;
    let signer = signer(&config)?;
    let me = signer.address();
    // The URL's path or query often holds an API key: it is shown as `scheme://host:port/…` only,
    // and every RPC error is scrubbed of it (by the transport, and again here before logging).
    let endpoint =
        Endpoint::parse(&rpc).context("the RPC endpoint (`rpc`, --rpc or UTTER_AGENT_RPC)")?;
    let rpc_timeout = Duration::from_secs(config.rpc_timeout_secs);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_client(endpoint.client(rpc_timeout)?)
        .erased();
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| anyhow::anyhow!("{}", endpoint.scrub(&e.to_string())))
        .with_context(|| format!("the RPC endpoint {} does not answer", endpoint.shown()))?;
    if chain_id != deployment.chain_id {
        bail!(
            "the RPC endpoint serves chain {chain_id}, the deployment file {} is for chain {}",
            deployment_path.display(),
            deployment.chain_id
        );
    }
    let cloud_config = clouds_yaml::load(config.cloud.clouds_yaml.as_deref(), &config.cloud.name)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let options = Options {
        timeout: Duration::from_secs(config.cloud.timeout_secs),
        network: config
            .cloud
            .network
            .parse()
            .map_err(|e| anyhow::anyhow!("config: cloud.network: {e}"))?,
    };
    let cloud = Arc::new(
        OpenStack::connect(cloud_config, options)
            .await
            .with_context(|| format!("connecting to the cloud {:?}", config.cloud.name))?,
    );
    let chain = ChainView::new(provider.clone(), deployment, me, config.confirmations);
    let listen = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8590)));
    let poll = config.poll_interval();
    let age_identity = match &config.key.age_identity {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the age identity {}", path.display()))?;
            Some(
                utter_provider_agent::user_data::identity(&text)
                    .with_context(|| format!("the age identity {}", path.display()))?,
            )
        }
        None => None,
    };
    let mut agent = Agent::new(config, chain, cloud.clone(), provider);
    if let Some(identity) = age_identity {
        agent = agent.with_age_identity(identity);
    }
    tracing::info!(provider = %me, chain_id, rpc = endpoint.shown(), "preparing: cloud flavors and images, stake, offers");
    agent.prepare().await.map_err(|e| {
        let e = anyhow::Error::from(e);
        anyhow::anyhow!("{}", endpoint.scrub(&format!("{e:#}")))
    })?;
    let (status_tx, status_rx) = watch::channel(agent.status());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(%listen, offers = agent.offers().len(), "running");
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            http::router(Http {
                cloud,
                status: status_rx,
            }),
        )
        .await
    });
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let result = agent.tick().await;
        let mut status = agent.status();
        status.last_tick = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        if let Err(error) = &result {
            let error = endpoint.scrub(&error.to_string());
            tracing::warn!(%error, "tick failed; retrying");
            status.last_error = Some(error);
        }
        status_tx.send_replace(status);
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = &mut interrupted => break,
        }
    }
    tracing::info!("interrupted: stopping");
    server.abort();
    Ok(())
}
