//! Providers and pool operators through `utter`: a pool created, joined with a stake, an offer
//! published, paused and resumed, a lease served and its earnings withdrawn after the pool's fee,
//! stake unbonded, fees and trust set, an abuse report ruled on.

mod common;

use alloy::primitives::{U256, keccak256};
use common::{Market, wei};
use utter_bindings::{
    BuyerTrust, ComputeToken, LeaseEscrow, Pools, ProviderRegistry, demo::tokens,
};
use utter_testkit::anvil::{confirm, warp};

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_and_an_operator_run_a_pool() {
    let m = Market::start("provider").await;
    let operator = m.spare[0];
    let host = m.spare[1];
    let token = ComputeToken::new(m.deployment.token, &m.provider);
    confirm("fund", token.transfer(host, tokens(1000)).from(m.treasury)).await;

    let created = m
        .utter(
            operator,
            &[
                "pool",
                "create",
                "--name",
                "cli pool",
                "--fee-bps",
                "1000",
                "--min-stake",
                "100",
                "--provider-unbonding",
                "1h",
                "--yes",
                "--json",
            ],
        )
        .json();
    let pool = created["pool_id"].as_u64().unwrap();
    assert_eq!(pool, 2);
    let pools = Pools::new(m.deployment.pools, &m.provider);
    let stored = pools.getPool(2).call().await.unwrap();
    assert_eq!(
        (stored.operator, stored.feeBps, stored.name.as_str()),
        (operator, 1000, "cli pool")
    );
    assert_eq!(U256::from(stored.minStake), tokens(100));

    // Below the minimum: refused before anything is sent.
    let r = m.utter(
        host,
        &["provider", "join", "--pool", "2", "--stake", "50", "--yes"],
    );
    assert!(r.err().contains("at least 100 UTC"), "{}", r.stderr);
    m.utter(
        host,
        &[
            "provider", "join", "--pool", "2", "--stake", "150", "--yes", "--json",
        ],
    )
    .json();
    m.utter(
        host,
        &["provider", "stake", "--pool", "2", "50", "--yes", "--json"],
    )
    .json();
    let registry = ProviderRegistry::new(m.deployment.registry, &m.provider);
    assert_eq!(
        U256::from(registry.bondedOf(2, host).call().await.unwrap()),
        tokens(200)
    );
    assert_eq!(m.balance(host).await, tokens(800));

    let published = m
        .utter(
            host,
            &[
                "provider",
                "offer",
                "publish",
                "--pool",
                "2",
                "--price",
                "3.6",
                "--vcpus",
                "4",
                "--ram-mib",
                "8192",
                "--region",
                "eu-cli-1",
                "--capacity",
                "2",
                "--image",
                "debian-12",
                "--yes",
                "--json",
            ],
        )
        .json();
    let offer = published["offer_id"].as_u64().unwrap() as u32;
    let offers = utter_bindings::Offers::new(m.deployment.offers, &m.provider);
    let stored = offers.getOffer(offer).call().await.unwrap();
    assert_eq!(
        U256::from(stored.pricePerSecond),
        tokens(1) / U256::from(1000),
        "3.6 per hour"
    );
    assert_eq!(
        (stored.spec.vcpus, stored.spec.ramMiB, stored.capacity),
        (4, 8192, 2)
    );
    assert!(
        offers
            .offersImage(offer, keccak256("debian-12"))
            .call()
            .await
            .unwrap()
    );
    let id = offer.to_string();
    let paused = m
        .utter(
            host,
            &["provider", "offer", "pause", &id, "--yes", "--json"],
        )
        .json();
    assert_eq!(paused["status"], "paused");
    let resumed = m
        .utter(
            host,
            &["provider", "offer", "resume", &id, "--yes", "--json"],
        )
        .json();
    assert_eq!(resumed["status"], "active");
    m.utter(
        host,
        &[
            "provider",
            "offer",
            "update",
            &id,
            "--capacity",
            "3",
            "--yes",
            "--json",
        ],
    )
    .json();
    assert_eq!(offers.getOffer(offer).call().await.unwrap().capacity, 3);

    // A buyer leases it for 100 s; the provider acknowledges, it runs, the provider withdraws.
    let opened = m.lease_open(&id).duration("100s").image("debian-12").json();
    let fresh = m.fresh();
    let escrow = LeaseEscrow::new(m.deployment.escrow, &fresh);
    let access = common::access::encrypt(
        &m.ssh_pub_text,
        &common::access::AccessDetails {
            chain_id: m.deployment.chain_id,
            lease_id: 1,
            host: "198.51.100.1".into(),
            port: 22,
            user: "debian".into(),
            host_key_fingerprint: "SHA256:x".into(),
        },
    )
    .unwrap();
    confirm(
        "ack",
        escrow
            .acknowledge(U256::ONE, access.into(), Default::default())
            .from(host),
    )
    .await;
    warp(&m.provider, 200).await.unwrap();
    let before = m.balance(host).await;
    let withdrawn = m
        .utter(host, &["provider", "withdraw", "--all", "--yes", "--json"])
        .json();
    let paid = wei(&withdrawn["amount"]);
    let earned = tokens(1) / U256::from(1000) * U256::from(100);
    let fee = earned * U256::from(1000) / U256::from(10_000);
    assert_eq!(
        paid,
        earned - fee,
        "100 s at the price, less the pool's 10 %"
    );
    assert_eq!(m.balance(host).await - before, paid);
    assert_eq!(
        escrow.poolFees(2).call().await.unwrap(),
        fee + wei(&opened["anon_fee"]),
        "the pool's fee of the earnings and the anonymous-start fee"
    );

    // Unbond part of the stake; withdrawing it now is refused by the registry, with the reason.
    let unbonded = m
        .utter(
            host,
            &["provider", "unbond", "--pool", "2", "60", "--yes", "--json"],
        )
        .json();
    assert!(
        unbonded["done"]
            .as_str()
            .unwrap()
            .contains("unbonding 60 UTC")
    );
    let stake = registry.stakeOf(2, host).call().await.unwrap();
    assert_eq!(
        (U256::from(stake.bonded), U256::from(stake.unbonding)),
        (tokens(140), tokens(60))
    );
    let r = m.utter(
        host,
        &["provider", "withdraw-stake", "--pool", "2", "--yes"],
    );
    assert!(
        r.err().contains("Registry_NothingToWithdraw"),
        "{}",
        r.stderr
    );
    warp(&m.provider, 3601).await.unwrap();
    m.utter(
        host,
        &[
            "provider",
            "withdraw-stake",
            "--pool",
            "2",
            "--yes",
            "--json",
        ],
    )
    .json();
    assert_eq!(m.balance(host).await - before, paid + tokens(60));
    let shown = m
        .utter_with(
            None,
            &["provider", "show", &format!("{host:#x}"), "--json"],
            &[],
            None,
        )
        .json();
    assert_eq!(wei(&shown["stakes"][0]["bonded"]), tokens(140));

    // The operator sets the fee and trust parameters, and withdraws the pool's fees.
    m.utter(
        operator,
        &[
            "pool",
            "set-fee",
            "2",
            "--fee-bps",
            "300",
            "--yes",
            "--json",
        ],
    )
    .json();
    m.utter(
        operator,
        &[
            "pool",
            "set-trust",
            "2",
            "--base-leases",
            "3",
            "--trusted-deposit",
            "20",
            "--yes",
            "--json",
        ],
    )
    .json();
    let stored = pools.getPool(2).call().await.unwrap();
    assert_eq!((stored.feeBps, stored.trust.baseLeases), (300, 3));
    assert_eq!(U256::from(stored.trust.trustedDeposit), tokens(20));
    assert_eq!(stored.trust.maxLeases, 16, "what was not given is kept");
    let shown = m.utter(operator, &["pool", "show", "2", "--json"]).json();
    assert_eq!(shown["fee_bps"], 300);
    let fees = escrow.poolFees(2).call().await.unwrap();
    let before = m.balance(operator).await;
    let r = m
        .utter(operator, &["pool", "withdraw-fees", "2", "--yes", "--json"])
        .json();
    assert_eq!(wei(&r["amount"]), fees);
    assert_eq!(m.balance(operator).await - before, fees);

    // An abuse report against the buyer, upheld with a slash of its deposit.
    let fresh = m.fresh();
    let trust = BuyerTrust::new(m.deployment.buyer_trust, &fresh);
    m.utter(m.buyer, &["trust", "deposit", "10", "--yes", "--json"])
        .json();
    confirm(
        "report",
        trust
            .reportAbuse(U256::ONE, "https://evidence.example/1".into())
            .from(host),
    )
    .await;
    let r = m.utter(
        operator,
        &["pool", "rule", "1", "--uphold", "--slash", "5", "--yes"],
    );
    assert!(r.err().contains("BuyerTrust_SlashTooHigh"), "{}", r.stderr);
    let ruled = m
        .utter(
            operator,
            &[
                "pool", "rule", "1", "--uphold", "--slash", "0.5", "--yes", "--json",
            ],
        )
        .json();
    assert_eq!(wei(&ruled["slashed"]), tokens(1) / U256::from(2));
    assert_eq!(
        U256::from(trust.depositOf(m.buyer).call().await.unwrap()),
        tokens(19) / U256::from(2)
    );
}
