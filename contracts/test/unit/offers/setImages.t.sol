// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {Image, OfferStatus} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract SetImagesTest is OffersUnitTest {
    function expectInvalidImages(Image[] memory images, uint256 index) internal {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_InvalidImages.selector, index));
        vm.prank(provider);
        offers.setImages(offerId, images);
    }

    function test_RevertGiven_OfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        vm.prank(provider);
        offers.setImages(2, defaultImages());
    }

    function test_RevertWhen_CallerNotProvider() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotProvider.selector, offerId, stranger));
        vm.prank(stranger);
        offers.setImages(offerId, defaultImages());
    }

    function test_RevertGiven_OfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired))
        );
        vm.prank(provider);
        offers.setImages(offerId, defaultImages());
    }

    function test_RevertWhen_ImagesEmpty() external {
        expectInvalidImages(new Image[](0), 0);
    }

    function test_RevertWhen_MoreThan32Images() external {
        expectInvalidImages(manyImages(40), 40);
    }

    function test_RevertWhen_ImageIdZero() external {
        expectInvalidImages(oneImage(bytes32(0), "zero"), 0);
    }

    function test_RevertWhen_ImageNameInvalid() external {
        Image[] memory images = manyImages(2);
        images[1].name = "";
        expectInvalidImages(images, 1);
        images[1].name = repeat("i", 65);
        expectInvalidImages(images, 1);
    }

    function test_RevertWhen_ImageIdRepeats() external {
        Image[] memory images = defaultImages();
        images[1].id = IMAGE;
        expectInvalidImages(images, 1);
    }

    function test_WhenImagesValid() external {
        Image[] memory images = new Image[](2);
        images[0] = Image({id: IMAGE, name: "ubuntu-24.04"});
        images[1] = Image({id: IMAGE_3, name: "nixos-24.11"});

        vm.expectEmit(address(offers));
        emit IOffers.OfferImagesSet(offerId, 2, images);
        vm.prank(provider);
        offers.setImages(offerId, images);

        assertOffer(offerId, provider, poolId, OfferStatus.Active, 2, defaultSpec(), defaultTerms());
        assertTrue(offers.offersImage(offerId, IMAGE), "kept image");
        assertTrue(offers.offersImage(offerId, IMAGE_3), "new image");
        assertFalse(offers.offersImage(offerId, IMAGE_2), "dropped image");

        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownImage.selector, offerId, IMAGE_2));
        offers.leaseTerms(offerId, IMAGE_2);
        (address p,,,,) = offers.leaseTerms(offerId, IMAGE_3);
        assertEq(p, provider, "leaseTerms with the new image");
    }

    function test_WhenListRepeatsCurrentImages() external {
        vm.expectEmit(address(offers));
        emit IOffers.OfferImagesSet(offerId, 2, defaultImages());
        vm.prank(provider);
        offers.setImages(offerId, defaultImages());

        vm.expectEmit(address(offers));
        emit IOffers.OfferImagesSet(offerId, 3, defaultImages());
        vm.prank(provider);
        offers.setImages(offerId, defaultImages());

        assertEq(offers.getOffer(offerId).imagesRevision, 3, "revision");
        assertTrue(offers.offersImage(offerId, IMAGE), "image");
        assertTrue(offers.offersImage(offerId, IMAGE_2), "image 2");
    }

    function test_GivenOfferPaused() external {
        pauseAs(provider, offerId);
        vm.prank(provider);
        offers.setImages(offerId, oneImage(IMAGE_3, "nixos"));
        assertOffer(offerId, provider, poolId, OfferStatus.Paused, 2, defaultSpec(), defaultTerms());
        assertTrue(offers.offersImage(offerId, IMAGE_3), "new image");
        assertFalse(offers.offersImage(offerId, IMAGE), "dropped image");
    }
}
