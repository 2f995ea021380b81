// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "../../../src/interfaces/IPools.sol";
import {PoolConfig} from "../../../src/types/DataTypes.sol";
import {PoolsUnitTest} from "./PoolsUnit.t.sol";

contract CreatePoolTest is PoolsUnitTest {
    function expectCreateReverts(PoolConfig memory config, bytes memory reason) internal {
        vm.expectRevert(reason);
        vm.prank(stranger);
        pools.createPool(config);
    }

    function test_RevertWhen_NameEmpty() external {
        PoolConfig memory config = defaultPoolConfig();
        config.name = "";
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidName.selector));
    }

    function test_RevertWhen_NameLongerThan64Bytes() external {
        PoolConfig memory config = defaultPoolConfig();
        config.name = repeat("n", 65);
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidName.selector));
    }

    function test_RevertWhen_MetadataURILongerThan256Bytes() external {
        PoolConfig memory config = defaultPoolConfig();
        config.metadataURI = repeat("u", 257);
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidMetadataURI.selector));
    }

    function test_RevertWhen_FeeAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.feeBps = 2001;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_FeeTooHigh.selector, uint16(2001), uint16(2000))
        );
    }

    function test_RevertWhen_NoBootSlashAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.noBootSlashBps = 5001;
        expectCreateReverts(
            config,
            abi.encodeWithSelector(
                IPools.Pools_InvalidSlashShares.selector, uint16(5001), BOOT_FAIL_SLASH_BPS, uint16(2500)
            )
        );
    }

    function test_RevertWhen_BootFailSlashAboveNoBootSlash() external {
        PoolConfig memory config = defaultPoolConfig();
        config.bootFailSlashBps = NO_BOOT_SLASH_BPS + 1;
        expectCreateReverts(
            config,
            abi.encodeWithSelector(
                IPools.Pools_InvalidSlashShares.selector, NO_BOOT_SLASH_BPS, NO_BOOT_SLASH_BPS + 1, uint16(2500)
            )
        );
    }

    function test_RevertWhen_MaxBuyerSlashAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.maxBuyerSlashBps = 5001;
        expectCreateReverts(
            config,
            abi.encodeWithSelector(
                IPools.Pools_InvalidSlashShares.selector, NO_BOOT_SLASH_BPS, BOOT_FAIL_SLASH_BPS, uint16(5001)
            )
        );
    }

    function test_RevertWhen_UnbondingZero() external {
        PoolConfig memory config = defaultPoolConfig();
        config.providerUnbonding = 0;
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidUnbonding.selector, uint32(0)));
    }

    function test_RevertWhen_UnbondingAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.providerUnbonding = 365 days + 1;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_InvalidUnbonding.selector, uint32(365 days + 1))
        );
    }

    function test_RevertWhen_MinStakeZero() external {
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = 0;
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_ZeroMinStake.selector));
    }

    function test_RevertWhen_TargetShareZero() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonTargetShareBps = 0;
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidTargetShare.selector, uint16(0)));
    }

    function test_RevertWhen_TargetShareAbove10000() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonTargetShareBps = 10_001;
        expectCreateReverts(config, abi.encodeWithSelector(IPools.Pools_InvalidTargetShare.selector, uint16(10_001)));
    }

    function test_RevertWhen_AnonMinFeeAboveMax() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonMinFee = 10;
        config.trust.anonMaxFee = 9;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_InvalidAnonFeeBounds.selector, uint96(10), uint96(9))
        );
    }

    function test_RevertWhen_AnonMinFeeZeroAndMaxNot() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonMinFee = 0;
        config.trust.anonMaxFee = 1;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_InvalidAnonFeeBounds.selector, uint96(0), uint96(1))
        );
    }

    function test_RevertWhen_MaxLeasesZero() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.baseLeases = 0;
        config.trust.maxLeases = 0;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_InvalidLeaseLimits.selector, uint16(0), uint16(0))
        );
    }

    function test_RevertWhen_MaxLeasesBelowBaseLeases() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.baseLeases = 5;
        config.trust.maxLeases = 4;
        expectCreateReverts(
            config, abi.encodeWithSelector(IPools.Pools_InvalidLeaseLimits.selector, uint16(5), uint16(4))
        );
    }

    function createAndCheck(PoolConfig memory config, address caller) internal returns (uint32 id) {
        uint32 expectedId = pools.poolCount() + 1;
        vm.expectEmit(address(pools));
        emit IPools.PoolCreated(expectedId, caller, config);
        vm.prank(caller);
        id = pools.createPool(config);
        assertEq(id, expectedId, "pool id");
        assertEq(pools.poolCount(), expectedId, "pool count");
        assertPool(pools.getPool(id), config, caller, address(0));
    }

    function test_WhenConfigValid() external {
        assertEq(poolId, 1, "fixture pool id");
        uint32 id = createAndCheck(defaultPoolConfig(), stranger);
        assertEq(id, 2, "second pool id");
        // The fixture's pool is untouched.
        assertPool(pools.getPool(poolId), defaultPoolConfig(), operator, address(0));
    }

    function test_WhenEveryFieldOnUpperBound() external {
        createAndCheck(boundaryPoolConfig(), stranger);
    }

    function test_WhenEveryOptionalFieldOnLowerBound() external {
        PoolConfig memory config = defaultPoolConfig();
        config.name = "x";
        config.metadataURI = "";
        config.feeBps = 0;
        config.noBootSlashBps = 0;
        config.bootFailSlashBps = 0;
        config.providerUnbonding = 1;
        config.minStake = 1;
        config.trust.anonTargetShareBps = 1;
        config.trust.maxBuyerSlashBps = 0;
        config.trust.baseLeases = 0;
        config.trust.maxLeases = 1;
        config.trust.trustedDeposit = 0;
        config.trust.trustedKarma = 0;
        createAndCheck(config, stranger);
    }

    function test_WhenBothAnonFeeBoundsZero() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonMinFee = 0;
        config.trust.anonMaxFee = 0;
        uint32 id = createAndCheck(config, stranger);
        assertEq(escrow.anonFee(id), 0, "anon fee disabled");
    }

    function test_WhenAnonFeeBoundsEqual() external {
        PoolConfig memory config = defaultPoolConfig();
        config.trust.anonMinFee = 5e18;
        config.trust.anonMaxFee = 5e18;
        createAndCheck(config, stranger);
    }

    function test_WhenCallerAlreadyOperatesAPool() external {
        PoolConfig memory config = boundaryPoolConfig();
        uint32 id = createAndCheck(config, operator);
        assertEq(pools.operatorOf(id), operator, "operator of new pool");
        assertPool(pools.getPool(poolId), defaultPoolConfig(), operator, address(0));
    }
}
