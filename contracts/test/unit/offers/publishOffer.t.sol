// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {IPools} from "../../../src/interfaces/IPools.sol";
import {Image, OfferSpec, OfferStatus, OfferTerms} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract PublishOfferTest is OffersUnitTest {
    function expectPublishReverts(
        OfferSpec memory spec,
        OfferTerms memory terms,
        Image[] memory images,
        bytes memory reason
    ) internal {
        vm.expectRevert(reason);
        vm.prank(provider);
        offers.publishOffer(poolId, spec, terms, images);
    }

    function expectInvalidSpec(OfferSpec memory spec, string memory field) internal {
        expectPublishReverts(
            spec, defaultTerms(), defaultImages(), abi.encodeWithSelector(IOffers.Offers_InvalidSpec.selector, field)
        );
    }

    function expectInvalidTerms(OfferTerms memory terms, string memory field) internal {
        expectPublishReverts(
            defaultSpec(), terms, defaultImages(), abi.encodeWithSelector(IOffers.Offers_InvalidTerms.selector, field)
        );
    }

    function expectInvalidImages(Image[] memory images, uint256 index) internal {
        expectPublishReverts(
            defaultSpec(), defaultTerms(), images, abi.encodeWithSelector(IOffers.Offers_InvalidImages.selector, index)
        );
    }

    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(2)));
        vm.prank(provider);
        offers.publishOffer(2, defaultSpec(), defaultTerms(), defaultImages());
    }

    function test_RevertGiven_CallerNeverStaked() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_ProviderNotEligible.selector, poolId, stranger));
        vm.prank(stranger);
        offers.publishOffer(poolId, defaultSpec(), defaultTerms(), defaultImages());
    }

    function test_RevertGiven_CallerUnbondedBelowMin() external {
        vm.prank(provider);
        registry.unbond(poolId, 1);
        expectPublishReverts(
            defaultSpec(),
            defaultTerms(),
            defaultImages(),
            abi.encodeWithSelector(IOffers.Offers_ProviderNotEligible.selector, poolId, provider)
        );
    }

    function test_RevertWhen_VcpusZero() external {
        OfferSpec memory spec = defaultSpec();
        spec.vcpus = 0;
        expectInvalidSpec(spec, "vcpus");
    }

    function test_RevertWhen_RamZero() external {
        OfferSpec memory spec = defaultSpec();
        spec.ramMiB = 0;
        expectInvalidSpec(spec, "ramMiB");
    }

    function test_RevertWhen_DiskZero() external {
        OfferSpec memory spec = defaultSpec();
        spec.diskGiB = 0;
        expectInvalidSpec(spec, "diskGiB");
    }

    function test_RevertWhen_GpusWithoutModel() external {
        OfferSpec memory spec = defaultSpec();
        spec.gpuCount = 1;
        expectInvalidSpec(spec, "gpuModel");
    }

    function test_RevertWhen_ModelWithoutGpus() external {
        OfferSpec memory spec = defaultSpec();
        spec.gpuModel = "nvidia-h100";
        expectInvalidSpec(spec, "gpuModel");
    }

    function test_RevertWhen_GpuModelLongerThan64Bytes() external {
        OfferSpec memory spec = defaultSpec();
        spec.gpuCount = 1;
        spec.gpuModel = repeat("g", 65);
        expectInvalidSpec(spec, "gpuModel");
    }

    function test_RevertWhen_RegionEmpty() external {
        OfferSpec memory spec = defaultSpec();
        spec.region = "";
        expectInvalidSpec(spec, "region");
    }

    function test_RevertWhen_RegionLongerThan64Bytes() external {
        OfferSpec memory spec = defaultSpec();
        spec.region = repeat("r", 65);
        expectInvalidSpec(spec, "region");
    }

    function test_RevertWhen_PriceZero() external {
        OfferTerms memory terms = defaultTerms();
        terms.pricePerSecond = 0;
        expectInvalidTerms(terms, "pricePerSecond");
    }

    function test_RevertWhen_CapacityZero() external {
        OfferTerms memory terms = defaultTerms();
        terms.capacity = 0;
        expectInvalidTerms(terms, "capacity");
    }

    function test_RevertWhen_BootTimeoutBelowMin() external {
        OfferTerms memory terms = defaultTerms();
        terms.bootTimeout = 59;
        expectInvalidTerms(terms, "bootTimeout");
    }

    function test_RevertWhen_BootTimeoutAboveMax() external {
        OfferTerms memory terms = defaultTerms();
        terms.bootTimeout = 1 days + 1;
        expectInvalidTerms(terms, "bootTimeout");
    }

    function test_RevertWhen_RetentionAboveMax() external {
        OfferTerms memory terms = defaultTerms();
        terms.retention = 30 days + 1;
        expectInvalidTerms(terms, "retention");
    }

    function test_RevertWhen_ImagesEmpty() external {
        expectInvalidImages(new Image[](0), 0);
    }

    function test_RevertWhen_MoreThan32Images() external {
        expectInvalidImages(manyImages(33), 33);
    }

    function test_RevertWhen_ImageIdZero() external {
        Image[] memory images = defaultImages();
        images[1].id = bytes32(0);
        expectInvalidImages(images, 1);
    }

    function test_RevertWhen_ImageNameEmpty() external {
        Image[] memory images = defaultImages();
        images[0].name = "";
        expectInvalidImages(images, 0);
    }

    function test_RevertWhen_ImageNameLongerThan64Bytes() external {
        Image[] memory images = defaultImages();
        images[1].name = repeat("i", 65);
        expectInvalidImages(images, 1);
    }

    function test_RevertWhen_ImageIdRepeats() external {
        Image[] memory images = manyImages(3);
        images[2].id = images[0].id;
        images[2].name = "another name";
        expectInvalidImages(images, 2);
    }

    function publishAndCheck(
        address who,
        uint32 pool,
        OfferSpec memory spec,
        OfferTerms memory terms,
        Image[] memory images
    ) internal returns (uint32 id) {
        uint32 expectedId = offers.offerCount() + 1;
        vm.expectEmit(address(offers));
        emit IOffers.OfferPublished(expectedId, who, pool, spec, terms);
        vm.expectEmit(address(offers));
        emit IOffers.OfferImagesSet(expectedId, 1, images);
        vm.prank(who);
        id = offers.publishOffer(pool, spec, terms, images);

        assertEq(id, expectedId, "offer id");
        assertEq(offers.offerCount(), expectedId, "offer count");
        assertOffer(id, who, pool, OfferStatus.Active, 1, spec, terms);
        for (uint256 i; i < images.length; ++i) {
            assertTrue(offers.offersImage(id, images[i].id), "image offered");
        }
        assertFalse(offers.offersImage(id, keccak256("unlisted")), "unlisted image");
        assertFalse(offers.offersImage(id, bytes32(0)), "zero image");
    }

    function test_WhenAllValid() external {
        assertEq(offerId, 1, "fixture offer");
        uint32 id = publishAndCheck(provider, poolId, defaultSpec(), defaultTerms(), defaultImages());
        assertEq(id, 2, "second offer");

        (address p, uint32 pool, uint96 price, uint32 capacity, uint32 bootTimeout) = offers.leaseTerms(id, IMAGE_2);
        assertEq(p, provider, "leaseTerms.provider");
        assertEq(pool, poolId, "leaseTerms.poolId");
        assertEq(price, PRICE, "leaseTerms.price");
        assertEq(capacity, CAPACITY, "leaseTerms.capacity");
        assertEq(bootTimeout, BOOT_TIMEOUT, "leaseTerms.bootTimeout");
    }

    function test_WhenEveryFieldOnBound() external {
        Image[] memory images = manyImages(32);
        images[31].name = repeat("i", 64);
        publishAndCheck(provider, poolId, gpuSpec(), boundaryTerms(), images);
    }

    function test_WhenShortestTimeoutAndNoRetention() external {
        OfferTerms memory terms = defaultTerms();
        terms.bootTimeout = 60;
        terms.retention = 0;
        publishAndCheck(provider, poolId, defaultSpec(), terms, oneImage(IMAGE_3, "n"));
    }

    function test_WhenEligibleInSecondPool() external {
        vm.prank(stranger);
        uint32 other = pools.createPool(defaultPoolConfig());
        vm.prank(stranger);
        registry.stake(other, MIN_STAKE);

        // Eligible in the second pool only.
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_ProviderNotEligible.selector, poolId, stranger));
        vm.prank(stranger);
        offers.publishOffer(poolId, defaultSpec(), defaultTerms(), defaultImages());

        uint32 id = publishAndCheck(stranger, other, defaultSpec(), defaultTerms(), defaultImages());
        (address p, uint32 pool,,) = offers.providerOf(id);
        assertEq(p, stranger, "provider");
        assertEq(pool, other, "pool");
    }
}
