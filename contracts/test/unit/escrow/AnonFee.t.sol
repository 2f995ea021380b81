// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {IPools} from "../../../src/interfaces/IPools.sol";
import {TrustParams} from "../../../src/types/DataTypes.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.anonFee and the AnonFee library behind it, see anonFee.tree. Expected fees come from the
/// spec's formula (`stepFee`: fee * (1 + deviation / 8), rounded up, clamped), with the first values written out.
contract AnonFeeTest is EscrowBase {
    uint256 internal constant PERIOD = 10 minutes;
    int256 internal constant FULL = 10_000;

    function _fee() private view returns (uint256) {
        return escrow.anonFee(poolId);
    }

    function _setFeeBounds(uint96 minFee, uint96 maxFee) private {
        TrustParams memory trust = defaultTrust();
        trust.anonMinFee = minFee;
        trust.anonMaxFee = maxFee;
        setTrust(trust);
    }

    /// @dev From an anonymous start at T0, 10 periods of full anonymous share, then a second anonymous start that
    /// checkpoints the fee at T0 + 6000. Returns the two leases and the checkpointed fee.
    function _raiseTheFee() private returns (uint256 first, uint256 second, uint256 checkpointed) {
        first = openRunning(ONE_HOUR_DEPOSIT);
        skip(10 * PERIOD);
        uint256 paid = stepsFee(SECOND_ANON_FEE, FULL, 10, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), paid, "10 periods above target");
        uint256 before = token.balanceOf(buyer);
        second = openRunning(ONE_HOUR_DEPOSIT);
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT - paid, "second start paid the raised fee");
        checkpointed = stepFee(paid, FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), checkpointed, "pushed up once more");
    }

    function test_RevertWhen_ThePoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(9)));
        escrow.anonFee(9);
    }

    function test_GivenThePoolChargesNoAnonymousFee() external {
        _setFeeBounds(0, 0);
        openRunning(ONE_HOUR_DEPOSIT);
        skip(10 * PERIOD);
        assertEq(_fee(), 0, "no fee");
    }

    function test_GivenNoAnonymousLeaseEverStarted() external {
        assertEq(_fee(), ANON_MIN_FEE, "floor");
        openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        skip(50 * PERIOD);
        assertEq(_fee(), ANON_MIN_FEE, "still the floor");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenLessThanAPeriodPassed() external {
        openRunning(ONE_HOUR_DEPOSIT);
        skip(PERIOD - 1);
        assertEq(_fee(), SECOND_ANON_FEE, "checkpointed fee");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenWholePeriodsPassed() external {
        openRunning(ONE_HOUR_DEPOSIT);
        skip(PERIOD);
        assertEq(_fee(), 1_265_625e9, "one period: 1.125^2");
        skip(PERIOD);
        assertEq(_fee(), 1_423_828_125e6, "two periods: 1.125^3");
        skip(3 * PERIOD);
        assertEq(_fee(), stepsFee(SECOND_ANON_FEE, FULL, 5, ANON_MIN_FEE, ANON_MAX_FEE), "five periods");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenTheDeviationIsPartial() external {
        // A trusted 7P lease and an anonymous 3P one: a 30% share against a 20% target, a +50% deviation.
        uint32 offer7 = publishOfferAt(7 * PRICE);
        uint32 offer3 = publishOfferAt(3 * PRICE);
        openRunningOn(trustedBuyer, offer7, 7 * ONE_HOUR_DEPOSIT);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, 10_625e11, uint40(T0), 3 * P, 10 * P);
        openRunningOn(buyer, offer3, 3 * ONE_HOUR_DEPOSIT);
        assertEq(_fee(), 10_625e11, "1 + 0.5/8");
        skip(PERIOD);
        assertEq(_fee(), 1_128_906_25e7, "(1 + 0.5/8)^2");
        assertEq(_fee(), stepFee(10_625e11, 5000, ANON_MIN_FEE, ANON_MAX_FEE), "model");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenTheShareIsNotAWholeBasisPoint() external {
        // A trusted 2P lease and an anonymous P one: a 1/3 share against 20%, a +66.66...% deviation, truncated
        // to 6666 bps only at the end (a share rounded to 3333 bps first would give 6665).
        uint32 offer2 = publishOfferAt(2 * PRICE);
        openRunningOn(trustedBuyer, offer2, 2 * ONE_HOUR_DEPOSIT);
        uint256 next = stepFee(ANON_MIN_FEE, 6666, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(next, 1_083_325e9, "1 + 0.6666/8");
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, next, uint40(T0), P, 3 * P);
        openAs(buyer, ONE_HOUR_DEPOSIT);
    }

    function test_GivenTheShareIsAboveTheTarget_WhenAnAnonymousStartCheckpointsMidPeriod() external {
        openRunning(ONE_HOUR_DEPOSIT);
        skip(PERIOD + PERIOD / 2);
        uint256 f1 = stepFee(SECOND_ANON_FEE, FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), f1, "one period");
        uint256 f2 = stepFee(f1, FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        // The checkpoint is at T0 + 600, not T0 + 900: the next step comes at T0 + 1200.
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, f2, uint40(T0 + PERIOD), 2 * P, 2 * P);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(PERIOD / 2 - 1);
        assertEq(_fee(), f2, "before the period ends");
        skip(1);
        assertEq(_fee(), stepFee(f2, FULL, ANON_MIN_FEE, ANON_MAX_FEE), "at the period's end");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenTheFeeReachesTheCeiling() external {
        _setFeeBounds(uint96(ANON_MIN_FEE), 2e15);
        openRunning(ONE_HOUR_DEPOSIT);
        skip(5 * PERIOD);
        assertEq(_fee(), 2e15, "1.125^6 > 2: clamped");
        assertEq(_fee(), stepsFee(SECOND_ANON_FEE, FULL, 5, ANON_MIN_FEE, 2e15), "model");
        skip(20 * PERIOD);
        assertEq(_fee(), 2e15, "stays at the ceiling");
    }

    function test_GivenTheShareIsAboveTheTarget_WhenMoreThan32PeriodsPassed() external {
        openRunning(10 * ONE_HOUR_DEPOSIT);
        skip(40 * PERIOD);
        uint256 f32 = stepsFee(SECOND_ANON_FEE, FULL, 32, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), f32, "32 steps");
        assertLt(f32, stepFee(f32, FULL, ANON_MIN_FEE, ANON_MAX_FEE), "a 33rd step would be higher");
        assertLt(f32, ANON_MAX_FEE, "not clamped");

        // An anonymous start half a period later checkpoints at that very time: its progress is dropped.
        skip(PERIOD / 2);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        uint256 f33 = stepFee(f32, FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), f33, "checkpointed");
        skip(PERIOD - 1);
        assertEq(_fee(), f33, "a full period from the checkpoint is needed");
        skip(1);
        assertEq(_fee(), stepFee(f33, FULL, ANON_MIN_FEE, ANON_MAX_FEE), "next step");
    }

    function test_GivenTheShareIsAtTheTarget() external {
        for (uint256 i; i < 4; ++i) {
            openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        }
        openRunning(ONE_HOUR_DEPOSIT);
        assertEq(_fee(), ANON_MIN_FEE, "start at target does not push");
        skip(5 * PERIOD);
        assertEq(_fee(), ANON_MIN_FEE, "periods at target do not move it");
    }

    function test_GivenTheShareIsBelowTheTarget_GivenTheNetworkIsIdle() external {
        (uint256 first, uint256 second, uint256 checkpointed) = _raiseTheFee();
        stopAs(buyer, first);
        stopAs(buyer, second);
        assertEq(escrow.globalRate(), 0, "idle");
        assertEq(_fee(), checkpointed, "no period passed yet");
        skip(PERIOD);
        uint256 once = stepFee(checkpointed, -FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), once, "7/8");
        assertEq(once, (checkpointed * 7 + 7) / 8, "7/8 rounded up");
        skip(PERIOD);
        assertEq(_fee(), stepFee(once, -FULL, ANON_MIN_FEE, ANON_MAX_FEE), "(7/8)^2");
    }

    function test_GivenTheShareIsBelowTheTarget_WhenTheDeviationIsPartial() external {
        (uint256 first,, uint256 checkpointed) = _raiseTheFee();
        stopAs(buyer, first);
        // One anonymous lease among ten: a 10% share against a 20% target, a -50% deviation.
        for (uint256 i; i < 9; ++i) {
            openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        }
        assertEq(_fee(), checkpointed, "no period passed yet");
        skip(PERIOD);
        assertEq(_fee(), stepFee(checkpointed, -5000, ANON_MIN_FEE, ANON_MAX_FEE), "1 - 0.5/8");
    }

    function test_GivenTheShareIsBelowTheTarget_WhenTheFeeReachesTheFloor() external {
        (uint256 first, uint256 second, uint256 checkpointed) = _raiseTheFee();
        stopAs(buyer, first);
        stopAs(buyer, second);
        skip(40 * PERIOD);
        assertEq(_fee(), ANON_MIN_FEE, "floor");
        assertEq(stepsFee(checkpointed, -FULL, 32, ANON_MIN_FEE, ANON_MAX_FEE), ANON_MIN_FEE, "model");
    }

    function test_GivenThePoolLoweredTheCeilingBelowTheCheckpointedFee() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        assertEq(_fee(), SECOND_ANON_FEE, "checkpointed");
        _setFeeBounds(uint96(ANON_MIN_FEE), 11e14);
        assertEq(_fee(), 11e14, "clamped to the new ceiling");
        uint256 before = token.balanceOf(buyer);
        // The first lease is still pending, so not in the rates: the next fee counts the new lease only.
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, 11e14, uint40(T0), P, P);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT - 11e14, "charged the ceiling");
    }

    function test_GivenThePoolRaisedTheFloorAboveTheCheckpointedFee() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        _setFeeBounds(2e15, uint96(ANON_MAX_FEE));
        assertEq(_fee(), 2e15, "clamped to the new floor");
    }

    /// @dev Only anonymous starts checkpoint the fee, and the fee is computed from the last checkpoint with the
    /// deviation at read time: when the share falls below the target (here because a trusted lease opens), the
    /// periods since the checkpoint, spent above the target, are priced as if they had been below it.
    function test_GivenTheShareFellBelowTheTargetSinceTheCheckpoint_ItRepricesTheWholeIntervalAtTheCurrentDeviation()
        external
    {
        openRunning(10 * ONE_HOUR_DEPOSIT);
        skip(5 * PERIOD);
        uint256 risen = stepsFee(SECOND_ANON_FEE, FULL, 5, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), risen, "five periods at a 100% share");

        // A trusted lease nine times the price, acknowledged: the share falls to 10%, a -50% deviation.
        uint32 offer9 = publishOfferAt(9 * PRICE);
        openRunningOn(trustedBuyer, offer9, 9 * MIN_DEPOSIT);
        assertRates(10 * P, P);
        uint256 repriced = stepsFee(SECOND_ANON_FEE, -5000, 5, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), repriced, "all five periods priced at -50%");
        assertLt(repriced, SECOND_ANON_FEE, "below the fee checkpointed before those periods");
    }

    /// @dev A pending lease is unbilled and fully refunded when stopped, so it is not in the rates: a trusted account
    /// that opens one (and stops it in the same block, at no cost) does not move the fee an anonymous start pays.
    function test_WhenATrustedLeaseIsPending_ItDoesNotMoveTheFee() external {
        openRunning(10 * ONE_HOUR_DEPOSIT);
        skip(5 * PERIOD);
        uint256 quoted = _fee();
        assertEq(quoted, stepsFee(SECOND_ANON_FEE, FULL, 5, ANON_MIN_FEE, ANON_MAX_FEE), "quoted");

        uint32 offer9 = publishOfferAt(9 * PRICE);
        uint256 trustedBefore = token.balanceOf(trustedBuyer);
        uint256 pending = openOn(trustedBuyer, offer9, 9 * MIN_DEPOSIT);
        assertRates(P, P);
        assertEq(_fee(), quoted, "the pending lease leaves the fee alone");

        uint256 buyerBefore = token.balanceOf(buyer);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(
            poolId, stepFee(quoted, FULL, ANON_MIN_FEE, ANON_MAX_FEE), uint40(T0 + 5 * PERIOD), 2 * P, 2 * P
        );
        openAs(buyer, ONE_HOUR_DEPOSIT);
        stopAs(trustedBuyer, pending);

        assertEq(buyerBefore - ONE_HOUR_DEPOSIT - token.balanceOf(buyer), quoted, "paid the quoted fee");
        assertEq(token.balanceOf(trustedBuyer), trustedBefore, "the pending lease was refunded in full");
        assertRates(P, P);
    }

    /// @dev An acknowledged lease is billed per second from its acknowledgement and counts in the global rate: here
    /// the anonymous share falls to 10%, a -50% deviation, over the five periods since the checkpoint.
    function test_WhenATrustedLeaseIsAcknowledged_ItMovesTheFee() external {
        openRunning(10 * ONE_HOUR_DEPOSIT);
        skip(5 * PERIOD);
        uint256 quoted = _fee();

        uint32 offer9 = publishOfferAt(9 * PRICE);
        uint256 trusted = openOn(trustedBuyer, offer9, 9 * ONE_HOUR_DEPOSIT);
        acknowledgeAs(provider, trusted);
        assertRates(10 * P, P);
        uint256 repriced = stepsFee(SECOND_ANON_FEE, -5000, 5, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), repriced, "all five periods priced at -50%");
        assertLt(repriced * 2, quoted, "less than half the fee quoted before");

        // With the new lease the share is 2/11, below the target: the start does not push the fee.
        uint256 buyerBefore = token.balanceOf(buyer);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, repriced, uint40(T0 + 5 * PERIOD), 2 * P, 11 * P);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        assertEq(buyerBefore - ONE_HOUR_DEPOSIT - token.balanceOf(buyer), repriced, "paid the repriced fee");

        // The trusted lease pays for its running time: stopped a minute later, it cost 60 s at 9P.
        uint256 trustedBefore = token.balanceOf(trustedBuyer);
        skip(60);
        stopAs(trustedBuyer, trusted);
        assertEq(token.balanceOf(trustedBuyer), trustedBefore + 9 * ONE_HOUR_DEPOSIT - 60 * 9 * P, "billed a minute");
        assertRates(P, P);
    }

    /// @dev An anonymous start prices the next fee as if its lease ran, but the lease enters the rates only when
    /// acknowledged: until then the periods are priced without it.
    function test_GivenTheOnlyAnonymousLeaseIsStillPending() external {
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, SECOND_ANON_FEE, uint40(T0), P, P);
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        assertRates(0, 0);
        assertEq(_fee(), SECOND_ANON_FEE, "pushed once at the start");
        skip(PERIOD);
        uint256 fallen = stepFee(SECOND_ANON_FEE, -FULL, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(_fee(), fallen, "an idle network: 7/8");

        acknowledgeAs(provider, leaseId);
        assertRates(P, P);
        assertEq(_fee(), stepFee(SECOND_ANON_FEE, FULL, ANON_MIN_FEE, ANON_MAX_FEE), "repriced at a 100% share");
    }
}
