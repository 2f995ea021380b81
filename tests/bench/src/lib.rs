//! Benchmarks of the utter indexer. They print figures; they are not tests and assert nothing about
//! speed. The binaries:
//!
//! - `indexer-backfill`: builds a chain of ≥ 200,000 events of utter's contracts on the pinned anvil,
//!   then measures the raw `eth_getLogs` rate and the real [`utter_indexer::sync::Indexer`]'s
//!   backfill into SQLite and PostgreSQL.
//! - `indexer-lag`: live lag, from `evm_mine` returning to the block being queryable in the database.
//! - `seed-offers`: fills an indexer database with synthetic offers, stakes, providers and pools.
//! - `api-load`: an open-loop HTTP load generator (fixed schedule, latency from the scheduled send time).
//!
//! This library holds what they share: a raw JSON-RPC client ([`rpc`]), the chain builder
//! ([`chain`]), fresh databases ([`db`]) and figures ([`stats`]).

pub mod chain;
pub mod db;
pub mod rpc;
pub mod stats;
