//! Bad input and refused transactions: each says what was wrong and what to do, and sends nothing.

mod common;

use alloy::primitives::U256;
use common::{IMAGE, Market};

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_explained_and_nothing_is_sent() {
    let m = Market::start("errors").await;
    let offer = m.offer().await.to_string();
    let nonce = m.nonce(m.buyer).await;
    let balance = m.balance(m.buyer).await;

    let r = m.lease_open(99).duration("1h").run();
    assert!(
        r.err().contains("no offer 99") && r.err().contains("utter offers"),
        "{}",
        r.stderr
    );
    let r = m.lease_open(&offer).amount("ten").run();
    assert!(r.err().contains("not an amount"), "{}", r.stderr);
    let r = m.lease_open(&offer).duration("2 hours").run();
    assert!(r.err().contains("not a duration"), "{}", r.stderr);
    let r = m.lease_open(&offer).duration("30s").run();
    assert!(r.err().contains("minimum 60 seconds"), "{}", r.stderr);
    let r = m
        .lease_open(&offer)
        .duration("1h")
        .image("windows-95")
        .run();
    assert!(
        r.err().contains("does not boot") && r.err().contains(IMAGE),
        "{}",
        r.stderr
    );
    let r = m.lease_open(&offer).amount("5000").run();
    assert!(
        r.err().contains("get") && r.err().contains("more"),
        "{}",
        r.stderr
    );
    let r = m
        .lease_open(&offer)
        .duration("1h")
        .args(&["--max-fee", "0.001"])
        .run();
    assert!(r.err().contains("--max-fee"), "{}", r.stderr);
    // The private key file where the public one belongs.
    let r = m
        .lease_open(&offer)
        .duration("1h")
        .ssh_key(&m.ssh_key)
        .run();
    assert!(r.err().contains("private key"), "{}", r.stderr);

    // Without --yes and without an answer, nothing is sent.
    let r = m.lease_open(&offer).duration("1h").without_yes().run();
    assert!(r.err().contains("nothing was sent"), "{}", r.stderr);
    let r = m
        .lease_open(&offer)
        .duration("1h")
        .without_yes_answering("n\n")
        .run();
    assert!(r.err().contains("not confirmed"), "{}", r.stderr);

    assert_eq!(m.nonce(m.buyer).await, nonce, "no transaction was sent");
    assert_eq!(m.balance(m.buyer).await, balance, "no token moved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_call_is_named_by_its_contract_error() {
    let m = Market::start("reverts").await;
    let offer = m.offer().await.to_string();
    m.lease_open(&offer).duration("1h").json();
    // The anonymous buyer may hold two leases in the demo pool: the third is refused by the
    // escrow in the simulation, before anything is sent.
    m.lease_open(&offer).duration("1h").run();
    let nonce = m.nonce(m.buyer).await;
    let r = m.lease_open(&offer).duration("1h").run();
    assert!(r.err().contains("Escrow_BuyerLimitReached"), "{}", r.stderr);
    assert!(r.err().contains("utter trust deposit"), "{}", r.stderr);
    assert_eq!(m.nonce(m.buyer).await, nonce, "nothing was sent");

    let someone = m.spare[0];
    let nonce = m.nonce(someone).await;

    // The contract refuses: its error is named, with what to do.
    let r = m.utter(someone, &["trust", "withdraw", "--yes"]);
    assert!(
        r.err().contains("BuyerTrust_NothingToWithdraw"),
        "{}",
        r.stderr
    );
    assert!(r.err().contains("withdraw-request"), "{}", r.stderr);
    let r = m.utter(someone, &["trust", "withdraw-request", "1", "--yes"]);
    assert!(
        r.err().contains("BuyerTrust_InsufficientDeposit"),
        "{}",
        r.stderr
    );
    let r = m.utter(someone, &["lease", "stop", "1", "--yes"]);
    assert!(r.err().contains("only its buyer"), "{}", r.stderr);
    let r = m.utter(someone, &["provider", "offer", "pause", &offer, "--yes"]);
    assert!(r.err().contains("Offers_NotProvider"), "{}", r.stderr);
    let r = m.utter(
        someone,
        &["pool", "set-fee", "1", "--fee-bps", "100", "--yes"],
    );
    assert!(r.err().contains("Pools_NotOperator"), "{}", r.stderr);
    let r = m.utter(
        m.operator,
        &["pool", "set-fee", "1", "--fee-bps", "9000", "--yes"],
    );
    assert!(r.err().contains("Pools_FeeTooHigh"), "{}", r.stderr);
    let r = m.utter(someone, &["lease", "top-up", "7", "--amount", "1", "--yes"]);
    assert!(r.err().contains("no lease 7"), "{}", r.stderr);
    assert_eq!(m.nonce(someone).await, nonce, "no transaction was sent");
    assert_eq!(
        m.nonce(m.operator).await,
        1,
        "only the demo pool's creation"
    );
    let _ = U256::ZERO;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_node_or_indexer_is_named() {
    let m = Market::start("unreachable").await;
    let r = m.utter_with(
        Some(m.buyer),
        &["lease", "show", "1"],
        &[("UTTER_RPC", "http://127.0.0.1:9")],
        None,
    );
    assert!(
        r.err().contains("cannot reach the chain's RPC"),
        "{}",
        r.stderr
    );
    let r = m.utter_with(None, &["offers"], &[], None);
    assert!(r.err().contains("cannot reach the indexer"), "{}", r.stderr);
}
