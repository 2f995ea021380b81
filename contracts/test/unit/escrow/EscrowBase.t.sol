// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    BuyerRecord,
    Lease,
    LeaseOpening,
    LeaseStatus,
    OfferTerms,
    OpenParams,
    PoolConfig,
    ProviderRecord,
    TrustParams
} from "../../../src/types/DataTypes.sol";
import {Base} from "../../utils/Base.t.sol";
import {Vm} from "../../utils/Vm.sol";

/// @dev Cheatcodes the shared `Vm` interface does not declare, at the same address.
interface VmStorage {
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function store(address target, bytes32 slot, bytes32 value) external;
}

/// @notice Fixtures and assertions shared by the LeaseEscrow unit tests (one contract per external function,
/// each mirroring its `.tree` file). Every lease helper works on the default offer and `buyer` unless it says
/// otherwise; `buyer` holds no trust deposit, so it is anonymous and pays the anonymous-start fee.
abstract contract EscrowBase is Base {
    VmStorage internal constant vmStorage = VmStorage(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant T0 = 1_750_000_000;
    uint256 internal constant P = PRICE;
    uint256 internal constant MIN_DEPOSIT = uint256(PRICE) * 60;
    /// @dev The fee of the first anonymous start in an idle pool: the floor.
    uint256 internal constant FIRST_ANON_FEE = ANON_MIN_FEE;
    /// @dev The fee after one anonymous start above target: the floor times 9/8.
    uint256 internal constant SECOND_ANON_FEE = ANON_MIN_FEE * 9 / 8;
    uint256 internal constant TRUSTED_DEPOSIT = 500e18;
    uint256 internal constant TRUSTED_KARMA = 100e18;
    uint256 internal constant BOOT_FAIL_SLASH = uint256(MIN_STAKE) * BOOT_FAIL_SLASH_BPS / 10_000;
    uint256 internal constant NO_BOOT_SLASH = uint256(MIN_STAKE) * NO_BOOT_SLASH_BPS / 10_000;
    bytes internal constant ACCESS = hex"a9e0";
    bytes32 internal constant HOST_KEY = keccak256("host key");
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address internal provider2 = makeAddr("provider2");
    /// @dev Holds a 1000-token trust deposit: not anonymous, limit 3 + 10 = 13 leases.
    address internal trustedBuyer = makeAddr("trustedBuyer");

    function setUp() public virtual override {
        super.setUp();
        fund(trustedBuyer, 100_000e18);
        depositTrust(trustedBuyer, 1000e18);
    }

    // ---------------------------------------------------------------- fixtures

    function ids2(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }

    function terms(uint96 price, uint32 capacity, uint32 bootTimeout, uint32 retention)
        internal
        pure
        returns (OfferTerms memory)
    {
        return OfferTerms({pricePerSecond: price, capacity: capacity, bootTimeout: bootTimeout, retention: retention});
    }

    /// @dev Publishes an offer in the default pool with the default spec and images.
    function publishOfferAs(address who, OfferTerms memory offerTerms) internal returns (uint32 id) {
        vm.prank(who);
        id = offers.publishOffer(poolId, defaultSpec(), offerTerms, defaultImages());
    }

    /// @dev Publishes an offer of `provider` at `price`, with the default capacity, boot timeout and retention.
    function publishOfferAt(uint96 price) internal returns (uint32 id) {
        id = publishOfferAs(provider, terms(price, CAPACITY, BOOT_TIMEOUT, RETENTION));
    }

    /// @dev Funds and stakes `provider2` and publishes a default offer for it.
    function addProvider2() internal returns (uint32 id) {
        fund(provider2, 100_000e18);
        stakeAs(provider2, MIN_STAKE);
        id = publishOfferAs(provider2, defaultTerms());
    }

    /// @dev A second pool, operated by `operator2`, in which `provider` stakes and publishes a default offer.
    function addPool2() internal returns (uint32 pool2, uint32 offerInPool2) {
        address operator2 = makeAddr("operator2");
        vm.prank(operator2);
        pool2 = pools.createPool(defaultPoolConfig());
        vm.prank(provider);
        registry.stake(pool2, MIN_STAKE);
        vm.prank(provider);
        offerInPool2 = offers.publishOffer(pool2, defaultSpec(), defaultTerms(), defaultImages());
    }

    /// @dev Replaces the default offer's terms (as its provider).
    function setOfferTerms(OfferTerms memory offerTerms) internal {
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), offerTerms);
    }

    /// @dev Replaces the default pool's configuration (as its operator).
    function setPoolConfig(PoolConfig memory config) internal {
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    function setTrust(TrustParams memory trust) internal {
        PoolConfig memory config = defaultPoolConfig();
        config.trust = trust;
        setPoolConfig(config);
    }

    function setFeeBps(uint16 feeBps) internal {
        PoolConfig memory config = defaultPoolConfig();
        config.feeBps = feeBps;
        setPoolConfig(config);
    }

    function depositTrust(address who, uint256 amount) internal {
        vm.prank(who);
        buyerTrust.deposit(amount);
    }

    function paramsOn(uint32 offer, uint256 deposit) internal view returns (OpenParams memory params) {
        params = openParams(deposit);
        params.offerId = offer;
    }

    function openOn(address who, uint32 offer, uint256 deposit) internal returns (uint256 leaseId) {
        vm.prank(who);
        leaseId = escrow.openLease(paramsOn(offer, deposit));
    }

    /// @dev Opens a lease of `who` on `offer` and has the offer's provider acknowledge it now.
    function openRunningOn(address who, uint32 offer, uint256 deposit) internal returns (uint256 leaseId) {
        (address serving,,,) = offers.providerOf(offer);
        leaseId = openOn(who, offer, deposit);
        acknowledgeAs(serving, leaseId);
    }

    function haltAs(address who, uint256 leaseId) internal {
        vm.prank(who);
        escrow.halt(leaseId);
    }

    function topUpAs(address who, uint256 leaseId, uint256 amount) internal {
        vm.prank(who);
        escrow.topUp(leaseId, amount);
    }

    function stopAs(address who, uint256 leaseId) internal {
        vm.prank(who);
        escrow.stop(leaseId);
    }

    function withdrawAs(address who, uint256[] memory leaseIds, address to) internal returns (uint256 amount) {
        vm.prank(who);
        amount = escrow.withdraw(leaseIds, to);
    }

    /// @dev `buyer`'s one-hour lease, acknowledged now, run dry and recorded as halted one hour later (the clock
    /// is left there). Its disk is kept until `now + 3600 + RETENTION`.
    function openHalted() internal returns (uint256 leaseId) {
        leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(3600);
        haltAs(stranger, leaseId);
    }

    /// @dev A halted lease (see {openHalted}) that `buyer` resumed with `amount` right when it halted.
    function openRestartPending(uint256 amount) internal returns (uint256 leaseId) {
        leaseId = openHalted();
        topUpAs(buyer, leaseId, amount);
    }

    /// @dev Running leases of other buyers on another provider's offer in the default pool, so that the rates are
    /// not zero: a trusted one and an anonymous one (of `stranger`), each at the default price for one hour. The
    /// rates then count `2 * P` globally and `P` anonymously in the pool on top of what they counted before.
    function runBystanders() internal {
        uint32 offer2 = addProvider2();
        openRunningOn(trustedBuyer, offer2, ONE_HOUR_DEPOSIT);
        openRunningOn(stranger, offer2, ONE_HOUR_DEPOSIT);
    }

    /// @dev `buyer`'s one-hour lease, acknowledged now and stopped by `buyer` half an hour later (clock left there).
    function openClosed() internal returns (uint256 leaseId) {
        leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(1800);
        stopAs(buyer, leaseId);
    }

    // ---------------------------------------------------------------- arithmetic

    function poolFee(uint256 payout) internal pure returns (uint256) {
        return payout * FEE_BPS / 10_000;
    }

    function net(uint256 payout) internal pure returns (uint256) {
        return payout - poolFee(payout);
    }

    /// @dev The anonymous-fee model of the spec: `fee * (1 + deviation / 8)` rounded up, within the bounds.
    function stepFee(uint256 fee, int256 deviation, uint256 minFee, uint256 maxFee) internal pure returns (uint256) {
        uint256 factor = uint256(80_000 + deviation);
        uint256 next = (fee * factor + 79_999) / 80_000;
        return next < minFee ? minFee : next > maxFee ? maxFee : next;
    }

    function stepsFee(uint256 fee, int256 deviation, uint256 steps, uint256 minFee, uint256 maxFee)
        internal
        pure
        returns (uint256)
    {
        for (uint256 i; i < steps; ++i) {
            fee = stepFee(fee, deviation, minFee, maxFee);
        }
        return fee;
    }

    // ---------------------------------------------------------------- permits

    function permitDigest(address owner, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(escrow), value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    /// @dev `key`'s ERC-2612 permit letting the escrow spend `value`, with the owner's current nonce.
    function signPermit(uint256 key, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        (v, r, s) = vm.sign(key, permitDigest(owner, value, token.nonces(owner), deadline));
    }

    // ---------------------------------------------------------------- storage

    /// @dev The storage slot of `who`'s BuyerRecord, found rather than hard-coded: the mapping whose entry for
    /// `who` holds exactly `expected` (pack it as active | opened << 32 | karma << 96 | lastEndedAt << 192).
    function buyerRecordSlot(address who, uint256 expected) internal view returns (bytes32 slot) {
        for (uint256 i; i < 32; ++i) {
            slot = keccak256(abi.encode(who, i));
            if (uint256(vmStorage.load(address(escrow), slot)) == expected) return slot;
        }
        revert("buyer record slot not found");
    }

    // ---------------------------------------------------------------- logs

    function countLogs(Vm.Log[] memory logs, address emitter, bytes32 topic0) internal pure returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics.length != 0 && logs[i].topics[0] == topic0) ++count;
        }
    }

    // ---------------------------------------------------------------- assertions

    function assertStatus(uint256 leaseId, LeaseStatus expected) internal view {
        assertEq(uint256(escrow.getLease(leaseId).status), uint256(expected), "stored status");
    }

    /// @dev Asserts every field of the stored lease; price and fee are the defaults.
    function assertLease(
        uint256 leaseId,
        address expectedBuyer,
        LeaseStatus status,
        bool isAnonymous,
        uint256 settledAt,
        uint256 funds,
        uint256 deadline
    ) internal view {
        assertLease(leaseId, expectedBuyer, offerId, status, isAnonymous, settledAt, funds, PRICE, deadline, FEE_BPS);
    }

    function assertLease(
        uint256 leaseId,
        address expectedBuyer,
        uint32 expectedOfferId,
        LeaseStatus status,
        bool isAnonymous,
        uint256 settledAt,
        uint256 funds,
        uint256 price,
        uint256 deadline,
        uint256 feeBps
    ) internal view {
        Lease memory lease = escrow.getLease(leaseId);
        assertEq(lease.buyer, expectedBuyer, "lease.buyer");
        assertEq(uint256(lease.offerId), uint256(expectedOfferId), "lease.offerId");
        assertEq(uint256(lease.status), uint256(status), "lease.status");
        assertEq(lease.isAnonymous, isAnonymous, "lease.isAnonymous");
        assertEq(uint256(lease.settledAt), settledAt, "lease.settledAt");
        assertEq(uint256(lease.funds), funds, "lease.funds");
        assertEq(uint256(lease.pricePerSecond), price, "lease.pricePerSecond");
        assertEq(uint256(lease.deadline), deadline, "lease.deadline");
        assertEq(uint256(lease.feeBps), feeBps, "lease.feeBps");
    }

    function assertState(uint256 leaseId, LeaseStatus status, uint256 balance, uint256 earned, uint256 paidUntil)
        internal
        view
    {
        (LeaseStatus s, uint256 b, uint256 e, uint40 p) = escrow.leaseState(leaseId);
        assertEq(uint256(s), uint256(status), "leaseState.status");
        assertEq(b, balance, "leaseState.balance");
        assertEq(e, earned, "leaseState.earned");
        assertEq(uint256(p), paidUntil, "leaseState.paidUntil");
    }

    /// @dev Asserts every field of `who`'s record; `lastEndedAt` is zero while none of its leases has ended.
    function assertBuyerRecord(address who, uint256 active, uint256 opened, uint256 karma, uint256 lastEndedAt)
        internal
        view
    {
        BuyerRecord memory record = escrow.buyerRecord(who);
        assertEq(uint256(record.active), active, "buyerRecord.active");
        assertEq(uint256(record.opened), opened, "buyerRecord.opened");
        assertEq(uint256(record.karma), karma, "buyerRecord.karma");
        assertEq(uint256(record.lastEndedAt), lastEndedAt, "buyerRecord.lastEndedAt");
    }

    function assertProviderRecord(
        address who,
        uint256 buyerStopped,
        uint256 ranDry,
        uint256 bootFailed,
        uint256 terminated,
        uint256 reclaimed,
        uint256 completedSeconds
    ) internal view {
        ProviderRecord memory record = escrow.providerRecord(who);
        assertEq(uint256(record.buyerStopped), buyerStopped, "providerRecord.buyerStopped");
        assertEq(uint256(record.ranDry), ranDry, "providerRecord.ranDry");
        assertEq(uint256(record.bootFailed), bootFailed, "providerRecord.bootFailed");
        assertEq(uint256(record.terminated), terminated, "providerRecord.terminated");
        assertEq(uint256(record.reclaimed), reclaimed, "providerRecord.reclaimed");
        assertEq(uint256(record.completedSeconds), completedSeconds, "providerRecord.completedSeconds");
    }

    function assertOfferLoad(uint32 offer, uint256 active, uint256 total) internal view {
        (uint32 a, uint64 t) = escrow.offerLoad(offer);
        assertEq(uint256(a), active, "offerLoad.active");
        assertEq(uint256(t), total, "offerLoad.total");
    }

    /// @dev The global compute rate and the default pool's anonymous rate.
    function assertRates(uint256 global, uint256 anon) internal view {
        assertEq(escrow.globalRate(), global, "globalRate");
        assertEq(escrow.anonRate(poolId), anon, "anonRate");
    }

    /// @dev The escrow holds exactly the sum of all leases' funds plus all pools' unwithdrawn fees.
    function assertEscrowBalanced() internal view {
        uint256 owed;
        uint256 count = escrow.leaseCount();
        for (uint256 id = 1; id <= count; ++id) {
            owed += escrow.getLease(id).funds;
        }
        uint32 poolCount = pools.poolCount();
        for (uint32 id = 1; id <= poolCount; ++id) {
            owed += escrow.poolFees(id);
        }
        assertEq(token.balanceOf(address(escrow)), owed, "escrow balance = funds + pool fees");
    }

    /// @dev The event payload of a lease on the default offer opened now by an address with `anonFee`.
    function opening(uint256 deposit, uint256 anonFee, bool isAnonymous, bytes memory userData)
        internal
        view
        returns (LeaseOpening memory o)
    {
        o.provider = provider;
        o.poolId = poolId;
        o.imageId = IMAGE;
        o.pricePerSecond = PRICE;
        o.deposit = uint96(deposit);
        o.anonFee = uint96(anonFee);
        o.isAnonymous = isAnonymous;
        o.feeBps = FEE_BPS;
        o.bootDeadline = uint40(block.timestamp + BOOT_TIMEOUT);
        o.userDataHash = userData.length == 0 ? bytes32(0) : keccak256(userData);
        o.sshPublicKey = SSH_KEY;
        o.encryptedUserData = userData;
    }
}
