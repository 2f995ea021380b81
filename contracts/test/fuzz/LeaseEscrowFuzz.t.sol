// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../src/interfaces/ILeaseEscrow.sol";
import {EndReason, Lease, LeaseStatus, OfferTerms, ProviderRecord} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";

/// @notice To-the-wei accounting of one lease, for all prices, deposits, top-ups and times.
contract LeaseEscrowFuzzTest is Base {
    /// @dev The escrow caps a runway at 2**32 - 1 seconds; below that cap billing is exactly price * elapsed.
    uint256 internal constant RUNWAY_CAP = type(uint32).max;
    uint256 internal constant MAX_AMOUNT = 1e24;

    function setUp() public override {
        super.setUp();
        fund(buyer, 10_000_000e18);
    }

    // ---------------------------------------------------------------- helpers

    function _setPrice(uint96 price) internal {
        OfferTerms memory terms = defaultTerms();
        terms.pricePerSecond = price;
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), terms);
    }

    /// @dev A price and an amount of at least 60 s at that price whose runway stays well under the cap (so that
    /// a top-up of the same size keeps it under too).
    function _boundPriceAmount(uint256 priceSeed, uint256 amountSeed)
        internal
        pure
        returns (uint96 price, uint256 amount)
    {
        price = uint96(bound(priceSeed, 1, 1e18));
        amount = _boundAmount(price, amountSeed);
    }

    function _boundAmount(uint96 price, uint256 amountSeed) internal pure returns (uint256) {
        uint256 maxAmount = uint256(price) * (RUNWAY_CAP / 4);
        if (maxAmount > MAX_AMOUNT) maxAmount = MAX_AMOUNT;
        return bound(amountSeed, uint256(price) * 60, maxAmount);
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    function _providerShare(uint256 earned) internal pure returns (uint256) {
        return earned - earned * FEE_BPS / 10_000;
    }

    function _withdrawMeasured(uint256 leaseId) internal returns (uint256 net, uint256 fee) {
        uint256 feesBefore = escrow.poolFees(poolId);
        uint256 balanceBefore = token.balanceOf(provider);
        vm.prank(provider);
        net = escrow.withdraw(single(leaseId), provider);
        assertEq(token.balanceOf(provider) - balanceBefore, net, "withdraw sent what it returned");
        fee = escrow.poolFees(poolId) - feesBefore;
    }

    function _reasonCount(ProviderRecord memory record, EndReason reason) internal pure returns (uint256) {
        if (reason == EndReason.BuyerStopped) return record.buyerStopped;
        if (reason == EndReason.RanDry) return record.ranDry;
        if (reason == EndReason.BootFailed) return record.bootFailed;
        if (reason == EndReason.ProviderTerminated) return record.terminated;
        return record.reclaimed;
    }

    // ---------------------------------------------------------------- leaseState

    function testFuzz_LeaseState_EarnedIsMinOfFundsAndPriceTimesElapsed(
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 elapsedSeed
    ) public {
        (uint96 price, uint256 deposit) = _boundPriceAmount(priceSeed, depositSeed);
        _setPrice(price);
        uint256 leaseId = openRunning(deposit);
        uint256 startedAt = block.timestamp;
        uint256 runway = _ceilDiv(deposit, price);
        uint256 elapsed = bound(elapsedSeed, 0, runway * 2 + 10);
        skip(elapsed);

        (LeaseStatus status, uint256 balance, uint256 earned, uint40 paidUntil) = escrow.leaseState(leaseId);
        uint256 billed = uint256(price) * elapsed;
        assertEq(earned, billed < deposit ? billed : deposit, "earned != min(funds, price * elapsed)");
        assertEq(balance + earned, escrow.getLease(leaseId).funds, "balance + earned != funds");
        assertEq(paidUntil, startedAt + runway, "paidUntil != startedAt + ceil(funds / price)");
        assertEq(
            uint256(status), uint256(elapsed >= runway ? LeaseStatus.Halted : LeaseStatus.Running), "lazy halt status"
        );
        // Stored state is untouched by a view.
        assertEq(uint256(escrow.getLease(leaseId).status), uint256(LeaseStatus.Running), "stored status");
    }

    function testFuzz_LeaseState_PendingIsUnbilled(uint256 priceSeed, uint256 depositSeed, uint256 elapsedSeed) public {
        (uint96 price, uint256 deposit) = _boundPriceAmount(priceSeed, depositSeed);
        _setPrice(price);
        uint256 leaseId = openAs(buyer, deposit);
        skip(bound(elapsedSeed, 0, 10 * 365 days));
        (LeaseStatus status, uint256 balance, uint256 earned, uint40 paidUntil) = escrow.leaseState(leaseId);
        assertEq(uint256(status), uint256(LeaseStatus.Pending), "status");
        assertEq(balance, deposit, "pending balance");
        assertEq(earned, 0, "pending lease earned");
        assertEq(paidUntil, 0, "pending paidUntil");
    }

    /// @dev Documents the runway cap (see `LeaseEscrow._runway`): at a price so low that the funds last more than
    /// 2**32 - 1 seconds, the lease halts after 2**32 - 1 seconds and the provider earns all the funds, more than
    /// price * elapsed.
    function testFuzz_LeaseState_RunwayCappedAt2Pow32Minus1(uint256 priceSeed, uint256 depositSeed) public {
        uint96 price = uint96(bound(priceSeed, 1, 1e9));
        uint256 deposit = bound(depositSeed, uint256(price) * RUNWAY_CAP + 1, uint256(price) * RUNWAY_CAP * 4);
        _setPrice(price);
        uint256 leaseId = openRunning(deposit);
        uint256 startedAt = block.timestamp;
        (,,, uint40 paidUntil) = escrow.leaseState(leaseId);
        assertEq(paidUntil, startedAt + RUNWAY_CAP, "runway not capped");
        skip(RUNWAY_CAP);
        (LeaseStatus status,, uint256 earned,) = escrow.leaseState(leaseId);
        assertEq(uint256(status), uint256(LeaseStatus.Halted), "halted at the cap");
        assertEq(earned, deposit, "all funds earned at the cap");
        assertGt(earned, uint256(price) * RUNWAY_CAP, "cap bills more than price * elapsed");
    }

    // ---------------------------------------------------------------- whole-lease accounting

    struct Flow {
        uint96 price;
        uint256 deposit;
        uint256 topUp;
        uint256 anonFee;
        uint256 buyerStart;
        uint256 providerStart;
        // the model
        uint256 funds;
        uint256 start;
        bool running;
        uint256 providerExpected;
        uint256 feeExpected;
        uint256 refundExpected;
        EndReason reason;
    }

    /// @notice Opens, runs, tops up (resuming if it ran dry), maybe re-acknowledges, ends and withdraws one lease,
    /// checking every wei against a model: provider share + pool fee + refund == deposit + top-up.
    function testFuzz_Accounting_ShareFeeAndRefundSumToWhatWasPaidIn(
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 topUpSeed,
        uint256 t1Seed,
        uint256 t2Seed,
        bool anon,
        bool reacknowledge
    ) public {
        Flow memory f;
        (f.price, f.deposit) = _boundPriceAmount(priceSeed, depositSeed);
        f.topUp = _boundAmount(f.price, topUpSeed);
        _setPrice(f.price);
        if (!anon) {
            vm.prank(buyer);
            buyerTrust.deposit(defaultTrust().trustedDeposit);
        }
        f.buyerStart = token.balanceOf(buyer);
        f.providerStart = token.balanceOf(provider);

        uint256 leaseId = openRunning(f.deposit);
        f.anonFee = escrow.poolFees(poolId);
        assertEq(f.buyerStart - token.balanceOf(buyer), f.deposit + f.anonFee, "open pulled deposit + anon fee");
        if (!anon) assertEq(f.anonFee, 0, "trusted buyer paid an anon fee");
        (f.funds, f.start, f.running) = (f.deposit, block.timestamp, true);

        // Top up at t1: still running, or ran dry and resumed within retention.
        uint256 runway = _ceilDiv(f.deposit, f.price);
        skip(bound(t1Seed, 0, runway + RETENTION));
        bool dry = block.timestamp - f.start >= runway;
        vm.prank(buyer);
        escrow.topUp(leaseId, f.topUp);
        if (dry) {
            // The halted run's earnings (the whole deposit) are paid to the provider at once.
            f.providerExpected += _providerShare(f.deposit);
            f.feeExpected += f.deposit * FEE_BPS / 10_000;
            Lease memory lease = escrow.getLease(leaseId);
            assertEq(uint256(lease.status), uint256(LeaseStatus.RestartPending), "resumed");
            assertEq(lease.funds, f.topUp, "resumed lease holds only the top-up");
            assertEq(lease.deadline, block.timestamp + BOOT_TIMEOUT, "restart deadline");
            assertEq(token.balanceOf(provider) - f.providerStart, f.providerExpected, "resume paid the provider");
            (f.funds, f.running) = (f.topUp, false);
            if (reacknowledge) {
                skip(bound(t2Seed, 0, BOOT_TIMEOUT));
                acknowledgeAs(provider, leaseId);
                (f.start, f.running) = (block.timestamp, true);
            }
        } else {
            f.funds += f.topUp;
            assertEq(escrow.getLease(leaseId).funds, f.funds, "top-up added to funds");
        }

        // End at t2: stop by the buyer, or close by anyone once retention is over.
        skip(bound(uint256(keccak256(abi.encode(t2Seed))), 0, 2 * _ceilDiv(f.funds, f.price) + RETENTION + 2));
        _endAndModel(f, leaseId);

        uint256 earnedAtEnd = escrow.getLease(leaseId).funds;
        (uint256 net, uint256 fee) = _withdrawMeasured(leaseId);
        assertEq(net, _providerShare(earnedAtEnd), "withdrawal net of the pool fee");
        assertEq(net + fee, earnedAtEnd, "withdrawal took all the earnings");
        assertEq(token.balanceOf(buyer) - (f.buyerStart - f.deposit - f.topUp - f.anonFee), f.refundExpected, "refund");
        assertEq(token.balanceOf(provider) - f.providerStart, f.providerExpected, "provider share");
        assertEq(escrow.poolFees(poolId), f.anonFee + f.feeExpected, "pool fee");
        assertEq(
            (token.balanceOf(provider) - f.providerStart) + (escrow.poolFees(poolId) - f.anonFee) + f.refundExpected,
            f.deposit + f.topUp,
            "provider share + pool fee + refund != deposit + top-up"
        );
        assertEq(token.balanceOf(address(escrow)), escrow.poolFees(poolId), "escrow holds exactly the pool fees");
        Lease memory ended = escrow.getLease(leaseId);
        assertEq(uint256(ended.status), uint256(LeaseStatus.Closed), "closed");
        assertEq(ended.funds, 0, "closed lease fully withdrawn");
        assertEq(_reasonCount(escrow.providerRecord(provider), f.reason), 1, "provider record counter");
        assertEq(escrow.buyerRecord(buyer).active, 0, "buyer active");
        (uint32 active,) = escrow.offerLoad(offerId);
        assertEq(active, 0, "offer active");
        assertEq(escrow.globalRate(), 0, "global rate");
    }

    function _endAndModel(Flow memory f, uint256 leaseId) internal {
        uint256 earned;
        if (f.running) {
            uint256 elapsed = block.timestamp - f.start;
            uint256 runway = _ceilDiv(f.funds, f.price);
            if (elapsed >= runway) {
                earned = f.funds;
                f.reason = EndReason.RanDry;
                if (block.timestamp > f.start + runway + RETENTION) {
                    vm.prank(stranger);
                    escrow.close(leaseId);
                } else {
                    vm.prank(buyer);
                    escrow.stop(leaseId);
                }
            } else {
                earned = uint256(f.price) * elapsed;
                f.refundExpected = f.funds - earned;
                f.reason = EndReason.BuyerStopped;
                vm.prank(buyer);
                escrow.stop(leaseId);
            }
        } else {
            // Restart pending: nothing billed since the resume.
            f.refundExpected = f.funds;
            f.reason = EndReason.BuyerStopped;
            vm.prank(buyer);
            escrow.stop(leaseId);
        }
        assertEq(escrow.getLease(leaseId).funds, earned, "closed lease keeps exactly the earnings");
        f.providerExpected += _providerShare(earned);
        f.feeExpected += earned * FEE_BPS / 10_000;
    }

    // ---------------------------------------------------------------- halting

    function testFuzz_Halt_AtSettledAtPlusCeilFundsOverPrice(
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 w1Seed,
        uint256 w2Seed,
        uint256 lateSeed
    ) public {
        (uint96 price, uint256 deposit) = _boundPriceAmount(priceSeed, depositSeed);
        _setPrice(price);
        uint256 leaseId = openRunning(deposit);
        uint256 startedAt = block.timestamp;
        uint256 runway = _ceilDiv(deposit, price);
        uint256 haltAt = startedAt + runway;

        // Partial withdrawals before the halt move settledAt but never the halt time.
        uint256 withdrawnGross;
        uint256 w1 = bound(w1Seed, 0, runway - 1);
        uint256 w2 = bound(w2Seed, w1, runway - 1);
        vm.warp(startedAt + w1);
        (uint256 net, uint256 fee) = _withdrawMeasured(leaseId);
        withdrawnGross += net + fee;
        vm.warp(startedAt + w2);
        (net, fee) = _withdrawMeasured(leaseId);
        withdrawnGross += net + fee;
        assertEq(withdrawnGross, uint256(price) * w2, "withdrawn gross != price * elapsed");
        (,,, uint40 paidUntil) = escrow.leaseState(leaseId);
        assertEq(paidUntil, haltAt, "withdrawals moved the halt time");

        vm.warp(haltAt - 1);
        vm.expectRevert(abi.encodeWithSelector(ILeaseEscrow.Escrow_NotDry.selector, leaseId, uint40(haltAt)));
        escrow.halt(leaseId);

        vm.warp(haltAt + bound(lateSeed, 0, RETENTION));
        vm.prank(stranger);
        escrow.halt(leaseId);
        _checkHalted(leaseId, haltAt, runway, deposit, withdrawnGross);
    }

    function _checkHalted(uint256 leaseId, uint256 haltAt, uint256 runway, uint256 deposit, uint256 withdrawnGross)
        internal
        view
    {
        Lease memory lease = escrow.getLease(leaseId);
        assertEq(uint256(lease.status), uint256(LeaseStatus.Halted), "halted");
        assertEq(lease.settledAt, haltAt, "halt time != startedAt + ceil(funds / price)");
        assertEq(lease.deadline, haltAt + RETENTION, "retention end");
        assertEq(lease.funds, deposit - withdrawnGross, "halted lease keeps the unwithdrawn earnings");
        assertEq(escrow.providerRecord(provider).completedSeconds, runway, "billed seconds");
        assertEq(escrow.buyerRecord(buyer).karma, deposit, "karma == everything paid");
        assertEq(escrow.globalRate(), 0, "halted lease left the global rate");
        (LeaseStatus status, uint256 balance, uint256 earned, uint40 until) = escrow.leaseState(leaseId);
        assertEq(uint256(status), uint256(LeaseStatus.Halted), "state status");
        assertEq(balance, 0, "halted balance");
        assertEq(earned, lease.funds, "halted earned");
        assertEq(until, haltAt, "halted paidUntil");
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Withdrawing one lease's earnings in up to five steps pays the same gross (provider share + pool fee)
    /// as one withdrawal of an identical lease at the end. Each step rounds its fee down, so the provider's share
    /// may exceed the single withdrawal's by at most one wei per extra step (exactly equal when no fee rounds).
    struct Steps {
        uint96 price;
        uint256 deposit;
        uint256 stepped;
        uint256 once;
        uint256 startedAt;
        uint256 end;
        uint256 steps;
        uint256 netStepped;
        uint256 feeStepped;
    }

    function testFuzz_Withdraw_InStepsSumsToOneWithdrawalAtTheEnd(
        uint256 priceSeed,
        uint256 depositSeed,
        uint256[5] memory stepSeeds,
        uint256 stepCountSeed,
        uint256 endSeed
    ) public {
        Steps memory c;
        (c.price, c.deposit) = _boundPriceAmount(priceSeed, depositSeed);
        _setPrice(c.price);
        c.stepped = openAs(buyer, c.deposit);
        c.once = openAs(buyer, c.deposit);
        acknowledgeAs(provider, c.stepped);
        acknowledgeAs(provider, c.once);
        c.startedAt = block.timestamp;
        c.end = c.startedAt + bound(endSeed, 0, 2 * _ceilDiv(c.deposit, c.price));

        c.steps = bound(stepCountSeed, 0, 5);
        uint256 t = c.startedAt;
        for (uint256 i; i < c.steps; ++i) {
            t = bound(stepSeeds[i], t, c.end);
            vm.warp(t);
            (uint256 net, uint256 fee) = _withdrawMeasured(c.stepped);
            c.netStepped += net;
            c.feeStepped += fee;
        }
        vm.warp(c.end);
        (uint256 lastNet, uint256 lastFee) = _withdrawMeasured(c.stepped);
        c.netStepped += lastNet;
        c.feeStepped += lastFee;
        (uint256 netOnce, uint256 feeOnce) = _withdrawMeasured(c.once);

        uint256 billed = uint256(c.price) * (c.end - c.startedAt);
        uint256 gross = billed < c.deposit ? billed : c.deposit;
        assertEq(netOnce + feeOnce, gross, "single withdrawal gross != min(funds, price * elapsed)");
        assertEq(feeOnce, gross * FEE_BPS / 10_000, "single withdrawal fee");
        assertEq(c.netStepped + c.feeStepped, gross, "stepped withdrawals gross != single withdrawal gross");
        assertGe(c.netStepped, netOnce, "stepping lowered the provider share");
        assertLe(c.netStepped - netOnce, c.steps, "stepping gained more than 1 wei of fee rounding per step");
        if (uint256(c.price) * FEE_BPS % 10_000 == 0) {
            assertEq(c.netStepped, netOnce, "no fee rounding, yet the shares differ");
        }
    }

    /// @notice A batch withdrawal pays exactly the sum of what the same leases would pay one by one.
    function testFuzz_Withdraw_BatchEqualsSumOfSingles(
        uint256 priceSeed,
        uint256[3] memory depositSeeds,
        uint256 elapsedSeed
    ) public {
        uint96 price = uint96(bound(priceSeed, 1, 1e18));
        _setPrice(price);
        uint256[] memory ids = new uint256[](3);
        uint256 expected;
        uint256 maxRunway;
        for (uint256 i; i < 3; ++i) {
            uint256 deposit = _boundAmount(price, depositSeeds[i]);
            ids[i] = openRunning(deposit);
            uint256 runway = _ceilDiv(deposit, price);
            if (runway > maxRunway) maxRunway = runway;
        }
        uint256 elapsed = bound(elapsedSeed, 0, maxRunway + 10);
        skip(elapsed);
        for (uint256 i; i < 3; ++i) {
            (,, uint256 earned,) = escrow.leaseState(ids[i]);
            expected += _providerShare(earned);
        }
        uint256 feesBefore = escrow.poolFees(poolId);
        vm.prank(provider);
        uint256 paid = escrow.withdraw(ids, stranger);
        assertEq(paid, expected, "batch != sum of singles");
        assertEq(token.balanceOf(stranger), 100_000e18 + paid, "paid to `to`");
        for (uint256 i; i < 3; ++i) {
            (,, uint256 earned,) = escrow.leaseState(ids[i]);
            assertEq(earned, 0, "earnings left after withdrawal");
        }
        assertGe(escrow.poolFees(poolId), feesBefore, "pool fees fell");
    }
}
