// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBuyerTrust} from "../../src/interfaces/IBuyerTrust.sol";
import {
    BuyerRecord,
    Lease,
    LeaseStatus,
    OfferTerms,
    PoolConfig,
    ProviderRecord,
    Stake,
    TrustParams
} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";
import {Deployment, EscrowHandler} from "./handlers/EscrowHandler.sol";

/// @notice System-wide invariants of the exchange under random sequences of every lease, stake, trust and pool action,
/// driven by {EscrowHandler}. Setup: two pools with different fees, slash shares and trust parameters; four providers
/// (each staked in one pool, the last one also unbonding); five offers (one with zero retention, one priced in wei);
/// six buyers (two anonymous, one trusted by deposit, one with a small deposit, one starting empty, and a saver that
/// never leases and only uses BuyerTrust).
contract EscrowInvariantTest is Base {
    EscrowHandler internal handler;

    address internal operator2 = makeAddr("operator2");
    address internal provider2 = makeAddr("provider2");
    address internal provider3 = makeAddr("provider3");
    address internal provider4 = makeAddr("provider4");
    address internal feeSink = makeAddr("feeSink");
    uint32 internal pool2;

    address[] internal buyerList;
    address[] internal providerList;
    uint32[] internal offerList;
    uint32[] internal poolList;
    bytes4[] internal selectorList;
    mapping(uint32 offerId => uint32) internal _capacity;

    function setUp() public virtual override {
        super.setUp();

        // Pool 1 (from Base) and pool 2 (higher fee and slashes, shorter provider unbonding, its own trust rules);
        // subclasses adjust both in `_adjustPools`.
        PoolConfig memory config1 = defaultPoolConfig();
        PoolConfig memory config = defaultPoolConfig();
        config.name = "utter-us";
        config.feeBps = 1000;
        config.noBootSlashBps = 2500;
        config.bootFailSlashBps = 500;
        config.providerUnbonding = 1 days;
        config.minStake = 500e18;
        config.trust = TrustParams({
            trustedDeposit: 300e18,
            trustedKarma: 50e18,
            anonTargetShareBps: 3000,
            maxBuyerSlashBps: 5000,
            baseLeases: 2,
            maxLeases: 6,
            depositPerLease: 50e18,
            karmaPerLease: 20e18,
            anonMinFee: 1e16,
            anonMaxFee: 1e19
        });
        _adjustPools(config1, config);
        vm.prank(operator);
        pools.updatePool(poolId, config1);
        vm.prank(operator2);
        pool2 = pools.createPool(config);

        fund(provider2, 1_000_000e18);
        fund(provider3, 1_000_000e18);
        fund(provider4, 1_000_000e18);
        fund(provider, 1_000_000e18);

        // provider: pool 1 (offer 1 from Base, and a wei-priced offer); provider2: pool 1; provider3 and provider4:
        // pool 2, provider4 also unbonding.
        stakeAs(provider, 2000e18);
        vm.prank(provider2);
        registry.stake(poolId, 3000e18);
        vm.prank(provider3);
        registry.stake(pool2, 2000e18);
        vm.prank(provider4);
        registry.stake(pool2, 3000e18);
        vm.prank(provider4);
        registry.unbond(pool2, 1500e18);

        offerList.push(offerId);
        offerList.push(_publish(provider2, poolId, 3e14, 3, 120, 2 hours));
        offerList.push(_publish(provider3, pool2, 1e15, 4, 300, 6 hours));
        offerList.push(_publish(provider4, pool2, 7e13 + 1, 5, 60, 0));
        offerList.push(_publish(provider, poolId, 7, 5, 600, 1 hours));

        for (uint256 i; i < offerList.length; ++i) {
            _capacity[offerList[i]] = offers.getOffer(offerList[i]).capacity;
        }
        for (uint256 i; i < 6; ++i) {
            address b = vm.addr(uint256(keccak256(abi.encode("invariant buyer", i))));
            vm.label(b, string.concat("buyer", string(abi.encodePacked(bytes1(uint8(48 + i))))));
            fund(b, 1_000_000e18);
            buyerList.push(b);
        }
        vm.prank(buyerList[2]);
        buyerTrust.deposit(600e18); // trusted in both pools
        vm.prank(buyerList[3]);
        buyerTrust.deposit(150e18); // anon, but more leases

        providerList.push(provider);
        providerList.push(provider2);
        providerList.push(provider3);
        providerList.push(provider4); // last: the unbonding one
        poolList.push(poolId);
        poolList.push(pool2);

        handler = new EscrowHandler(
            Deployment({
                token: token,
                pools: pools,
                registry: registry,
                offers: offers,
                buyerTrust: buyerTrust,
                escrow: escrow,
                buyers: buyerList,
                providers: providerList,
                offerIds: offerList,
                poolIds: poolList,
                feeSink: feeSink,
                image: IMAGE
            })
        );
        vm.label(address(handler), "EscrowHandler");

        // Weights: lease-advancing actions (open, acknowledge, top-up, withdraw, time) are listed more than once.
        _add(EscrowHandler.openLease.selector, 3);
        _add(EscrowHandler.acknowledge.selector, 4);
        _add(EscrowHandler.topUp.selector, 2);
        _add(EscrowHandler.withdraw.selector, 2);
        _add(EscrowHandler.warp.selector, 3);
        _add(EscrowHandler.halt.selector, 1);
        _add(EscrowHandler.stop.selector, 1);
        _add(EscrowHandler.terminate.selector, 1);
        _add(EscrowHandler.reportBootFailure.selector, 1);
        _add(EscrowHandler.reclaim.selector, 1);
        _add(EscrowHandler.close.selector, 1);
        _add(EscrowHandler.trustDeposit.selector, 1);
        _add(EscrowHandler.trustRequestWithdrawal.selector, 1);
        _add(EscrowHandler.trustWithdraw.selector, 1);
        _add(EscrowHandler.reportAbuse.selector, 1);
        _add(EscrowHandler.resolveReport.selector, 1);
        _add(EscrowHandler.withdrawPoolFees.selector, 1);
        _add(EscrowHandler.stake.selector, 1);
        _add(EscrowHandler.unbond.selector, 1);
        _add(EscrowHandler.withdrawUnbonded.selector, 1);
        _add(EscrowHandler.repriceOffer.selector, 1);
        _add(EscrowHandler.pokeForbidden.selector, 2);
        _add(EscrowHandler.pokeEarlyUnstake.selector, 1);
        _add(EscrowHandler.pokeForbiddenOpen.selector, 1);
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectorList}));
    }

    /// @dev Hook for other configurations of the same campaign.
    function _adjustPools(PoolConfig memory pool1, PoolConfig memory pool2Config) internal virtual {}

    function _add(bytes4 selector, uint256 weight) internal {
        for (uint256 i; i < weight; ++i) {
            selectorList.push(selector);
        }
    }

    function _publish(address who, uint32 pool, uint96 price, uint32 capacity, uint32 bootTimeout, uint32 retention)
        internal
        returns (uint32 id)
    {
        OfferTerms memory terms =
            OfferTerms({pricePerSecond: price, capacity: capacity, bootTimeout: bootTimeout, retention: retention});
        vm.prank(who);
        id = offers.publishOffer(pool, defaultSpec(), terms, defaultImages());
    }

    // ================================================================ INVARIANTS

    /// @notice Forge runs one campaign per `invariant_` function and asserts only that function after each call, so
    /// all the system's invariants are asserted from this one function: each of them holds after every call of
    /// every run. The checks are the `assert...` functions below; one scan over the leases feeds those that sum
    /// over leases.
    function invariant_SystemInvariantsHold() public view {
        _checkAll();
    }

    /// @notice The handler's own per-call checks all held and no action the spec allows reverted. These cover the
    /// exact effect of every call (refund == unspent balance, payouts == earned minus fee, slash == floor(stake * bps
    /// / 1e4) bonded first, halt time == settledAt + ceil(funds / price), BuyerTrust withdrawals only when unlocked,
    /// ...) and the history of every lease: a closed lease never leaves Closed, its funds never grow and only shrink
    /// in withdrawals; status changes follow the lifecycle and only hit the lease the call was about.
    function assertHandlerChecksHeld() internal view {
        assertEq(handler.violations(), 0, handler.firstViolation());
    }

    /// @notice Sums over all leases, from one pass.
    struct Scan {
        uint256 funds;
        uint256 globalRate;
        uint256[] anonRate;
        uint256[] billedOfProvider;
        uint256[] billedOfPool;
    }

    /// @notice Per lease: balance + earned == funds (leaseState); unbooted leases earned nothing; a closed lease is
    /// final (stays Closed, no balance, all funds earned, funds as seen after the last call: they only ever shrink,
    /// in withdrawals, which the handler checks per call); refunded + funds <= deposit + top-ups. Returns the sums
    /// the other invariants need.
    function assertLeasesConsistent() internal view returns (Scan memory scan) {
        scan.anonRate = new uint256[](poolList.length);
        scan.billedOfProvider = new uint256[](providerList.length);
        scan.billedOfPool = new uint256[](poolList.length);
        uint256 n = escrow.leaseCount();
        assertEq(handler.leaseCount(), n, "handler missed a lease");
        for (uint256 id = 1; id <= n; ++id) {
            Lease memory l = escrow.getLease(id);
            (LeaseStatus status, uint256 balance, uint256 earned,) = escrow.leaseState(id);
            (address p, uint32 pool, uint256 paidIn, uint256 refunded, LeaseStatus lastStatus, uint96 lastFunds) =
                handler.ledgerOf(id);
            assertEq(balance + earned, l.funds, "leaseState: balance + earned != funds");
            if (status == LeaseStatus.Pending || status == LeaseStatus.RestartPending) {
                assertEq(earned, 0, "unbooted lease earned");
            }
            if (lastStatus == LeaseStatus.Closed) {
                assertEq(uint256(l.status), uint256(LeaseStatus.Closed), "closed lease reopened");
                assertEq(uint256(status), uint256(LeaseStatus.Closed), "closed lease state");
                assertEq(balance, 0, "closed lease has a buyer balance");
                assertEq(l.funds, lastFunds, "closed lease funds changed");
            }
            assertLe(refunded + l.funds, paidIn, "lease: refunded + funds > paid in");
            uint256 billedOut = paidIn - refunded - l.funds;
            scan.billedOfProvider[_providerIndex(p)] += billedOut;
            scan.billedOfPool[_poolIndex(pool)] += billedOut;
            scan.funds += l.funds;
            if (l.status == LeaseStatus.Running) {
                scan.globalRate += l.pricePerSecond;
                if (l.isAnonymous) scan.anonRate[_poolIndex(pool)] += l.pricePerSecond;
            }
        }
    }

    /// @notice The escrow holds exactly the funds of all leases plus the pools' unwithdrawn fees.
    function assertEscrowBalanceEqualsFundsPlusPoolFees(Scan memory scan) internal view {
        uint256 held = scan.funds;
        for (uint256 i; i < poolList.length; ++i) {
            held += escrow.poolFees(poolList[i]);
        }
        assertEq(token.balanceOf(address(escrow)), held, "escrow balance != sum of funds + pool fees");
    }

    /// @notice Every token that entered the escrow (deposits, top-ups, anon fees) left it (refunds, provider payouts,
    /// pool fee withdrawals) or is still held.
    function assertEscrowTokensInEqualOutPlusHeld() internal view {
        uint256 tokensIn = handler.ghost_leaseIn() + handler.ghost_anonFees();
        uint256 tokensOut = handler.ghost_refunded() + handler.ghost_providerPaid() + handler.ghost_poolFeesWithdrawn();
        assertEq(tokensIn, tokensOut + token.balanceOf(address(escrow)), "escrow: in != out + held");
    }

    /// @notice The registry holds exactly all providers' bonded + unbonding stake, and what was staked minus what was
    /// withdrawn and slashed.
    function assertRegistryBalanceEqualsStakes() internal view {
        uint256 stakes;
        for (uint256 p; p < poolList.length; ++p) {
            for (uint256 i; i < providerList.length; ++i) {
                Stake memory s = registry.stakeOf(poolList[p], providerList[i]);
                stakes += uint256(s.bonded) + s.unbonding;
            }
        }
        uint256 balance = token.balanceOf(address(registry));
        assertEq(balance, stakes, "registry balance != sum of bonded + unbonding");
        assertEq(
            handler.ghost_staked(),
            handler.ghost_unstaked() + handler.ghost_stakeSlashed() + balance,
            "registry: staked != withdrawn + slashed + held"
        );
    }

    /// @notice BuyerTrust holds exactly all buyers' deposit + unbonding, and what was deposited minus what was
    /// withdrawn and slashed to providers.
    function assertBuyerTrustBalanceEqualsDeposits() internal view {
        uint256 deposits;
        for (uint256 i; i < buyerList.length; ++i) {
            IBuyerTrust.Account memory a = buyerTrust.accountOf(buyerList[i]);
            deposits += uint256(a.deposit) + a.unbonding;
        }
        uint256 balance = token.balanceOf(address(buyerTrust));
        assertEq(balance, deposits, "BuyerTrust balance != sum of deposit + unbonding");
        assertEq(
            handler.ghost_trustDeposited(),
            handler.ghost_trustWithdrawn() + handler.ghost_trustSlashed() + balance,
            "BuyerTrust: deposited != withdrawn + slashed + held"
        );
    }

    /// @notice Nobody gets back more than it put in. Per lease (in the scan) and per buyer (with the trust limits):
    /// refunds <= deposits + top-ups. Per provider: paid <= what left its leases other than as refunds (what they were billed), and at
    /// least that minus the pool's fee share. Per pool, exactly: fees held + fees withdrawn + paid to its providers
    /// == anon fees + everything billed on its leases.
    function assertNobodyGetsBackMoreThanPaidIn(Scan memory scan) internal view {
        uint256[] memory paidInPool = new uint256[](poolList.length);
        for (uint256 i; i < providerList.length; ++i) {
            address p = providerList[i];
            uint256 paid = handler.ghost_paidTo(p);
            uint32 pool = handler.poolOf(p);
            (uint16 feeBps,,) = pools.leaseParams(pool);
            uint256 billed = scan.billedOfProvider[i];
            assertLe(paid, billed, "provider paid more than its leases were billed");
            assertGe(paid * 10_000, billed * (10_000 - feeBps), "provider paid less than its share");
            paidInPool[_poolIndex(pool)] += paid;
        }
        for (uint256 i; i < poolList.length; ++i) {
            uint32 pool = poolList[i];
            assertEq(
                escrow.poolFees(pool) + handler.ghost_poolFeesWithdrawnOf(pool) + paidInPool[i],
                handler.ghost_anonFeesOf(pool) + scan.billedOfPool[i],
                "pool: fees + provider payouts != anon fees + billed"
            );
        }
    }

    /// @notice Trust limits and capacities are never exceeded: each buyer's active count is at most the limit it had
    /// when it opened its most recent lease and equals its leases not closed (its lastEndedAt, open reports and freeze
    /// end match the handler's record, as BuyerTrust's withdrawal lock relies on them); each offer's active count is
    /// at most its capacity and equals its leases not closed; its total equals the leases opened on it. Per buyer, refunds
    /// never exceed the deposits and top-ups of its leases.
    function assertTrustLimitsAndCapacityRespected() internal view {
        for (uint256 i; i < buyerList.length; ++i) {
            address b = buyerList[i];
            BuyerRecord memory record = escrow.buyerRecord(b);
            EscrowHandler.BuyerGhosts memory g = handler.buyerGhosts(b);
            if (g.hasOpened) assertLe(record.active, g.limitAtLastOpen, "buyer above the limit of its last open");
            assertEq(record.active, g.active, "buyer active != its leases not closed");
            assertEq(record.lastEndedAt, g.lastEndedAt, "buyer lastEndedAt");
            (uint256 openReports, uint40 frozenUntil) = buyerTrust.openReportsOf(b);
            assertEq(openReports, g.openReports, "open reports against the buyer");
            assertEq(frozenUntil, openReports == 0 ? 0 : g.frozenUntil, "deposit frozen until");
            assertLe(g.refunds, g.leaseIn, "buyer refunded more than paid in");
        }
        for (uint256 i; i < offerList.length; ++i) {
            uint32 o = offerList[i];
            (uint32 active, uint64 total) = escrow.offerLoad(o);
            assertLe(active, _capacity[o], "offer above capacity");
            assertEq(active, handler.ghost_activeOfOffer(o), "offer active != its leases not closed");
            assertEq(total, handler.ghost_openedOn(o), "offer total != leases opened on it");
        }
    }

    /// @notice globalRate == summed price of the leases stored as Running (acknowledged, halt not recorded; pending and
    /// restart-pending leases are not in the rates); anonRate(pool) the same over the pool's anonymous leases; each
    /// pool's anon fee stays within its bounds.
    function assertComputeRatesMatchRunningLeases(Scan memory scan) internal view {
        assertEq(escrow.globalRate(), scan.globalRate, "globalRate != sum of running prices");
        for (uint256 i; i < poolList.length; ++i) {
            assertEq(escrow.anonRate(poolList[i]), scan.anonRate[i], "anonRate != sum of running anonymous prices");
            (,, TrustParams memory trust) = pools.leaseParams(poolList[i]);
            uint256 fee = escrow.anonFee(poolList[i]);
            assertGe(fee, trust.anonMinFee, "anon fee below floor");
            assertLe(fee, trust.anonMaxFee, "anon fee above ceiling");
        }
    }

    /// @notice Each provider's record counts exactly the handler's ended leases, by reason.
    function assertProviderRecordsCountEndedLeases() internal view {
        for (uint256 i; i < providerList.length; ++i) {
            ProviderRecord memory r = escrow.providerRecord(providerList[i]);
            uint256[5] memory ended = handler.endedOf(providerList[i]);
            assertEq(r.buyerStopped, ended[0], "buyerStopped counter");
            assertEq(r.ranDry, ended[1], "ranDry counter");
            assertEq(r.bootFailed, ended[2], "bootFailed counter");
            assertEq(r.terminated, ended[3], "terminated counter");
            assertEq(r.reclaimed, ended[4], "reclaimed counter");
        }
    }

    /// @notice Non-vacuity, per run: a run of 50 calls or more opened a lease and did something in at least a
    /// quarter of its calls.
    function afterInvariant() public view {
        uint256 calls = handler.calls();
        if (calls < 50) return;
        assertGe(handler.done("openAnonymous") + handler.done("openTrusted"), 1, "a long run opened no lease");
        assertGe(handler.successes() * 4, calls, "fewer than a quarter of the calls did something");
    }

    // ================================================================ COVERAGE

    /// @notice Non-vacuity, deterministically: drives the handler through a fixed pseudo-random sequence and checks
    /// that every action succeeded at least a few times (so the invariants above are exercised on leases that were
    /// acknowledged, resumed, halted, stopped, terminated, reclaimed, closed, withdrawn, reported, ...) and that all
    /// invariants hold along the way.
    function test_HandlerCoverage_EveryActionSucceedsAndInvariantsHold() public {
        bytes32[24] memory names = [
            bytes32("openAnonymous"),
            "openTrusted",
            "acknowledge",
            "topUp",
            "resume",
            "withdraw",
            "halt",
            "stop",
            "terminate",
            "bootFailure",
            "reclaim",
            "close",
            "trustDeposit",
            "trustRequestWithdrawal",
            "trustWithdraw",
            "trustWithdrawLocked",
            "reportAbuse",
            "upheld",
            "dismissed",
            "withdrawPoolFees",
            "unbond",
            "withdrawUnbonded",
            "reprice",
            "forbiddenRejected"
        ];
        // At least 500 calls; then until every action has succeeded, checking all invariants every 50 calls.
        uint256 seed = 0x7574746572;
        uint256 steps;
        while (steps < COVERAGE_MAX_STEPS) {
            seed = uint256(keccak256(abi.encode(seed, steps)));
            _drive(seed);
            if (++steps % 50 != 0) continue;
            _checkAll();
            if (steps >= 500 && _allSucceeded(names)) break;
        }
        _checkAll();
        string memory summary = string.concat("after ", _decimal(steps), " calls:");
        for (uint256 i; i < names.length; ++i) {
            summary = string.concat(summary, " ", _name(names[i]), "=", _decimal(handler.done(names[i])));
        }
        for (uint256 i; i < names.length; ++i) {
            assertGe(handler.done(names[i]), 1, string.concat("never succeeded: ", _name(names[i]), "; ", summary));
        }
        assertGe(handler.done("openAnonymous") + handler.done("openTrusted"), 30, "too few leases opened");
        assertGe(handler.done("acknowledge"), 15, "too few leases acknowledged");
        assertGe(handler.successes() * 2, handler.calls(), "fewer than half of the calls did something");
    }

    uint256 internal constant COVERAGE_MAX_STEPS = 2000;

    function _allSucceeded(bytes32[24] memory names) internal view returns (bool) {
        for (uint256 i; i < names.length; ++i) {
            if (handler.done(names[i]) == 0) return false;
        }
        return true;
    }

    function _drive(uint256 seed) internal {
        bytes4 a = selectorList[seed % selectorList.length];
        uint256 x = uint256(keccak256(abi.encode(seed, 1)));
        uint256 y = uint256(keccak256(abi.encode(seed, 2)));
        uint256 z = uint256(keccak256(abi.encode(seed, 3)));
        if (a == EscrowHandler.openLease.selector) handler.openLease(x, y, z >> 128, z);
        else if (a == EscrowHandler.acknowledge.selector) handler.acknowledge(x);
        else if (a == EscrowHandler.topUp.selector) handler.topUp(x, y, z >> 200);
        else if (a == EscrowHandler.withdraw.selector) handler.withdraw(x, y, z);
        else if (a == EscrowHandler.halt.selector) handler.halt(x, y);
        else if (a == EscrowHandler.stop.selector) handler.stop(x);
        else if (a == EscrowHandler.terminate.selector) handler.terminate(x);
        else if (a == EscrowHandler.reportBootFailure.selector) handler.reportBootFailure(x);
        else if (a == EscrowHandler.reclaim.selector) handler.reclaim(x);
        else if (a == EscrowHandler.close.selector) handler.close(x, y);
        else if (a == EscrowHandler.trustDeposit.selector) handler.trustDeposit(x, y >> 180);
        else if (a == EscrowHandler.trustRequestWithdrawal.selector) handler.trustRequestWithdrawal(x, y);
        else if (a == EscrowHandler.trustWithdraw.selector) handler.trustWithdraw(x);
        else if (a == EscrowHandler.reportAbuse.selector) handler.reportAbuse(x);
        else if (a == EscrowHandler.resolveReport.selector) handler.resolveReport(x, y % 2 == 0, z);
        else if (a == EscrowHandler.withdrawPoolFees.selector) handler.withdrawPoolFees(x);
        else if (a == EscrowHandler.warp.selector) handler.warp(x);
        else if (a == EscrowHandler.stake.selector) handler.stake(x, y >> 180);
        else if (a == EscrowHandler.unbond.selector) handler.unbond(x, y);
        else if (a == EscrowHandler.withdrawUnbonded.selector) handler.withdrawUnbonded(x);
        else if (a == EscrowHandler.repriceOffer.selector) handler.repriceOffer(x, y >> 190);
        else if (a == EscrowHandler.pokeForbidden.selector) handler.pokeForbidden(x, y);
        else if (a == EscrowHandler.pokeEarlyUnstake.selector) handler.pokeEarlyUnstake(x);
        else handler.pokeForbiddenOpen(x, y);
    }

    function _checkAll() internal view {
        assertHandlerChecksHeld();
        Scan memory scan = assertLeasesConsistent();
        assertEscrowBalanceEqualsFundsPlusPoolFees(scan);
        assertEscrowTokensInEqualOutPlusHeld();
        assertRegistryBalanceEqualsStakes();
        assertBuyerTrustBalanceEqualsDeposits();
        assertNobodyGetsBackMoreThanPaidIn(scan);
        assertTrustLimitsAndCapacityRespected();
        assertComputeRatesMatchRunningLeases(scan);
        assertProviderRecordsCountEndedLeases();
    }

    // ================================================================ HELPERS

    function _name(bytes32 name) internal pure returns (string memory) {
        uint256 length;
        while (length < 32 && name[length] != 0) ++length;
        bytes memory out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = name[i];
        }
        return string(out);
    }

    function _decimal(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) {
            ++digits;
        }
        bytes memory buffer = new bytes(digits);
        while (value != 0) {
            buffer[--digits] = bytes1(uint8(48 + value % 10));
            value /= 10;
        }
        return string(buffer);
    }

    function _providerIndex(address p) internal view returns (uint256) {
        for (uint256 i; i < providerList.length; ++i) {
            if (providerList[i] == p) return i;
        }
        revert("unknown provider");
    }

    function _poolIndex(uint32 pool) internal view returns (uint256) {
        for (uint256 i; i < poolList.length; ++i) {
            if (poolList[i] == pool) return i;
        }
        revert("unknown pool");
    }
}

/// @notice The same campaign under the extremes of the pool parameters: pool 1 takes the highest fee (20%) and slashes
/// the most (50%, boot failures as much as no-boots), with an anonymous target of 100% (its anon fee only falls) and a
/// 1-wei anon fee floor; pool 2 takes no fee, slashes nothing, caps abuse slashes at zero and has the anonymous-start
/// fee disabled.
contract EscrowInvariantExtremeParamsTest is EscrowInvariantTest {
    function _adjustPools(PoolConfig memory pool1, PoolConfig memory pool2Config) internal pure override {
        pool1.feeBps = 2000;
        pool1.noBootSlashBps = 5000;
        pool1.bootFailSlashBps = 5000;
        pool1.trust.anonTargetShareBps = 10_000;
        pool1.trust.anonMinFee = 1;
        pool1.trust.anonMaxFee = 1e18;
        pool1.trust.maxBuyerSlashBps = 5000;
        pool2Config.feeBps = 0;
        pool2Config.noBootSlashBps = 0;
        pool2Config.bootFailSlashBps = 0;
        pool2Config.trust.maxBuyerSlashBps = 0;
        pool2Config.trust.anonMinFee = 0;
        pool2Config.trust.anonMaxFee = 0;
    }
}
