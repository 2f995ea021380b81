//! End-to-end tests across the parts live in `tests/`: they run the `utter` binary against a
//! running devnet (`utter devnet`), as a user would.
//!
//! - `tests/devnet_session.rs`: a buyer's whole lease (offers, open, access, top-up, run dry, halt,
//!   resume, stop) and the provider's withdrawal, checked to the wei against the contracts. It needs
//!   the OpenStack lab that `scripts/test` starts (`UTTER_LAB_CLOUDS_YAML`) and the binaries of
//!   `utter`, `utter-indexer` and `utter-provider-agent` built beside the test
//!   (`cargo test --workspace` builds them).
