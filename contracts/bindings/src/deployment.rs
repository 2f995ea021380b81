//! The addresses file: where one deployment of the system lives.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// One deployment of the six contracts on one chain: the addresses file every part of utter reads.
///
/// Stored as a JSON object with these snake_case field names and addresses as `0x` hex strings
/// (written in lower case, read in any case).
/// Made by [`deploy`](crate::deploy); the indexer starts scanning logs at [`deploy_block`](Self::deploy_block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    /// The chain the contracts live on, so a file is never used against another chain.
    pub chain_id: u64,
    /// The account that deployed the system (and first held the whole token supply).
    pub deployer: Address,
    /// The block of the first deploy transaction: no event of the system is older.
    pub deploy_block: u64,
    /// The [`ComputeToken`](crate::ComputeToken).
    pub token: Address,
    /// The [`Pools`](crate::Pools) registry.
    pub pools: Address,
    /// The [`ProviderRegistry`](crate::ProviderRegistry).
    pub registry: Address,
    /// The [`Offers`](crate::Offers).
    pub offers: Address,
    /// The [`BuyerTrust`](crate::BuyerTrust).
    pub buyer_trust: Address,
    /// The [`LeaseEscrow`](crate::LeaseEscrow).
    pub escrow: Address,
}

/// Why an addresses file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentFileError {
    /// The file could not be read.
    #[error("reading the deployment file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a deployment as JSON.
    #[error("parsing the deployment file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why the JSON does not fit.
        source: serde_json::Error,
    },
    /// The file (or its directory) could not be written.
    #[error("writing the deployment file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

impl Deployment {
    /// The six contracts' addresses in deployment order: token, pools, registry, offers, buyer trust,
    /// escrow.
    pub const fn addresses(&self) -> [Address; 6] {
        [
            self.token,
            self.pools,
            self.registry,
            self.offers,
            self.buyer_trust,
            self.escrow,
        ]
    }

    /// Reads a deployment from a JSON file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DeploymentFileError> {
        let path = path.as_ref();
        let json = fs::read(path).map_err(|source| DeploymentFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&json).map_err(|source| DeploymentFileError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the deployment as pretty JSON, creating missing parent directories.
    ///
    /// The file is written beside its destination and renamed into place, so a reader never sees
    /// half a file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DeploymentFileError> {
        let path = path.as_ref();
        let write_error = |source| DeploymentFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(io::Error::from)
            .map_err(write_error)?;
        json.push(b'\n');
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(write_error)?;
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        fs::write(&partial, json).map_err(write_error)?;
        fs::rename(&partial, path).map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    fn sample() -> Deployment {
        Deployment {
            chain_id: 31337,
            deployer: address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            deploy_block: 1,
            token: address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            pools: address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
            registry: address!("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
            offers: address!("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"),
            buyer_trust: address!("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"),
            escrow: address!("0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("utter-bindings-{}-{name}", std::process::id()))
    }

    #[test]
    fn json_uses_snake_case_fields_and_hex_addresses() {
        let json = serde_json::to_value(sample()).expect("a deployment serializes");
        assert_eq!(json["chain_id"], 31337);
        assert_eq!(json["deploy_block"], 1);
        assert_eq!(
            json["buyer_trust"],
            "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"
        );
        assert_eq!(json.as_object().map(|fields| fields.len()), Some(9));
    }

    #[test]
    fn checksummed_addresses_are_read() {
        let json = serde_json::to_string(&sample())
            .expect("serializes")
            .replace(
                "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
                "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
            );
        let deployment: Deployment = serde_json::from_str(&json).expect("parses");
        assert_eq!(deployment, sample());
    }

    #[test]
    fn save_then_load_gives_the_same_deployment() {
        let dir = scratch("roundtrip");
        let path = dir.join("nested/deployment.json");
        sample().save(&path).expect("saves");
        assert_eq!(Deployment::load(&path).expect("loads"), sample());
        fs::remove_dir_all(dir).expect("cleans up");
    }

    #[test]
    fn load_of_a_missing_file_is_a_read_error() {
        let err = Deployment::load(scratch("missing.json")).expect_err("no such file");
        assert!(matches!(err, DeploymentFileError::Read { .. }), "{err}");
    }

    #[test]
    fn load_of_a_file_without_an_address_is_a_parse_error_naming_the_field() {
        let path = scratch("incomplete.json");
        let mut json = serde_json::to_value(sample()).expect("serializes");
        json.as_object_mut().expect("an object").remove("escrow");
        fs::write(&path, json.to_string()).expect("writes");
        let err = Deployment::load(&path).expect_err("escrow is missing");
        fs::remove_file(&path).expect("cleans up");
        assert!(matches!(err, DeploymentFileError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("escrow"), "{err}");
    }
}
