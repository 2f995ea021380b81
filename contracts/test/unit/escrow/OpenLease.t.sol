// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ILeaseEscrow} from "../../../src/interfaces/ILeaseEscrow.sol";
import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {Image, LeaseStatus, OpenParams, PoolConfig, TrustParams} from "../../../src/types/DataTypes.sol";
import {Vm} from "../../utils/Vm.sol";
import {EscrowBase} from "./EscrowBase.t.sol";

/// @notice LeaseEscrow.openLease, see openLease.tree.
contract OpenLeaseTest is EscrowBase {
    function _expectRevertOpen(address who, OpenParams memory params, bytes memory revertData) private {
        vm.expectRevert(revertData);
        vm.prank(who);
        escrow.openLease(params);
    }

    function test_RevertWhen_SshKeyIsEmpty() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.sshPublicKey = "";
        _expectRevertOpen(buyer, params, abi.encodeWithSelector(ILeaseEscrow.Escrow_InvalidSshKey.selector));
    }

    function test_RevertWhen_SshKeyIsLongerThan2048Bytes() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.sshPublicKey = string(new bytes(2049));
        _expectRevertOpen(buyer, params, abi.encodeWithSelector(ILeaseEscrow.Escrow_InvalidSshKey.selector));
    }

    function test_WhenSshKeyIs2048Bytes() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.sshPublicKey = string(new bytes(2048));
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);
        assertStatus(leaseId, LeaseStatus.Pending);
    }

    function test_RevertWhen_UserDataIsLargerThan16KiB() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.encryptedUserData = new bytes(16_385);
        _expectRevertOpen(
            buyer, params, abi.encodeWithSelector(ILeaseEscrow.Escrow_PayloadTooLarge.selector, 16_385, 16_384)
        );
    }

    function test_WhenUserDataIs16KiB() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.encryptedUserData = new bytes(16_384);
        params.encryptedUserData[100] = 0x42;
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);
        assertEq(escrow.userDataHash(leaseId), keccak256(params.encryptedUserData), "user data hash");
    }

    function test_RevertWhen_OfferDoesNotExist() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.offerId = 99;
        _expectRevertOpen(buyer, params, abi.encodeWithSelector(IOffers.Offers_NotActive.selector, uint32(99)));
    }

    function test_RevertWhen_OfferIsPaused() external {
        vm.prank(provider);
        offers.pauseOffer(offerId);
        _expectRevertOpen(
            buyer, openParams(ONE_HOUR_DEPOSIT), abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId)
        );
    }

    function test_RevertWhen_OfferIsRetired() external {
        vm.prank(provider);
        offers.retireOffer(offerId);
        _expectRevertOpen(
            buyer, openParams(ONE_HOUR_DEPOSIT), abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId)
        );
    }

    function test_RevertWhen_ImageIsNotOffered() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.imageId = keccak256("windows-11");
        _expectRevertOpen(
            buyer, params, abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, params.imageId)
        );
    }

    function test_RevertWhen_ImageWasRemovedFromTheOffer() external {
        Image[] memory images = new Image[](1);
        images[0] = Image({id: IMAGE_2, name: "debian-12"});
        vm.prank(provider);
        offers.setImages(offerId, images);
        _expectRevertOpen(
            buyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, IMAGE)
        );
    }

    function test_RevertWhen_ThePriceIsAboveMaxPricePerSecond() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxPricePerSecond = P - 1;
        _expectRevertOpen(buyer, params, abi.encodeWithSelector(ILeaseEscrow.Escrow_PriceAboveLimit.selector, P, P - 1));
        assertEq(escrow.leaseCount(), 0, "nothing opened");
    }

    function test_RevertWhen_TheOfferPriceWasRaisedAfterTheBuyerLooked() external {
        // The buyer reads the price and signs for it; the provider raises it before the transaction lands.
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxPricePerSecond = offers.getOffer(offerId).pricePerSecond;
        setOfferTerms(terms(2 * PRICE, CAPACITY, BOOT_TIMEOUT, RETENTION));
        uint256 before = token.balanceOf(buyer);
        _expectRevertOpen(buyer, params, abi.encodeWithSelector(ILeaseEscrow.Escrow_PriceAboveLimit.selector, 2 * P, P));
        assertEq(token.balanceOf(buyer), before, "nothing pulled");
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "no fee checkpointed");
        assertOfferLoad(offerId, 0, 0);
        assertBuyerRecord(buyer, 0, 0, 0, 0);

        // At the new price, with a limit that covers it, the lease opens.
        params.maxPricePerSecond = 2 * P;
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);
        assertLease(
            leaseId, buyer, offerId, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, 2 * P, T0 + BOOT_TIMEOUT, FEE_BPS
        );
    }

    function test_WhenThePriceEqualsMaxPricePerSecond() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxPricePerSecond = P;
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);
        assertLease(leaseId, buyer, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
    }

    function test_WhenThePriceIsBelowMaxPricePerSecond() external {
        // A lower price than the buyer accepted is no reason to refuse: the lease takes the offer's price.
        setOfferTerms(terms(PRICE / 2, CAPACITY, BOOT_TIMEOUT, RETENTION));
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxPricePerSecond = P;
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);
        assertEq(uint256(escrow.getLease(leaseId).pricePerSecond), P / 2, "the offer's price");
    }

    function test_RevertWhen_ProviderIsBelowTheMinimumStake() external {
        vm.prank(provider);
        registry.unbond(poolId, 1);
        _expectRevertOpen(
            buyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_ProviderNotEligible.selector, poolId, provider)
        );
    }

    function test_RevertWhen_PoolRaisedItsMinimumStakeAboveTheProviders() external {
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = MIN_STAKE + 1;
        setPoolConfig(config);
        _expectRevertOpen(
            buyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_ProviderNotEligible.selector, poolId, provider)
        );
    }

    function test_RevertWhen_DepositDoesNotFitInUint96() external {
        uint256 deposit = uint256(type(uint96).max) + 1;
        _expectRevertOpen(
            buyer,
            openParams(deposit),
            abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, uint8(96), deposit)
        );
    }

    function test_RevertWhen_DepositPaysForLessThan60Seconds() external {
        _expectRevertOpen(
            buyer,
            openParams(MIN_DEPOSIT - 1),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_DepositTooSmall.selector, MIN_DEPOSIT, MIN_DEPOSIT - 1)
        );
    }

    function test_WhenDepositPaysForExactly60Seconds() external {
        uint256 leaseId = openAs(buyer, MIN_DEPOSIT);
        assertLease(leaseId, buyer, LeaseStatus.Pending, true, T0, MIN_DEPOSIT, T0 + BOOT_TIMEOUT);
    }

    function test_RevertWhen_OfferIsAtCapacity() external {
        setOfferTerms(terms(PRICE, 2, BOOT_TIMEOUT, RETENTION));
        openAs(buyer, ONE_HOUR_DEPOSIT);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        // The trusted buyer is far below its own limit: the offer is what is full.
        _expectRevertOpen(
            trustedBuyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_OfferFull.selector, offerId, uint32(2))
        );
    }

    function test_RevertWhen_AHaltedLeaseHoldsTheOffersLastSlot() external {
        setOfferTerms(terms(PRICE, 1, BOOT_TIMEOUT, RETENTION));
        openHalted();
        _expectRevertOpen(
            trustedBuyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_OfferFull.selector, offerId, uint32(1))
        );
    }

    function test_WhenAnEndedLeaseFreedASlot() external {
        setOfferTerms(terms(PRICE, 1, BOOT_TIMEOUT, RETENTION));
        uint256 first = openAs(buyer, ONE_HOUR_DEPOSIT);
        stopAs(buyer, first);
        uint256 second = openAs(trustedBuyer, ONE_HOUR_DEPOSIT);
        assertEq(second, 2, "second id");
        assertOfferLoad(offerId, 1, 2);
    }

    function test_RevertWhen_BuyerHoldsAsManyLeasesAsItsLimit() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        _expectRevertOpen(
            buyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_BuyerLimitReached.selector, buyer, 3)
        );
    }

    function test_RevertWhen_AHaltedLeaseCountsTowardsTheBuyersLimit() external {
        openHalted();
        openAs(buyer, ONE_HOUR_DEPOSIT);
        openAs(buyer, ONE_HOUR_DEPOSIT);
        _expectRevertOpen(
            buyer,
            openParams(ONE_HOUR_DEPOSIT),
            abi.encodeWithSelector(ILeaseEscrow.Escrow_BuyerLimitReached.selector, buyer, 3)
        );
    }

    function test_RevertWhen_AnonFeeIsAboveMaxAnonFee() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = FIRST_ANON_FEE - 1;
        _expectRevertOpen(
            buyer,
            params,
            abi.encodeWithSelector(ILeaseEscrow.Escrow_AnonFeeTooHigh.selector, FIRST_ANON_FEE, FIRST_ANON_FEE - 1)
        );
    }

    function test_WhenAnonFeeEqualsMaxAnonFee() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = FIRST_ANON_FEE;
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        escrow.openLease(params);
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT - FIRST_ANON_FEE, "buyer paid deposit and fee");
    }

    function test_GivenPoolChargesNoAnonFee() external {
        TrustParams memory trust = defaultTrust();
        trust.anonMinFee = 0;
        trust.anonMaxFee = 0;
        setTrust(trust);
        uint256 before = token.balanceOf(buyer);

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, 0, uint40(T0), P, P);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(1, offerId, buyer, opening(ONE_HOUR_DEPOSIT, 0, true, ""));
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);

        assertLease(leaseId, buyer, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT, "buyer paid the deposit only");
        assertEq(escrow.poolFees(poolId), 0, "no pool fee");
        assertEq(escrow.anonFee(poolId), 0, "fee stays zero");
        assertRates(0, 0);
        assertEscrowBalanced();
    }

    function test_WhenTheAnonymousShareAfterTheLeaseIsAtTheTarget() external {
        // Four running trusted leases and one anonymous: the anonymous share is 1/5 = 2000 bps, the target.
        for (uint256 i; i < 4; ++i) {
            openRunningOn(trustedBuyer, offerId, ONE_HOUR_DEPOSIT);
        }
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "the floor before the first anonymous start");

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, FIRST_ANON_FEE, uint40(T0), P, 5 * P);
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);

        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE, "fee charged");
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "next fee unchanged");
        assertTrue(escrow.getLease(leaseId).isAnonymous, "anonymous");
        assertRates(4 * P, 0);
        acknowledgeAs(provider, leaseId);
        assertRates(5 * P, P);
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "at the target once running");
    }

    function test_WhenAnotherAnonymousStartCameBeforeInTheSamePeriod() external {
        openAs(buyer, ONE_HOUR_DEPOSIT);
        uint256 before = token.balanceOf(buyer);
        uint256 third = stepFee(SECOND_ANON_FEE, 10_000, ANON_MIN_FEE, ANON_MAX_FEE);
        assertEq(third, 1_265_625e9, "1.125^2 times the floor");

        // The first lease is still pending, so not in the rates: the next fee counts the new lease only.
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, third, uint40(T0), P, P);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(2, offerId, buyer, opening(ONE_HOUR_DEPOSIT, SECOND_ANON_FEE, true, ""));
        openAs(buyer, ONE_HOUR_DEPOSIT);

        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT - SECOND_ANON_FEE, "paid the raised fee");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE + SECOND_ANON_FEE, "both fees accrued");
        assertEq(escrow.anonFee(poolId), third, "raised again");
        assertRates(0, 0);
        assertEscrowBalanced();
    }

    function test_GivenTheBuyerIsAnonymous() external {
        uint256 buyerBefore = token.balanceOf(buyer);
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "the floor before any start");

        // The next fee is priced with the lease counted as running: 100% anonymous.
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.AnonFeeUpdated(poolId, SECOND_ANON_FEE, uint40(T0), P, P);
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(1, offerId, buyer, opening(ONE_HOUR_DEPOSIT, FIRST_ANON_FEE, true, ""));
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(openParams(ONE_HOUR_DEPOSIT));

        assertEq(leaseId, 1, "ids count from 1");
        assertEq(escrow.leaseCount(), 1, "leaseCount");
        assertLease(leaseId, buyer, LeaseStatus.Pending, true, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertState(leaseId, LeaseStatus.Pending, ONE_HOUR_DEPOSIT, 0, 0);
        assertEq(escrow.userDataHash(leaseId), bytes32(0), "no user data");
        assertEq(token.balanceOf(buyer), buyerBefore - ONE_HOUR_DEPOSIT - FIRST_ANON_FEE, "buyer");
        assertEq(token.balanceOf(address(escrow)), ONE_HOUR_DEPOSIT + FIRST_ANON_FEE, "escrow");
        assertEq(escrow.poolFees(poolId), FIRST_ANON_FEE, "fee accrues to the pool");
        assertEq(escrow.anonFee(poolId), SECOND_ANON_FEE, "next fee");
        assertRates(0, 0);
        assertOfferLoad(offerId, 1, 1);
        assertBuyerRecord(buyer, 1, 1, 0, 0);
        assertProviderRecord(provider, 0, 0, 0, 0, 0, 0);
        assertEscrowBalanced();

        // The lease enters the rates when the provider acknowledges it.
        acknowledgeAs(provider, leaseId);
        assertRates(P, P);
    }

    function test_GivenTheBuyerIsTrustedByItsDeposit() external {
        depositTrust(buyer, TRUSTED_DEPOSIT);
        uint256 before = token.balanceOf(buyer);

        vm.recordLogs();
        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(1, offerId, buyer, opening(ONE_HOUR_DEPOSIT, 0, false, ""));
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.AnonFeeUpdated.selector), 0, "no AnonFeeUpdated");
        assertLease(leaseId, buyer, LeaseStatus.Pending, false, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT, "deposit only");
        assertEq(escrow.poolFees(poolId), 0, "no fee");
        assertEq(escrow.anonFee(poolId), FIRST_ANON_FEE, "fee untouched");
        assertRates(0, 0);
        assertOfferLoad(offerId, 1, 1);
        assertBuyerRecord(buyer, 1, 1, 0, 0);
        assertEscrowBalanced();

        // Acknowledged, it enters the global rate only.
        acknowledgeAs(provider, leaseId);
        assertRates(P, 0);
    }

    function test_GivenTheBuyerIsTrustedByItsDepositAndMaxAnonFeeIsZero() external {
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.maxAnonFee = 0;
        vm.prank(trustedBuyer);
        uint256 leaseId = escrow.openLease(params);
        assertLease(leaseId, trustedBuyer, LeaseStatus.Pending, false, T0, ONE_HOUR_DEPOSIT, T0 + BOOT_TIMEOUT);
    }

    function test_GivenTheBuyerIsTrustedByItsKarma() external {
        // 100 s at 1 token per second: exactly the trusted karma.
        uint32 pricey = publishOfferAt(1e18);
        uint256 first = openRunningOn(buyer, pricey, 100e18);
        skip(100);
        haltAs(stranger, first);
        assertBuyerRecord(buyer, 1, 1, TRUSTED_KARMA, 0);
        uint256 before = token.balanceOf(buyer);

        vm.recordLogs();
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(countLogs(logs, address(escrow), ILeaseEscrow.AnonFeeUpdated.selector), 0, "no AnonFeeUpdated");
        assertFalse(escrow.getLease(leaseId).isAnonymous, "not anonymous");
        assertEq(token.balanceOf(buyer), before - ONE_HOUR_DEPOSIT, "deposit only");
        assertRates(0, 0);
        assertBuyerRecord(buyer, 2, 2, TRUSTED_KARMA, 0);
    }

    function test_WhenUserDataIsGiven() external {
        bytes memory userData = hex"6167652d656e6372797074696f6e2e6f72672f7631";
        OpenParams memory params = openParams(ONE_HOUR_DEPOSIT);
        params.encryptedUserData = userData;

        vm.expectEmit(address(escrow));
        emit ILeaseEscrow.LeaseOpened(1, offerId, buyer, opening(ONE_HOUR_DEPOSIT, FIRST_ANON_FEE, true, userData));
        vm.prank(buyer);
        uint256 leaseId = escrow.openLease(params);

        assertEq(escrow.userDataHash(leaseId), keccak256(userData), "hash stored");
    }
}
