// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Image, Offer, OfferSpec, OfferTerms} from "../types/DataTypes.sol";

/// @title IOffers
/// @notice Providers' published offers: the machine, its price and capacity, and the images it boots.
interface IOffers {
    /// @notice An offer was published, with everything a reader needs.
    event OfferPublished(
        uint32 indexed offerId, address indexed provider, uint32 indexed poolId, OfferSpec spec, OfferTerms terms
    );
    /// @notice An offer's machine and terms were replaced. Running leases keep their price.
    event OfferUpdated(uint32 indexed offerId, OfferSpec spec, OfferTerms terms);
    /// @notice An offer's image list was replaced; leases must name one of these ids from now on.
    event OfferImagesSet(uint32 indexed offerId, uint16 revision, Image[] images);
    /// @notice An offer stopped taking new leases for now.
    event OfferPaused(uint32 indexed offerId);
    /// @notice A paused offer takes new leases again.
    event OfferResumed(uint32 indexed offerId);
    /// @notice An offer stopped taking new leases for good. Running leases are unaffected.
    event OfferRetired(uint32 indexed offerId);

    /// @notice The offer does not exist.
    error Offers_UnknownOffer(uint32 offerId);
    /// @notice Only the offer's provider may do this.
    error Offers_NotProvider(uint32 offerId, address caller);
    /// @notice The provider's bonded stake in the pool is below the pool's minimum.
    error Offers_ProviderNotEligible(uint32 poolId, address provider);
    /// @notice The offer is not in a state that allows this.
    error Offers_WrongStatus(uint32 offerId, uint8 status);
    /// @notice The offer does not take new leases (paused or retired).
    error Offers_NotActive(uint32 offerId);
    /// @notice The image is not among the offer's current images.
    error Offers_UnknownImage(uint32 offerId, bytes32 imageId);
    /// @notice A field of the spec is out of range; `field` names it.
    error Offers_InvalidSpec(string field);
    /// @notice A field of the terms is out of range; `field` names it.
    error Offers_InvalidTerms(string field);
    /// @notice The image list is empty, too long, or has a zero id, a duplicate, or a bad name.
    error Offers_InvalidImages(uint256 index);

    /// @notice Publishes an offer in a pool the caller has joined.
    /// @dev Emits {OfferPublished} and {OfferImagesSet}.
    /// Requirements: the caller is eligible in the pool; a valid spec, terms (price > 0, capacity > 0, boot
    /// timeout in [60 s, 1 day], retention <= 30 days) and 1 to 32 images.
    /// @return offerId The new offer's id, counting from 1.
    function publishOffer(uint32 poolId, OfferSpec calldata spec, OfferTerms calldata terms, Image[] calldata images)
        external
        returns (uint32 offerId);

    /// @notice Replaces an offer's machine and terms. New leases get the new price; running ones keep theirs.
    /// @dev Emits {OfferUpdated}.
    /// Requirements: caller is the provider; the offer is not retired; valid spec and terms.
    function updateOffer(uint32 offerId, OfferSpec calldata spec, OfferTerms calldata terms) external;

    /// @notice Replaces the offer's image list.
    /// @dev Emits {OfferImagesSet}. Leases already open keep the image they chose.
    /// Requirements: caller is the provider; the offer is not retired; 1 to 32 valid images.
    function setImages(uint32 offerId, Image[] calldata images) external;

    /// @notice Stops new leases for now (e.g. the cloud has no room).
    /// @dev Emits {OfferPaused}. Requirements: caller is the provider; the offer is active.
    function pauseOffer(uint32 offerId) external;

    /// @notice Takes new leases again.
    /// @dev Emits {OfferResumed}. Requirements: caller is the provider; the offer is paused; the provider is eligible.
    function resumeOffer(uint32 offerId) external;

    /// @notice Stops new leases for good.
    /// @dev Emits {OfferRetired}. Requirements: caller is the provider; the offer is not retired.
    function retireOffer(uint32 offerId) external;

    /// @notice The number of offers published so far; ids run from 1 to this.
    function offerCount() external view returns (uint32);

    /// @notice The whole offer record.
    function getOffer(uint32 offerId) external view returns (Offer memory);

    /// @notice Whether `imageId` is among the offer's current images.
    function offersImage(uint32 offerId, bytes32 imageId) external view returns (bool);

    /// @notice What the escrow needs to open a lease, in one call.
    /// @dev Reverts with {Offers_NotActive} or {Offers_UnknownImage} when the offer cannot take this lease.
    function leaseTerms(uint32 offerId, bytes32 imageId)
        external
        view
        returns (address provider, uint32 poolId, uint96 pricePerSecond, uint32 capacity, uint32 bootTimeout);

    /// @notice Who serves the offer, in which pool, and its current timing terms.
    function providerOf(uint32 offerId)
        external
        view
        returns (address provider, uint32 poolId, uint32 bootTimeout, uint32 retention);
}
