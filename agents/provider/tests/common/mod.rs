//! A market on a real anvil for the agent's tests: the contracts deployed, a pool, a funded provider
//! (whose key the agent gets) and a funded buyer with an SSH key pair.

#![allow(dead_code, unreachable_pub)]

use alloy::{
    network::EthereumWallet,
    node_bindings::AnvilInstance,
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use ssh_key::{Algorithm, LineEnding, PrivateKey, rand_core::OsRng};
pub use utter_bindings::demo::tokens;
use utter_bindings::{ComputeToken, Deployment, LeaseEscrow, Pools, deploy};
use utter_provider_agent::{
    agent::Agent,
    chain::ChainView,
    cloud::Cloud,
    config::{FileConfig, image_id},
};
use utter_testkit::anvil::{confirm, mine, pin_clock, spawn_anvil, wallets};

/// Token wei per second the test offer charges.
pub const PRICE: u64 = 1_000_000_000_000;
/// Blocks the agent waits under the head.
pub const CONFIRMATIONS: u64 = 2;

/// An in-memory cloud with the flavor `utter.small` (1 vCPU, 512 MiB, 5 GiB) and the image
/// `utter-tiny`, as the market's configuration names them.
pub fn memory_cloud() -> utter_provider_agent::cloud::memory::MemoryCloud {
    utter_provider_agent::cloud::memory::MemoryCloud::new(
        vec![utter_provider_agent::cloud::Flavor {
            id: "f-small".into(),
            name: "utter.small".into(),
            vcpus: 1,
            ram_mib: 512,
            disk_gib: 5,
        }],
        vec![("utter-tiny".into(), "img-tiny".into())],
    )
}

/// Parses an agent configuration written by a test.
pub fn parse_config(text: &str) -> FileConfig {
    FileConfig::parse(std::path::Path::new("agent.toml"), text).expect("config")
}

/// The market.
pub struct Market {
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub deployment: Deployment,
    pub operator: Address,
    pub host: Address,
    pub buyer: Address,
    pub pool_id: u32,
    pub ssh_public: String,
    pub ssh_private: String,
    pub state_dir: std::path::PathBuf,
}

impl Market {
    pub async fn new(name: &str) -> Self {
        let anvil = spawn_anvil();
        let (provider, accounts) = wallets(&anvil, 4);
        pin_clock(&provider).await.expect("pin the clock");
        let [deployer, operator, host, buyer]: [Address; 4] = accounts.try_into().expect("4");
        // Every test deploys from its own nonce, so its contracts (and with them the agent's tags,
        // which name chain and escrow) differ from those of the tests sharing the same lab.
        let salt = alloy::primitives::keccak256(name.as_bytes());
        let nonce = 1 + u64::from(u16::from_be_bytes([salt[0], salt[1]]));
        let _: serde_json::Value = provider
            .raw_request("anvil_setNonce".into(), (deployer, U256::from(nonce)))
            .await
            .expect("anvil_setNonce");
        let deployment = deploy(&provider, deployer).await.expect("deploys");
        let token = ComputeToken::new(deployment.token, &provider);
        confirm(
            "fund host",
            token.transfer(host, tokens(1_000)).from(deployer),
        )
        .await;
        confirm(
            "fund buyer",
            token.transfer(buyer, tokens(100)).from(deployer),
        )
        .await;
        let pools = Pools::new(deployment.pools, &provider);
        let config = Pools::PoolConfig {
            name: "agent test pool".into(),
            metadataURI: "https://pool.example".into(),
            feeBps: 1_000,
            noBootSlashBps: 1_000,
            bootFailSlashBps: 500,
            providerUnbonding: 86_400,
            minStake: U96::from(tokens(10).to::<u128>()),
            trust: Pools::TrustParams {
                trustedDeposit: U96::ZERO,
                trustedKarma: U96::ZERO,
                anonTargetShareBps: 2_000,
                maxBuyerSlashBps: 1_000,
                baseLeases: 4,
                maxLeases: 8,
                depositPerLease: U96::ZERO,
                karmaPerLease: U96::ZERO,
                anonMinFee: U96::ZERO,
                anonMaxFee: U96::ZERO,
            },
        };
        confirm("create pool", pools.createPool(config).from(operator)).await;
        confirm(
            "buyer approves the escrow",
            token.approve(deployment.escrow, U256::MAX).from(buyer),
        )
        .await;
        let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).expect("key");
        let state_dir =
            std::env::temp_dir().join(format!("utter-agent-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state_dir);
        Self {
            ssh_public: key.public_key().to_openssh().expect("public"),
            ssh_private: key.to_openssh(LineEnding::LF).expect("private").to_string(),
            anvil,
            provider,
            deployment,
            operator,
            host,
            buyer,
            pool_id: 1,
            state_dir,
        }
    }

    /// A provider that signs as the host only: what the agent gets.
    pub fn host_provider(&self) -> DynProvider {
        let signer = PrivateKeySigner::from(self.anvil.keys()[2].clone());
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(self.anvil.endpoint_url())
            .erased()
    }

    pub fn config(&self, flavor: &str, glance_image: &str) -> FileConfig {
        FileConfig::parse(
            std::path::Path::new("agent.toml"),
            &self.config_text(flavor, glance_image),
        )
        .expect("config")
    }

    /// [`Self::config`] with `lines` added to its `[cloud]` table.
    pub fn config_with_cloud(&self, flavor: &str, glance_image: &str, lines: &str) -> FileConfig {
        parse_config(
            &self
                .config_text(flavor, glance_image)
                .replace("[cloud]\n", &format!("[cloud]\n{lines}\n")),
        )
    }

    /// [`Self::config`] for an offer that promises a public IPv4 address: servers boot on
    /// `network`, and their floating IPs come from `floating_network`.
    pub fn public_config(
        &self,
        flavor: &str,
        glance_image: &str,
        network: &str,
        floating_network: &str,
    ) -> FileConfig {
        let text = self
            .config_text(flavor, glance_image)
            .replace(
                "[cloud]\n",
                &format!(
                    "[cloud]\nnetwork = \"{network}\"\nfloating_network = \"{floating_network}\"\n"
                ),
            )
            .replace(
                "region = \"lab-1\"\n",
                "region = \"lab-1\"\npublic_ipv4 = true\n",
            );
        FileConfig::parse(std::path::Path::new("agent.toml"), &text).expect("config")
    }

    pub fn config_text(&self, flavor: &str, glance_image: &str) -> String {
        format!(
            r#"
confirmations = {CONFIRMATIONS}
cloud_poll_ms = 0
state_dir = "{}"
indexer_url = "http://127.0.0.1:8580"
withdraw_threshold = "1"
withdraw_interval_secs = 0
[cloud]
name = "test"
# The lab's fake hypervisor prints no SSH host keys: do not wait for them.
host_key_wait_secs = 0
[[offers]]
name = "small"
pool_id = {}
flavor = "{flavor}"
images = [{{ name = "ubuntu-24.04", glance = "{glance_image}" }}]
price_per_second = "{PRICE}"
capacity = 4
boot_timeout = 600
retention = 3600
region = "lab-1"
"#,
            self.state_dir.display(),
            self.pool_id
        )
    }

    pub fn agent<C: Cloud>(
        &self,
        cloud: std::sync::Arc<C>,
        flavor: &str,
        glance_image: &str,
    ) -> Agent<C> {
        self.agent_with_config(cloud, self.config(flavor, glance_image))
    }

    pub fn agent_with_config<C: Cloud>(
        &self,
        cloud: std::sync::Arc<C>,
        config: FileConfig,
    ) -> Agent<C> {
        let chain = ChainView::new(
            self.host_provider(),
            self.deployment,
            self.host,
            CONFIRMATIONS,
        );
        Agent::new(config, chain, cloud, self.host_provider())
    }

    /// The scope tag the agent (the host) gives its servers in this market.
    pub fn scope(&self) -> String {
        utter_provider_agent::agent::scope_tag(
            self.deployment.chain_id,
            self.deployment.escrow,
            self.host,
        )
    }

    pub fn escrow(&self) -> LeaseEscrow::LeaseEscrowInstance<&DynProvider> {
        LeaseEscrow::new(self.deployment.escrow, &self.provider)
    }

    /// The buyer opens a lease on `offer_id` paying for `seconds`.
    pub async fn open_lease(&self, offer_id: u32, seconds: u64) -> u64 {
        self.open_lease_with_user_data(offer_id, seconds, Vec::new())
            .await
    }

    /// Like [`Self::open_lease`], with encrypted user data.
    pub async fn open_lease_with_user_data(
        &self,
        offer_id: u32,
        seconds: u64,
        user_data: Vec<u8>,
    ) -> u64 {
        let mut params = self.lease_params(offer_id, seconds);
        params.encryptedUserData = Bytes::from(user_data);
        self.open(params).await
    }

    /// What [`Self::open_lease`] asks for: ubuntu-24.04, the buyer's ed25519 key, `seconds` paid.
    pub fn lease_params(&self, offer_id: u32, seconds: u64) -> LeaseEscrow::OpenParams {
        LeaseEscrow::OpenParams {
            offerId: offer_id,
            imageId: image_id("ubuntu-24.04"),
            deposit: U256::from(PRICE) * U256::from(seconds),
            maxPricePerSecond: U256::from(PRICE),
            maxAnonFee: U256::ZERO,
            sshPublicKey: self.ssh_public.clone(),
            encryptedUserData: Bytes::new(),
        }
    }

    /// The buyer opens a lease with these parameters; returns its id.
    pub async fn open(&self, params: LeaseEscrow::OpenParams) -> u64 {
        let receipt = confirm(
            "open lease",
            self.escrow().openLease(params).from(self.buyer),
        )
        .await;
        receipt
            .decoded_log::<LeaseEscrow::LeaseOpened>()
            .expect("LeaseOpened")
            .data
            .leaseId
            .to()
    }

    /// Mines enough blocks for the agent to see everything sent so far.
    pub async fn settle_chain(&self) {
        mine(&self.provider, CONFIRMATIONS).await.expect("mine");
    }

    /// Waits until anvil has mined every transaction the agent (the host) sent: the agent does not
    /// wait for its own.
    pub async fn mined(&self) {
        for _ in 0..500 {
            let latest = self
                .provider
                .get_transaction_count(self.host)
                .await
                .expect("nonce");
            let pending = self
                .provider
                .get_transaction_count(self.host)
                .pending()
                .await
                .expect("pending nonce");
            if latest == pending {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the agent's transactions were not mined within 5 s");
    }

    /// `LeaseEscrow.getLease(id)`, once the agent's transactions are mined.
    pub async fn lease(&self, lease_id: u64) -> LeaseEscrow::Lease {
        self.mined().await;
        self.escrow()
            .getLease(U256::from(lease_id))
            .call()
            .await
            .expect("getLease")
    }

    /// The lease's status, once the agent's transactions are mined.
    pub async fn status(&self, lease_id: u64) -> u8 {
        self.lease(lease_id).await.status
    }

    /// An offer's status (1 active, 2 paused, 3 retired), once the agent's transactions are mined.
    pub async fn offer_status(&self, offer_id: u32) -> u8 {
        self.mined().await;
        utter_bindings::Offers::new(self.deployment.offers, &self.provider)
            .getOffer(offer_id)
            .call()
            .await
            .expect("getOffer")
            .status
    }

    /// What a lease still holds (zero once refunded or paid out), once the agent's transactions
    /// are mined.
    pub async fn funds(&self, lease_id: u64) -> U96 {
        self.lease(lease_id).await.funds
    }

    /// The latest acknowledgement's encrypted access details of a lease.
    pub async fn encrypted_access(&self, lease_id: u64) -> Vec<u8> {
        let logs = self
            .provider
            .get_logs(
                &Filter::new()
                    .address(self.deployment.escrow)
                    .event_signature(LeaseEscrow::LeaseAcknowledged::SIGNATURE_HASH)
                    .topic1(U256::from(lease_id))
                    .from_block(0),
            )
            .await
            .expect("logs");
        let log = logs.last().expect("acknowledged");
        LeaseEscrow::LeaseAcknowledged::decode_log(&log.inner)
            .expect("decodes")
            .data
            .encryptedAccess
            .to_vec()
    }
}

/// `LeaseStatus` values.
pub const PENDING: u8 = 1;
pub const RUNNING: u8 = 2;
pub const HALTED: u8 = 3;
pub const RESTART_PENDING: u8 = 4;
pub const CLOSED: u8 = 5;
