//! A real chain for the `utter` binary: the pinned anvil, the deployed contracts, the demo market
//! (pool 1, a funded provider and buyer), an offer, SSH keys, and the binary run as a user would.

#![allow(dead_code, unreachable_pub, missing_docs)]

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, Bytes, U256, aliases::U96, keccak256},
    providers::{DynProvider, Provider},
};
use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};
use utter_bindings::{
    ComputeToken, Deployment, LeaseEscrow, Offers, ProviderRegistry,
    demo::{DemoAccounts, setup_market, tokens},
};
use utter_testkit::anvil::{confirm, pin_clock, spawn_anvil, wallets};

/// The image the test offer boots.
pub const IMAGE: &str = "ubuntu-24.04";
/// The test offer's price: 0.0001 token per second (0.36 per hour).
pub fn price() -> U256 {
    tokens(1) / U256::from(10_000)
}

/// One chain with the market set up.
pub struct Market {
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub deployment: Deployment,
    pub dir: PathBuf,
    pub deployment_file: PathBuf,
    pub treasury: Address,
    pub operator: Address,
    pub host: Address,
    pub buyer: Address,
    /// Accounts with ETH and no tokens, for a test's own use.
    pub spare: Vec<Address>,
    /// SSH key pair of the buyer: (public file, private file, public text).
    pub ssh_pub: PathBuf,
    pub ssh_key: PathBuf,
    pub ssh_pub_text: String,
}

/// The result of one run of `utter`.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        assert!(self.ok, "utter failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    pub fn err(&self) -> &str {
        assert!(
            !self.ok,
            "utter succeeded but should not have: {}",
            self.stdout
        );
        &self.stderr
    }
}

impl Market {
    pub async fn start(name: &str) -> Self {
        let anvil = spawn_anvil();
        let (provider, accounts) = wallets(&anvil, 10);
        pin_clock(&provider).await.expect("pin the clock");
        let [treasury, operator, host, buyer] = accounts[..4].try_into().unwrap();
        let deployment = utter_bindings::deploy(&provider, treasury)
            .await
            .expect("deploy");
        setup_market(
            &provider,
            &deployment,
            DemoAccounts {
                treasury,
                operator,
                provider: host,
                buyer,
            },
        )
        .await
        .expect("the demo market");
        let dir = std::env::temp_dir().join(format!("utter-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let deployment_file = dir.join("deployment.json");
        deployment
            .save(&deployment_file)
            .expect("save the deployment");

        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .unwrap();
        let ssh_pub_text = key.public_key().to_openssh().unwrap();
        let ssh_pub = dir.join("id_ed25519.pub");
        let ssh_key = dir.join("id_ed25519");
        std::fs::write(&ssh_pub, format!("{ssh_pub_text}\n")).unwrap();
        std::fs::write(
            &ssh_key,
            key.to_openssh(ssh_key::LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        Self {
            anvil,
            provider,
            deployment,
            dir,
            deployment_file,
            treasury,
            operator,
            host,
            buyer,
            spare: accounts[4..].to_vec(),
            ssh_pub,
            ssh_key,
            ssh_pub_text,
        }
    }

    /// The private key of an anvil account, as hex.
    pub fn key_of(&self, who: Address) -> String {
        let index = self
            .anvil
            .addresses()
            .iter()
            .position(|a| *a == who)
            .expect("an anvil account");
        format!(
            "0x{}",
            alloy::primitives::hex::encode(self.anvil.keys()[index].to_bytes())
        )
    }

    /// Runs `utter args...` signing as `who` (when given), with stdin `input` (closed when `None`).
    pub fn utter_with(
        &self,
        who: Option<Address>,
        args: &[&str],
        env: &[(&str, &str)],
        input: Option<&str>,
    ) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_utter"));
        command
            .args(args)
            .env_remove("UTTER_KEYSTORE")
            .env_remove("UTTER_KEYSTORE_PASSWORD")
            .env_remove("UTTER_PRIVATE_KEY")
            .env("UTTER_RPC", self.anvil.endpoint())
            .env("UTTER_DEPLOYMENT", &self.deployment_file)
            // No indexer unless a test starts one: a command that needs it fails loudly.
            .env("UTTER_INDEXER", "http://127.0.0.1:9")
            .env("TZ", "UTC")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(who) = who {
            command.env("UTTER_PRIVATE_KEY", self.key_of(who));
        }
        for (k, v) in env {
            if v.is_empty() {
                command.env_remove(k);
            } else {
                command.env(k, v);
            }
        }
        let mut child = command.spawn().expect("utter runs");
        if let Some(input) = input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `utter args...` as `who`.
    pub fn utter(&self, who: Address, args: &[&str]) -> Run {
        self.utter_with(Some(who), args, &[], None)
    }

    /// `utter lease open --offer OFFER --image IMAGE --ssh-key <the buyer's public key> --yes`, run as
    /// the buyer: give the funding (`.duration(..)` or `.amount(..)`), change what the test varies,
    /// then `.run()` or `.json()`.
    pub fn lease_open(&self, offer: impl ToString) -> LeaseOpen<'_> {
        LeaseOpen {
            market: self,
            offer: offer.to_string(),
            image: IMAGE.into(),
            ssh_key: self.ssh_pub.clone(),
            extra: Vec::new(),
            yes: true,
            answer: None,
            env: Vec::new(),
        }
    }

    /// The provider stakes in pool 1, publishes its age key and an offer of [`IMAGE`] at [`price`]
    /// with capacity 4; returns the offer id.
    pub async fn offer(&self) -> u32 {
        let registry = ProviderRegistry::new(self.deployment.registry, &self.provider);
        let token = ComputeToken::new(self.deployment.token, &self.provider);
        confirm(
            "approve",
            token
                .approve(self.deployment.registry, tokens(200))
                .from(self.host),
        )
        .await;
        confirm("stake", registry.stake(1, tokens(200)).from(self.host)).await;
        let identity = age::x25519::Identity::generate();
        std::fs::write(
            self.dir.join("provider.age"),
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string()),
        )
        .unwrap();
        let key = utter_provider_agent::user_data::public_key(&identity);
        confirm("set key", registry.setEncryptionKey(key).from(self.host)).await;
        let offers = Offers::new(self.deployment.offers, &self.provider);
        let spec = Offers::OfferSpec {
            vcpus: 2,
            ramMiB: 4096,
            diskGiB: 40,
            gpuCount: 0,
            bandwidthUpMbps: 100,
            bandwidthDownMbps: 100,
            publicIpv4: true,
            publicIpv6: false,
            gpuModel: String::new(),
            region: "eu-test-1".into(),
        };
        let terms = Offers::OfferTerms {
            pricePerSecond: U96::from(price().to::<u128>()),
            capacity: 4,
            bootTimeout: 600,
            retention: 3600,
        };
        let images = vec![Offers::Image {
            id: keccak256(IMAGE),
            name: IMAGE.into(),
        }];
        let receipt = confirm(
            "publish",
            offers.publishOffer(1, spec, terms, images).from(self.host),
        )
        .await;
        receipt
            .decoded_log::<Offers::OfferPublished>()
            .expect("published")
            .offerId
    }

    /// The provider acknowledges lease `id` with access details encrypted to the buyer's key.
    pub async fn acknowledge(&self, id: u64) -> (u64, access::AccessDetails) {
        let details = access::AccessDetails {
            chain_id: self.deployment.chain_id,
            lease_id: id,
            host: "203.0.113.7".into(),
            port: 2222,
            user: "ubuntu".into(),
            host_key_fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
        };
        let ciphertext = access::encrypt(&self.ssh_pub_text, &details).unwrap();
        let escrow = LeaseEscrow::new(self.deployment.escrow, &self.provider);
        let receipt = confirm(
            "acknowledge",
            escrow
                .acknowledge(
                    U256::from(id),
                    Bytes::from(ciphertext),
                    B256::repeat_byte(9),
                )
                .from(self.host),
        )
        .await;
        let ack = receipt
            .decoded_log::<LeaseEscrow::LeaseAcknowledged>()
            .unwrap();
        (ack.startedAt.to::<u64>(), details)
    }

    /// A new signing provider, whose nonces are read afresh: the test's own provider caches them, and
    /// `utter` sends from the same accounts in between.
    pub fn fresh(&self) -> DynProvider {
        wallets(&self.anvil, 10).0
    }

    pub async fn balance(&self, who: Address) -> U256 {
        ComputeToken::new(self.deployment.token, &self.provider)
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    pub async fn nonce(&self, who: Address) -> u64 {
        self.provider.get_transaction_count(who).await.unwrap()
    }

    pub fn escrow(
        &self,
    ) -> utter_bindings::lease_escrow::LeaseEscrow::LeaseEscrowInstance<&DynProvider> {
        LeaseEscrow::new(self.deployment.escrow, &self.provider)
    }
}

/// One `utter lease open` by the buyer, built by [`Market::lease_open`].
pub struct LeaseOpen<'a> {
    market: &'a Market,
    offer: String,
    image: String,
    ssh_key: PathBuf,
    extra: Vec<String>,
    yes: bool,
    answer: Option<String>,
    env: Vec<(String, String)>,
}

impl LeaseOpen<'_> {
    /// `--duration duration`.
    pub fn duration(self, duration: &str) -> Self {
        self.args(&["--duration", duration])
    }

    /// `--amount amount`.
    pub fn amount(self, amount: &str) -> Self {
        self.args(&["--amount", amount])
    }

    /// Another image than [`IMAGE`].
    pub fn image(mut self, image: &str) -> Self {
        self.image = image.into();
        self
    }

    /// Another file than the buyer's public key as `--ssh-key`.
    pub fn ssh_key(mut self, path: &Path) -> Self {
        self.ssh_key = path.to_owned();
        self
    }

    /// More flags.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Without `--yes`, stdin closed: nothing answers the confirmation.
    pub fn without_yes(mut self) -> Self {
        self.yes = false;
        self
    }

    /// Without `--yes`, `answer` typed at the confirmation.
    pub fn without_yes_answering(mut self, answer: &str) -> Self {
        self.yes = false;
        self.answer = Some(answer.into());
        self
    }

    /// With these environment variables (as [`Market::utter_with`] takes them).
    pub fn env(mut self, env: &[(&str, &str)]) -> Self {
        self.env
            .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    /// The arguments after `utter`.
    fn argv(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "lease",
            "open",
            "--offer",
            &self.offer,
            "--image",
            &self.image,
            "--ssh-key",
            self.ssh_key.to_str().unwrap(),
        ]
        .map(str::to_owned)
        .into();
        args.extend(self.extra.iter().cloned());
        if self.yes {
            args.push("--yes".into());
        }
        args
    }

    /// Runs it.
    pub fn run(&self) -> Run {
        let argv = self.argv();
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.market
            .utter_with(Some(self.market.buyer), &args, &env, self.answer.as_deref())
    }

    /// Runs it with `--json` and returns what it printed (it must succeed).
    pub fn json(self) -> serde_json::Value {
        self.args(&["--json"]).run().json()
    }
}

pub use utter_provider_agent::access;

/// A wei amount in a JSON field (a decimal string).
pub fn wei(value: &serde_json::Value) -> U256 {
    U256::from_str_radix(value.as_str().expect("a decimal string"), 10).expect("wei")
}
