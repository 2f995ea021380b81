// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "./interfaces/IOffers.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Image, Offer, OfferSpec, OfferStatus, OfferTerms} from "./types/DataTypes.sol";

/// @title Offers
/// @notice Providers publish what they sell here: machine, price per second, capacity and the images they
/// boot. The escrow reads an offer's terms when a lease opens; running leases keep the price they started at.
contract Offers is IOffers {
    /// @notice The shortest boot deadline an offer may give itself.
    uint32 public constant MIN_BOOT_TIMEOUT = 60;
    /// @notice The longest boot deadline.
    uint32 public constant MAX_BOOT_TIMEOUT = 1 days;
    /// @notice The longest retention window for halted machines.
    uint32 public constant MAX_RETENTION = 30 days;
    /// @notice The most images one offer lists.
    uint256 public constant MAX_IMAGES = 32;
    /// @notice The longest name, region or GPU model string.
    uint256 public constant MAX_LABEL_LENGTH = 64;

    /// @notice The provider registry, for eligibility.
    IProviderRegistry public immutable REGISTRY;

    uint32 private _offerCount;
    mapping(uint32 offerId => Offer) private _offers;
    /// @dev Key: keccak256(offerId, imagesRevision, imageId). A new revision invalidates the old list in O(1).
    mapping(bytes32 key => bool) private _offeredImages;

    /// @param registry The provider registry.
    constructor(IProviderRegistry registry) {
        REGISTRY = registry;
    }

    /// @inheritdoc IOffers
    function publishOffer(uint32 poolId, OfferSpec calldata spec, OfferTerms calldata terms, Image[] calldata images)
        external
        returns (uint32 offerId)
    {
        if (!REGISTRY.isEligible(poolId, msg.sender)) revert Offers_ProviderNotEligible(poolId, msg.sender);
        _validateSpec(spec);
        _validateTerms(terms);
        offerId = ++_offerCount;
        Offer storage offer = _offers[offerId];
        offer.provider = msg.sender;
        offer.poolId = poolId;
        offer.status = OfferStatus.Active;
        _storeTerms(offer, spec, terms);
        emit OfferPublished(offerId, msg.sender, poolId, spec, terms);
        _setImages(offerId, offer, images);
    }

    /// @inheritdoc IOffers
    function updateOffer(uint32 offerId, OfferSpec calldata spec, OfferTerms calldata terms) external {
        Offer storage offer = _ownedLive(offerId);
        _validateSpec(spec);
        _validateTerms(terms);
        _storeTerms(offer, spec, terms);
        emit OfferUpdated(offerId, spec, terms);
    }

    /// @inheritdoc IOffers
    function setImages(uint32 offerId, Image[] calldata images) external {
        _setImages(offerId, _ownedLive(offerId), images);
    }

    /// @inheritdoc IOffers
    function pauseOffer(uint32 offerId) external {
        Offer storage offer = _owned(offerId);
        if (offer.status != OfferStatus.Active) revert Offers_WrongStatus(offerId, uint8(offer.status));
        offer.status = OfferStatus.Paused;
        emit OfferPaused(offerId);
    }

    /// @inheritdoc IOffers
    function resumeOffer(uint32 offerId) external {
        Offer storage offer = _owned(offerId);
        if (offer.status != OfferStatus.Paused) revert Offers_WrongStatus(offerId, uint8(offer.status));
        if (!REGISTRY.isEligible(offer.poolId, msg.sender)) {
            revert Offers_ProviderNotEligible(offer.poolId, msg.sender);
        }
        offer.status = OfferStatus.Active;
        emit OfferResumed(offerId);
    }

    /// @inheritdoc IOffers
    function retireOffer(uint32 offerId) external {
        Offer storage offer = _ownedLive(offerId);
        offer.status = OfferStatus.Retired;
        emit OfferRetired(offerId);
    }

    /// @inheritdoc IOffers
    function offerCount() external view returns (uint32) {
        return _offerCount;
    }

    /// @inheritdoc IOffers
    function getOffer(uint32 offerId) external view returns (Offer memory) {
        return _existing(offerId);
    }

    /// @inheritdoc IOffers
    function offersImage(uint32 offerId, bytes32 imageId) public view returns (bool) {
        return _offeredImages[_imageKey(offerId, _offers[offerId].imagesRevision, imageId)];
    }

    /// @inheritdoc IOffers
    function leaseTerms(uint32 offerId, bytes32 imageId)
        external
        view
        returns (address provider, uint32 poolId, uint96 pricePerSecond, uint32 capacity, uint32 bootTimeout)
    {
        Offer storage offer = _offers[offerId];
        if (offer.status != OfferStatus.Active) revert Offers_NotActive(offerId);
        if (!_offeredImages[_imageKey(offerId, offer.imagesRevision, imageId)]) {
            revert Offers_UnknownImage(offerId, imageId);
        }
        return (offer.provider, offer.poolId, offer.pricePerSecond, offer.capacity, offer.bootTimeout);
    }

    /// @inheritdoc IOffers
    function providerOf(uint32 offerId)
        external
        view
        returns (address provider, uint32 poolId, uint32 bootTimeout, uint32 retention)
    {
        Offer storage offer = _existing(offerId);
        return (offer.provider, offer.poolId, offer.bootTimeout, offer.retention);
    }

    function _setImages(uint32 offerId, Offer storage offer, Image[] calldata images) private {
        uint256 count = images.length;
        if (count == 0 || count > MAX_IMAGES) revert Offers_InvalidImages(count);
        uint16 revision = offer.imagesRevision + 1;
        offer.imagesRevision = revision;
        for (uint256 i; i < count; ++i) {
            bytes32 id = images[i].id;
            uint256 nameLength = bytes(images[i].name).length;
            if (id == bytes32(0) || nameLength == 0 || nameLength > MAX_LABEL_LENGTH) revert Offers_InvalidImages(i);
            bytes32 key = _imageKey(offerId, revision, id);
            if (_offeredImages[key]) revert Offers_InvalidImages(i);
            _offeredImages[key] = true;
        }
        emit OfferImagesSet(offerId, revision, images);
    }

    function _storeTerms(Offer storage offer, OfferSpec calldata spec, OfferTerms calldata terms) private {
        offer.capacity = terms.capacity;
        offer.pricePerSecond = terms.pricePerSecond;
        offer.bootTimeout = terms.bootTimeout;
        offer.retention = terms.retention;
        offer.spec = spec;
    }

    function _existing(uint32 offerId) private view returns (Offer storage offer) {
        offer = _offers[offerId];
        // Checks slot 0 only: a published offer always has a provider.
        if (offer.provider == address(0)) revert Offers_UnknownOffer(offerId);
    }

    function _owned(uint32 offerId) private view returns (Offer storage offer) {
        offer = _existing(offerId);
        if (msg.sender != offer.provider) revert Offers_NotProvider(offerId, msg.sender);
    }

    function _ownedLive(uint32 offerId) private view returns (Offer storage offer) {
        offer = _owned(offerId);
        if (offer.status == OfferStatus.Retired) revert Offers_WrongStatus(offerId, uint8(offer.status));
    }

    function _validateSpec(OfferSpec calldata spec) private pure {
        if (spec.vcpus == 0) revert Offers_InvalidSpec("vcpus");
        if (spec.ramMiB == 0) revert Offers_InvalidSpec("ramMiB");
        if (spec.diskGiB == 0) revert Offers_InvalidSpec("diskGiB");
        uint256 gpuModelLength = bytes(spec.gpuModel).length;
        if ((spec.gpuCount == 0) != (gpuModelLength == 0) || gpuModelLength > MAX_LABEL_LENGTH) {
            revert Offers_InvalidSpec("gpuModel");
        }
        uint256 regionLength = bytes(spec.region).length;
        if (regionLength == 0 || regionLength > MAX_LABEL_LENGTH) revert Offers_InvalidSpec("region");
    }

    function _validateTerms(OfferTerms calldata terms) private pure {
        if (terms.pricePerSecond == 0) revert Offers_InvalidTerms("pricePerSecond");
        if (terms.capacity == 0) revert Offers_InvalidTerms("capacity");
        if (terms.bootTimeout < MIN_BOOT_TIMEOUT || terms.bootTimeout > MAX_BOOT_TIMEOUT) {
            revert Offers_InvalidTerms("bootTimeout");
        }
        if (terms.retention > MAX_RETENTION) revert Offers_InvalidTerms("retention");
    }

    function _imageKey(uint32 offerId, uint16 revision, bytes32 imageId) private pure returns (bytes32) {
        return keccak256(abi.encode(offerId, revision, imageId));
    }
}
