// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pool, PoolConfig, TrustParams} from "../../../src/types/DataTypes.sol";
import {Base} from "../../utils/Base.t.sol";

/// @notice Shared fixtures and assertions of the `Pools` unit tests.
abstract contract PoolsUnitTest is Base {
    address internal newOperator = makeAddr("newOperator");

    /// @dev A valid configuration in which every field differs from the default one and sits on its upper bound.
    function boundaryPoolConfig() internal pure returns (PoolConfig memory config) {
        config = PoolConfig({
            name: repeat("n", 64),
            metadataURI: repeat("u", 256),
            feeBps: 2000,
            noBootSlashBps: 5000,
            bootFailSlashBps: 5000,
            providerUnbonding: 365 days,
            minStake: 1,
            trust: TrustParams({
                trustedDeposit: 7,
                trustedKarma: 8,
                anonTargetShareBps: 10_000,
                maxBuyerSlashBps: 5000,
                baseLeases: 9,
                maxLeases: 9,
                depositPerLease: 0,
                karmaPerLease: 0,
                anonMinFee: 0,
                anonMaxFee: 0
            })
        });
    }

    function repeat(bytes1 char, uint256 length) internal pure returns (string memory) {
        bytes memory buffer = new bytes(length);
        for (uint256 i; i < length; ++i) {
            buffer[i] = char;
        }
        return string(buffer);
    }

    function assertTrust(TrustParams memory actual, TrustParams memory expected) internal pure {
        assertEq(actual.trustedDeposit, expected.trustedDeposit, "trust.trustedDeposit");
        assertEq(actual.trustedKarma, expected.trustedKarma, "trust.trustedKarma");
        assertEq(actual.anonTargetShareBps, expected.anonTargetShareBps, "trust.anonTargetShareBps");
        assertEq(actual.maxBuyerSlashBps, expected.maxBuyerSlashBps, "trust.maxBuyerSlashBps");
        assertEq(actual.baseLeases, expected.baseLeases, "trust.baseLeases");
        assertEq(actual.maxLeases, expected.maxLeases, "trust.maxLeases");
        assertEq(actual.depositPerLease, expected.depositPerLease, "trust.depositPerLease");
        assertEq(actual.karmaPerLease, expected.karmaPerLease, "trust.karmaPerLease");
        assertEq(actual.anonMinFee, expected.anonMinFee, "trust.anonMinFee");
        assertEq(actual.anonMaxFee, expected.anonMaxFee, "trust.anonMaxFee");
    }

    function assertPool(Pool memory actual, PoolConfig memory config, address operator_, address pending)
        internal
        pure
    {
        assertEq(actual.operator, operator_, "operator");
        assertEq(actual.pendingOperator, pending, "pendingOperator");
        assertEq(actual.feeBps, config.feeBps, "feeBps");
        assertEq(actual.noBootSlashBps, config.noBootSlashBps, "noBootSlashBps");
        assertEq(actual.bootFailSlashBps, config.bootFailSlashBps, "bootFailSlashBps");
        assertEq(actual.providerUnbonding, config.providerUnbonding, "providerUnbonding");
        assertEq(actual.minStake, config.minStake, "minStake");
        assertTrust(actual.trust, config.trust);
        assertEq(actual.name, config.name, "name");
        assertEq(actual.metadataURI, config.metadataURI, "metadataURI");
    }
}
