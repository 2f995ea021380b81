//! A buyer's lease from opening to stopping, through the real `utter` binary against a real anvil with
//! the deployed contracts; every figure checked to the wei against the contracts.

mod common;

use alloy::primitives::U256;
use common::{Market, price, wei};
use utter_bindings::{LeaseEscrow, demo::tokens};

#[tokio::test(flavor = "multi_thread")]
async fn a_buyer_opens_shows_tops_up_and_stops_a_lease() {
    let m = Market::start("lifecycle").await;
    let offer = m.offer().await.to_string();
    let before = m.balance(m.buyer).await;
    let nonce = m.nonce(m.buyer).await;

    let opened = m.lease_open(&offer).duration("1h").json();
    let id = opened["lease_id"].as_u64().expect("a lease id");
    assert_eq!(id, 1);
    assert_eq!(
        m.nonce(m.buyer).await,
        nonce + 1,
        "one transaction: the permit is signed, not sent"
    );
    let deposit = wei(&opened["deposit"]);
    let fee = wei(&opened["anon_fee"]);
    assert_eq!(
        deposit,
        price() * U256::from(3600),
        "an hour at the offer's price"
    );
    assert!(
        fee > U256::ZERO,
        "the demo buyer is anonymous: it pays the start fee"
    );
    assert_eq!(
        before - m.balance(m.buyer).await,
        deposit + fee,
        "the buyer paid deposit and fee"
    );
    let lease = m.escrow().getLease(U256::from(id)).call().await.unwrap();
    assert_eq!(U256::from(lease.funds), deposit);
    assert_eq!(lease.buyer, m.buyer);

    // Pending: shown with its full balance and no access yet.
    let shown = m.utter(m.buyer, &["lease", "show", "1", "--json"]).json();
    assert_eq!(shown["status"], "pending");
    assert_eq!(wei(&shown["balance"]), deposit);
    assert!(shown["access"].is_null());

    let (started, details) = m.acknowledge(id).await;
    let shown = m
        .utter_with(
            None,
            &[
                "lease",
                "show",
                "1",
                "--json",
                "--ssh-identity",
                m.ssh_key.to_str().unwrap(),
            ],
            &[],
            None,
        )
        .json();
    let state = m.escrow().leaseState(U256::from(id)).call().await.unwrap();
    assert_eq!(shown["status"], "running");
    assert_eq!(
        wei(&shown["balance"]),
        state.balance,
        "the balance now, as the contract says"
    );
    assert_eq!(shown["paid_until"].as_u64().unwrap(), started + 3600);
    assert_eq!(shown["access"]["host"], details.host);
    assert_eq!(shown["access"]["port"], 2222);
    assert_eq!(
        shown["access"]["host_key_fingerprint"],
        details.host_key_fingerprint
    );

    // The text view names the status, the balance in tokens and the ssh command.
    let text = m.utter_with(
        None,
        &[
            "lease",
            "show",
            "1",
            "--ssh-identity",
            m.ssh_key.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert!(text.ok, "{}", text.stderr);
    assert!(text.stdout.contains("running"), "{}", text.stdout);
    assert!(text.stdout.contains("UTC"), "{}", text.stdout);
    assert!(
        text.stdout.contains("ssh -p 2222 ubuntu@203.0.113.7"),
        "{}",
        text.stdout
    );

    // Top up by an amount: exactly that leaves the buyer and joins the lease's funds.
    let before_top_up = m.balance(m.buyer).await;
    let funds_before = U256::from(
        m.escrow()
            .getLease(U256::from(id))
            .call()
            .await
            .unwrap()
            .funds,
    );
    let topped = m
        .utter(
            m.buyer,
            &["lease", "top-up", "1", "--amount", "2.5", "--yes", "--json"],
        )
        .json();
    let amount = tokens(5) / U256::from(2);
    assert_eq!(wei(&topped["amount"]), amount);
    assert_eq!(before_top_up - m.balance(m.buyer).await, amount);
    let funds_after = U256::from(
        m.escrow()
            .getLease(U256::from(id))
            .call()
            .await
            .unwrap()
            .funds,
    );
    assert_eq!(funds_after - funds_before, amount);
    let shown = m.utter(m.buyer, &["lease", "show", "1", "--json"]).json();
    assert_eq!(shown["top_ups"].as_array().unwrap().len(), 1);
    assert_eq!(wei(&shown["top_ups"][0]["amount"]), amount);

    // Stop: the refund is everything not billed, to the wei.
    let before_stop = m.balance(m.buyer).await;
    let stopped = m
        .utter(m.buyer, &["lease", "stop", "1", "--yes", "--json"])
        .json();
    let refund = wei(&stopped["refund"]);
    assert_eq!(m.balance(m.buyer).await - before_stop, refund);
    let lease = m.escrow().getLease(U256::from(id)).call().await.unwrap();
    assert_eq!(lease.status, 5, "closed");
    let ended_at: u64 = lease.settledAt.to();
    let billed = price() * U256::from(ended_at - started);
    assert_eq!(
        refund,
        deposit + amount - billed,
        "refund = funds - price x running seconds"
    );
    let state = m.escrow().leaseState(U256::from(id)).call().await.unwrap();
    assert_eq!(state.earned, billed, "the provider keeps exactly what ran");
    let shown = m.utter(m.buyer, &["lease", "show", "1", "--json"]).json();
    assert_eq!(shown["status"], "closed");
    assert_eq!(wei(&shown["balance"]), U256::ZERO);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_opens_with_user_data_encrypted_to_the_provider() {
    let m = Market::start("user-data").await;
    let offer = m.offer().await.to_string();
    let cloud_init = m.dir.join("cloud-init.yaml");
    std::fs::write(&cloud_init, "#cloud-config\npackages: [htop]\n").unwrap();
    let opened = m
        .lease_open(&offer)
        .amount("1")
        .args(&["--user-data", cloud_init.to_str().unwrap()])
        .json();
    let id = U256::from(opened["lease_id"].as_u64().unwrap());
    let hash = m.escrow().userDataHash(id).call().await.unwrap();
    assert!(!hash.is_zero(), "the lease carries user data");
    // The provider's identity decrypts what went on-chain.
    use alloy::{providers::Provider, rpc::types::Filter, sol_types::SolEvent};
    let logs = m
        .provider
        .get_logs(
            &Filter::new()
                .address(m.deployment.escrow)
                .event_signature(LeaseEscrow::LeaseOpened::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    let opening = logs[0]
        .log_decode::<LeaseEscrow::LeaseOpened>()
        .unwrap()
        .inner
        .data
        .opening;
    let identity = utter_provider_agent::user_data::identity(
        &std::fs::read_to_string(m.dir.join("provider.age")).unwrap(),
    )
    .unwrap();
    let plain =
        utter_provider_agent::user_data::decrypt(&identity, &opening.encryptedUserData).unwrap();
    assert_eq!(plain, b"#cloud-config\npackages: [htop]\n");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "prints the text views for a person to look at"]
async fn print_the_text_views() {
    let m = Market::start("views").await;
    let offer = m.offer().await.to_string();
    let r = m
        .lease_open(&offer)
        .duration("1h")
        .without_yes_answering("y\n")
        .run();
    println!("{}\n{}", r.stderr, r.stdout);
    m.acknowledge(1).await;
    let r = m.utter(
        m.buyer,
        &[
            "lease",
            "show",
            "1",
            "--ssh-identity",
            m.ssh_key.to_str().unwrap(),
        ],
    );
    println!("{}\n{}", r.stderr, r.stdout);
    let r = m.utter(m.buyer, &["trust", "show"]);
    println!("{}\n{}", r.stderr, r.stdout);
    let r = m.utter(m.host, &["provider", "show"]);
    println!("{}\n{}", r.stderr, r.stdout);
    let r = m.utter(m.host, &["pool", "show", "1"]);
    println!("{}\n{}", r.stderr, r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_that_ran_dry_shows_halted_and_a_top_up_resumes_it() {
    let m = Market::start("halted").await;
    let offer = m.offer().await.to_string();
    m.lease_open(&offer).duration("2m").json();
    let (started, _) = m.acknowledge(1).await;
    utter_testkit::anvil::warp(&m.provider, 300).await.unwrap();
    let shown = m.utter(m.buyer, &["lease", "show", "1", "--json"]).json();
    assert_eq!(shown["status"], "halted");
    assert_eq!(wei(&shown["balance"]), U256::ZERO);
    assert_eq!(
        shown["paid_until"].as_u64().unwrap(),
        started + 120,
        "it ran dry after two minutes"
    );
    let text = m.utter(m.buyer, &["lease", "show", "1"]);
    assert!(text.stdout.contains("top up to resume"), "{}", text.stdout);

    // Under 60 s of funds cannot resume it: the escrow's refusal, named.
    let r = m.utter(
        m.buyer,
        &["lease", "top-up", "1", "--duration", "30s", "--yes"],
    );
    assert!(r.err().contains("Escrow_DepositTooSmall"), "{}", r.stderr);
    let resumed = m
        .utter(
            m.buyer,
            &[
                "lease",
                "top-up",
                "1",
                "--duration",
                "10m",
                "--yes",
                "--json",
            ],
        )
        .json();
    assert_eq!(resumed["status"], "restart_pending");
    assert_eq!(wei(&resumed["balance"]), price() * U256::from(600));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_never_booted_is_reclaimed_with_the_providers_slash() {
    let m = Market::start("reclaim").await;
    let offer = m.offer().await.to_string();
    let opened = m.lease_open(&offer).duration("1h").json();
    let r = m.utter(m.buyer, &["lease", "reclaim", "1", "--yes"]);
    assert!(r.err().contains("may still acknowledge"), "{}", r.stderr);
    utter_testkit::anvil::warp(&m.provider, 601).await.unwrap();
    let text = m.utter(m.buyer, &["lease", "show", "1"]);
    assert!(
        text.stdout.contains("utter lease reclaim 1"),
        "{}",
        text.stdout
    );
    let before = m.balance(m.buyer).await;
    let reclaimed = m
        .utter(m.buyer, &["lease", "reclaim", "1", "--yes", "--json"])
        .json();
    let refund = wei(&reclaimed["refund"]);
    let slashed = wei(&reclaimed["slashed"]);
    assert_eq!(
        refund,
        wei(&opened["deposit"]),
        "the whole deposit comes back"
    );
    assert_eq!(
        slashed,
        tokens(200) / U256::from(10),
        "the demo pool's 10 % no-boot share of the stake"
    );
    assert_eq!(m.balance(m.buyer).await - before, refund + slashed);
}
