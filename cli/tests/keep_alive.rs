//! `utter lease keep-alive`: tops a lease up to the runway, never past the cap.

mod common;

use alloy::primitives::U256;
use common::{Market, price, wei};
use utter_bindings::demo::tokens;

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_restores_the_runway_within_the_cap() {
    let m = Market::start("keep-alive").await;
    let offer = m.offer().await.to_string();
    m.lease_open(&offer).duration("10m").json();
    m.acknowledge(1).await;

    // Ten minutes paid, a one hour runway wanted, a cap that covers it.
    let before = m.balance(m.buyer).await;
    let run = m
        .utter(
            m.buyer,
            &[
                "lease",
                "keep-alive",
                "1",
                "--runway",
                "1h",
                "--cap",
                "5",
                "--once",
                "--yes",
                "--json",
            ],
        )
        .json();
    let top_ups = run["top_ups"].as_array().unwrap();
    assert_eq!(top_ups.len(), 1, "{run}");
    let spent = wei(&run["spent"]);
    assert_eq!(
        before - m.balance(m.buyer).await,
        spent,
        "spent is what left the wallet"
    );
    // It bought the missing part of the hour as of its check: between 50 and 51 minutes' worth
    // (the top-up lands a few one-second blocks after the check).
    assert!(
        spent >= price() * U256::from(50 * 60) && spent <= price() * U256::from(51 * 60),
        "{spent}"
    );
    let state = m.escrow().leaseState(U256::ONE).call().await.unwrap();
    let runway = state.balance / price();
    assert!(
        runway >= U256::from(3590) && runway <= U256::from(3600),
        "runway {runway} s"
    );

    // Runway long enough: nothing is spent.
    let before = m.balance(m.buyer).await;
    let run = m
        .utter(
            m.buyer,
            &[
                "lease",
                "keep-alive",
                "1",
                "--runway",
                "30m",
                "--cap",
                "5",
                "--once",
                "--yes",
                "--json",
            ],
        )
        .json();
    assert_eq!(wei(&run["spent"]), U256::ZERO);
    assert_eq!(m.balance(m.buyer).await, before);

    // A cap smaller than what is missing: exactly the cap is spent, and the run says so.
    let before = m.balance(m.buyer).await;
    let run = m
        .utter(
            m.buyer,
            &[
                "lease",
                "keep-alive",
                "1",
                "--runway",
                "1d",
                "--cap",
                "0.5",
                "--once",
                "--yes",
                "--json",
            ],
        )
        .json();
    assert_eq!(wei(&run["spent"]), tokens(1) / U256::from(2));
    assert_eq!(before - m.balance(m.buyer).await, tokens(1) / U256::from(2));

    // Without --once it keeps going until the cap is spent, then stops with a clear reason.
    let run = m
        .utter(
            m.buyer,
            &[
                "lease",
                "keep-alive",
                "1",
                "--runway",
                "1d",
                "--cap",
                "0.25",
                "--every",
                "1s",
                "--yes",
                "--json",
            ],
        )
        .json();
    assert_eq!(wei(&run["spent"]), tokens(1) / U256::from(4));
    assert!(run["stopped"].as_str().unwrap().contains("cap"), "{run}");

    // A lease that ended: keep-alive refuses at once.
    m.utter(m.buyer, &["lease", "stop", "1", "--yes"]);
    let r = m.utter(
        m.buyer,
        &[
            "lease",
            "keep-alive",
            "1",
            "--runway",
            "1h",
            "--cap",
            "5",
            "--once",
            "--yes",
        ],
    );
    assert!(r.err().contains("closed"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_gives_up_on_a_refusal_that_will_not_change() {
    let m = Market::start("keep-alive-refused").await;
    let offer = m.offer().await.to_string();
    m.lease_open(&offer).duration("2m").json();
    m.acknowledge(1).await;
    utter_testkit::anvil::warp(&m.provider, 300).await.unwrap();
    // Halted: resuming needs 60 s of funds, and the cap allows 30 s.
    let before = m.balance(m.buyer).await;
    let cap = format!("{}wei", price() * U256::from(30));
    let r = m.utter(
        m.buyer,
        &[
            "lease",
            "keep-alive",
            "1",
            "--runway",
            "1h",
            "--cap",
            &cap,
            "--every",
            "1s",
            "--yes",
        ],
    );
    let err = r.err();
    assert!(err.contains("Escrow_DepositTooSmall"), "{err}");
    assert!(
        err.contains("keep-alive stopped after spending 0 UTC"),
        "{err}"
    );
    assert_eq!(
        r.stderr.matches("retrying next check").count(),
        2,
        "{}",
        r.stderr
    );
    assert_eq!(m.balance(m.buyer).await, before, "nothing was spent");
}
