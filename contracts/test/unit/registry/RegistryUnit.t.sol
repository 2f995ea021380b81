// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoolConfig, Stake} from "../../../src/types/DataTypes.sol";
import {Base} from "../../utils/Base.t.sol";
import {Vm} from "../../utils/Vm.sol";

/// @notice Shared fixtures and assertions of the `ProviderRegistry` unit tests.
abstract contract RegistryUnitTest is Base {
    bytes32 internal constant PROVIDER_JOINED = keccak256("ProviderJoined(uint32,address)");

    function assertStake(
        uint32 pool,
        address who,
        uint256 bonded,
        uint256 unbonding,
        uint256 unbondingEnds,
        bool joined
    ) internal view {
        Stake memory s = registry.stakeOf(pool, who);
        assertEq(s.bonded, bonded, "stake.bonded");
        assertEq(s.unbonding, unbonding, "stake.unbonding");
        assertEq(s.unbondingEnds, unbondingEnds, "stake.unbondingEnds");
        assertEq(s.joined, joined, "stake.joined");
        assertEq(registry.bondedOf(pool, who), bonded, "bondedOf");
    }

    /// @dev Creates a second pool, operated by `operator`, with the given minimum stake.
    function createPool(uint96 minStake) internal returns (uint32 id) {
        PoolConfig memory config = defaultPoolConfig();
        config.minStake = minStake;
        vm.prank(operator);
        id = pools.createPool(config);
    }

    /// @dev Sets the fixture pool's slash shares to zero, so that failed leases leave the stake whole.
    function disableSlashing() internal {
        PoolConfig memory config = defaultPoolConfig();
        config.noBootSlashBps = 0;
        config.bootFailSlashBps = 0;
        vm.prank(operator);
        pools.updatePool(poolId, config);
    }

    /// @dev Runs one real lease for exactly `seconds_` billed seconds and stops it.
    function serve(uint256 seconds_) internal {
        uint256 leaseId = openRunning(uint256(PRICE) * (seconds_ + 1 hours));
        skip(seconds_);
        vm.prank(buyer);
        escrow.stop(leaseId);
    }

    /// @dev Opens a lease the provider never acknowledges, and has the buyer reclaim it.
    function reclaimOne() internal {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        skip(BOOT_TIMEOUT + 1);
        vm.prank(buyer);
        escrow.reclaim(leaseId);
    }

    /// @dev Opens a lease whose boot the provider reports as failed.
    function failBootOne() internal {
        uint256 leaseId = openAs(buyer, ONE_HOUR_DEPOSIT);
        vm.prank(provider);
        escrow.reportBootFailure(leaseId);
    }

    /// @dev How many of the logs recorded since `vm.recordLogs()` have `topic0`.
    function countRecorded(bytes32 topic0) internal returns (uint256 count) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length != 0 && logs[i].topics[0] == topic0) ++count;
        }
    }
}
