// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {OfferStatus} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract OffersViewsTest is OffersUnitTest {
    function test_RevertGiven_LeaseTermsOfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, uint32(2)));
        offers.leaseTerms(2, IMAGE);
    }

    function test_RevertGiven_LeaseTermsOfferPaused() external {
        pauseAs(provider, offerId);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId));
        offers.leaseTerms(offerId, IMAGE);
    }

    function test_RevertGiven_LeaseTermsOfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId));
        offers.leaseTerms(offerId, IMAGE);
    }

    function test_RevertWhen_LeaseTermsImageUnknown() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, IMAGE_3));
        offers.leaseTerms(offerId, IMAGE_3);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, bytes32(0)));
        offers.leaseTerms(offerId, bytes32(0));
    }

    function test_RevertWhen_LeaseTermsImageDropped() external {
        vm.prank(provider);
        offers.setImages(offerId, oneImage(IMAGE_3, "nixos"));
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, IMAGE));
        offers.leaseTerms(offerId, IMAGE);
    }

    function test_LeaseTerms() external view {
        (address p, uint32 pool, uint96 price, uint32 capacity, uint32 bootTimeout) = offers.leaseTerms(offerId, IMAGE);
        assertEq(p, provider, "provider");
        assertEq(pool, poolId, "poolId");
        assertEq(price, PRICE, "price");
        assertEq(capacity, CAPACITY, "capacity");
        assertEq(bootTimeout, BOOT_TIMEOUT, "bootTimeout");
    }

    function test_RevertGiven_ProviderOfOfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(0)));
        offers.providerOf(0);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        offers.providerOf(2);
    }

    function test_ProviderOf() external {
        (address p, uint32 pool, uint32 bootTimeout, uint32 retention) = offers.providerOf(offerId);
        assertEq(p, provider, "provider");
        assertEq(pool, poolId, "poolId");
        assertEq(bootTimeout, BOOT_TIMEOUT, "bootTimeout");
        assertEq(retention, RETENTION, "retention");

        // Still answers for a retired offer: its leases need it.
        retireAs(provider, offerId);
        (p, pool, bootTimeout, retention) = offers.providerOf(offerId);
        assertEq(p, provider, "provider after retiring");
        assertEq(retention, RETENTION, "retention after retiring");
    }

    function test_RevertGiven_GetOfferOfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(0)));
        offers.getOffer(0);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        offers.getOffer(2);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, type(uint32).max));
        offers.getOffer(type(uint32).max);
    }

    function test_GetOffer() external view {
        assertOffer(offerId, provider, poolId, OfferStatus.Active, 1, defaultSpec(), defaultTerms());
    }

    function test_OffersImageGivenOfferDoesNotExist() external view {
        assertFalse(offers.offersImage(2, IMAGE), "unknown offer");
        assertFalse(offers.offersImage(0, IMAGE), "offer 0");
    }

    function test_OffersImage() external {
        assertTrue(offers.offersImage(offerId, IMAGE), "image");
        assertTrue(offers.offersImage(offerId, IMAGE_2), "image 2");
        assertFalse(offers.offersImage(offerId, IMAGE_3), "unlisted");
        // Status does not matter: the list is still the offer's current one.
        pauseAs(provider, offerId);
        assertTrue(offers.offersImage(offerId, IMAGE), "paused");
    }

    function test_OfferCount() external {
        assertEq(offers.offerCount(), 1, "fixture");
        publishDefaultOffer(provider);
        publishDefaultOffer(provider);
        assertEq(offers.offerCount(), 3, "after two more");
    }

    function test_ConstantsAndImmutables() external view {
        assertEq(offers.MIN_BOOT_TIMEOUT(), 60, "MIN_BOOT_TIMEOUT");
        assertEq(offers.MAX_BOOT_TIMEOUT(), 1 days, "MAX_BOOT_TIMEOUT");
        assertEq(offers.MAX_RETENTION(), 30 days, "MAX_RETENTION");
        assertEq(offers.MAX_IMAGES(), 32, "MAX_IMAGES");
        assertEq(offers.MAX_LABEL_LENGTH(), 64, "MAX_LABEL_LENGTH");
        assertEq(address(offers.REGISTRY()), address(registry), "REGISTRY");
    }
}
