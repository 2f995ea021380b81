//! The utter indexer: follows every event of utter's contracts into SQL and serves the public API.
//!
//! - [`sync`] follows the chain: an `eth_getLogs` backfill over adaptive ranges, then live blocks,
//!   with reorgs rolled back through an undo log ([`state`]) and each batch written atomically with
//!   its checkpoint ([`store`]).
//! - [`apply`] turns each event into changes of the entities in [`model`], the same bookkeeping the
//!   contracts do.
//! - [`api`] serves the state over HTTP (axum), with an OpenAPI document, a live event stream and
//!   Prometheus metrics ([`metrics`]).

pub mod api;
pub mod apply;
pub mod columns;
pub mod config;
pub mod metrics;
pub mod model;
pub mod state;
pub mod store;
pub mod sync;
