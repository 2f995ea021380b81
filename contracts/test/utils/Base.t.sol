// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BuyerTrust} from "../../src/BuyerTrust.sol";
import {ComputeToken} from "../../src/ComputeToken.sol";
import {LeaseEscrow} from "../../src/LeaseEscrow.sol";
import {Offers} from "../../src/Offers.sol";
import {Pools} from "../../src/Pools.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ILeaseEscrow} from "../../src/interfaces/ILeaseEscrow.sol";
import {Image, OfferSpec, OfferTerms, OpenParams, PoolConfig, TrustParams} from "../../src/types/DataTypes.sol";
import {Test} from "./Test.sol";

/// @notice Deploys the whole system the way `utter-bindings::deploy` does (escrow address predicted for the
/// registry and buyer trust), with one pool, one staked provider and one offer, and funded actors.
abstract contract Base is Test {
    ComputeToken internal token;
    Pools internal pools;
    ProviderRegistry internal registry;
    Offers internal offers;
    BuyerTrust internal buyerTrust;
    LeaseEscrow internal escrow;

    address internal operator = makeAddr("operator");
    address internal provider = makeAddr("provider");
    address internal buyer = makeAddr("buyer");
    address internal stranger = makeAddr("stranger");

    uint32 internal poolId;
    uint32 internal offerId;

    uint96 internal constant PRICE = 1e12; // token wei per second
    uint96 internal constant MIN_STAKE = 1000e18;
    uint16 internal constant FEE_BPS = 500;
    uint16 internal constant NO_BOOT_SLASH_BPS = 1000;
    uint16 internal constant BOOT_FAIL_SLASH_BPS = 100;
    uint32 internal constant PROVIDER_UNBONDING = 14 days;
    uint32 internal constant BOOT_TIMEOUT = 10 minutes;
    uint32 internal constant RETENTION = 1 days;
    uint32 internal constant CAPACITY = 20;
    uint96 internal constant ANON_MIN_FEE = 1e15;
    uint96 internal constant ANON_MAX_FEE = 1e20;
    bytes32 internal constant IMAGE = keccak256("ubuntu-24.04");
    bytes32 internal constant IMAGE_2 = keccak256("debian-12");
    string internal constant SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly buyer@utter";
    uint256 internal constant ONE_HOUR_DEPOSIT = uint256(PRICE) * 3600;

    function setUp() public virtual {
        vm.warp(1_750_000_000);
        address deployer = address(this);
        uint256 nonce = vm.getNonce(deployer);
        address predictedEscrow = vm.computeCreateAddress(deployer, nonce + 5);
        token = new ComputeToken(address(this));
        pools = new Pools();
        registry = new ProviderRegistry(token, pools, predictedEscrow);
        offers = new Offers(registry);
        buyerTrust = new BuyerTrust(token, pools, ILeaseEscrow(predictedEscrow));
        escrow = new LeaseEscrow(token, pools, registry, offers, buyerTrust);
        require(address(escrow) == predictedEscrow, "escrow address prediction");

        vm.label(address(token), "ComputeToken");
        vm.label(address(pools), "Pools");
        vm.label(address(registry), "ProviderRegistry");
        vm.label(address(offers), "Offers");
        vm.label(address(buyerTrust), "BuyerTrust");
        vm.label(address(escrow), "LeaseEscrow");

        fund(provider, 100_000e18);
        fund(buyer, 100_000e18);
        fund(stranger, 100_000e18);

        vm.prank(operator);
        poolId = pools.createPool(defaultPoolConfig());

        stakeAs(provider, MIN_STAKE);
        offerId = publishDefaultOffer(provider);
    }

    // ---------------------------------------------------------------- fixtures

    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }

    function fund(address account, uint256 amount) internal {
        token.transfer(account, amount);
        vm.startPrank(account);
        token.approve(address(escrow), type(uint256).max);
        token.approve(address(registry), type(uint256).max);
        token.approve(address(buyerTrust), type(uint256).max);
        vm.stopPrank();
    }

    function defaultTrust() internal pure returns (TrustParams memory) {
        return TrustParams({
            trustedDeposit: 500e18,
            trustedKarma: 100e18,
            anonTargetShareBps: 2000,
            maxBuyerSlashBps: 2500,
            baseLeases: 3,
            maxLeases: 50,
            depositPerLease: 100e18,
            karmaPerLease: 10e18,
            anonMinFee: ANON_MIN_FEE,
            anonMaxFee: ANON_MAX_FEE
        });
    }

    function defaultPoolConfig() internal pure returns (PoolConfig memory) {
        return PoolConfig({
            name: "utter-eu",
            metadataURI: "https://pool.example/eu.json",
            feeBps: FEE_BPS,
            noBootSlashBps: NO_BOOT_SLASH_BPS,
            bootFailSlashBps: BOOT_FAIL_SLASH_BPS,
            providerUnbonding: PROVIDER_UNBONDING,
            minStake: MIN_STAKE,
            trust: defaultTrust()
        });
    }

    function defaultSpec() internal pure returns (OfferSpec memory) {
        return OfferSpec({
            vcpus: 4,
            ramMiB: 8192,
            diskGiB: 80,
            gpuCount: 0,
            bandwidthUpMbps: 1000,
            bandwidthDownMbps: 1000,
            publicIpv4: true,
            publicIpv6: true,
            gpuModel: "",
            region: "eu-west-1"
        });
    }

    function defaultTerms() internal pure returns (OfferTerms memory) {
        return OfferTerms({pricePerSecond: PRICE, capacity: CAPACITY, bootTimeout: BOOT_TIMEOUT, retention: RETENTION});
    }

    function defaultImages() internal pure returns (Image[] memory images) {
        images = new Image[](2);
        images[0] = Image({id: IMAGE, name: "ubuntu-24.04"});
        images[1] = Image({id: IMAGE_2, name: "debian-12"});
    }

    function stakeAs(address who, uint256 amount) internal {
        vm.prank(who);
        registry.stake(poolId, amount);
    }

    function publishDefaultOffer(address who) internal returns (uint32 id) {
        vm.prank(who);
        id = offers.publishOffer(poolId, defaultSpec(), defaultTerms(), defaultImages());
    }

    function openParams(uint256 deposit) internal view returns (OpenParams memory) {
        return OpenParams({
            offerId: offerId,
            imageId: IMAGE,
            deposit: deposit,
            maxPricePerSecond: type(uint256).max,
            maxAnonFee: type(uint256).max,
            sshPublicKey: SSH_KEY,
            encryptedUserData: ""
        });
    }

    function openAs(address who, uint256 deposit) internal returns (uint256 leaseId) {
        vm.prank(who);
        leaseId = escrow.openLease(openParams(deposit));
    }

    function acknowledgeAs(address who, uint256 leaseId) internal {
        vm.prank(who);
        escrow.acknowledge(leaseId, hex"a9e0", keccak256("host key"));
    }

    /// @dev Opens a lease for `buyer` with `deposit` and has the provider acknowledge it.
    function openRunning(uint256 deposit) internal returns (uint256 leaseId) {
        leaseId = openAs(buyer, deposit);
        acknowledgeAs(provider, leaseId);
    }

    function single(uint256 leaseId) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = leaseId;
    }

    function skip(uint256 seconds_) internal {
        vm.warp(block.timestamp + seconds_);
    }
}
