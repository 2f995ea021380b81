//! What utter's tests share, so that every end-to-end test drives the exchange the same way.
//!
//! - [`anvil`]: the pinned anvil binary, started with a fixed genesis time and enough accounts; one
//!   provider that signs as any of them; sending a call and checking its receipt; moving the clock and
//!   mining.
//! - [`snapshot`]: the exchange's whole state as plain Rust values, comparable with `assert_eq!`.
//! - [`chain`]: [`chain::read_snapshot`] reads that state from the contracts at one block: the truth
//!   an indexer's rebuilt state is checked against.
//! - [`scenario`]: a seeded random driver of the whole exchange (pools, stakes, offers, leases from
//!   opening to closing, trust deposits, abuse reports, operator hand-overs) on a real anvil, choosing
//!   only actions that are valid in the current state. Same seed, same chain.

pub mod anvil;
pub mod chain;
mod rng;
pub mod scenario;
pub mod snapshot;

pub use chain::{ReadError, read_snapshot};
pub use scenario::{ACTION_KINDS, Scenario, ScenarioConfig, ScenarioError};
pub use snapshot::Snapshot;
