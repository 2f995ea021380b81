//! The utter provider agent: turns funded leases into OpenStack servers and empty escrows into
//! halted ones.
//!
//! - [`agent`]: each tick reads the chain and the cloud, plans and acts.
//! - [`access`]: the access details, encrypted with age to the buyer's SSH key.
//! - [`chain`]: the contracts' state a few blocks deep, from events, by the indexer's rules.
//! - [`cloud`]: the cloud calls the agent makes, with an in-memory cloud for unit tests.
//! - [`config`]: the TOML file, checked key by key.
//! - [`http`]: health, metrics, and console logs for the lease's buyer only (EIP-191).
//! - [`user_data`]: the buyer's cloud-init, encrypted to the provider's age key.
//! - [`plan`]: what to do, decided from the chain's leases and the cloud's tagged servers alone.

pub mod access;
pub mod agent;
pub mod chain;
pub mod cloud;
pub mod config;
pub mod http;
pub mod plan;
pub mod user_data;
