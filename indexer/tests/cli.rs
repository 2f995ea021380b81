//! The command line: bad settings give a clear error that names what is wrong, and exit non-zero.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_utter-indexer"))
        .args(args)
        .env_remove("UTTER_INDEXER_RPC")
        .env_remove("UTTER_INDEXER_DB")
        .env_remove("UTTER_INDEXER_DEPLOYMENT")
        .env_remove("UTTER_INDEXER_CONFIG")
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn temp(name: &str, contents: &str) -> String {
    let dir = std::env::temp_dir().join(format!("utter-indexer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path.display().to_string()
}

const DEPLOYMENT: &str = r#"{"chain_id": 31337, "deployer": "0x0000000000000000000000000000000000000001",
 "deploy_block": 1, "token": "0x0000000000000000000000000000000000000002",
 "pools": "0x0000000000000000000000000000000000000003", "registry": "0x0000000000000000000000000000000000000004",
 "offers": "0x0000000000000000000000000000000000000005", "buyer_trust": "0x0000000000000000000000000000000000000006",
 "escrow": "0x0000000000000000000000000000000000000007"}"#;

#[test]
fn a_missing_rpc_says_how_to_give_it() {
    let (ok, stderr) = run(&["run", "--deployment", "x.json"]);
    assert!(!ok);
    assert!(
        stderr.contains("--rpc") && stderr.contains("UTTER_INDEXER_RPC"),
        "{stderr}"
    );
}

#[test]
fn a_missing_deployment_file_is_named() {
    let (ok, stderr) = run(&[
        "run",
        "--rpc",
        "http://127.0.0.1:1",
        "--deployment",
        "/nonexistent/d.json",
    ]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/d.json"), "{stderr}");
}

#[test]
fn an_unsupported_database_url_is_refused() {
    let deployment = temp("deployment.json", DEPLOYMENT);
    let (ok, stderr) = run(&[
        "run",
        "--rpc",
        "http://127.0.0.1:1",
        "--deployment",
        &deployment,
        "--db",
        "mysql://x@y/z",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("mysql://x@y/z") && stderr.contains("sqlite://"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_rpc_is_named() {
    let deployment = temp("deployment2.json", DEPLOYMENT);
    let db = format!("sqlite://{}", temp("unreachable.db", ""));
    let (ok, stderr) = run(&[
        "run",
        "--rpc",
        "http://127.0.0.1:1",
        "--deployment",
        &deployment,
        "--db",
        &db,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("connecting to the chain at http://127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused_with_the_key() {
    let config = temp(
        "bad.toml",
        "rpc = \"http://127.0.0.1:1\"\nfinalty_depth = 3\n",
    );
    let (ok, stderr) = run(&["run", "--config", &config]);
    assert!(!ok);
    assert!(stderr.contains("finalty_depth"), "{stderr}");
}

#[test]
fn a_bad_flag_value_is_named() {
    let (ok, stderr) = run(&[
        "run",
        "--rpc",
        "http://x",
        "--deployment",
        "d",
        "--finality-depth",
        "soon",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--finality-depth"), "{stderr}");
}
