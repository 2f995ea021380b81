//! `utter devnet`: the whole exchange on one machine.
//!
//! Starts anvil (a fresh chain), deploys the contracts, sets up the demo market
//! ([`utter_bindings::demo`]), starts the OpenStack lab (`scripts/openstack-lab`) or uses a real
//! cloud, the indexer on SQLite and a provider agent with two demo offers and a hot spare, then
//! prints where everything is. Ctrl-C, SIGTERM or any child ending stops all of them.

mod children;

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context as _, bail};
use children::Children;
use clap::Args;
use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use tokio::process::Command;
use utter_bindings::{
    Deployment,
    demo::{BUYER_TOKENS, DemoAccounts, PROVIDER_TOKENS, setup_market},
};

/// Options of `utter devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Use this cloud from clouds.yaml instead of starting the OpenStack lab.
    #[arg(long, value_name = "NAME")]
    pub cloud: Option<String>,
    /// The clouds.yaml holding `--cloud` (default: OpenStack's search path).
    #[arg(long, value_name = "FILE", requires = "cloud")]
    pub clouds_yaml: Option<PathBuf>,
    /// The network the demo servers boot on (default: the lab's `private`; `none` with `--cloud`).
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// The external network of floating IPs (default: the lab's `public`; none with `--cloud`).
    /// With one, the first demo offer promises a public IPv4 address.
    #[arg(long, value_name = "NAME")]
    pub floating_network: Option<String>,
    /// Seconds the agent waits for a guest's SSH host keys before acknowledging without them
    /// (default: 0 with the lab, whose fake hypervisor prints none; the agent's default otherwise).
    #[arg(long, value_name = "SECS")]
    pub host_key_wait_secs: Option<u64>,
    /// The Nova flavor of the demo offers.
    #[arg(long, env = "UTTER_DEVNET_FLAVOR", default_value = "utter.small")]
    pub flavor: String,
    /// The Glance image the demo offers boot.
    #[arg(long, env = "UTTER_DEVNET_IMAGE", default_value = "utter-tiny")]
    pub image: String,
    /// The state folder: logs, deployment, indexer database, agent state, the lab, `env`.
    #[arg(long, value_name = "DIR", default_value = "target/devnet")]
    pub dir: PathBuf,
    /// The chain's JSON-RPC port (anvil).
    #[arg(long, default_value_t = 8545)]
    pub rpc_port: u16,
    /// The indexer API's port.
    #[arg(long, default_value_t = 8580)]
    pub api_port: u16,
    /// The provider agent's HTTP port (health, metrics, console logs).
    #[arg(long, default_value_t = 8590)]
    pub agent_port: u16,
    /// The OpenStack lab's first port (it uses five from here).
    #[arg(long, default_value_t = 17600)]
    pub lab_port_base: u16,
    /// The chain id anvil serves. The agent tags its servers with chain and escrow, so devnets
    /// sharing one cloud keep apart by running different chain ids.
    #[arg(long, default_value_t = 31337)]
    pub chain_id: u64,
    /// Mine a block every SECS seconds (default: a block per transaction).
    #[arg(long, value_name = "SECS")]
    pub block_time: Option<u64>,
    /// Where `utter-indexer` and `utter-provider-agent` are (default: next to this `utter`).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// The anvil to run.
    #[arg(long, env = "UTTER_DEVNET_ANVIL", default_value = "anvil")]
    pub anvil: PathBuf,
}

/// How many offers the devnet's agent publishes (see [`agent_config`]).
const DEMO_OFFERS: usize = 2;

/// The ports a devnet listens on, each with the flag that moves it.
fn ports(args: &DevnetArgs) -> [(u16, &'static str); 3] {
    [
        (args.rpc_port, "--rpc-port"),
        (args.api_port, "--api-port"),
        (args.agent_port, "--agent-port"),
    ]
}

/// Everything `run` needs to know once the paths are settled.
#[derive(Debug)]
struct Layout {
    dir: PathBuf,
    indexer_bin: PathBuf,
    agent_bin: PathBuf,
    /// `scripts/openstack-lab` when the lab is used.
    lab_script: Option<PathBuf>,
    /// `--clouds-yaml`, absolute.
    clouds_yaml: Option<PathBuf>,
}

impl Layout {
    fn lab_dir(&self) -> PathBuf {
        self.dir.join("openstack-lab")
    }
    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }
}

/// anvil's accounts as it reports them in `--config-out`.
#[derive(Debug, serde::Deserialize)]
struct AnvilAccounts {
    available_accounts: Vec<alloy::primitives::Address>,
    private_keys: Vec<String>,
}

/// What the summary and the env file show.
#[derive(Debug)]
struct Running {
    rpc: String,
    api: String,
    agent: String,
    deployment: Deployment,
    accounts: AnvilAccounts,
    cloud: String,
    clouds_yaml: Option<PathBuf>,
}

/// Runs the devnet until Ctrl-C, SIGTERM or a child's exit; stops everything it started.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let layout = prepare(&args)?;
    let mut children = Children::default();
    let mut lab_started = false;
    let mut interrupt = Interrupt::new()?;

    let started = tokio::select! {
        started = start(&args, &layout, &mut children, &mut lab_started) => started,
        signal = interrupt.recv() => Err(anyhow::anyhow!("{signal} while starting")),
    };
    let outcome = match started {
        Ok(running) => {
            write_env(&layout, &running)?;
            print_summary(&layout, &running);
            watch(&mut children, &mut interrupt).await
        }
        Err(error) => Err(error),
    };
    eprintln!("devnet: stopping");
    children.stop().await;
    if lab_started {
        stop_lab(&layout).await;
    }
    let _ = std::fs::remove_file(layout.dir.join("env"));
    eprintln!("devnet: stopped; the logs are in {}", layout.dir.display());
    outcome
}

/// Checks the ports and binaries and clears the last run's state, before anything starts.
fn prepare(args: &DevnetArgs) -> anyhow::Result<Layout> {
    for (port, flag) in ports(args) {
        if TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_err() {
            bail!(
                "127.0.0.1:{port} is already in use (an earlier devnet still running?): stop what \
                 listens there or choose another port with {flag}"
            );
        }
    }
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .context("locating the utter binary")?
            .parent()
            .context("the utter binary has no folder")?
            .to_path_buf(),
    };
    let binary = |name: &str| {
        let path = bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(anyhow::anyhow!(
                "{} is missing: build it (cargo build --release -p utter-indexer -p \
                 utter-provider-agent) or point --bin-dir at the folder holding it",
                path.display()
            ))
        }
    };
    let indexer_bin = binary("utter-indexer")?;
    let agent_bin = binary("utter-provider-agent")?;
    let lab_script = match &args.cloud {
        Some(_) => None,
        None => Some(find_lab_script()?),
    };
    // The agent gets it as an absolute path, whatever its working folder.
    let clouds_yaml = match &args.clouds_yaml {
        Some(file) => Some(
            std::fs::canonicalize(file)
                .with_context(|| format!("--clouds-yaml {}", file.display()))?,
        ),
        None => None,
    };
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating the state folder {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    for stale in ["env", "indexer.db", "indexer.db-wal", "indexer.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let _ = std::fs::remove_dir_all(dir.join("agent"));
    for log in ["anvil", "indexer", "agent", "openstack-lab"] {
        let _ = std::fs::remove_file(dir.join(format!("{log}.log")));
    }
    Ok(Layout {
        dir,
        indexer_bin,
        agent_bin,
        lab_script,
        clouds_yaml,
    })
}

/// `scripts/openstack-lab` of the repository this `utter` was built in, or of the current folder.
fn find_lab_script() -> anyhow::Result<PathBuf> {
    let mut roots = Vec::new();
    if let Some(root) = std::env::var_os("UTTER_ROOT") {
        roots.push(PathBuf::from(root));
    }
    roots.extend(std::env::current_exe().ok());
    roots.extend(std::env::current_dir().ok());
    roots
        .iter()
        .flat_map(|start| start.ancestors())
        .map(|dir| dir.join("scripts/openstack-lab"))
        .find(|script| script.is_file())
        .context(
            "the OpenStack lab needs scripts/openstack-lab of the utter repository: run utter devnet \
             inside the repository, set UTTER_ROOT to it, or use a real cloud with --cloud NAME",
        )
}

/// Starts everything in order and returns once the agent answers.
async fn start(
    args: &DevnetArgs,
    layout: &Layout,
    children: &mut Children,
    lab_started: &mut bool,
) -> anyhow::Result<Running> {
    let (cloud, clouds_yaml) = match (&args.cloud, &layout.lab_script) {
        (Some(cloud), _) => (cloud.clone(), layout.clouds_yaml.clone()),
        (None, Some(script)) => {
            eprintln!(
                "devnet: starting the OpenStack lab in the background ({})",
                layout.lab_dir().display()
            );
            let mut command = Command::new(script);
            command
                .args(["start", "--no-wait", "--dir"])
                .arg(layout.lab_dir())
                .env("UTTER_OSLAB_PORT_BASE", args.lab_port_base.to_string());
            children.spawn("openstack-lab start", command, &layout.log("openstack-lab"))?;
            *lab_started = true;
            // `start --no-wait` returns once the services are spawned; their setup goes on.
            children.finish("openstack-lab start").await?;
            (
                "utter-lab".to_owned(),
                Some(layout.lab_dir().join("clouds.yaml")),
            )
        }
        (None, None) => unreachable!("prepare finds the lab script when no cloud is given"),
    };

    let rpc = format!("http://127.0.0.1:{}", args.rpc_port);
    eprintln!("devnet: starting anvil on {rpc}");
    let accounts_file = layout.dir.join("anvil-accounts.json");
    let _ = std::fs::remove_file(&accounts_file);
    let mut anvil = Command::new(&args.anvil);
    anvil
        .args(["--host", "127.0.0.1", "--accounts", "4", "--port"])
        .arg(args.rpc_port.to_string())
        .arg("--config-out")
        .arg(&accounts_file);
    anvil.arg("--chain-id").arg(args.chain_id.to_string());
    if let Some(seconds) = args.block_time {
        anvil.arg("--block-time").arg(seconds.to_string());
    }
    children.spawn("anvil", anvil, &layout.log("anvil"))?;
    let provider = ProviderBuilder::new().connect_http(rpc.parse()?);
    wait_until(children, "anvil", Duration::from_secs(30), || async {
        provider.get_chain_id().await.is_ok()
    })
    .await?;
    let accounts: AnvilAccounts = serde_json::from_slice(
        &std::fs::read(&accounts_file)
            .with_context(|| format!("reading {}", accounts_file.display()))?,
    )
    .with_context(|| format!("parsing anvil's accounts in {}", accounts_file.display()))?;
    if accounts.available_accounts.len() < 4 || accounts.private_keys.len() < 4 {
        bail!("anvil reported fewer than the four accounts asked for");
    }

    eprintln!("devnet: deploying the contracts and the demo market");
    let [treasury, operator, host, buyer] = [0, 1, 2, 3].map(|i| accounts.available_accounts[i]);
    let deployment = utter_bindings::deploy(&provider, treasury)
        .await
        .context("deploying the contracts")?;
    let deployment_file = layout.dir.join("deployment.json");
    deployment.save(&deployment_file)?;
    let demo = DemoAccounts {
        treasury,
        operator,
        provider: host,
        buyer,
    };
    setup_market(&provider, &deployment, demo).await?;

    let api = format!("http://127.0.0.1:{}", args.api_port);
    eprintln!("devnet: starting the indexer on {api}");
    let mut indexer = Command::new(&layout.indexer_bin);
    indexer
        .arg("run")
        .args(["--rpc", &rpc])
        .arg("--db")
        .arg(format!(
            "sqlite://{}",
            layout.dir.join("indexer.db").display()
        ))
        .arg("--deployment")
        .arg(&deployment_file)
        .args(["--listen", &format!("127.0.0.1:{}", args.api_port)])
        .args(["--finality-depth", "2", "--no-progress"]);
    children.spawn("indexer", indexer, &layout.log("indexer"))?;
    wait_http(children, "indexer", &format!("{api}/health"), 60).await?;

    if *lab_started {
        eprintln!("devnet: waiting for the OpenStack lab (about half a minute)");
        let mut wait = Command::new(layout.lab_script.as_ref().expect("the lab is started"));
        wait.args(["wait", "--dir"]).arg(layout.lab_dir());
        children.spawn("openstack-lab wait", wait, &layout.log("openstack-lab"))?;
        children.finish("openstack-lab wait").await?;
    }

    let agent = format!("http://127.0.0.1:{}", args.agent_port);
    eprintln!("devnet: starting the provider agent on {agent}");
    let config = layout.dir.join("agent.toml");
    std::fs::write(
        &config,
        agent_config(
            args,
            layout,
            &rpc,
            &api,
            &cloud,
            clouds_yaml.as_deref(),
            &deployment_file,
        ),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let mut agent_command = Command::new(&layout.agent_bin);
    agent_command
        .args(["run", "--config"])
        .arg(&config)
        .env("UTTER_AGENT_PRIVATE_KEY", &accounts.private_keys[2]);
    children.spawn("agent", agent_command, &layout.log("agent"))?;
    wait_http(children, "agent", &format!("{agent}/health"), 120).await?;
    // Ready means a buyer sees the demo offers: the indexer has caught up with their publication.
    let client = reqwest::Client::new();
    let offers_url = format!("{api}/v1/offers");
    wait_until(children, "indexer", Duration::from_secs(60), || async {
        let page = match client.get(&offers_url).send().await {
            Ok(response) => response.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        page.and_then(|page| page["items"].as_array().map(Vec::len)) == Some(DEMO_OFFERS)
    })
    .await?;

    Ok(Running {
        rpc,
        api,
        agent,
        deployment,
        accounts,
        cloud,
        clouds_yaml,
    })
}

/// The agent's configuration: two demo offers in pool 1, the first with a hot spare.
fn agent_config(
    args: &DevnetArgs,
    layout: &Layout,
    rpc: &str,
    api: &str,
    cloud: &str,
    clouds_yaml: Option<&Path>,
    deployment: &Path,
) -> String {
    let clouds_yaml = clouds_yaml
        .map(|file| {
            format!(
                "clouds_yaml = {}\n",
                toml_string(&file.display().to_string())
            )
        })
        .unwrap_or_default();
    let (flavor, image) = (toml_string(&args.flavor), toml_string(&args.image));
    // The lab has Neutron's `private` and `public` networks; a real cloud says what it has.
    let lab = args.cloud.is_none();
    let network = args
        .network
        .clone()
        .unwrap_or_else(|| if lab { "private" } else { "none" }.to_owned());
    let floating = args
        .floating_network
        .clone()
        .or_else(|| lab.then(|| "public".to_owned()));
    let floating_network = floating
        .as_deref()
        .map(|name| format!("floating_network = {}\n", toml_string(name)))
        .unwrap_or_default();
    let public_ipv4 = floating.is_some();
    // The lab's fake hypervisor prints no SSH host keys: its acknowledgements do not wait for them.
    let host_key_wait = args
        .host_key_wait_secs
        .or(lab.then_some(0))
        .map(|secs| format!("host_key_wait_secs = {secs}\n"))
        .unwrap_or_default();
    // anvil does not reorganise: the agent acts on the head itself, which also keeps an automining
    // chain (a block only per transaction) from leaving the last lease unseen.
    format!(
        r#"rpc = {rpc}
deployment = {deployment}
confirmations = 0
poll_ms = 100
listen = "127.0.0.1:{agent_port}"
state_dir = {state_dir}
indexer_url = {api}
withdraw_threshold = "1000000000000000000"

[cloud]
name = {cloud}
{clouds_yaml}network = {network}
{floating_network}{host_key_wait}
[[offers]]
name = "small"
pool_id = 1
flavor = {flavor}
images = [{{ name = "ubuntu-24.04", glance = {image} }}, {{ name = "debian-12", glance = {image} }}]
price_per_second = "100000000000000"
capacity = 8
boot_timeout = 300
retention = 3600
region = "devnet-1"
hot_spares = 1
public_ipv4 = {public_ipv4}

[[offers]]
name = "small-eu"
pool_id = 1
flavor = {flavor}
images = [{{ name = "ubuntu-24.04", glance = {image} }}]
price_per_second = "150000000000000"
capacity = 4
boot_timeout = 300
retention = 3600
region = "devnet-eu"
"#,
        rpc = toml_string(rpc),
        deployment = toml_string(&deployment.display().to_string()),
        agent_port = args.agent_port,
        state_dir = toml_string(&layout.dir.join("agent").display().to_string()),
        api = toml_string(api),
        cloud = toml_string(cloud),
        network = toml_string(&network),
    )
}

/// `text` as a TOML basic string: quotes and backslashes escaped, control characters as `\u`.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Polls `ready` every 200 ms until it holds, failing when the child `name` exits first (with the
/// end of its log) or after `timeout`.
async fn wait_until<F, Fut>(
    children: &mut Children,
    name: &str,
    timeout: Duration,
    mut ready: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if ready().await {
            return Ok(());
        }
        children.check_alive(name)?;
        if Instant::now() >= deadline {
            bail!(
                "{name} did not get ready within {}s; see its log",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `url` answers 200 OK.
async fn wait_http(
    children: &mut Children,
    name: &str,
    url: &str,
    seconds: u64,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    wait_until(children, name, Duration::from_secs(seconds), || async {
        client
            .get(url)
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
    .await
}

/// Stops the lab through its own command, which checks that none of its services is left.
async fn stop_lab(layout: &Layout) {
    let Some(script) = &layout.lab_script else {
        return;
    };
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(layout.log("openstack-lab"));
    let mut command = Command::new(script);
    command.args(["stop", "--dir"]).arg(layout.lab_dir());
    if let Ok(log) = log
        && let Ok(stderr) = log.try_clone()
    {
        command.stdout(log).stderr(stderr);
    }
    match command.status().await {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!(
            "devnet: scripts/openstack-lab stop failed ({status}); see {}",
            layout.log("openstack-lab").display()
        ),
        Err(error) => eprintln!("devnet: running scripts/openstack-lab stop: {error}"),
    }
}

/// Waits for Ctrl-C, SIGTERM or a child's exit; the exit of a child is an error naming it.
async fn watch(children: &mut Children, interrupt: &mut Interrupt) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            signal = interrupt.recv() => {
                eprintln!("devnet: {signal}");
                return Ok(());
            }
            _ = tick.tick() => {
                if let Some(exited) = children.exited()? {
                    bail!("{exited}");
                }
            }
        }
    }
}

/// Ctrl-C and SIGTERM.
#[derive(Debug)]
struct Interrupt {
    terminate: tokio::signal::unix::Signal,
}

impl Interrupt {
    fn new() -> anyhow::Result<Self> {
        let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        Ok(Self { terminate })
    }

    /// Which signal came.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
            _ = self.terminate.recv() => "terminated (SIGTERM)",
        }
    }
}

/// `KEY=value` lines for scripts: `set -a; . target/devnet/env; set +a` exports them.
fn write_env(layout: &Layout, running: &Running) -> anyhow::Result<()> {
    let keys = &running.accounts.private_keys;
    let text = format!(
        "# utter devnet: the buyer's environment (UTTER_PRIVATE_KEY is the demo buyer's key)\n\
         UTTER_RPC={rpc}\n\
         UTTER_INDEXER={api}\n\
         UTTER_DEPLOYMENT={deployment}\n\
         UTTER_PRIVATE_KEY={buyer}\n\
         UTTER_DEVNET_PROVIDER_KEY={provider}\n\
         UTTER_DEVNET_OPERATOR_KEY={operator}\n\
         UTTER_DEVNET_AGENT={agent}\n",
        rpc = running.rpc,
        api = running.api,
        deployment = layout.dir.join("deployment.json").display(),
        buyer = keys[3],
        provider = keys[2],
        operator = keys[1],
        agent = running.agent,
    );
    let path = layout.dir.join("env");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// The summary: where everything is, the demo accounts and what to try.
fn print_summary(layout: &Layout, running: &Running) {
    let dir = layout.dir.display();
    let accounts = &running.accounts;
    let account = |i: usize| {
        format!(
            "{}  key {}",
            accounts.available_accounts[i], accounts.private_keys[i]
        )
    };
    let cloud = match &running.clouds_yaml {
        Some(file) => format!("{} ({})", running.cloud, file.display()),
        None => running.cloud.clone(),
    };
    let deployment = &running.deployment;
    println!(
        "\
devnet: running; Ctrl-C stops everything.
  chain         {rpc} (chain id {chain_id}; log {dir}/anvil.log)
  contracts     {dir}/deployment.json (escrow {escrow}, token {token})
  indexer API   {api}  (try /v1/offers, /v1/market, /openapi.json; log {dir}/indexer.log)
  agent         {agent}/health  /metrics  (log {dir}/agent.log, config {dir}/agent.toml)
  cloud         {cloud}
  environment   {dir}/env

Demo accounts (anvil's well-known test keys: never use them anywhere else):
  operator of pool 1   {operator}
  provider (the agent) {provider}  ({PROVIDER_TOKENS} tokens)
  buyer                {buyer}  ({BUYER_TOKENS} tokens)

Try, as the demo buyer (set -a; . {dir}/env; set +a):
  utter offers
  utter lease open --offer 1 --image ubuntu-24.04 --ssh-key ~/.ssh/id_ed25519.pub --duration 10m
  utter lease show 1 --ssh-identity ~/.ssh/id_ed25519
  utter lease top-up 1 --duration 1h
  utter lease stop 1
and as the provider:
  UTTER_PRIVATE_KEY=$UTTER_DEVNET_PROVIDER_KEY utter provider withdraw --all",
        rpc = running.rpc,
        chain_id = deployment.chain_id,
        escrow = deployment.escrow,
        token = deployment.token,
        api = running.api,
        agent = running.agent,
        operator = account(1),
        provider = account(2),
        buyer = account(3),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        devnet: DevnetArgs,
    }

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(toml_string("a \"b\" \\c\n"), r#""a \"b\" \\c\u000A""#);
    }

    #[test]
    fn the_agent_accepts_the_devnet_configuration() {
        let args =
            Command::parse_from(["devnet", "--cloud", "lab \"1\"", "--agent-port", "9999"]).devnet;
        let layout = Layout {
            dir: PathBuf::from("/tmp/devnet \\ state"),
            indexer_bin: PathBuf::new(),
            agent_bin: PathBuf::new(),
            lab_script: None,
            clouds_yaml: None,
        };
        let text = agent_config(
            &args,
            &layout,
            "http://127.0.0.1:8545",
            "http://127.0.0.1:8580",
            "lab \"1\"",
            Some(Path::new("/tmp/clouds.yaml")),
            Path::new("/tmp/deployment.json"),
        );
        let config =
            utter_provider_agent::config::FileConfig::parse(Path::new("agent.toml"), &text)
                .expect("the agent parses the devnet's configuration");
        assert_eq!(config.cloud.name, "lab \"1\"");
        assert_eq!(
            config.state_dir,
            Some(PathBuf::from("/tmp/devnet \\ state/agent"))
        );
        assert_eq!(
            config.listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
        assert_eq!(config.confirmations, 0);
        assert_eq!(config.offers.len(), DEMO_OFFERS);
        // A real cloud: no network unless named, so no public address.
        assert_eq!(config.cloud.network, "none");
        assert_eq!(config.cloud.floating_network, None);
        assert!(!config.offers[0].public_ipv4);

        // Named: the first offer promises a public IPv4 address.
        let args = Command::parse_from([
            "devnet",
            "--cloud",
            "lab",
            "--network",
            "private",
            "--floating-network",
            "public",
        ])
        .devnet;
        let text = agent_config(
            &args,
            &layout,
            "http://127.0.0.1:8545",
            "http://127.0.0.1:8580",
            "lab",
            None,
            Path::new("/tmp/deployment.json"),
        );
        let config =
            utter_provider_agent::config::FileConfig::parse(Path::new("agent.toml"), &text)
                .expect("the agent parses the devnet's configuration");
        assert_eq!(config.cloud.network, "private");
        assert_eq!(config.cloud.floating_network.as_deref(), Some("public"));
        assert_eq!(config.cloud.host_key_wait_secs, 120, "the agent's default");
        assert!(config.offers[0].public_ipv4 && !config.offers[1].public_ipv4);
    }
}
