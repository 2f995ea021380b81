//! Typed Rust bindings for utter's contracts, their creation bytecode, the deployment of the whole
//! system and the addresses file.
//!
//! This crate is the one place in the workspace that knows the contracts: every other Rust part (the
//! indexer, the provider agent, the CLI) depends on it and re-declares no ABI, bytecode or address.
//!
//! - [`ComputeToken`], [`Pools`], [`ProviderRegistry`], [`Offers`], [`BuyerTrust`] and [`LeaseEscrow`]
//!   are [`alloy::sol!`] bindings with `#[sol(rpc)]` instances, events, errors and the creation
//!   bytecode (`ComputeToken::BYTECODE`, ...). The build script compiles `contracts/src` with the
//!   toolchain pinned in `toolchain/` (run `scripts/bootstrap` first), using the settings of the
//!   workspace's `foundry.toml`, so the bytecode is the one `forge build` produces.
//! - [`deploy`] deploys the six contracts from one account in a fixed order and returns a
//!   [`Deployment`].
//! - [`Deployment`] is the addresses file every part reads: chain id, deployer, the first deploy block
//!   and the six addresses, as JSON ([`Deployment::load`], [`Deployment::save`]).
//!
//! - [`demo`] sets up a demo market (a pool, a funded provider and buyer) on a fresh development chain.
//!
//! [`abi`] holds the contracts' JSON ABIs as text, for tools outside Rust.

pub mod demo;
mod deploy;
mod deployment;

pub use deploy::{DeployError, SystemContract, deploy};
pub use deployment::{Deployment, DeploymentFileError};

/// Declares the `sol!` bindings of each contract, from the artifact the build script wrote to
/// `OUT_DIR`, in a module of its own (with the types that the ABI names after other contracts, such as
/// `IBuyerTrust.Report`), and re-exports the contract at the crate root.
macro_rules! bindings {
    ($($(#[$doc:meta])* $module:ident::$name:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub mod $module {
            #![allow(missing_docs, clippy::too_many_arguments)]

            alloy::sol!(
                $(#[$doc])*
                #[sol(rpc)]
                #[derive(Debug, PartialEq, Eq)]
                $name,
                concat!(env!("OUT_DIR"), "/", stringify!($name), ".json")
            );
        }
        pub use $module::$name;
    )*};
}

bindings!(
    /// The compute token (ERC-20 with permit): every price, deposit, stake and fee in the exchange is
    /// in it. Its fixed supply is minted to one holder at deployment.
    compute_token::ComputeToken,
    /// The registry of compute pools, each with its own operator, branding, fee and rules.
    pools::Pools,
    /// Providers' membership of pools and their trust stakes, slashable only by the lease escrow on a
    /// fault it has checked.
    provider_registry::ProviderRegistry,
    /// Providers' published offers: the machine, its price and capacity, and the images it boots.
    offers::Offers,
    /// Pay-for-trust: buyers' deposits that let them hold more leases at once, and providers' abuse
    /// reports that the pool operator rules on.
    buyer_trust::BuyerTrust,
    /// The lease escrow: buyers' deposits drain per second to providers while a machine runs, top-ups
    /// keep it running, an empty balance halts it.
    lease_escrow::LeaseEscrow,
);

/// The contracts' JSON ABIs as solc wrote them, for tools outside Rust (the dApp, scripts).
pub mod abi {
    macro_rules! abi {
        ($($(#[$doc:meta])* $konst:ident = $name:literal),* $(,)?) => {$(
            $(#[$doc])*
            pub const $konst: &str = include_str!(concat!(env!("OUT_DIR"), "/", $name, ".abi.json"));
        )*};
    }

    abi!(
        /// The JSON ABI of [`ComputeToken`](crate::ComputeToken).
        COMPUTE_TOKEN = "ComputeToken",
        /// The JSON ABI of [`Pools`](crate::Pools).
        POOLS = "Pools",
        /// The JSON ABI of [`ProviderRegistry`](crate::ProviderRegistry).
        PROVIDER_REGISTRY = "ProviderRegistry",
        /// The JSON ABI of [`Offers`](crate::Offers).
        OFFERS = "Offers",
        /// The JSON ABI of [`BuyerTrust`](crate::BuyerTrust).
        BUYER_TRUST = "BuyerTrust",
        /// The JSON ABI of [`LeaseEscrow`](crate::LeaseEscrow).
        LEASE_ESCROW = "LeaseEscrow",
    );
}
