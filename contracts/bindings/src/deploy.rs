//! Deploying the whole system from one account.

use crate::{BuyerTrust, ComputeToken, Deployment, LeaseEscrow, Offers, Pools, ProviderRegistry};
use alloy::{
    contract::{self, RawCallBuilder},
    network::ReceiptResponse,
    primitives::{Address, TxHash},
    providers::{PendingTransactionError, Provider},
    transports::TransportError,
};
use std::fmt;

/// The six contracts of the system, in deployment order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemContract {
    /// [`ComputeToken`], deployed at the deployer's nonce `n`.
    ComputeToken,
    /// [`Pools`], at nonce `n + 1`.
    Pools,
    /// [`ProviderRegistry`], at nonce `n + 2`.
    ProviderRegistry,
    /// [`Offers`], at nonce `n + 3`.
    Offers,
    /// [`BuyerTrust`], at nonce `n + 4`.
    BuyerTrust,
    /// [`LeaseEscrow`], at nonce `n + 5`: the registry and buyer trust are given its predicted address.
    LeaseEscrow,
}

impl SystemContract {
    /// All six, in deployment order.
    pub const ALL: [Self; 6] = [
        Self::ComputeToken,
        Self::Pools,
        Self::ProviderRegistry,
        Self::Offers,
        Self::BuyerTrust,
        Self::LeaseEscrow,
    ];

    /// The Solidity contract's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ComputeToken => "ComputeToken",
            Self::Pools => "Pools",
            Self::ProviderRegistry => "ProviderRegistry",
            Self::Offers => "Offers",
            Self::BuyerTrust => "BuyerTrust",
            Self::LeaseEscrow => "LeaseEscrow",
        }
    }

    /// How far after the deployer's first nonce this contract is created.
    pub const fn nonce_offset(self) -> u64 {
        self as u64
    }
}

impl fmt::Display for SystemContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why [`deploy`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Reading the chain id or the deployer's nonce failed.
    #[error("querying the chain before deploying: {0}")]
    Rpc(#[from] TransportError),
    /// A deploy transaction could not be sent (estimation, signing or submission failed).
    #[error("sending the {contract} deploy transaction: {source}")]
    Send {
        /// The contract being deployed.
        contract: SystemContract,
        /// The cause.
        source: contract::Error,
    },
    /// A deploy transaction was sent but its receipt could not be had.
    #[error("waiting for the {contract} deploy transaction: {source}")]
    Receipt {
        /// The contract being deployed.
        contract: SystemContract,
        /// The cause.
        source: PendingTransactionError,
    },
    /// A deploy transaction was mined but its constructor reverted.
    #[error("the {contract} deploy transaction {tx_hash} reverted")]
    Reverted {
        /// The contract being deployed.
        contract: SystemContract,
        /// The failed transaction.
        tx_hash: TxHash,
    },
    /// A deploy receipt lacks the created address or the block number.
    #[error("the receipt of the {contract} deploy transaction {tx_hash} has no {missing}")]
    IncompleteReceipt {
        /// The contract being deployed.
        contract: SystemContract,
        /// The transaction.
        tx_hash: TxHash,
        /// What the receipt lacks.
        missing: &'static str,
    },
    /// A contract was created at another address than its nonce predicts, so addresses passed to the
    /// constructors (the escrow's, to the registry and buyer trust) would be wrong. Happens when the
    /// deployer sends other transactions during the deployment.
    #[error("{contract} was deployed at {actual}, not at the predicted {expected}")]
    AddressMismatch {
        /// The contract.
        contract: SystemContract,
        /// The address its nonce predicts.
        expected: Address,
        /// Where it was created.
        actual: Address,
    },
}

/// Deploys the whole system from `deployer` and returns where it landed.
///
/// The six contracts are created by consecutive transactions with explicit nonces `n..n+5`, where `n`
/// is the deployer's next nonce, each awaited before the next is sent. The registry and buyer trust
/// need the escrow's address before it exists, so they are given `deployer.create(n + 5)`; every
/// contract's address is checked against its nonce's prediction.
///
/// The provider must be able to send transactions from `deployer`: a wallet holding its key, or a
/// node with the account unlocked (anvil's). The whole token supply is minted to `deployer`.
pub async fn deploy<P: Provider>(
    provider: &P,
    deployer: Address,
) -> Result<Deployment, DeployError> {
    let chain_id = provider.get_chain_id().await?;
    let nonce = provider.get_transaction_count(deployer).pending().await?;
    let escrow = deployer.create(nonce + SystemContract::LeaseEscrow.nonce_offset());

    let (token, deploy_block) = create(
        SystemContract::ComputeToken,
        ComputeToken::deploy_builder(provider, deployer),
        deployer,
        nonce,
    )
    .await?;
    let (pools, _) = create(
        SystemContract::Pools,
        Pools::deploy_builder(provider),
        deployer,
        nonce,
    )
    .await?;
    let (registry, _) = create(
        SystemContract::ProviderRegistry,
        ProviderRegistry::deploy_builder(provider, token, pools, escrow),
        deployer,
        nonce,
    )
    .await?;
    let (offers, _) = create(
        SystemContract::Offers,
        Offers::deploy_builder(provider, registry),
        deployer,
        nonce,
    )
    .await?;
    let (buyer_trust, _) = create(
        SystemContract::BuyerTrust,
        BuyerTrust::deploy_builder(provider, token, pools, escrow),
        deployer,
        nonce,
    )
    .await?;
    let (escrow, _) = create(
        SystemContract::LeaseEscrow,
        LeaseEscrow::deploy_builder(provider, token, pools, registry, offers, buyer_trust),
        deployer,
        nonce,
    )
    .await?;

    Ok(Deployment {
        chain_id,
        deployer,
        deploy_block,
        token,
        pools,
        registry,
        offers,
        buyer_trust,
        escrow,
    })
}

/// Sends one deploy transaction at its nonce, waits for it and checks where the contract landed.
/// Returns the contract's address and the block it was created in.
async fn create<P: Provider>(
    contract: SystemContract,
    call: RawCallBuilder<P>,
    deployer: Address,
    first_nonce: u64,
) -> Result<(Address, u64), DeployError> {
    let nonce = first_nonce + contract.nonce_offset();
    let pending = call
        .from(deployer)
        .nonce(nonce)
        .send()
        .await
        .map_err(|source| DeployError::Send { contract, source })?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| DeployError::Receipt { contract, source })?;
    let tx_hash = receipt.transaction_hash();
    if !receipt.status() {
        return Err(DeployError::Reverted { contract, tx_hash });
    }
    let incomplete = |missing| DeployError::IncompleteReceipt {
        contract,
        tx_hash,
        missing,
    };
    let actual = receipt
        .contract_address()
        .ok_or_else(|| incomplete("contract address"))?;
    let block = receipt
        .block_number()
        .ok_or_else(|| incomplete("block number"))?;
    let expected = deployer.create(nonce);
    if actual != expected {
        return Err(DeployError::AddressMismatch {
            contract,
            expected,
            actual,
        });
    }
    Ok((actual, block))
}
