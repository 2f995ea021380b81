// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Image, Offer, OfferSpec, OfferStatus, OfferTerms} from "../../../src/types/DataTypes.sol";
import {Base} from "../../utils/Base.t.sol";

/// @notice Shared fixtures and assertions of the `Offers` unit tests.
abstract contract OffersUnitTest is Base {
    bytes32 internal constant IMAGE_3 = keccak256("nixos-24.11");

    /// @dev A valid GPU machine whose every field differs from the default spec, labels at 64 bytes.
    function gpuSpec() internal pure returns (OfferSpec memory) {
        return OfferSpec({
            vcpus: type(uint16).max,
            ramMiB: 1,
            diskGiB: 1,
            gpuCount: 8,
            bandwidthUpMbps: 0,
            bandwidthDownMbps: 0,
            publicIpv4: false,
            publicIpv6: false,
            gpuModel: repeat("g", 64),
            region: repeat("r", 64)
        });
    }

    /// @dev Valid terms on their bounds, every field different from the default terms.
    function boundaryTerms() internal pure returns (OfferTerms memory) {
        return OfferTerms({pricePerSecond: 1, capacity: 1, bootTimeout: 1 days, retention: 30 days});
    }

    function oneImage(bytes32 id, string memory name) internal pure returns (Image[] memory images) {
        images = new Image[](1);
        images[0] = Image({id: id, name: name});
    }

    /// @dev `count` valid images with ids 1..count.
    function manyImages(uint256 count) internal pure returns (Image[] memory images) {
        images = new Image[](count);
        for (uint256 i; i < count; ++i) {
            images[i] = Image({id: bytes32(i + 1), name: "img"});
        }
    }

    function repeat(bytes1 char, uint256 length) internal pure returns (string memory) {
        bytes memory buffer = new bytes(length);
        for (uint256 i; i < length; ++i) {
            buffer[i] = char;
        }
        return string(buffer);
    }

    function assertSpec(OfferSpec memory actual, OfferSpec memory expected) internal pure {
        assertEq(actual.vcpus, expected.vcpus, "spec.vcpus");
        assertEq(actual.ramMiB, expected.ramMiB, "spec.ramMiB");
        assertEq(actual.diskGiB, expected.diskGiB, "spec.diskGiB");
        assertEq(actual.gpuCount, expected.gpuCount, "spec.gpuCount");
        assertEq(actual.bandwidthUpMbps, expected.bandwidthUpMbps, "spec.bandwidthUpMbps");
        assertEq(actual.bandwidthDownMbps, expected.bandwidthDownMbps, "spec.bandwidthDownMbps");
        assertEq(actual.publicIpv4, expected.publicIpv4, "spec.publicIpv4");
        assertEq(actual.publicIpv6, expected.publicIpv6, "spec.publicIpv6");
        assertEq(actual.gpuModel, expected.gpuModel, "spec.gpuModel");
        assertEq(actual.region, expected.region, "spec.region");
    }

    function assertOffer(
        uint32 id,
        address provider_,
        uint32 pool,
        OfferStatus status,
        uint16 imagesRevision,
        OfferSpec memory spec,
        OfferTerms memory terms
    ) internal view {
        Offer memory offer = offers.getOffer(id);
        assertEq(offer.provider, provider_, "offer.provider");
        assertEq(offer.poolId, pool, "offer.poolId");
        assertEq(uint256(offer.status), uint256(status), "offer.status");
        assertEq(offer.imagesRevision, imagesRevision, "offer.imagesRevision");
        assertEq(offer.capacity, terms.capacity, "offer.capacity");
        assertEq(offer.pricePerSecond, terms.pricePerSecond, "offer.pricePerSecond");
        assertEq(offer.bootTimeout, terms.bootTimeout, "offer.bootTimeout");
        assertEq(offer.retention, terms.retention, "offer.retention");
        assertSpec(offer.spec, spec);
    }

    function assertStatus(uint32 id, OfferStatus status) internal view {
        assertEq(uint256(offers.getOffer(id).status), uint256(status), "offer.status");
    }

    function pauseAs(address who, uint32 id) internal {
        vm.prank(who);
        offers.pauseOffer(id);
    }

    function retireAs(address who, uint32 id) internal {
        vm.prank(who);
        offers.retireOffer(id);
    }
}
