//! Deploying the whole system on the pinned anvil.

mod common;

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use common::{spawn_anvil, wallet};
use utter_bindings::{
    BuyerTrust, ComputeToken, DeployError, Deployment, LeaseEscrow, Offers, ProviderRegistry,
    SystemContract, deploy,
};

#[tokio::test]
async fn deploy_creates_all_six_contracts_at_the_deployers_consecutive_nonces() {
    let anvil = spawn_anvil();
    let (provider, deployer) = wallet(&anvil, 0);
    let first_nonce = provider
        .get_transaction_count(deployer)
        .await
        .expect("nonce");

    let deployment = deploy(&provider, deployer)
        .await
        .expect("the system deploys");

    assert_eq!(deployment.chain_id, anvil.chain_id());
    assert_eq!(deployment.deployer, deployer);
    assert_eq!(
        deployment.deploy_block, 1,
        "the first deploy transaction is in anvil's first block"
    );
    for (contract, address) in SystemContract::ALL.into_iter().zip(deployment.addresses()) {
        assert_eq!(
            address,
            deployer.create(first_nonce + contract.nonce_offset()),
            "{contract}"
        );
        let code = provider.get_code_at(address).await.expect("code");
        assert!(!code.is_empty(), "{contract} has no code at {address}");
    }
    let nonce_after = provider
        .get_transaction_count(deployer)
        .await
        .expect("nonce");
    assert_eq!(nonce_after, first_nonce + 6);
}

#[tokio::test]
async fn the_contracts_know_each_other_including_the_escrow_deployed_last() {
    let anvil = spawn_anvil();
    let (provider, deployer) = wallet(&anvil, 0);
    let d = deploy(&provider, deployer)
        .await
        .expect("the system deploys");

    let registry = ProviderRegistry::new(d.registry, &provider);
    assert_eq!(registry.TOKEN().call().await.expect("TOKEN"), d.token);
    assert_eq!(registry.POOLS().call().await.expect("POOLS"), d.pools);
    assert_eq!(registry.ESCROW().call().await.expect("ESCROW"), d.escrow);
    let offers = Offers::new(d.offers, &provider);
    assert_eq!(
        offers.REGISTRY().call().await.expect("REGISTRY"),
        d.registry
    );
    let trust = BuyerTrust::new(d.buyer_trust, &provider);
    assert_eq!(trust.TOKEN().call().await.expect("TOKEN"), d.token);
    assert_eq!(trust.POOLS().call().await.expect("POOLS"), d.pools);
    assert_eq!(trust.ESCROW().call().await.expect("ESCROW"), d.escrow);
    let escrow = LeaseEscrow::new(d.escrow, &provider);
    assert_eq!(escrow.TOKEN().call().await.expect("TOKEN"), d.token);
    assert_eq!(escrow.POOLS().call().await.expect("POOLS"), d.pools);
    assert_eq!(
        escrow.REGISTRY().call().await.expect("REGISTRY"),
        d.registry
    );
    assert_eq!(escrow.OFFERS().call().await.expect("OFFERS"), d.offers);
    assert_eq!(
        escrow.BUYER_TRUST().call().await.expect("BUYER_TRUST"),
        d.buyer_trust
    );
}

#[tokio::test]
async fn the_deployer_holds_the_whole_token_supply() {
    let anvil = spawn_anvil();
    let (provider, deployer) = wallet(&anvil, 0);
    let deployment = deploy(&provider, deployer)
        .await
        .expect("the system deploys");

    let token = ComputeToken::new(deployment.token, &provider);
    let supply = token.totalSupply().call().await.expect("totalSupply");
    assert!(supply > U256::ZERO);
    assert_eq!(
        token.balanceOf(deployer).call().await.expect("balanceOf"),
        supply
    );
    let other = anvil.addresses()[1];
    assert_eq!(
        token.balanceOf(other).call().await.expect("balanceOf"),
        U256::ZERO
    );
}

#[tokio::test]
async fn a_deployment_saved_to_a_file_loads_back_unchanged() {
    let anvil = spawn_anvil();
    let (provider, deployer) = wallet(&anvil, 0);
    let deployment = deploy(&provider, deployer)
        .await
        .expect("the system deploys");

    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("deployment-{}.json", std::process::id()));
    deployment.save(&path).expect("saves");
    let loaded = Deployment::load(&path).expect("loads");
    std::fs::remove_file(&path).expect("cleans up");
    assert_eq!(loaded, deployment);
}

#[tokio::test]
async fn a_deployer_without_ether_fails_on_the_token_naming_it() {
    let anvil = spawn_anvil();
    let signer = PrivateKeySigner::random();
    let deployer: Address = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.endpoint_url());

    let err = deploy(&provider, deployer)
        .await
        .expect_err("no ether for gas");
    assert!(
        matches!(
            err,
            DeployError::Send {
                contract: SystemContract::ComputeToken,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ComputeToken"), "{err}");
}
