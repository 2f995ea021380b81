// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {OfferStatus} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract PauseOfferTest is OffersUnitTest {
    function test_RevertGiven_OfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        vm.prank(provider);
        offers.pauseOffer(2);
    }

    function test_RevertWhen_CallerNotProvider() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotProvider.selector, offerId, operator));
        vm.prank(operator);
        offers.pauseOffer(offerId);
    }

    function test_RevertGiven_OfferPaused() external {
        pauseAs(provider, offerId);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Paused)));
        vm.prank(provider);
        offers.pauseOffer(offerId);
    }

    function test_RevertGiven_OfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired))
        );
        vm.prank(provider);
        offers.pauseOffer(offerId);
    }

    function test_GivenOfferActive() external {
        vm.expectEmit(address(offers));
        emit IOffers.OfferPaused(offerId);
        vm.prank(provider);
        offers.pauseOffer(offerId);

        assertOffer(offerId, provider, poolId, OfferStatus.Paused, 1, defaultSpec(), defaultTerms());
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId));
        offers.leaseTerms(offerId, IMAGE);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId));
        vm.prank(buyer);
        escrow.openLease(openParams(ONE_HOUR_DEPOSIT));
    }
}
