//! The agent's command line: every bad setting gives a clear error naming what is wrong, exits
//! non-zero, and never prints the key.

use std::process::Command;
use utter_testkit::anvil::{spawn_anvil, wallets};

/// Anvil's second well-known key (never a real one).
const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b693d";

fn temp(name: &str, contents: &str) -> String {
    let dir = std::env::temp_dir().join(format!("utter-agent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path.display().to_string()
}

/// The agent's binary with `args`, and none of the caller's agent or cloud settings but `env`.
fn agent(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_utter-provider-agent"));
    command
        .args(args)
        .env_remove("UTTER_AGENT_PRIVATE_KEY")
        .env_remove("UTTER_AGENT_RPC")
        .env_remove("UTTER_AGENT_DEPLOYMENT")
        .env_remove("OS_CLIENT_CONFIG_FILE");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// A fresh anvil with the contracts deployed, their addresses saved in the temporary file `name`.
async fn deployed(name: &str) -> (alloy::node_bindings::AnvilInstance, String) {
    let anvil = spawn_anvil();
    let (provider, accounts) = wallets(&anvil, 1);
    let deployment = utter_bindings::deploy(&provider, accounts[0])
        .await
        .expect("deploys");
    let deployment_file = temp(name, "");
    deployment.save(&deployment_file).expect("saved");
    (anvil, deployment_file)
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = agent(args, env).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains(&KEY[2..]), "the key leaked: {stderr}");
    (output.status.success(), stderr)
}

fn config(rpc: &str, deployment: &str, extra: &str) -> String {
    format!(
        r#"rpc = "{rpc}"
deployment = "{deployment}"
{extra}
[cloud]
name = "nowhere"
clouds_yaml = "{}"
[[offers]]
name = "small"
pool_id = 1
flavor = "utter.small"
images = [{{ name = "ubuntu-24.04", glance = "utter-tiny" }}]
price_per_second = "1000"
capacity = 2
region = "lab-1"
"#,
        temp(
            "clouds.yaml",
            "clouds:\n  somewhere:\n    auth: {auth_url: 'http://127.0.0.1:1/v3', username: u, password: p, project_name: x}\n"
        )
    )
}

#[test]
fn a_missing_config_file_is_named() {
    let (ok, stderr) = run(&["run", "--config", "/nonexistent/agent.toml"], &[]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/agent.toml"), "{stderr}");
}

#[test]
fn an_unknown_key_and_a_bad_value_are_named() {
    let path = temp(
        "typo.toml",
        &config("http://127.0.0.1:1", "d.json", "confirmatons = 2"),
    );
    let (ok, stderr) = run(&["run", "--config", &path], &[]);
    assert!(!ok);
    assert!(stderr.contains("confirmatons"), "{stderr}");
    let path = temp(
        "price.toml",
        &config("http://127.0.0.1:1", "d.json", "").replace("\"1000\"", "\"a lot\""),
    );
    let (ok, stderr) = run(&["run", "--config", &path], &[]);
    assert!(!ok);
    assert!(stderr.contains("offers[0].price_per_second"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_keys_unreachable_rpcs_and_unknown_clouds_are_explained() {
    let (anvil, deployment_file) = deployed("deployment.json").await;
    let rpc = anvil.endpoint();

    // No key at all.
    let path = temp("nokey.toml", &config(&rpc, &deployment_file, ""));
    let (ok, stderr) = run(&["run", "--config", &path], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("no provider key") && stderr.contains("UTTER_AGENT_PRIVATE_KEY"),
        "{stderr}"
    );

    // A key that is not one.
    let (ok, stderr) = run(
        &["run", "--config", &path],
        &[("UTTER_AGENT_PRIVATE_KEY", "0x1234")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("UTTER_AGENT_PRIVATE_KEY is not"),
        "{stderr}"
    );

    // A keystore with the wrong password.
    let dir = std::env::temp_dir().join(format!("utter-agent-keystore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    alloy::signers::local::PrivateKeySigner::encrypt_keystore(
        &dir,
        &mut rand_core::OsRng,
        alloy::primitives::hex::decode(KEY).expect("hex"),
        "right password",
        Some("provider.json"),
    )
    .expect("keystore");
    let keystore = dir.join("provider.json").display().to_string();
    let path = temp(
        "keystore.toml",
        &config(&rpc, &deployment_file, "").replace(
            "[cloud]",
            &format!("[key]\nkeystore = \"{keystore}\"\n[cloud]"),
        ),
    );
    let (ok, stderr) = run(&["run", "--config", &path], &[]);
    assert!(!ok);
    assert!(stderr.contains("UTTER_AGENT_KEYSTORE_PASSWORD"), "{stderr}");
    let (ok, stderr) = run(
        &["run", "--config", &path],
        &[("UTTER_AGENT_KEYSTORE_PASSWORD", "wrong password")],
    );
    assert!(!ok);
    assert!(stderr.contains("decrypting the keystore"), "{stderr}");

    // An RPC endpoint nobody answers.
    let (ok, stderr) = run(
        &["run", "--config", &path, "--rpc", "http://127.0.0.1:1"],
        &[("UTTER_AGENT_KEYSTORE_PASSWORD", "right password")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("http://127.0.0.1:1") && stderr.contains("does not answer"),
        "{stderr}"
    );

    // A cloud the clouds.yaml does not have.
    let (ok, stderr) = run(
        &["run", "--config", &path],
        &[("UTTER_AGENT_KEYSTORE_PASSWORD", "right password")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("nowhere") && stderr.contains("somewhere"),
        "{stderr}"
    );
}

/// Credentials Keystone refuses (the lab's real Keystone, a wrong password): the agent stops before
/// touching the chain, says the cloud refused them and names the cloud, and never prints the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_the_cloud_refuses_are_explained() {
    let Ok(lab) = std::env::var("UTTER_LAB_CLOUDS_YAML") else {
        eprintln!(
            "SKIPPED: no OpenStack lab (UTTER_LAB_CLOUDS_YAML unset; scripts/test starts one)"
        );
        return;
    };
    let (anvil, deployment_file) = deployed("deployment-auth.json").await;
    let clouds = std::fs::read_to_string(&lab).expect("the lab's clouds.yaml");
    assert!(
        clouds.contains("password: utter-provider-secret"),
        "{clouds}"
    );
    let wrong = temp(
        "clouds-wrong.yaml",
        &clouds.replace(
            "password: utter-provider-secret",
            "password: not-the-password-42",
        ),
    );
    let path = temp(
        "wrong-credentials.toml",
        &config(&anvil.endpoint(), &deployment_file, "")
            .replace("name = \"nowhere\"", "name = \"utter-lab\"")
            .replace(
                &format!(
                    "clouds_yaml = \"{}\"",
                    std::env::temp_dir()
                        .join(format!("utter-agent-cli-{}", std::process::id()))
                        .join("clouds.yaml")
                        .display()
                ),
                &format!("clouds_yaml = \"{wrong}\""),
            ),
    );
    assert!(
        std::fs::read_to_string(&path)
            .expect("config")
            .contains(&wrong)
    );
    let (ok, stderr) = run(
        &["run", "--config", &path],
        &[(
            "UTTER_AGENT_PRIVATE_KEY",
            // anvil's second well-known key, whole (KEY above is cut short on purpose).
            "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        )],
    );
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("refused the credentials") && stderr.contains("utter-lab"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-password-42"),
        "the password leaked: {stderr}"
    );
}

/// Runs the agent like [`run`], but fails the test if it has not exited within `limit`.
fn run_within(limit: std::time::Duration, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut child = agent(args, env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let started = std::time::Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > limit {
            child.kill().expect("kill");
            let output = child.wait_with_output().expect("output");
            panic!(
                "still running after {limit:?}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// An RPC endpoint that accepts connections and never answers fails the start within
/// `rpc_timeout_secs`, saying so; an API key in the RPC URL (path, query or password) never appears in
/// what the agent prints, while the host does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_rpc_times_out_and_the_rpc_key_is_never_shown() {
    let (_anvil, deployment_file) = deployed("deployment-timeout.json").await;
    let key = [(
        "UTTER_AGENT_PRIVATE_KEY",
        // anvil's second well-known key, whole.
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    )];

    // Accepts, reads nothing, answers nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let path = temp(
        "timeout.toml",
        &config(
            &format!("http://{silent}/v3/SECRETKEY"),
            &deployment_file,
            "rpc_timeout_secs = 1",
        ),
    );
    let started = std::time::Instant::now();
    let (ok, output) = run_within(
        std::time::Duration::from_secs(20),
        &["run", "--config", &path],
        &key,
    );
    assert!(!ok, "{output}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        output.contains("does not answer")
            && output.contains("timed out")
            && output.contains("within 1 s (rpc_timeout_secs)"),
        "{output}"
    );
    assert!(output.contains(&format!("http://{silent}/…")), "{output}");
    assert!(!output.contains("SECRETKEY"), "the key leaked: {output}");

    // Unreachable, the key in the path, a query or the password; also from the environment.
    for rpc in [
        "http://127.0.0.1:1/v3/SECRETKEY",
        "http://127.0.0.1:1/rpc?apikey=SECRETKEY",
        "http://provider:SECRETKEY@127.0.0.1:1/",
    ] {
        let (ok, output) = run_within(
            std::time::Duration::from_secs(20),
            &["run", "--config", &path, "--rpc", rpc],
            &key,
        );
        assert!(!ok, "{output}");
        assert!(
            output.contains("http://127.0.0.1:1") && output.contains("does not answer"),
            "{rpc}: {output}"
        );
        assert!(
            output.to_lowercase().contains("connect"),
            "the cause is kept: {output}"
        );
        assert!(!output.contains("SECRETKEY"), "the key leaked: {output}");
        let mut env = key.to_vec();
        env.push(("UTTER_AGENT_RPC", rpc));
        let (ok, output) = run_within(
            std::time::Duration::from_secs(20),
            &["run", "--config", &path],
            &env,
        );
        assert!(!ok, "{output}");
        assert!(output.contains("http://127.0.0.1:1"), "{rpc}: {output}");
        assert!(!output.contains("SECRETKEY"), "the key leaked: {output}");
    }

    // Not even a URL: the text is not repeated.
    let (ok, output) = run_within(
        std::time::Duration::from_secs(20),
        &["run", "--config", &path, "--rpc", "SECRETKEY"],
        &key,
    );
    assert!(!ok);
    assert!(output.contains("not a URL"), "{output}");
    assert!(!output.contains("SECRETKEY"), "the key leaked: {output}");
}
