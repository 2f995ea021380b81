//! A demo market on a fresh development chain: one pool, a funded provider and a funded buyer.
//!
//! `utter devnet` and the `demo_market` example set it up right after [`deploy`](crate::deploy), so a
//! newcomer has something to buy from and tokens to buy with.

use crate::{ComputeToken, Deployment, Pools};
use alloy::{
    contract,
    network::ReceiptResponse,
    primitives::{Address, U256, aliases::U96},
    providers::{PendingTransactionError, Provider},
};

/// The accounts of the demo market. The provider must be able to send from each (a wallet holding the
/// keys, or a node with them unlocked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoAccounts {
    /// Holds the token supply (the deployer): pays the provider's and the buyer's tokens.
    pub treasury: Address,
    /// Creates and operates the demo pool.
    pub operator: Address,
    /// The demo provider: gets [`PROVIDER_TOKENS`] to stake and run an agent with.
    pub provider: Address,
    /// The demo buyer: gets [`BUYER_TOKENS`] to open leases with.
    pub buyer: Address,
}

/// Whole tokens the demo provider gets.
pub const PROVIDER_TOKENS: u64 = 10_000;
/// Whole tokens the demo buyer gets.
pub const BUYER_TOKENS: u64 = 1_000;
/// The demo pool's fee, in basis points of what providers earn.
pub const POOL_FEE_BPS: u16 = 500;

/// Why [`setup_market`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A transaction could not be sent.
    #[error("sending the demo market's {step} transaction: {source}")]
    Send {
        /// What the transaction was for.
        step: &'static str,
        /// The cause.
        source: contract::Error,
    },
    /// A transaction was sent but its receipt could not be had.
    #[error("waiting for the demo market's {step} transaction: {source}")]
    Receipt {
        /// What the transaction was for.
        step: &'static str,
        /// The cause.
        source: PendingTransactionError,
    },
    /// A transaction reverted.
    #[error("the demo market's {step} transaction reverted")]
    Reverted {
        /// What the transaction was for.
        step: &'static str,
    },
}

/// `whole` tokens in wei (the token has 18 decimals).
pub fn tokens(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10).pow(U256::from(18))
}

fn u96(amount: U256) -> U96 {
    U96::from(amount.to::<u128>())
}

/// Funds the demo provider and buyer from the treasury and creates pool 1 (the first pool of a fresh
/// deployment), operated by `accounts.operator`, with a [`POOL_FEE_BPS`] fee and a 100-token minimum
/// stake; buyers without a trust deposit start anonymous and pay a small start fee.
pub async fn setup_market<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    accounts: DemoAccounts,
) -> Result<(), DemoError> {
    let token = ComputeToken::new(deployment.token, provider);
    for (step, to, amount) in [
        (
            "fund the provider",
            accounts.provider,
            tokens(PROVIDER_TOKENS),
        ),
        ("fund the buyer", accounts.buyer, tokens(BUYER_TOKENS)),
    ] {
        let call = token.transfer(to, amount).from(accounts.treasury);
        confirm(step, call.send().await).await?;
    }
    let pools = Pools::new(deployment.pools, provider);
    let config = Pools::PoolConfig {
        name: "utter demo pool".into(),
        metadataURI: "https://github.com/utter/utter".into(),
        feeBps: POOL_FEE_BPS,
        noBootSlashBps: 1_000,
        bootFailSlashBps: 200,
        providerUnbonding: 86_400,
        minStake: u96(tokens(100)),
        trust: Pools::TrustParams {
            trustedDeposit: u96(tokens(50)),
            trustedKarma: u96(tokens(10)),
            anonTargetShareBps: 2_000,
            maxBuyerSlashBps: 1_000,
            baseLeases: 2,
            maxLeases: 16,
            depositPerLease: u96(tokens(25)),
            karmaPerLease: u96(tokens(5)),
            anonMinFee: u96(tokens(1) / U256::from(100)),
            anonMaxFee: u96(tokens(1)),
        },
    };
    let call = pools.createPool(config).from(accounts.operator);
    confirm("create the pool", call.send().await).await
}

/// Waits for a sent transaction and checks that it succeeded.
async fn confirm<N: alloy::network::Network>(
    step: &'static str,
    sent: Result<alloy::providers::PendingTransactionBuilder<N>, contract::Error>,
) -> Result<(), DemoError> {
    let receipt = sent
        .map_err(|source| DemoError::Send { step, source })?
        .get_receipt()
        .await
        .map_err(|source| DemoError::Receipt { step, source })?;
    if receipt.status() {
        Ok(())
    } else {
        Err(DemoError::Reverted { step })
    }
}
