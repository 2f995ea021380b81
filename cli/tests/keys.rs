//! Keystores: created by `utter keys new`, used to sign, refused with a wrong password; raw keys
//! checked before use.

mod common;

use alloy::primitives::{Address, U256};
use common::{Market, wei};
use utter_bindings::{BuyerTrust, ComputeToken, demo::tokens};
use utter_testkit::anvil::confirm;

#[tokio::test(flavor = "multi_thread")]
async fn a_new_keystore_signs_a_trust_deposit() {
    let m = Market::start("keystore").await;
    let file = m.dir.join("keys/buyer.json");
    let password = [("UTTER_KEYSTORE_PASSWORD", "correct horse")];
    let created = m
        .utter_with(
            None,
            &["keys", "new", "--out", file.to_str().unwrap(), "--json"],
            &password,
            None,
        )
        .json();
    let address: Address = created["address"].as_str().unwrap().parse().unwrap();
    assert!(file.is_file(), "the keystore was written");
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains(&format!("{:x}", address).repeat(2))
    );

    // Never overwritten.
    let again = m.utter_with(
        None,
        &["keys", "new", "--out", file.to_str().unwrap()],
        &password,
        None,
    );
    assert!(again.err().contains("already exists"), "{}", again.stderr);

    let keystore = [("UTTER_KEYSTORE", file.to_str().unwrap()), password[0]];
    let shown = m
        .utter_with(None, &["keys", "address", "--json"], &keystore, None)
        .json();
    assert_eq!(
        shown["address"]
            .as_str()
            .unwrap()
            .parse::<Address>()
            .unwrap(),
        address
    );

    let wrong = [
        ("UTTER_KEYSTORE", file.to_str().unwrap()),
        ("UTTER_KEYSTORE_PASSWORD", "wrong"),
    ];
    let refused = m.utter_with(None, &["keys", "address"], &wrong, None);
    assert!(
        refused.err().contains("Check the password"),
        "{}",
        refused.stderr
    );

    // Fund the new key, then deposit with it.
    let token = ComputeToken::new(m.deployment.token, &m.provider);
    confirm("fund", token.transfer(address, tokens(20)).from(m.treasury)).await;
    use alloy::providers::Provider;
    let _: serde_json::Value = m
        .provider
        .raw_request(
            "anvil_setBalance".into(),
            (address, U256::from(10).pow(U256::from(18))),
        )
        .await
        .unwrap();
    let deposited = m
        .utter_with(
            None,
            &["trust", "deposit", "12.5", "--yes", "--json"],
            &keystore,
            None,
        )
        .json();
    let amount = tokens(25) / U256::from(2);
    assert_eq!(wei(&deposited["deposit"]), amount);
    let trust = BuyerTrust::new(m.deployment.buyer_trust, &m.provider);
    assert_eq!(
        U256::from(trust.depositOf(address).call().await.unwrap()),
        amount
    );
    assert_eq!(m.balance(address).await, tokens(20) - amount);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_key_or_a_malformed_key_is_refused_with_what_to_do() {
    let m = Market::start("badkey").await;
    let none = m.utter_with(None, &["trust", "deposit", "1", "--yes"], &[], None);
    assert!(none.err().contains("--keystore"), "{}", none.stderr);
    let bad = m.utter_with(
        None,
        &["trust", "deposit", "1", "--yes"],
        &[("UTTER_PRIVATE_KEY", "0x1234")],
        None,
    );
    assert!(bad.err().contains("not 64 hex digits"), "{}", bad.stderr);
    let missing = m.utter_with(
        None,
        &["keys", "address"],
        &[("UTTER_KEYSTORE", "/nonexistent/k.json")],
        None,
    );
    assert!(
        missing.err().contains("utter keys new"),
        "{}",
        missing.stderr
    );
}
