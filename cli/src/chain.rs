//! The chain as the CLI uses it: the RPC node, the signer, the deployment's contracts and token, and
//! sending a transaction the careful way (simulate, decode a refusal, send, wait, check).

use crate::{api::Indexer, keys::KeySource, output::Output, revert, units::Token};
use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
};
use alloy::{
    primitives::B256,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolStruct,
};
use anyhow::{Context, bail};
use std::path::PathBuf;
use utter_bindings::{
    BuyerTrust, ComputeToken, Deployment, LeaseEscrow, Offers, Pools, ProviderRegistry,
};

/// What the global flags say about where the chain and the contracts are.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// `--rpc`.
    pub rpc: String,
    /// `--indexer`.
    pub indexer: String,
    /// `--deployment`.
    pub deployment: Option<PathBuf>,
    /// `--keystore` / `--private-key`.
    pub keys: KeySource,
}

/// A connection to the chain with the deployment's contracts, and the signer when one was needed.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The RPC provider (signing as [`Chain::sender`] when there is one).
    pub provider: DynProvider,
    /// The contracts' addresses.
    pub deployment: Deployment,
    /// The token's symbol and decimals.
    pub token: Token,
    /// The signer's address.
    pub sender: Option<Address>,
    /// The signer, for permits.
    signer: Option<PrivateKeySigner>,
}

alloy::sol! {
    /// The ERC-2612 permit message.
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

/// A signed ERC-2612 permit: the escrow's `...WithPermit` calls take it instead of a prior approval
/// transaction, so a payment is one transaction and can be simulated before anything is sent.
#[derive(Clone, Copy, Debug)]
pub struct SignedPermit {
    /// Until when it is valid.
    pub deadline: U256,
    /// The signature's recovery byte (27 or 28).
    pub v: u8,
    /// The signature's r.
    pub r: B256,
    /// The signature's s.
    pub s: B256,
}

/// The deployment from `--deployment`, or from the indexer's `/v1/deployment`.
pub async fn deployment(endpoints: &Endpoints) -> anyhow::Result<Deployment> {
    match &endpoints.deployment {
        Some(path) => Deployment::load(path)
            .with_context(|| "check --deployment (UTTER_DEPLOYMENT): it must be the addresses file a deployment wrote"),
        None => Indexer::new(&endpoints.indexer)
            .get("/v1/deployment", &[])
            .await
            .context("no --deployment file was given, so the addresses are asked from the indexer"),
    }
}

impl Chain {
    /// Connects, signing when `signing` (then a key must be given; read-only commands never open the
    /// keystore, so they never ask for its password), and checks the node is on the deployment's chain.
    pub async fn connect(endpoints: &Endpoints, signing: bool) -> anyhow::Result<Self> {
        let deployment = deployment(endpoints).await?;
        let url: reqwest::Url = endpoints.rpc.parse().with_context(|| {
            format!(
                "--rpc {:?} is not a URL: give e.g. http://127.0.0.1:8545",
                endpoints.rpc
            )
        })?;
        let (provider, signer) = if signing {
            let signer = endpoints.keys.signer()?;
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer.clone()))
                .connect_http(url)
                .erased();
            (provider, Some(signer))
        } else {
            (ProviderBuilder::new().connect_http(url).erased(), None)
        };
        let chain_id = provider.get_chain_id().await.with_context(|| {
            format!(
                "cannot reach the chain's RPC at {}: start the node, or pass --rpc URL (UTTER_RPC)",
                endpoints.rpc
            )
        })?;
        if chain_id != deployment.chain_id {
            bail!(
                "the RPC at {} is chain {chain_id}, the deployment is on chain {}: point --rpc and --deployment at the same chain",
                endpoints.rpc,
                deployment.chain_id
            );
        }
        let token = ComputeToken::new(deployment.token, &provider);
        let symbol = token.symbol().call().await.with_context(|| {
            format!(
                "no token answers at {}: is the deployment file for this chain?",
                deployment.token
            )
        })?;
        let decimals = token.decimals().call().await?;
        Ok(Self {
            token: Token { symbol, decimals },
            provider,
            deployment,
            sender: signer.as_ref().map(PrivateKeySigner::address),
            signer,
        })
    }

    /// The signer's address.
    pub fn me(&self) -> anyhow::Result<Address> {
        self.sender
            .context("this command needs a key: pass --keystore FILE or --private-key HEX")
    }

    /// The chain's time now: the latest block's timestamp (what the contracts count with).
    pub async fn now(&self) -> anyhow::Result<u64> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("the node has no latest block")?;
        Ok(block.header.timestamp)
    }

    /// The token contract.
    pub fn token(
        &self,
    ) -> utter_bindings::compute_token::ComputeToken::ComputeTokenInstance<DynProvider> {
        ComputeToken::new(self.deployment.token, self.provider.clone())
    }

    /// The escrow contract.
    pub fn escrow(
        &self,
    ) -> utter_bindings::lease_escrow::LeaseEscrow::LeaseEscrowInstance<DynProvider> {
        LeaseEscrow::new(self.deployment.escrow, self.provider.clone())
    }

    /// The offers contract.
    pub fn offers(&self) -> utter_bindings::offers::Offers::OffersInstance<DynProvider> {
        Offers::new(self.deployment.offers, self.provider.clone())
    }

    /// The pools registry.
    pub fn pools(&self) -> utter_bindings::pools::Pools::PoolsInstance<DynProvider> {
        Pools::new(self.deployment.pools, self.provider.clone())
    }

    /// The provider registry.
    pub fn registry(
        &self,
    ) -> utter_bindings::provider_registry::ProviderRegistry::ProviderRegistryInstance<DynProvider>
    {
        ProviderRegistry::new(self.deployment.registry, self.provider.clone())
    }

    /// The buyer trust contract.
    pub fn buyer_trust(
        &self,
    ) -> utter_bindings::buyer_trust::BuyerTrust::BuyerTrustInstance<DynProvider> {
        BuyerTrust::new(self.deployment.buyer_trust, self.provider.clone())
    }

    /// Runs `call` without sending it (from the signer); a refusal becomes the contract's error.
    pub async fn simulate<D: CallDecoder + Clone>(
        &self,
        what: &str,
        call: &CallBuilder<&DynProvider, D>,
    ) -> anyhow::Result<D::CallOutput> {
        let call = match self.sender {
            Some(from) => call.clone().from(from),
            None => call.clone(),
        };
        call.call().await.map_err(|error| refusal(what, error))
    }

    /// Simulates, sends and waits for `call`; fails unless it succeeded.
    pub async fn send<D: CallDecoder + Clone>(
        &self,
        out: &Output,
        what: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> anyhow::Result<TransactionReceipt> {
        self.simulate(what, &call).await?;
        let from = self.me()?;
        let pending = call
            .from(from)
            .send()
            .await
            .map_err(|error| refusal(what, error))?;
        out.status(format!("{what}: sent {}", pending.tx_hash()));
        let receipt = pending
            .get_receipt()
            .await
            .with_context(|| format!("waiting for the receipt of {what}"))?;
        if !receipt.status() {
            bail!(
                "{what} was mined but reverted (tx {}): nothing changed; see the chain's state and try again",
                receipt.transaction_hash
            );
        }
        Ok(receipt)
    }

    /// The signer's token balance, checked against `needed`.
    pub async fn check_balance(&self, needed: U256) -> anyhow::Result<()> {
        let me = self.me()?;
        let balance = self.token().balanceOf(me).call().await?;
        if balance < needed {
            bail!(
                "{me} holds {} but this needs {}: get {} more",
                self.token.format(balance),
                self.token.format(needed),
                self.token.format(needed - balance)
            );
        }
        Ok(())
    }

    /// Lets `spender` take `amount` of the signer's tokens, unless it already may.
    pub async fn approve(
        &self,
        out: &Output,
        spender: Address,
        amount: U256,
    ) -> anyhow::Result<()> {
        let me = self.me()?;
        let allowance = self.token().allowance(me, spender).call().await?;
        if allowance >= amount {
            return Ok(());
        }
        let token = self.token();
        self.send(out, "approving the tokens", token.approve(spender, amount))
            .await?;
        Ok(())
    }
}

impl Chain {
    /// Signs a permit for `spender` to take `value` of the signer's tokens within the hour, or `None`
    /// when the token's EIP-712 domain is not the one expected (then an approval is sent instead).
    pub async fn permit(
        &self,
        spender: Address,
        value: U256,
    ) -> anyhow::Result<Option<SignedPermit>> {
        let signer = self.signer.as_ref().context("this command needs a key")?;
        let token = self.token();
        let name = token.name().call().await?;
        let domain = alloy::sol_types::eip712_domain! {
            name: name,
            version: "1",
            chain_id: self.deployment.chain_id,
            verifying_contract: self.deployment.token,
        };
        if token.DOMAIN_SEPARATOR().call().await? != domain.separator() {
            return Ok(None);
        }
        let deadline = U256::from(self.now().await? + 3600);
        let message = Permit {
            owner: signer.address(),
            spender,
            value,
            nonce: token.nonces(signer.address()).call().await?,
            deadline,
        };
        let signature = signer.sign_hash_sync(&message.eip712_signing_hash(&domain))?;
        Ok(Some(SignedPermit {
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        }))
    }
}

impl Chain {
    /// Pays `amount` of the signer's tokens to `spender` through a call: with a permit when the token
    /// takes one (`with_permit`; one transaction, simulated before `summary` is confirmed), else
    /// `plain` after an approval when the allowance is short. `summary: None` means already confirmed.
    #[allow(clippy::too_many_arguments)]
    pub async fn pay<'a, D1, D2>(
        &self,
        out: &Output,
        what: &str,
        spender: Address,
        amount: U256,
        summary: Option<String>,
        with_permit: impl FnOnce(SignedPermit) -> CallBuilder<&'a DynProvider, D1>,
        plain: CallBuilder<&'a DynProvider, D2>,
    ) -> anyhow::Result<TransactionReceipt>
    where
        D1: CallDecoder + Clone,
        D2: CallDecoder + Clone,
    {
        if let Some(permit) = self.permit(spender, amount).await? {
            let call = with_permit(permit);
            self.simulate(what, &call).await?;
            if let Some(summary) = summary {
                out.confirm(&summary)?;
            }
            return self.send(out, what, call).await;
        }
        let allowance = self.token().allowance(self.me()?, spender).call().await?;
        let approving = allowance < amount;
        if !approving {
            self.simulate(what, &plain).await?;
        }
        if let Some(mut summary) = summary {
            if approving {
                summary.push_str(&format!(
                    "\n  first approve {spender} to take {}",
                    self.token.format(amount)
                ));
            }
            out.confirm(&summary)?;
        }
        if approving {
            self.approve(out, spender, amount).await?;
        }
        self.send(out, what, plain).await
    }
}

/// A failed call or send as the contract's error (or the transport's, when it never got there).
fn refusal(what: &str, error: alloy::contract::Error) -> anyhow::Error {
    match error.as_revert_data() {
        Some(data) => revert::decode(what, &data).into(),
        None => anyhow::Error::new(error).context(format!("{what} failed")),
    }
}
