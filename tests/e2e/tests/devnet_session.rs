//! A buyer and a provider drive the `utter` binary against `utter devnet`, as a user would: list
//! the offers, open a lease, wait for it to run, read the decrypted access details, top up, let it
//! run dry, see it halted, resume it, stop it, withdraw the provider's earnings, and check every
//! token against the contracts to the wei.
//!
//! The devnet uses the OpenStack lab that `scripts/test` starts (`UTTER_LAB_CLOUDS_YAML`); without
//! one the test says SKIPPED and passes, except under `CI=true`, where it fails. Only the clock is
//! moved behind the user's back (anvil's `evm_setNextBlockTimestamp`, as a test harness would).

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde_json::Value;
use ssh_key::{Algorithm, LineEnding, PrivateKey, rand_core::OsRng};
use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};
use utter_bindings::{ComputeToken, Deployment, LeaseEscrow};
use utter_testkit::anvil::{latest, pinned_anvil, warp};

/// `LeaseStatus` values on chain.
const RUNNING: u8 = 2;
const HALTED: u8 = 3;
const CLOSED: u8 = 5;
/// The demo offer 1's price, wei per second (see `utter devnet`'s agent configuration).
const PRICE: u64 = 100_000_000_000_000;

/// The folder of the test binary's profile (`target/debug`), where `cargo test --workspace` puts
/// the workspace's binaries.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// The three binaries the devnet session runs, from the test's profile folder.
fn binaries() -> PathBuf {
    let dir = profile_dir();
    for name in ["utter", "utter-indexer", "utter-provider-agent"] {
        assert!(
            dir.join(name).is_file(),
            "{} is missing: cargo test --workspace builds it, or run `cargo build -p utter-cli -p \
             utter-indexer -p utter-provider-agent` before `cargo test -p utter-e2e`",
            dir.join(name).display()
        );
    }
    dir
}

/// The lab's clouds.yaml, or `None` after saying SKIPPED (a failure under CI).
fn lab() -> Option<PathBuf> {
    match std::env::var_os("UTTER_LAB_CLOUDS_YAML") {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true but no OpenStack lab: UTTER_LAB_CLOUDS_YAML is unset (scripts/test sets it)"
            )
        }
        None => {
            eprintln!(
                "SKIPPED: no OpenStack lab (UTTER_LAB_CLOUDS_YAML unset; scripts/test starts one)"
            );
            None
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok()
}

/// A running `utter devnet`; stopped with SIGTERM (so it stops its own children) when dropped.
struct Devnet {
    child: Option<Child>,
    dir: PathBuf,
    ports: [u16; 3],
    env: BTreeMap<String, String>,
}

impl Devnet {
    fn start(bin_dir: &Path, clouds_yaml: &Path) -> Self {
        let dir = profile_dir().parent().expect("target/").join("e2e-devnet");
        std::fs::create_dir_all(&dir).expect("the devnet's folder");
        let ports = [free_port(), free_port(), free_port()];
        let chain_id = 100_000
            + std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs()
                % 1_000_000;
        let stderr = std::fs::File::create(dir.join("devnet.stderr")).expect("stderr file");
        let mut child = Command::new(bin_dir.join("utter"))
            .arg("devnet")
            .args(["--cloud", "utter-lab", "--clouds-yaml"])
            .arg(clouds_yaml)
            // The lab's networks: offer 1 then promises a public IPv4 address.
            .args(["--network", "private", "--floating-network", "public"])
            // The lab's fake hypervisor prints no SSH host keys.
            .args(["--host-key-wait-secs", "0"])
            .arg("--dir")
            .arg(&dir)
            .arg("--bin-dir")
            .arg(bin_dir)
            .arg("--anvil")
            .arg(pinned_anvil())
            .args(["--rpc-port", &ports[0].to_string()])
            .args(["--api-port", &ports[1].to_string()])
            .args(["--agent-port", &ports[2].to_string()])
            // A chain id of this run's own: the agent's servers in the shared lab are tagged with
            // it, so servers left by an earlier run are never taken for this run's leases.
            .args(["--chain-id", &chain_id.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("utter devnet starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut devnet = Self {
            child: Some(child),
            dir,
            ports,
            env: BTreeMap::new(),
        };
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("devnet| {line}");
                if line.starts_with("devnet: running") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(240);
        while ready_rx.recv_timeout(Duration::from_millis(500)).is_err() {
            let exited = devnet
                .child
                .as_mut()
                .and_then(|child| child.try_wait().expect("wait"));
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "utter devnet did not get ready ({exited:?}); its stderr:\n{}",
                std::fs::read_to_string(devnet.dir.join("devnet.stderr")).unwrap_or_default()
            );
        }
        let env = std::fs::read_to_string(devnet.dir.join("env")).expect("the devnet's env file");
        devnet.env = env
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        devnet
    }

    fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} is not in the devnet's env file"))
    }

    /// Runs `utter ARGS --json --yes` with the devnet's environment and `key` as the signer, and
    /// returns its JSON result.
    fn utter(&self, key: &str, args: &[&str]) -> Value {
        let output = Command::new(profile_dir().join("utter"))
            .args(args)
            .args(["--json", "--yes"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("UTTER_RPC", self.var("UTTER_RPC"))
            .env("UTTER_INDEXER", self.var("UTTER_INDEXER"))
            .env("UTTER_PRIVATE_KEY", key)
            .output()
            .expect("utter runs");
        assert!(
            output.status.success(),
            "utter {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "utter {args:?} printed no JSON ({error}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Stops the devnet with SIGTERM and waits for it; returns whether it exited successfully.
    fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = i32::try_from(child.id()).expect("a pid fits in i32");
        // SAFETY: kill(2) on our own child's pid; it touches no memory of ours.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The JSON field `key` as a U256 (wei strings).
fn wei(value: &Value, key: &str) -> U256 {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
        .parse()
        .unwrap_or_else(|error| panic!("{key} in {value}: {error}"))
}

/// The chain, read and moved by the test harness (never by the user).
struct Chain {
    provider: DynProvider,
    deployment: Deployment,
}

impl Chain {
    fn escrow(&self) -> LeaseEscrow::LeaseEscrowInstance<&DynProvider> {
        LeaseEscrow::new(self.deployment.escrow, &self.provider)
    }

    async fn balance(&self, who: Address) -> U256 {
        ComputeToken::new(self.deployment.token, &self.provider)
            .balanceOf(who)
            .call()
            .await
            .expect("balanceOf")
    }

    async fn pool_fees(&self) -> U256 {
        self.escrow().poolFees(1).call().await.expect("poolFees")
    }

    async fn status(&self, lease: u64) -> u8 {
        self.escrow()
            .getLease(U256::from(lease))
            .call()
            .await
            .expect("getLease")
            .status
    }

    /// The lease's `LeaseAcknowledged` events, oldest first.
    async fn acknowledgements(&self, lease: u64) -> Vec<LeaseEscrow::LeaseAcknowledged> {
        let logs = self
            .provider
            .get_logs(
                &Filter::new()
                    .address(self.deployment.escrow)
                    .event_signature(LeaseEscrow::LeaseAcknowledged::SIGNATURE_HASH)
                    .topic1(U256::from(lease))
                    .from_block(0),
            )
            .await
            .expect("logs");
        logs.iter()
            .map(|log| {
                LeaseEscrow::LeaseAcknowledged::decode_log(&log.inner)
                    .expect("decodes")
                    .data
            })
            .collect()
    }

    /// The `LeaseEnded` event of the transaction `tx`.
    async fn ended(&self, tx: &Value) -> LeaseEscrow::LeaseEnded {
        let hash: B256 = tx.as_str().expect("a tx hash").parse().expect("a tx hash");
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .expect("receipt")
            .expect("the stop transaction is mined");
        receipt
            .decoded_log::<LeaseEscrow::LeaseEnded>()
            .expect("the stop emitted LeaseEnded")
            .data
    }
}

/// Asks `utter lease show` until `done` holds for its report, for at most `seconds`.
fn show_until(
    devnet: &Devnet,
    buyer_key: &str,
    lease: u64,
    seconds: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let report = devnet.utter(buyer_key, &["lease", "show", &lease.to_string()]);
        if done(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; the last report: {report}; the agent's log: {}",
            devnet.dir.join("agent.log").display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_runs_a_lease_dry_resumes_and_stops_it_and_the_provider_withdraws_to_the_wei() {
    let Some(clouds_yaml) = lab() else {
        return;
    };
    let bin_dir = binaries();
    let mut devnet = Devnet::start(&bin_dir, &clouds_yaml);
    let buyer_key = devnet.var("UTTER_PRIVATE_KEY").to_owned();
    let provider_key = devnet.var("UTTER_DEVNET_PROVIDER_KEY").to_owned();
    let provider = ProviderBuilder::new()
        .connect_http(devnet.var("UTTER_RPC").parse().expect("an RPC URL"))
        .erased();
    let deployment = Deployment::load(devnet.var("UTTER_DEPLOYMENT")).expect("deployment");
    let chain = Chain {
        provider,
        deployment,
    };
    let buyer: Address = alloy::signers::local::PrivateKeySigner::from_bytes(
        &buyer_key.parse().expect("the buyer's key"),
    )
    .expect("a key")
    .address();
    let host: Address = alloy::signers::local::PrivateKeySigner::from_bytes(
        &provider_key.parse().expect("the provider's key"),
    )
    .expect("a key")
    .address();

    // The offers, as the indexer lists them.
    let offers = devnet.utter(&buyer_key, &["offers"]);
    let items = offers["items"].as_array().expect("offers.items");
    let ids: Vec<u64> = items
        .iter()
        .filter_map(|o| o["offer_id"].as_u64())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "the devnet publishes two demo offers: {offers}"
    );
    let small = items
        .iter()
        .find(|o| o["offer_id"] == 1)
        .expect("offer 1 is listed");
    assert_eq!(small["price_per_second"], PRICE.to_string());
    assert_eq!(
        small["public_ipv4"], true,
        "offer 1 promises a public address: {small}"
    );
    assert_eq!(
        small["provider"].as_str().map(str::to_lowercase),
        Some(format!("{host:#x}"))
    );

    // An SSH key of the buyer's.
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).expect("an ed25519 key");
    let public_file = devnet.dir.join("buyer_ed25519.pub");
    let private_file = devnet.dir.join("buyer_ed25519");
    std::fs::write(&public_file, key.public_key().to_openssh().expect("public")).expect("write");
    std::fs::write(
        &private_file,
        key.to_openssh(LineEnding::LF).expect("private").as_bytes(),
    )
    .expect("write");

    let buyer_before = chain.balance(buyer).await;
    let host_before = chain.balance(host).await;
    let fees_before = chain.pool_fees().await;

    // Open a lease for ten minutes and wait for the machine.
    let opened = devnet.utter(
        &buyer_key,
        &[
            "lease",
            "open",
            "--offer",
            "1",
            "--image",
            "ubuntu-24.04",
            "--ssh-key",
            public_file.to_str().expect("utf-8 path"),
            "--duration",
            "10m",
        ],
    );
    let lease = opened["lease_id"].as_u64().expect("lease_id");
    let deposit = wei(&opened, "deposit");
    let anon_fee = wei(&opened, "anon_fee");
    assert_eq!(deposit, U256::from(PRICE) * U256::from(600));
    let lease_arg = lease.to_string();
    show_until(&devnet, &buyer_key, lease, 180, "the lease to run", |r| {
        r["status"] == "running"
    });
    assert_eq!(chain.status(lease).await, RUNNING);

    // The access details, decrypted with the buyer's SSH key.
    let shown = devnet.utter(
        &buyer_key,
        &[
            "lease",
            "show",
            &lease_arg,
            "--ssh-identity",
            private_file.to_str().expect("utf-8 path"),
        ],
    );
    let access = &shown["access"];
    assert_eq!(access["lease_id"], lease, "{shown}");
    assert_eq!(access["chain_id"], chain.deployment.chain_id, "{shown}");
    // Offer 1 promises a public address: a floating IP of the lab's `public` network.
    let address = access["host"].as_str().unwrap_or_default();
    assert!(
        address
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.octets()[..3] == [203, 0, 113]),
        "{shown}"
    );
    assert!(access["port"].as_u64().is_some_and(|p| p > 0), "{shown}");
    assert!(
        !access["user"].as_str().unwrap_or_default().is_empty(),
        "{shown}"
    );
    // The fingerprint the buyer reads is the one the provider committed on chain (the lab's fake
    // hypervisor prints no host key to the console: then both are empty).
    let committed = chain.acknowledgements(lease).await[0].hostKeyFingerprint;
    let fingerprint = access["host_key_fingerprint"].as_str().expect("a string");
    if committed == B256::ZERO {
        assert_eq!(fingerprint, "", "{shown}");
    } else {
        assert!(fingerprint.starts_with("SHA256:"), "{shown}");
    }

    // Top up five minutes while it runs: the runway grows by 300 s.
    let before_top_up = devnet.utter(&buyer_key, &["lease", "show", &lease_arg]);
    let topped = devnet.utter(
        &buyer_key,
        &["lease", "top-up", &lease_arg, "--duration", "5m"],
    );
    let top_up_1 = wei(&topped, "amount");
    assert_eq!(top_up_1, U256::from(PRICE) * U256::from(300));
    let paid_until = topped["paid_until"].as_u64().expect("paid_until");
    assert_eq!(
        paid_until,
        before_top_up["paid_until"].as_u64().expect("paid_until") + 300,
        "{topped}"
    );

    // Let it run dry: the clock jumps past its paid time; the agent halts it.
    let (_, now) = latest(&chain.provider).await.expect("latest block");
    warp(&chain.provider, paid_until - now + 5)
        .await
        .expect("warp");
    show_until(&devnet, &buyer_key, lease, 120, "the lease to halt", |r| {
        r["status"] == "halted"
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while chain.status(lease).await != HALTED {
        assert!(
            Instant::now() < deadline,
            "the agent did not halt the dry lease on chain"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let halted = devnet.utter(&buyer_key, &["lease", "show", &lease_arg]);
    assert_eq!(halted["balance"], "0", "{halted}");

    // A top-up resumes it once the provider acknowledges the restart.
    let resumed = devnet.utter(
        &buyer_key,
        &["lease", "top-up", &lease_arg, "--duration", "10m"],
    );
    let top_up_2 = wei(&resumed, "amount");
    assert_eq!(top_up_2, U256::from(PRICE) * U256::from(600));
    show_until(
        &devnet,
        &buyer_key,
        lease,
        180,
        "the lease to resume",
        |r| r["status"] == "running",
    );
    let acknowledgements = chain.acknowledgements(lease).await;
    assert_eq!(acknowledgements.len(), 2, "a boot and a restart");
    let restarted_at = acknowledgements[1].startedAt.to::<u64>();

    // Two minutes of the second run pass; then the buyer stops it: the unspent balance comes back.
    warp(&chain.provider, 120).await.expect("warp");
    let stopped = devnet.utter(&buyer_key, &["lease", "stop", &lease_arg]);
    let refund = wei(&stopped, "refund");
    let ended = chain.ended(&stopped["tx"]).await;
    assert_eq!(ended.refund, refund);
    assert_eq!(chain.status(lease).await, CLOSED);
    let second_run = U256::from(PRICE) * U256::from(ended.endedAt.to::<u64>() - restarted_at);
    assert!(
        second_run >= U256::from(PRICE) * U256::from(120),
        "the second run lasted the warp"
    );
    assert_eq!(
        refund,
        top_up_2 - second_run,
        "the second run bills per second"
    );

    // The provider withdraws; the pool keeps its fee.
    let withdrawn = devnet.utter(
        &provider_key,
        &["provider", "withdraw", "--leases", &lease_arg],
    );
    let amount = wei(&withdrawn, "amount");
    // The first run earned everything it was given, paid to the provider when the top-up resumed
    // it; the second run earned its seconds, paid by this withdrawal. The pool's fee is taken from
    // each payment, rounded down.
    let fee_of =
        |payout: U256| payout * U256::from(utter_bindings::demo::POOL_FEE_BPS) / U256::from(10_000);
    let first_run = deposit + top_up_1;
    assert_eq!(
        amount,
        second_run - fee_of(second_run),
        "the withdrawal pays the second run less the pool's fee"
    );
    assert_eq!(
        chain.balance(host).await - host_before,
        first_run - fee_of(first_run) + amount,
        "the provider got both runs less the pool's fees"
    );
    assert_eq!(
        chain.pool_fees().await - fees_before,
        anon_fee + fee_of(first_run) + fee_of(second_run),
        "the pool holds its fees and the anonymous-start fee"
    );
    assert_eq!(
        buyer_before - chain.balance(buyer).await,
        deposit + anon_fee + top_up_1 + top_up_2 - refund,
        "the buyer paid the deposit, the fee and the top-ups, less the refund"
    );
    assert_eq!(
        chain.balance(chain.deployment.escrow).await,
        chain.pool_fees().await,
        "the escrow holds nothing but the pool's fees"
    );

    // Stopping the devnet leaves nothing listening.
    let ports = devnet.ports;
    assert!(devnet.stop(), "utter devnet exits cleanly on SIGTERM");
    for port in ports {
        assert!(
            port_is_free(port),
            "127.0.0.1:{port} still answers after the devnet stopped"
        );
    }
}
