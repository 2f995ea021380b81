// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {OfferSpec, OfferStatus, OfferTerms} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract UpdateOfferTest is OffersUnitTest {
    function test_RevertGiven_OfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        vm.prank(provider);
        offers.updateOffer(2, defaultSpec(), defaultTerms());

        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(0)));
        vm.prank(provider);
        offers.updateOffer(0, defaultSpec(), defaultTerms());
    }

    function test_RevertWhen_CallerNotProvider() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotProvider.selector, offerId, stranger));
        vm.prank(stranger);
        offers.updateOffer(offerId, defaultSpec(), defaultTerms());
    }

    function test_RevertGiven_OfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired))
        );
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), defaultTerms());
    }

    function test_RevertWhen_SpecInvalid() external {
        OfferSpec memory spec = defaultSpec();
        spec.region = "";
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_InvalidSpec.selector, "region"));
        vm.prank(provider);
        offers.updateOffer(offerId, spec, defaultTerms());
    }

    function test_RevertWhen_TermsInvalid() external {
        OfferTerms memory terms = defaultTerms();
        terms.capacity = 0;
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_InvalidTerms.selector, "capacity"));
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), terms);
    }

    function updateAndCheck(OfferStatus status) internal {
        vm.expectEmit(address(offers));
        emit IOffers.OfferUpdated(offerId, gpuSpec(), boundaryTerms());
        vm.prank(provider);
        offers.updateOffer(offerId, gpuSpec(), boundaryTerms());

        assertOffer(offerId, provider, poolId, status, 1, gpuSpec(), boundaryTerms());
        assertEq(offers.offerCount(), 1, "offer count");
        assertTrue(offers.offersImage(offerId, IMAGE), "image kept");
        assertTrue(offers.offersImage(offerId, IMAGE_2), "image 2 kept");
    }

    function test_GivenOfferActive() external {
        updateAndCheck(OfferStatus.Active);
    }

    function test_GivenOfferPaused() external {
        pauseAs(provider, offerId);
        updateAndCheck(OfferStatus.Paused);
    }

    function test_GivenProviderNoLongerEligible() external {
        vm.prank(provider);
        registry.unbond(poolId, MIN_STAKE);
        updateAndCheck(OfferStatus.Active);
    }

    function test_GivenLeaseRunning() external {
        uint256 running = openRunning(ONE_HOUR_DEPOSIT);
        OfferTerms memory terms = defaultTerms();
        terms.pricePerSecond = 2 * PRICE;
        vm.prank(provider);
        offers.updateOffer(offerId, defaultSpec(), terms);

        assertEq(escrow.getLease(running).pricePerSecond, PRICE, "running lease keeps its price");
        uint256 fresh = openAs(buyer, 2 * ONE_HOUR_DEPOSIT);
        assertEq(escrow.getLease(fresh).pricePerSecond, 2 * PRICE, "new lease gets the new price");
    }
}
