// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {LeaseStatus, OfferStatus} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract RetireOfferTest is OffersUnitTest {
    function test_RevertGiven_OfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        vm.prank(provider);
        offers.retireOffer(2);
    }

    function test_RevertWhen_CallerNotProvider() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotProvider.selector, offerId, buyer));
        vm.prank(buyer);
        offers.retireOffer(offerId);
    }

    function test_RevertGiven_OfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired))
        );
        vm.prank(provider);
        offers.retireOffer(offerId);
    }

    function test_GivenOfferActive() external {
        uint256 leaseId = openRunning(ONE_HOUR_DEPOSIT);

        vm.expectEmit(address(offers));
        emit IOffers.OfferRetired(offerId);
        vm.prank(provider);
        offers.retireOffer(offerId);

        assertOffer(offerId, provider, poolId, OfferStatus.Retired, 1, defaultSpec(), defaultTerms());
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotActive.selector, offerId));
        offers.leaseTerms(offerId, IMAGE);

        // The running lease goes on and settles as usual.
        skip(600);
        (LeaseStatus status,,,) = escrow.leaseState(leaseId);
        assertEq(uint256(status), uint256(LeaseStatus.Running), "lease running");
        vm.prank(provider);
        uint256 paid = escrow.withdraw(single(leaseId), provider);
        assertEq(paid, 600 * uint256(PRICE) * (10_000 - FEE_BPS) / 10_000, "earnings");

        // Nothing brings the offer back.
        bytes memory wrongStatus =
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired));
        vm.startPrank(provider);
        vm.expectRevert(wrongStatus);
        offers.resumeOffer(offerId);
        vm.expectRevert(wrongStatus);
        offers.pauseOffer(offerId);
        vm.stopPrank();
    }

    function test_GivenOfferPaused() external {
        pauseAs(provider, offerId);
        vm.expectEmit(address(offers));
        emit IOffers.OfferRetired(offerId);
        vm.prank(provider);
        offers.retireOffer(offerId);
        assertStatus(offerId, OfferStatus.Retired);
    }
}
