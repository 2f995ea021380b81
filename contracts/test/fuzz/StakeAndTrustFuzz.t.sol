// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../src/interfaces/ILeaseEscrow.sol";
import {IBuyerTrust} from "../../src/interfaces/IBuyerTrust.sol";
import {
    LeaseStatus,
    OfferTerms,
    OpenParams,
    PoolConfig,
    ProviderRecord,
    Stake,
    TrustParams
} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";

/// @notice Provider stake slashing and buyer trust limits, for all amounts and shares.
contract StakeAndTrustFuzzTest is Base {
    address internal provider2 = makeAddr("provider2");
    uint32 internal offer2;

    function setUp() public override {
        super.setUp();
        fund(provider2, 10_000_000e18);
        fund(buyer, 10_000_000e18);
    }

    // ---------------------------------------------------------------- helpers

    function _setSlashShares(uint16 noBoot, uint16 bootFail) internal {
        PoolConfig memory config = defaultPoolConfig();
        config.noBootSlashBps = noBoot;
        config.bootFailSlashBps = bootFail;
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    function _openOn(uint32 offer, uint256 deposit) internal returns (uint256 leaseId) {
        OpenParams memory params = openParams(deposit);
        params.offerId = offer;
        vm.prank(buyer);
        leaseId = escrow.openLease(params);
    }

    // ---------------------------------------------------------------- slashing

    struct SlashCase {
        uint256 staked;
        uint256 unbonded;
        uint16 noBoot;
        uint16 bootFail;
        uint256 leases;
    }

    /// @notice Each reclaim (no boot) or boot failure slashes floor((bonded + unbonding) * bps / 1e4) of the
    /// provider's stake in the pool, bonded first, to the buyer, who also gets the whole deposit back.
    function testFuzz_Slash_IsShareOfWholeStakeTakenBondedFirst(
        uint256 stakeSeed,
        uint256 unbondSeed,
        uint256 noBootSeed,
        uint256 bootFailSeed,
        uint256 leasesSeed,
        uint256 pathSeed
    ) public {
        SlashCase memory c;
        c.staked = bound(stakeSeed, MIN_STAKE, 1_000_000e18);
        c.noBoot = uint16(bound(noBootSeed, 0, 5000));
        c.bootFail = uint16(bound(bootFailSeed, 0, c.noBoot));
        c.leases = bound(leasesSeed, 1, 3);
        _setSlashShares(c.noBoot, c.bootFail);
        vm.prank(provider2);
        registry.stake(poolId, c.staked);
        offer2 = publishDefaultOffer(provider2);

        uint256[] memory ids = new uint256[](c.leases);
        for (uint256 i; i < c.leases; ++i) {
            ids[i] = _openOn(offer2, ONE_HOUR_DEPOSIT);
        }
        // Once the leases are open the provider may unbond any part: unbonding stake stays slashable.
        c.unbonded = bound(unbondSeed, 0, c.staked);
        if (c.unbonded != 0) {
            vm.prank(provider2);
            registry.unbond(poolId, c.unbonded);
        }

        for (uint256 i; i < c.leases; ++i) {
            // pathSeed bit 2i: reclaim or boot failure; bit 2i+1: first boot or restart after running dry.
            bool reclaimIt = (pathSeed >> (2 * i)) & 1 == 1;
            bool restart = (pathSeed >> (2 * i + 1)) & 1 == 1;
            _slashOne(ids[i], reclaimIt, restart, c);
        }
        ProviderRecord memory record = escrow.providerRecord(provider2);
        assertEq(uint256(record.reclaimed) + record.bootFailed, c.leases, "provider record counts the slashes");
    }

    function _slashOne(uint256 leaseId, bool reclaimIt, bool restart, SlashCase memory c) internal {
        // An earlier lease's reclaim or restart let time pass: a lease past its boot deadline can only be reclaimed.
        if (block.timestamp > escrow.getLease(leaseId).deadline) (reclaimIt, restart) = (true, false);
        if (restart) {
            acknowledgeAs(provider2, leaseId);
            skip(3600);
            vm.prank(buyer);
            escrow.topUp(leaseId, ONE_HOUR_DEPOSIT);
            assertEq(uint256(escrow.getLease(leaseId).status), uint256(LeaseStatus.RestartPending), "resumed");
        }
        Stake memory before = registry.stakeOf(poolId, provider2);
        uint256 whole = uint256(before.bonded) + before.unbonding;
        uint256 expected = whole * (reclaimIt ? c.noBoot : c.bootFail) / 10_000;
        uint256 refund = escrow.getLease(leaseId).funds;
        uint256 buyerBefore = token.balanceOf(buyer);
        uint256 registryBefore = token.balanceOf(address(registry));

        if (reclaimIt) {
            skip(BOOT_TIMEOUT + 1);
            vm.prank(buyer);
            escrow.reclaim(leaseId);
        } else {
            vm.prank(provider2);
            escrow.reportBootFailure(leaseId);
        }

        assertEq(token.balanceOf(buyer) - buyerBefore, refund + expected, "buyer gets refund + slash");
        assertEq(registryBefore - token.balanceOf(address(registry)), expected, "registry paid the slash");
        Stake memory afterwards = registry.stakeOf(poolId, provider2);
        if (expected <= before.bonded) {
            assertEq(afterwards.bonded, before.bonded - expected, "bonded first");
            assertEq(afterwards.unbonding, before.unbonding, "unbonding untouched while bonded suffices");
        } else {
            assertEq(afterwards.bonded, 0, "bonded exhausted first");
            assertEq(afterwards.unbonding, whole - expected, "rest from unbonding");
        }
        assertEq(afterwards.unbondingEnds, before.unbondingEnds, "slash moved the unbonding end");
        assertEq(uint256(escrow.getLease(leaseId).status), uint256(LeaseStatus.Closed), "closed");
        assertEq(escrow.getLease(leaseId).funds, 0, "nothing left for the provider");
    }

    // ---------------------------------------------------------------- buyer trust

    struct LimitCase {
        TrustParams trust;
        uint256 karma;
        uint256 deposited;
        uint256 requested;
        uint256 expectedLimit;
        bool expectedAnonymous;
    }

    /// @notice escrow.buyerLimit == min(maxLeases, baseLeases + deposit / depositPerLease + karma / karmaPerLease),
    /// anonymous iff deposit < trustedDeposit and karma < trustedKarma (deposit excludes unbonding), and the
    /// escrow admits exactly that many concurrent leases.
    function testFuzz_BuyerLimit_MatchesTrustFormulaAndIsEnforced(
        uint256[6] memory trustSeeds,
        uint256 karmaSeconds,
        uint256 depositSeed,
        uint256 requestSeed
    ) public {
        LimitCase memory c;
        c.karma = _earnKarma(bound(karmaSeconds, 0, 200_000));

        c.trust = defaultTrust();
        c.trust.trustedDeposit = uint96(bound(trustSeeds[0], 0, 2000e18));
        c.trust.trustedKarma = uint96(bound(trustSeeds[1], 0, 400e18));
        c.trust.baseLeases = uint16(bound(trustSeeds[2], 0, 8));
        c.trust.maxLeases = uint16(bound(trustSeeds[3], c.trust.baseLeases == 0 ? 1 : c.trust.baseLeases, 12));
        c.trust.depositPerLease = uint96(bound(trustSeeds[4], 0, 500e18));
        c.trust.karmaPerLease = uint96(bound(trustSeeds[5], 0, 100e18));
        PoolConfig memory config = defaultPoolConfig();
        config.trust = c.trust;
        vm.prank(operator);
        pools.updatePool(poolId, config);

        c.deposited = bound(depositSeed, 0, 3000e18);
        if (c.deposited != 0) {
            vm.prank(buyer);
            buyerTrust.deposit(c.deposited);
            c.requested = bound(requestSeed, 0, c.deposited);
            if (c.requested != 0) {
                vm.prank(buyer);
                buyerTrust.requestWithdrawal(c.requested);
            }
        }
        uint256 counted = c.deposited - c.requested;
        assertEq(buyerTrust.depositOf(buyer), counted, "deposit counted for trust");

        uint256 limit = c.trust.baseLeases;
        if (c.trust.depositPerLease != 0) limit += counted / c.trust.depositPerLease;
        if (c.trust.karmaPerLease != 0) limit += c.karma / c.trust.karmaPerLease;
        if (limit > c.trust.maxLeases) limit = c.trust.maxLeases;
        c.expectedLimit = limit;
        c.expectedAnonymous = counted < c.trust.trustedDeposit && c.karma < c.trust.trustedKarma;

        (uint256 actualLimit, bool actualAnonymous) = escrow.buyerLimit(poolId, buyer);
        assertEq(actualLimit, c.expectedLimit, "buyerLimit != trust formula");
        assertEq(actualAnonymous, c.expectedAnonymous, "anonymity != trust formula");

        for (uint256 i; i < c.expectedLimit; ++i) {
            uint256 leaseId = openAs(buyer, uint256(PRICE) * 60);
            assertEq(escrow.getLease(leaseId).isAnonymous, c.expectedAnonymous, "lease anonymity");
        }
        assertEq(escrow.buyerRecord(buyer).active, c.expectedLimit, "active leases");
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_BuyerLimitReached.selector, buyer, c.expectedLimit));
        vm.prank(buyer);
        escrow.openLease(openParams(uint256(PRICE) * 60));
    }

    /// @dev Runs, halts and closes a lease of `seconds_` at 1e15 per second: karma == what the buyer paid.
    function _earnKarma(uint256 seconds_) internal returns (uint256 karma) {
        if (seconds_ < 60) return 0;
        OfferTerms memory terms = defaultTerms();
        terms.pricePerSecond = 1e15;
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), terms);
        uint256 deposit = 1e15 * seconds_;
        uint256 leaseId = openRunning(deposit);
        skip(seconds_ + RETENTION + 1);
        escrow.close(leaseId);
        karma = escrow.buyerRecord(buyer).karma;
        assertEq(karma, deposit, "karma == tokens paid to the provider");
        assertEq(escrow.buyerRecord(buyer).active, 0, "closed lease still active");
        terms.pricePerSecond = PRICE;
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), terms);
    }

    /// @notice An upheld report slashes at most maxBuyerSlashBps of deposit + unbonding, deposit first, to the
    /// provider, and resets karma; BuyerTrust's balance always equals the sum of its accounts.
    function testFuzz_AbuseRuling_SlashesDepositFirstWithinCap(
        uint256 depositSeed,
        uint256 requestSeed,
        uint256 slashSeed,
        bool upheld
    ) public {
        uint256 deposited = bound(depositSeed, 1, 1_000_000e18);
        vm.prank(buyer);
        buyerTrust.deposit(deposited);
        uint256 requested = bound(requestSeed, 0, deposited);
        if (requested != 0) {
            vm.prank(buyer);
            buyerTrust.requestWithdrawal(requested);
        }
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);
        skip(600);
        vm.prank(buyer);
        escrow.stop(leaseId);
        assertGt(escrow.buyerRecord(buyer).karma, 0, "karma earned");
        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(leaseId, "ipfs://evidence");

        uint256 maxSlash = deposited * defaultTrust().maxBuyerSlashBps / 10_000;
        uint256 slash = upheld ? bound(slashSeed, 0, maxSlash) : 0;
        uint256 providerBefore = token.balanceOf(provider);
        vm.prank(operator);
        buyerTrust.resolveReport(reportId, upheld, slash);

        IBuyerTrust.Account memory account = buyerTrust.accountOf(buyer);
        uint256 counted = deposited - requested;
        if (slash <= counted) {
            assertEq(account.deposit, counted - slash, "deposit first");
            assertEq(account.unbonding, requested, "unbonding untouched");
        } else {
            assertEq(account.deposit, 0, "deposit exhausted first");
            assertEq(account.unbonding, deposited - slash, "rest from unbonding");
        }
        assertEq(token.balanceOf(provider) - providerBefore, slash, "slash paid to the provider");
        assertEq(
            token.balanceOf(address(buyerTrust)),
            uint256(account.deposit) + account.unbonding,
            "BuyerTrust balance == deposit + unbonding"
        );
        assertEq(escrow.buyerRecord(buyer).karma == 0, upheld, "karma reset iff upheld");
        assertEq(
            uint256(buyerTrust.getReport(reportId).status),
            uint256(upheld ? IBuyerTrust.ReportStatus.Upheld : IBuyerTrust.ReportStatus.Dismissed),
            "report status"
        );
    }

    function testFuzz_AbuseRuling_AboveCapReverts(uint256 depositSeed, uint256 slashSeed) public {
        uint256 deposited = bound(depositSeed, 0, 1_000_000e18);
        if (deposited != 0) {
            vm.prank(buyer);
            buyerTrust.deposit(deposited);
        }
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.prank(provider);
        uint256 reportId = buyerTrust.reportAbuse(leaseId, "ipfs://evidence");
        uint256 maxSlash = deposited * defaultTrust().maxBuyerSlashBps / 10_000;
        uint256 slash = bound(slashSeed, maxSlash + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IBuyerTrust.BuyerTrust_SlashTooHigh.selector, slash, maxSlash));
        vm.prank(operator);
        buyerTrust.resolveReport(reportId, true, slash);
    }
}
