//! One lease from opening to closing on the pinned anvil, with every balance checked to the wei.

mod common;

use alloy::primitives::{Address, Bytes, U256, aliases::U96, keccak256};
use common::{confirm, mined_at, spawn_anvil, wallets, warp};
use utter_bindings::{
    ComputeToken, LeaseEscrow, Offers, Pools, ProviderRegistry, demo::tokens, deploy,
};

/// Token wei per second the offer charges.
const PRICE: u64 = 1_000_000_000_000;
/// The pool's fee: 10 % of provider earnings.
const FEE_BPS: u16 = 1_000;
/// Seconds a ran-dry lease's disk is kept.
const RETENTION: u32 = 3_600;
/// `LeaseStatus` values as the ABI encodes them.
const RUNNING: u8 = 2;
const HALTED: u8 = 3;
const CLOSED: u8 = 5;
/// `EndReason::RanDry`.
const RAN_DRY: u8 = 2;

fn fee_of(payout: U256) -> U256 {
    payout * U256::from(FEE_BPS) / U256::from(10_000)
}

#[tokio::test]
async fn a_lease_runs_is_topped_up_pays_out_runs_dry_and_closes() {
    let anvil = spawn_anvil();
    let (provider, accounts) = wallets(&anvil, 4);
    let [deployer, operator, host, buyer]: [Address; 4] =
        accounts.try_into().expect("four accounts");
    let system = deploy(&provider, deployer)
        .await
        .expect("the system deploys");

    let token = ComputeToken::new(system.token, &provider);
    let pools = Pools::new(system.pools, &provider);
    let registry = ProviderRegistry::new(system.registry, &provider);
    let offers = Offers::new(system.offers, &provider);
    let escrow = LeaseEscrow::new(system.escrow, &provider);
    let balance = async |who: Address| token.balanceOf(who).call().await.expect("balanceOf");

    let stake = tokens(100);
    let buyer_funds = tokens(10);
    confirm("fund the host", token.transfer(host, stake).from(deployer)).await;
    confirm(
        "fund the buyer",
        token.transfer(buyer, buyer_funds).from(deployer),
    )
    .await;

    // The operator opens a pool. Trusted thresholds of zero make nobody anonymous: no start fee.
    let config = Pools::PoolConfig {
        name: "test pool".into(),
        metadataURI: "https://pool.example/rules".into(),
        feeBps: FEE_BPS,
        noBootSlashBps: 1_000,
        bootFailSlashBps: 500,
        providerUnbonding: 7 * 86_400,
        minStake: U96::from(stake),
        trust: Pools::TrustParams {
            trustedDeposit: U96::ZERO,
            trustedKarma: U96::ZERO,
            anonTargetShareBps: 2_000,
            maxBuyerSlashBps: 1_000,
            baseLeases: 1,
            maxLeases: 4,
            depositPerLease: U96::ZERO,
            karmaPerLease: U96::ZERO,
            anonMinFee: U96::ZERO,
            anonMaxFee: U96::ZERO,
        },
    };
    confirm("create the pool", pools.createPool(config).from(operator)).await;
    let pool_id = pools.poolCount().call().await.expect("poolCount");

    // The host stakes the pool's minimum and publishes an offer.
    confirm(
        "approve the stake",
        token.approve(system.registry, stake).from(host),
    )
    .await;
    confirm("stake", registry.stake(pool_id, stake).from(host)).await;
    assert!(
        registry
            .isEligible(pool_id, host)
            .call()
            .await
            .expect("isEligible")
    );
    let image_id = keccak256("ubuntu-24.04");
    let spec = Offers::OfferSpec {
        vcpus: 2,
        ramMiB: 4_096,
        diskGiB: 40,
        gpuCount: 0,
        bandwidthUpMbps: 1_000,
        bandwidthDownMbps: 1_000,
        publicIpv4: true,
        publicIpv6: true,
        gpuModel: String::new(),
        region: "eu-west-1".into(),
    };
    let terms = Offers::OfferTerms {
        pricePerSecond: U96::from(PRICE),
        capacity: 2,
        bootTimeout: 600,
        retention: RETENTION,
    };
    let images = vec![Offers::Image {
        id: image_id,
        name: "ubuntu-24.04".into(),
    }];
    confirm(
        "publish the offer",
        offers.publishOffer(pool_id, spec, terms, images).from(host),
    )
    .await;
    let offer_id = offers.offerCount().call().await.expect("offerCount");

    // The buyer opens a lease paying for one hour.
    let price = U256::from(PRICE);
    let deposit = price * U256::from(3_600);
    confirm(
        "approve the escrow",
        token.approve(system.escrow, buyer_funds).from(buyer),
    )
    .await;
    let params = LeaseEscrow::OpenParams {
        offerId: offer_id,
        imageId: image_id,
        deposit,
        maxPricePerSecond: price,
        maxAnonFee: U256::ZERO,
        sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJtest buyer@utter".into(),
        encryptedUserData: Bytes::new(),
    };
    let opened = confirm("open the lease", escrow.openLease(params).from(buyer)).await;
    let event = opened
        .decoded_log::<LeaseEscrow::LeaseOpened>()
        .expect("the escrow emits LeaseOpened");
    let lease_id = event.leaseId;
    assert_eq!((event.offerId, event.buyer), (offer_id, buyer));
    assert_eq!(event.opening.provider, host);
    assert_eq!(U256::from(event.opening.deposit), deposit);
    assert!(!event.opening.isAnonymous);
    assert_eq!(balance(buyer).await, buyer_funds - deposit);
    assert_eq!(balance(system.escrow).await, deposit);

    // Waiting for the boot is not billed; billing starts at the acknowledgement.
    warp(&provider, 120).await;
    let acked = confirm(
        "acknowledge",
        escrow
            .acknowledge(
                lease_id,
                Bytes::from_static(b"age-encrypted access"),
                keccak256("host key"),
            )
            .from(host),
    )
    .await;
    let started_at = mined_at(&provider, &acked).await;

    // A top-up while running extends the runway.
    warp(&provider, 300).await;
    let top_up = price * U256::from(600);
    confirm("top up", escrow.topUp(lease_id, top_up).from(buyer)).await;
    assert_eq!(balance(buyer).await, buyer_funds - deposit - top_up);

    // The host withdraws what it earned so far, less the pool's fee.
    warp(&provider, 1_000).await;
    let withdrawn = confirm("withdraw", escrow.withdraw(vec![lease_id], host).from(host)).await;
    let withdrawn_at = mined_at(&provider, &withdrawn).await;
    let first_payout = price * U256::from(withdrawn_at - started_at);
    let first_fee = fee_of(first_payout);
    assert_eq!(balance(host).await, first_payout - first_fee);
    assert_eq!(
        escrow.poolFees(pool_id).call().await.expect("poolFees"),
        first_fee
    );
    let state = escrow
        .leaseState(lease_id)
        .call()
        .await
        .expect("leaseState");
    let rest = deposit + top_up - first_payout;
    assert_eq!(state.status, RUNNING);
    assert_eq!(state.balance + state.earned, rest);

    // Left alone, the lease runs dry at `paidUntil` and is halted from then on.
    let runway = (rest / price).to::<u64>();
    assert_eq!(
        rest % price,
        U256::ZERO,
        "every amount here is a whole number of seconds"
    );
    let paid_until = withdrawn_at + runway;
    warp(&provider, runway + 60).await;
    let state = escrow
        .leaseState(lease_id)
        .call()
        .await
        .expect("leaseState");
    assert_eq!(state.status, HALTED);
    assert_eq!((state.balance, state.earned), (U256::ZERO, rest));
    assert_eq!(state.paidUntil, paid_until);

    // Once the retention window is over anyone may close it; the buyer gets nothing back.
    warp(&provider, u64::from(RETENTION)).await;
    let closed = confirm("close", escrow.close(lease_id).from(operator)).await;
    let ended = closed
        .decoded_log::<LeaseEscrow::LeaseEnded>()
        .expect("LeaseEnded");
    assert_eq!(ended.reason, RAN_DRY);
    assert_eq!((ended.refund, ended.slashed), (U256::ZERO, U256::ZERO));
    let lease = escrow.getLease(lease_id).call().await.expect("getLease");
    assert_eq!(lease.status, CLOSED);
    assert_eq!(
        U256::from(lease.funds),
        rest,
        "the rest is the host's to withdraw"
    );

    // The host takes the rest, the operator the pool's fees: the escrow is empty.
    confirm(
        "withdraw the rest",
        escrow.withdraw(vec![lease_id], host).from(host),
    )
    .await;
    let second_fee = fee_of(rest);
    assert_eq!(
        balance(host).await,
        first_payout - first_fee + rest - second_fee
    );
    confirm(
        "withdraw pool fees",
        escrow.withdrawPoolFees(pool_id, operator).from(operator),
    )
    .await;
    assert_eq!(balance(operator).await, first_fee + second_fee);
    assert_eq!(balance(system.escrow).await, U256::ZERO);
    assert_eq!(balance(buyer).await, buyer_funds - deposit - top_up);
    assert_eq!(balance(system.registry).await, stake, "nothing was slashed");

    let record = escrow
        .providerRecord(host)
        .call()
        .await
        .expect("providerRecord");
    assert_eq!(record.ranDry, 1);
    assert_eq!(record.completedSeconds, withdrawn_at - started_at + runway);
    let buyer_record = escrow.buyerRecord(buyer).call().await.expect("buyerRecord");
    assert_eq!(buyer_record.active, 0);
    assert_eq!(
        U256::from(buyer_record.karma),
        deposit + top_up,
        "karma counts what was paid"
    );
}
