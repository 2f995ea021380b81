//! Configuration: flags, then environment variables, then a TOML file, then defaults.

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// The utter indexer: follows every event of utter's contracts into SQL and serves the public API.
#[derive(Debug, Parser)]
#[command(name = "utter-indexer", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index the chain and serve the API until interrupted.
    Run(Box<RunArgs>),
    /// Print the OpenAPI document of the HTTP API and exit.
    Openapi,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `run`'s flags. Each also reads an environment variable; unset ones come from `--config`.
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// A TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    #[arg(long, env = "UTTER_INDEXER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Ethereum JSON-RPC endpoint.
    #[arg(long, env = "UTTER_INDEXER_RPC")]
    pub rpc: Option<String>,
    /// Database URL: `sqlite://FILE` (default `sqlite://utter-indexer.db`) or `postgres://...`.
    #[arg(long, env = "UTTER_INDEXER_DB")]
    pub db: Option<String>,
    /// The deployment addresses file (written by the deploy step).
    #[arg(long, alias = "contracts", env = "UTTER_INDEXER_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Address the HTTP API listens on.
    #[arg(long, env = "UTTER_INDEXER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Blocks below the head after which a block is final (reorgs deeper than this stop the indexer).
    #[arg(long, env = "UTTER_INDEXER_FINALITY_DEPTH")]
    pub finality_depth: Option<u64>,
    /// Milliseconds between head polls when caught up.
    #[arg(long, env = "UTTER_INDEXER_POLL_MS")]
    pub poll_ms: Option<u64>,
    /// Largest eth_getLogs range in blocks.
    #[arg(long, env = "UTTER_INDEXER_MAX_RANGE")]
    pub max_range: Option<u64>,
    /// Directory of the built dApp to serve at `/`.
    #[arg(long, env = "UTTER_INDEXER_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "UTTER_INDEXER_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Hide the backfill progress bar.
    #[arg(long, env = "UTTER_INDEXER_NO_PROGRESS")]
    pub no_progress: bool,
}

/// The TOML file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rpc: Option<String>,
    db: Option<String>,
    deployment: Option<PathBuf>,
    listen: Option<SocketAddr>,
    finality_depth: Option<u64>,
    poll_ms: Option<u64>,
    max_range: Option<u64>,
    static_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    no_progress: Option<bool>,
}

/// The settings, resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// RPC endpoint.
    pub rpc: String,
    /// Database URL.
    pub db: String,
    /// Deployment file.
    pub deployment: PathBuf,
    /// API listen address.
    pub listen: SocketAddr,
    /// Finality depth.
    pub finality_depth: u64,
    /// Poll interval.
    pub poll_interval: Duration,
    /// Largest getLogs range.
    pub max_range: u64,
    /// dApp directory.
    pub static_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// Progress bar.
    pub progress: bool,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading the config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("config file {path}: {source}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Where and why.
        source: toml::de::Error,
    },
    /// A required setting is missing.
    #[error("{0} is required: pass --{1}, set {2} or put `{3} = ...` in the config file")]
    Missing(&'static str, &'static str, &'static str, &'static str),
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl RunArgs {
    /// Resolves flags and environment over the config file over defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
            None => FileConfig::default(),
        };
        let rpc = self.rpc.or(file.rpc).ok_or(ConfigError::Missing(
            "the RPC endpoint",
            "rpc",
            "UTTER_INDEXER_RPC",
            "rpc",
        ))?;
        if !(rpc.starts_with("http://") || rpc.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "--rpc {rpc:?} must be an http:// or https:// URL"
            )));
        }
        let deployment = self
            .deployment
            .or(file.deployment)
            .ok_or(ConfigError::Missing(
                "the deployment file",
                "deployment",
                "UTTER_INDEXER_DEPLOYMENT",
                "deployment",
            ))?;
        let finality_depth = self.finality_depth.or(file.finality_depth).unwrap_or(64);
        let poll_ms = self.poll_ms.or(file.poll_ms).unwrap_or(100);
        if poll_ms == 0 {
            return Err(ConfigError::Invalid("--poll-ms must be at least 1".into()));
        }
        let max_range = self.max_range.or(file.max_range).unwrap_or(100_000);
        if max_range == 0 {
            return Err(ConfigError::Invalid(
                "--max-range must be at least 1".into(),
            ));
        }
        Ok(Config {
            rpc,
            db: self
                .db
                .or(file.db)
                .unwrap_or_else(|| "sqlite://utter-indexer.db".into()),
            deployment,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8580))),
            finality_depth,
            poll_interval: Duration::from_millis(poll_ms),
            max_range,
            static_dir: self.static_dir.or(file.static_dir),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            progress: !(self.no_progress || file.no_progress.unwrap_or(false)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            rpc: Some("http://127.0.0.1:8545".into()),
            deployment: Some("deployment.json".into()),
            ..RunArgs::default()
        }
    }

    #[test]
    fn defaults_fill_what_is_not_set() {
        let config = args().resolve().expect("valid");
        assert_eq!(config.db, "sqlite://utter-indexer.db");
        assert_eq!(config.finality_depth, 64);
        assert_eq!(config.listen.port(), 8580);
    }

    #[test]
    fn a_missing_rpc_names_the_flag_the_variable_and_the_key() {
        let error = RunArgs::default().resolve().unwrap_err().to_string();
        assert!(
            error.contains("--rpc") && error.contains("UTTER_INDEXER_RPC"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let dir = std::env::temp_dir().join(format!("utter-indexer-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bad.toml");
        std::fs::write(&path, "rpc = \"http://x\"\nfinality = 3\n").expect("write");
        let error = RunArgs {
            config: Some(path),
            ..args()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown field `finality`"), "{error}");
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir =
            std::env::temp_dir().join(format!("utter-indexer-config2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("ok.toml");
        std::fs::write(&path, "finality_depth = 3\ndb = \"postgres://x@y/z\"\n").expect("write");
        let config = RunArgs {
            config: Some(path),
            finality_depth: Some(9),
            ..args()
        }
        .resolve()
        .expect("valid");
        assert_eq!(config.finality_depth, 9);
        assert_eq!(config.db, "postgres://x@y/z");
    }

    #[test]
    fn a_non_http_rpc_is_refused() {
        let error = RunArgs {
            rpc: Some("ws://x".into()),
            ..args()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(error.contains("http://"), "{error}");
    }
}
