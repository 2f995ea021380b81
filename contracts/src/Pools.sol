// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPools} from "./interfaces/IPools.sol";
import {Pool, PoolConfig, TrustParams} from "./types/DataTypes.sol";

/// @title Pools
/// @notice Many compute pools, each with its own operator, branding, fee and rules.
contract Pools is IPools {
    /// @notice The highest pool fee: 20% of provider earnings.
    uint16 public constant MAX_FEE_BPS = 2000;
    /// @notice The highest share of a stake or deposit any one fault may slash.
    uint16 public constant MAX_SLASH_BPS = 5000;
    /// @notice The longest provider unbonding period.
    uint32 public constant MAX_UNBONDING = 365 days;

    /// @dev A pool as stored, packed so that opening a lease reads four slots (0-3) and checking a provider's
    /// eligibility one (0). The public `Pool` struct is assembled from it.
    struct PoolStorage {
        // slot 0
        address operator;
        uint96 minStake;
        // slot 1
        uint96 trustedDeposit;
        uint96 trustedKarma;
        uint16 anonTargetShareBps;
        uint16 maxBuyerSlashBps;
        uint16 baseLeases;
        uint16 maxLeases;
        // slot 2
        uint96 depositPerLease;
        uint96 karmaPerLease;
        uint16 feeBps;
        uint16 noBootSlashBps;
        uint16 bootFailSlashBps;
        // slot 3
        uint96 anonMinFee;
        uint96 anonMaxFee;
        uint32 providerUnbonding;
        // slot 4
        address pendingOperator;
        string name;
        string metadataURI;
    }

    uint32 private _poolCount;
    mapping(uint32 poolId => PoolStorage) private _pools;

    /// @inheritdoc IPools
    function createPool(PoolConfig calldata config) external returns (uint32 poolId) {
        _validate(config);
        poolId = ++_poolCount;
        PoolStorage storage pool = _pools[poolId];
        pool.operator = msg.sender;
        _store(pool, config);
        emit PoolCreated(poolId, msg.sender, config);
    }

    /// @inheritdoc IPools
    function updatePool(uint32 poolId, PoolConfig calldata config) external {
        PoolStorage storage pool = _operated(poolId);
        _validate(config);
        _store(pool, config);
        emit PoolUpdated(poolId, config);
    }

    /// @inheritdoc IPools
    function transferOperator(uint32 poolId, address newOperator) external {
        PoolStorage storage pool = _operated(poolId);
        pool.pendingOperator = newOperator;
        emit OperatorTransferStarted(poolId, msg.sender, newOperator);
    }

    /// @inheritdoc IPools
    function acceptOperator(uint32 poolId) external {
        PoolStorage storage pool = _existing(poolId);
        if (msg.sender != pool.pendingOperator) revert Pools_NotPendingOperator(poolId, msg.sender);
        address previous = pool.operator;
        pool.operator = msg.sender;
        delete pool.pendingOperator;
        emit OperatorTransferred(poolId, previous, msg.sender);
    }

    /// @inheritdoc IPools
    function poolCount() external view returns (uint32) {
        return _poolCount;
    }

    /// @inheritdoc IPools
    function getPool(uint32 poolId) external view returns (Pool memory pool) {
        PoolStorage storage stored = _existing(poolId);
        pool.operator = stored.operator;
        pool.feeBps = stored.feeBps;
        pool.noBootSlashBps = stored.noBootSlashBps;
        pool.bootFailSlashBps = stored.bootFailSlashBps;
        pool.providerUnbonding = stored.providerUnbonding;
        pool.pendingOperator = stored.pendingOperator;
        pool.minStake = stored.minStake;
        pool.trust = _trust(stored);
        pool.name = stored.name;
        pool.metadataURI = stored.metadataURI;
    }

    /// @inheritdoc IPools
    function operatorOf(uint32 poolId) external view returns (address) {
        return _existing(poolId).operator;
    }

    /// @inheritdoc IPools
    function leaseParams(uint32 poolId)
        external
        view
        returns (uint16 feeBps, uint96 minStake, TrustParams memory trust)
    {
        PoolStorage storage pool = _existing(poolId);
        return (pool.feeBps, pool.minStake, _trust(pool));
    }

    /// @inheritdoc IPools
    function stakeParams(uint32 poolId)
        external
        view
        returns (uint96 minStake, uint32 providerUnbonding, uint16 noBootSlashBps, uint16 bootFailSlashBps)
    {
        PoolStorage storage pool = _existing(poolId);
        return (pool.minStake, pool.providerUnbonding, pool.noBootSlashBps, pool.bootFailSlashBps);
    }

    /// @inheritdoc IPools
    function minStakeOf(uint32 poolId) external view returns (uint96) {
        return _existing(poolId).minStake;
    }

    function _trust(PoolStorage storage pool) private view returns (TrustParams memory) {
        return TrustParams({
            trustedDeposit: pool.trustedDeposit,
            trustedKarma: pool.trustedKarma,
            anonTargetShareBps: pool.anonTargetShareBps,
            maxBuyerSlashBps: pool.maxBuyerSlashBps,
            baseLeases: pool.baseLeases,
            maxLeases: pool.maxLeases,
            depositPerLease: pool.depositPerLease,
            karmaPerLease: pool.karmaPerLease,
            anonMinFee: pool.anonMinFee,
            anonMaxFee: pool.anonMaxFee
        });
    }

    function _existing(uint32 poolId) private view returns (PoolStorage storage pool) {
        pool = _pools[poolId];
        if (pool.operator == address(0)) revert Pools_UnknownPool(poolId);
    }

    function _operated(uint32 poolId) private view returns (PoolStorage storage pool) {
        pool = _existing(poolId);
        if (msg.sender != pool.operator) revert Pools_NotOperator(poolId, msg.sender);
    }

    function _store(PoolStorage storage pool, PoolConfig calldata config) private {
        pool.feeBps = config.feeBps;
        pool.noBootSlashBps = config.noBootSlashBps;
        pool.bootFailSlashBps = config.bootFailSlashBps;
        pool.providerUnbonding = config.providerUnbonding;
        pool.minStake = config.minStake;
        TrustParams calldata trust = config.trust;
        pool.trustedDeposit = trust.trustedDeposit;
        pool.trustedKarma = trust.trustedKarma;
        pool.anonTargetShareBps = trust.anonTargetShareBps;
        pool.maxBuyerSlashBps = trust.maxBuyerSlashBps;
        pool.baseLeases = trust.baseLeases;
        pool.maxLeases = trust.maxLeases;
        pool.depositPerLease = trust.depositPerLease;
        pool.karmaPerLease = trust.karmaPerLease;
        pool.anonMinFee = trust.anonMinFee;
        pool.anonMaxFee = trust.anonMaxFee;
        pool.name = config.name;
        pool.metadataURI = config.metadataURI;
    }

    function _validate(PoolConfig calldata config) private pure {
        uint256 nameLength = bytes(config.name).length;
        if (nameLength == 0 || nameLength > 64) revert Pools_InvalidName();
        if (bytes(config.metadataURI).length > 256) revert Pools_InvalidMetadataURI();
        if (config.feeBps > MAX_FEE_BPS) revert Pools_FeeTooHigh(config.feeBps, MAX_FEE_BPS);
        TrustParams calldata trust = config.trust;
        if (
            config.noBootSlashBps > MAX_SLASH_BPS || config.bootFailSlashBps > config.noBootSlashBps
                || trust.maxBuyerSlashBps > MAX_SLASH_BPS
        ) {
            revert Pools_InvalidSlashShares(config.noBootSlashBps, config.bootFailSlashBps, trust.maxBuyerSlashBps);
        }
        if (config.providerUnbonding == 0 || config.providerUnbonding > MAX_UNBONDING) {
            revert Pools_InvalidUnbonding(config.providerUnbonding);
        }
        if (config.minStake == 0) revert Pools_ZeroMinStake();
        if (trust.anonTargetShareBps == 0 || trust.anonTargetShareBps > 10_000) {
            revert Pools_InvalidTargetShare(trust.anonTargetShareBps);
        }
        if (trust.anonMinFee > trust.anonMaxFee || (trust.anonMinFee == 0 && trust.anonMaxFee != 0)) {
            revert Pools_InvalidAnonFeeBounds(trust.anonMinFee, trust.anonMaxFee);
        }
        if (trust.maxLeases == 0 || trust.maxLeases < trust.baseLeases) {
            revert Pools_InvalidLeaseLimits(trust.baseLeases, trust.maxLeases);
        }
    }
}
