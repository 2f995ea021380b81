// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOffers} from "../../../src/interfaces/IOffers.sol";
import {OfferStatus, PoolConfig} from "../../../src/types/DataTypes.sol";
import {OffersUnitTest} from "./OffersUnit.t.sol";

contract ResumeOfferTest is OffersUnitTest {
    function test_RevertGiven_OfferDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_UnknownOffer.selector, uint32(2)));
        vm.prank(provider);
        offers.resumeOffer(2);
    }

    function test_RevertWhen_CallerNotProvider() external {
        pauseAs(provider, offerId);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_NotProvider.selector, offerId, stranger));
        vm.prank(stranger);
        offers.resumeOffer(offerId);
    }

    function test_RevertGiven_OfferActive() external {
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Active)));
        vm.prank(provider);
        offers.resumeOffer(offerId);
    }

    function test_RevertGiven_OfferRetired() external {
        retireAs(provider, offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IOffers.Offers_WrongStatus.selector, offerId, uint8(OfferStatus.Retired))
        );
        vm.prank(provider);
        offers.resumeOffer(offerId);
    }

    function test_RevertGiven_ProviderUnbondedBelowMin() external {
        pauseAs(provider, offerId);
        vm.prank(provider);
        registry.unbond(poolId, 1);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_ProviderNotEligible.selector, poolId, provider));
        vm.prank(provider);
        offers.resumeOffer(offerId);
    }

    function test_RevertGiven_PoolRaisedMinStake() external {
        pauseAs(provider, offerId);
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = MIN_STAKE + 1;
        vm.prank(operator);
        pools.updatePool(poolId, config);
        vm.expectRevert(abi.encodeWithSelector(IOffers.Offers_ProviderNotEligible.selector, poolId, provider));
        vm.prank(provider);
        offers.resumeOffer(offerId);
    }

    function test_GivenProviderEligible() external {
        pauseAs(provider, offerId);
        vm.expectEmit(address(offers));
        emit IOffers.OfferResumed(offerId);
        vm.prank(provider);
        offers.resumeOffer(offerId);

        assertOffer(offerId, provider, poolId, OfferStatus.Active, 1, defaultSpec(), defaultTerms());
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        assertEq(escrow.getLease(leaseId).offerId, offerId, "new lease");
    }
}
