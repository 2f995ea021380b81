//! The agent's configuration: a TOML file, with the RPC, the key and the listen address also taken
//! from flags or the environment. Every mistake is reported with the key that holds it.

use alloy::primitives::{B256, U256, keccak256};
use serde::Deserialize;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// The TOML file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Ethereum JSON-RPC endpoint.
    pub rpc: Option<String>,
    /// Seconds each RPC request may take (connecting included) before it fails.
    #[serde(default = "default_rpc_timeout")]
    pub rpc_timeout_secs: u64,
    /// The deployment addresses file.
    pub deployment: Option<PathBuf>,
    /// Blocks a lease event must be under the head before the agent acts on it.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// Milliseconds between polls of the chain and the cloud.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Milliseconds between listings of the cloud's servers (and checks of its room). New leases are
    /// booted between listings from the last one plus the creates this process has in flight, so a
    /// short `poll_ms` does not list every server at every poll. 0 lists at every poll.
    #[serde(default = "default_cloud_poll_ms")]
    pub cloud_poll_ms: u64,
    /// Where the HTTP endpoints (health, metrics, console logs) listen.
    pub listen: Option<SocketAddr>,
    /// Where the agent keeps its small state (which offer ids it published).
    pub state_dir: Option<PathBuf>,
    /// The indexer's URL, written into each machine's metadata file so software inside can find it.
    #[serde(default)]
    pub indexer_url: String,
    /// The provider's Ethereum key.
    #[serde(default)]
    pub key: KeyConfig,
    /// The cloud.
    pub cloud: CloudConfig,
    /// Withdraw earnings once this many token wei are waiting (decimal).
    #[serde(default = "default_withdraw_threshold")]
    pub withdraw_threshold: String,
    /// Seconds between two withdrawals at least.
    #[serde(default = "default_withdraw_interval")]
    pub withdraw_interval_secs: u64,
    /// The stake to keep bonded in each pool an offer is in (decimal token wei); topped up on start.
    #[serde(default)]
    pub stake: Option<String>,
    /// The offers to publish.
    #[serde(default)]
    pub offers: Vec<OfferConfig>,
}

fn default_confirmations() -> u64 {
    2
}
fn default_rpc_timeout() -> u64 {
    30
}
fn default_poll_ms() -> u64 {
    100
}
fn default_cloud_poll_ms() -> u64 {
    1000
}
fn default_withdraw_interval() -> u64 {
    300
}
fn default_withdraw_threshold() -> String {
    "1000000000000000000".into()
}

/// Where the provider's key comes from. Never logged.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// An encrypted JSON keystore (Web3 Secret Storage); its password is read from the environment
    /// variable named by `password_env` (default `UTTER_AGENT_KEYSTORE_PASSWORD`).
    pub keystore: Option<PathBuf>,
    /// The environment variable holding the keystore password.
    pub password_env: Option<String>,
    /// An age X25519 identity file (`age-keygen` output): its public key is published on-chain so
    /// buyers can encrypt cloud-init user data that only this provider reads.
    pub age_identity: Option<PathBuf>,
}

/// The cloud, named in a standard `clouds.yaml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    /// The cloud's name in `clouds.yaml`.
    pub name: String,
    /// An explicit `clouds.yaml` (otherwise the standard places are searched).
    pub clouds_yaml: Option<PathBuf>,
    /// The network of new servers: `none`, `auto`, or a network's id or name (default `none`).
    #[serde(default = "default_network")]
    pub network: String,
    /// The external network floating IPs come from (id or name): needed when an offer promises a
    /// public IPv4 address. The servers' network (`network`) must reach it through a router.
    pub floating_network: Option<String>,
    /// Seconds each cloud request may take.
    #[serde(default = "default_cloud_timeout")]
    pub timeout_secs: u64,
    /// Seconds an offer stays paused after Nova found no host for one of its servers ("No valid
    /// host was found": the hypervisors are full, whatever the quota says).
    #[serde(default = "default_capacity_pause")]
    pub capacity_pause_secs: u64,
    /// Seconds a running lease's server must be missing from the listings before the lease is
    /// terminated and its floating IP released: one listing can be partial (a Nova cell down).
    #[serde(default = "default_missing_grace")]
    pub missing_grace_secs: u64,
    /// Seconds to wait, after a first boot is ACTIVE, for the guest to print its SSH host key
    /// fingerprints to the console before acknowledging without one (0: do not wait, for
    /// hypervisors that print none, such as Nova's fake driver).
    #[serde(default = "default_host_key_wait")]
    pub host_key_wait_secs: u64,
}

fn default_network() -> String {
    "none".into()
}
fn default_cloud_timeout() -> u64 {
    30
}
fn default_capacity_pause() -> u64 {
    300
}
fn default_missing_grace() -> u64 {
    60
}
fn default_host_key_wait() -> u64 {
    120
}

/// One offer: what is sold, and which cloud flavor and images provide it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferConfig {
    /// A name the agent knows the offer by (unique in the file).
    pub name: String,
    /// The pool to publish in.
    pub pool_id: u32,
    /// The OpenStack flavor: vCPUs, RAM and disk of the offer are read from it.
    pub flavor: String,
    /// Images buyers may choose: the name shown on-chain and the Glance image behind it.
    pub images: Vec<ImageConfig>,
    /// Token wei per second (decimal).
    pub price_per_second: String,
    /// Leases served at once.
    pub capacity: u32,
    /// Seconds to boot before the buyer may reclaim.
    #[serde(default = "default_boot_timeout")]
    pub boot_timeout: u32,
    /// Seconds a ran-dry machine's disk is kept.
    #[serde(default = "default_retention")]
    pub retention: u32,
    /// Region label.
    pub region: String,
    /// GPUs and their model.
    #[serde(default)]
    pub gpu_count: u16,
    /// GPU model, empty without GPUs.
    #[serde(default)]
    pub gpu_model: String,
    /// Bandwidth up, Mbit/s.
    #[serde(default = "default_bandwidth")]
    pub bandwidth_up_mbps: u32,
    /// Bandwidth down, Mbit/s.
    #[serde(default = "default_bandwidth")]
    pub bandwidth_down_mbps: u32,
    /// Whether a public IPv4 address comes with the machine.
    #[serde(default)]
    pub public_ipv4: bool,
    /// Whether a public IPv6 address comes with the machine.
    #[serde(default)]
    pub public_ipv6: bool,
    /// Servers kept booted ahead of demand, so a new lease gets a running machine (rebuilt with its
    /// image and key) instead of waiting for a boot.
    #[serde(default)]
    pub hot_spares: u32,
}

fn default_boot_timeout() -> u32 {
    600
}
fn default_retention() -> u32 {
    86_400
}
fn default_bandwidth() -> u32 {
    100
}

/// An image of an offer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// The name buyers see, e.g. `ubuntu-24.04`.
    pub name: String,
    /// The Glance image's name.
    pub glance: String,
}

impl ImageConfig {
    /// The image's on-chain id: `keccak256("utter-image:" || name)`.
    pub fn id(&self) -> B256 {
        image_id(&self.name)
    }
}

/// The on-chain id of the image called `name`.
pub fn image_id(name: &str) -> B256 {
    keccak256(format!("utter-image:{name}"))
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
    /// The file is not valid TOML of the right shape.
    #[error("config file {path}: {source}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Where and why.
        source: toml::de::Error,
    },
    /// A value is wrong.
    #[error("config: {key}: {message}")]
    Invalid {
        /// The key, e.g. `offers[1].price_per_second`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// A decimal amount of token wei.
pub fn parse_amount(key: &str, text: &str) -> Result<U256, ConfigError> {
    text.parse::<U256>().map_err(|_| {
        invalid(
            key,
            format!("{text:?} is not a decimal amount of token wei"),
        )
    })
}

impl FileConfig {
    /// Reads and checks the file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks `text` (from `path`, for messages).
    pub fn parse(path: &std::path::Path, text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.poll_ms == 0 {
            return Err(invalid("poll_ms", "must be at least 1"));
        }
        if self.rpc_timeout_secs == 0 {
            return Err(invalid("rpc_timeout_secs", "must be at least 1"));
        }
        parse_amount("withdraw_threshold", &self.withdraw_threshold)?;
        if let Some(stake) = &self.stake {
            parse_amount("stake", stake)?;
        }
        if self.cloud.floating_network.is_some() && self.cloud.network.trim() == "none" {
            return Err(invalid(
                "cloud.floating_network",
                "needs cloud.network: a server booted without a network has no port to hold a \
                 floating IP",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, offer) in self.offers.iter().enumerate() {
            let key = |field: &str| format!("offers[{i}].{field}");
            if offer.public_ipv4 && self.cloud.floating_network.is_none() {
                return Err(invalid(
                    key("public_ipv4"),
                    "the offer promises a public IPv4 address: set cloud.floating_network (the \
                     external network its floating IP comes from)",
                ));
            }
            if !names.insert(offer.name.clone()) {
                return Err(invalid(
                    key("name"),
                    format!("{:?} is used twice", offer.name),
                ));
            }
            if parse_amount(&key("price_per_second"), &offer.price_per_second)?.is_zero() {
                return Err(invalid(key("price_per_second"), "must be above zero"));
            }
            if offer.capacity == 0 {
                return Err(invalid(key("capacity"), "must be at least 1"));
            }
            if !(60..=86_400).contains(&offer.boot_timeout) {
                return Err(invalid(key("boot_timeout"), "must be 60 to 86400 seconds"));
            }
            if offer.retention > 30 * 86_400 {
                return Err(invalid(key("retention"), "must be at most 30 days"));
            }
            if offer.region.is_empty() || offer.region.len() > 64 {
                return Err(invalid(key("region"), "must be 1 to 64 bytes"));
            }
            if offer.images.is_empty() || offer.images.len() > 32 {
                return Err(invalid(key("images"), "must list 1 to 32 images"));
            }
            for (j, image) in offer.images.iter().enumerate() {
                if image.name.is_empty() || image.name.len() > 64 {
                    return Err(invalid(
                        format!("offers[{i}].images[{j}].name"),
                        "must be 1 to 64 bytes",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }

    /// `cloud_poll_ms` as a duration.
    pub fn cloud_poll_interval(&self) -> Duration {
        Duration::from_millis(self.cloud_poll_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
rpc = "http://127.0.0.1:8545"
deployment = "deployment.json"
[cloud]
name = "utter-lab"
[[offers]]
name = "small"
pool_id = 1
flavor = "utter.small"
images = [{ name = "ubuntu-24.04", glance = "utter-tiny" }]
price_per_second = "1000000000000"
capacity = 4
region = "lab-1"
"#;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        FileConfig::parse(std::path::Path::new("agent.toml"), text)
    }

    #[test]
    fn a_good_file_gets_its_defaults() {
        let config = parse(GOOD).expect("valid");
        assert_eq!(config.confirmations, 2);
        assert_eq!(config.rpc_timeout_secs, 30);
        assert_eq!(config.offers[0].boot_timeout, 600);
        assert_eq!(config.offers[0].images[0].id(), image_id("ubuntu-24.04"));
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let config = parse(include_str!("../agent.example.toml")).expect("the example parses");
        assert_eq!(config.offers[0].hot_spares, 1);
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = parse(&format!("{GOOD}\nconfirmation = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("agent.toml") && error.contains("confirmation"),
            "{error}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (from, to, key) in [
            (
                "price_per_second = \"1000000000000\"",
                "price_per_second = \"ten\"",
                "offers[0].price_per_second",
            ),
            ("capacity = 4", "capacity = 0", "offers[0].capacity"),
            (
                "deployment = ",
                "rpc_timeout_secs = 0\ndeployment = ",
                "rpc_timeout_secs",
            ),
            ("region = \"lab-1\"", "region = \"\"", "offers[0].region"),
            (
                "images = [{ name = \"ubuntu-24.04\", glance = \"utter-tiny\" }]",
                "images = []",
                "offers[0].images",
            ),
        ] {
            let error = parse(&GOOD.replace(from, to)).unwrap_err().to_string();
            assert!(error.contains(key), "{key}: {error}");
        }
    }

    #[test]
    fn a_public_address_needs_a_floating_network_and_a_port() {
        let public = GOOD.replace(
            "region = \"lab-1\"",
            "region = \"lab-1\"\npublic_ipv4 = true",
        );
        let error = parse(&public).unwrap_err().to_string();
        assert!(
            error.contains("offers[0].public_ipv4") && error.contains("cloud.floating_network"),
            "{error}"
        );
        let floating = |network: &str| {
            public.replace(
                "name = \"utter-lab\"",
                &format!(
                    "name = \"utter-lab\"\nnetwork = \"{network}\"\nfloating_network = \"public\""
                ),
            )
        };
        let error = parse(&floating("none")).unwrap_err().to_string();
        assert!(
            error.contains("cloud.floating_network") && error.contains("cloud.network"),
            "{error}"
        );
        let config = parse(&floating("private")).expect("a network and a floating network");
        assert_eq!(config.cloud.floating_network.as_deref(), Some("public"));
    }
}
