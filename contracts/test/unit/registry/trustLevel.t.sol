// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {ProviderRecord} from "../../../src/types/DataTypes.sol";
import {RegistryUnitTest} from "./RegistryUnit.t.sol";

contract TrustLevelTest is RegistryUnitTest {
    function level() internal view returns (uint256) {
        return registry.trustLevel(poolId, provider);
    }

    function record() internal view returns (ProviderRecord memory) {
        return escrow.providerRecord(provider);
    }

    function test_RevertGiven_PoolDoesNotExist() external {
        vm.expectRevert(abi.encodeWithSelector(IPools.Pools_UnknownPool.selector, uint32(9)));
        registry.trustLevel(9, provider);
    }

    function test_GivenNeverStaked() external view {
        assertEq(registry.trustLevel(poolId, stranger), 0, "level");
    }

    function test_GivenServiceButUnbondedBelowMin() external {
        serve(365 days);
        assertEq(level(), 5, "level before unbonding");
        vm.prank(provider);
        registry.unbond(poolId, 1);
        assertEq(level(), 0, "level");
    }

    function test_GivenStakeBetween1xAnd2x() external {
        assertEq(level(), 1, "1x");
        stakeAs(provider, MIN_STAKE - 1);
        assertEq(level(), 1, "2x - 1 wei");
    }

    function test_GivenStake2x() external {
        stakeAs(provider, MIN_STAKE);
        assertEq(level(), 2, "2x");
    }

    function test_GivenStake3x() external {
        stakeAs(provider, 2 * MIN_STAKE);
        assertEq(level(), 3, "3x");
    }

    function test_GivenStake4x() external {
        stakeAs(provider, 3 * MIN_STAKE);
        assertEq(level(), 4, "4x");
    }

    function test_GivenStakeAbove4x() external {
        stakeAs(provider, 9 * MIN_STAKE);
        assertEq(level(), 4, "10x");
    }

    function test_GivenServiceOfOneDay() external {
        serve(1 days - 1);
        assertEq(record().completedSeconds, 1 days - 1, "completedSeconds");
        assertEq(level(), 1, "one second short");
        serve(1);
        assertEq(record().completedSeconds, 1 days, "completedSeconds");
        assertEq(level(), 2, "one day");
    }

    function test_GivenServiceOfSevenDays() external {
        serve(7 days - 1);
        assertEq(level(), 2, "one second short");
        serve(1);
        assertEq(record().completedSeconds, 7 days, "completedSeconds");
        assertEq(level(), 3, "seven days");
    }

    function test_GivenServiceOfThirtyDays() external {
        serve(30 days - 1);
        assertEq(level(), 3, "one second short");
        serve(1);
        assertEq(record().completedSeconds, 30 days, "completedSeconds");
        assertEq(level(), 4, "thirty days");
    }

    function test_GivenServiceOfOneYear() external {
        serve(365 days - 1);
        assertEq(level(), 4, "one second short");
        serve(1);
        assertEq(record().completedSeconds, 365 days, "completedSeconds");
        assertEq(level(), 5, "one year");
    }

    function test_GivenMaximumStakeAndService() external {
        stakeAs(provider, 3 * MIN_STAKE);
        serve(365 days);
        assertEq(level(), 8, "maximum");
    }

    function test_GivenOneReclaimedLease() external {
        disableSlashing();
        stakeAs(provider, 3 * MIN_STAKE);
        reclaimOne();
        assertEq(record().reclaimed, 1, "reclaimed");
        assertEq(registry.bondedOf(poolId, provider), 4 * MIN_STAKE, "stake whole");
        assertEq(level(), 2, "4 - 2");
    }

    function test_GivenThreeBootFailures() external {
        disableSlashing();
        stakeAs(provider, 3 * MIN_STAKE);
        failBootOne();
        failBootOne();
        failBootOne();
        assertEq(record().bootFailed, 3, "bootFailed");
        assertEq(level(), 4, "no penalty");
    }

    function test_GivenFourBootFailures() external {
        disableSlashing();
        stakeAs(provider, 3 * MIN_STAKE);
        for (uint256 i; i < 4; ++i) {
            failBootOne();
        }
        assertEq(record().bootFailed, 4, "bootFailed");
        assertEq(level(), 3, "4 - 1");
    }

    function test_GivenPenaltyLeavesOnePoint() external {
        disableSlashing();
        stakeAs(provider, 2 * MIN_STAKE);
        reclaimOne();
        assertEq(level(), 1, "3 - 2");
    }

    function test_GivenPenaltyReachesPoints() external {
        disableSlashing();
        stakeAs(provider, MIN_STAKE);
        reclaimOne();
        assertEq(level(), 1, "2 - 2 floors at 1");
        reclaimOne();
        reclaimOne();
        assertEq(record().reclaimed, 3, "reclaimed");
        assertEq(level(), 1, "2 - 6 floors at 1");
    }

    function test_GivenServiceAndReclaimedLease() external {
        disableSlashing();
        stakeAs(provider, 3 * MIN_STAKE);
        serve(30 days);
        reclaimOne();
        for (uint256 i; i < 4; ++i) {
            failBootOne();
        }
        // 4 stake + 3 service - 2 reclaimed - 1 boot failures.
        assertEq(level(), 4, "level");
    }

    function test_GivenReclaimAlsoSlashed() external {
        stakeAs(provider, 3 * MIN_STAKE);
        assertEq(level(), 4, "before");
        reclaimOne();
        // 10% of 4000 slashed to the buyer: 3600 bonded is 3 stake points, minus 2.
        assertEq(registry.bondedOf(poolId, provider), 3600e18, "bonded");
        assertEq(level(), 1, "after");
    }

    function test_GivenPenaltiesAndStakeBelowMin() external {
        disableSlashing();
        reclaimOne();
        vm.prank(provider);
        registry.unbond(poolId, 1);
        assertEq(level(), 0, "level");
    }

    function test_GivenHistoryFromAnotherPool() external {
        uint32 other = createPool(MIN_STAKE);
        stakeAs(provider, MIN_STAKE); // 2x in the fixture pool
        vm.prank(provider);
        registry.stake(other, MIN_STAKE);
        serve(7 days);
        // The escrow's record is per provider: service in the fixture pool counts in the other pool too.
        assertEq(registry.trustLevel(other, provider), 3, "1 stake + 2 service");
        assertEq(registry.trustLevel(poolId, provider), 4, "2 stake + 2 service");
    }
}
