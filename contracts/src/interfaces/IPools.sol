// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pool, PoolConfig, TrustParams} from "../types/DataTypes.sol";

/// @title IPools
/// @notice The registry of compute pools. Each pool has its own operator, branding, fee and rules;
/// providers join pools, offers live in pools, and the pool's trust parameters govern its buyers.
interface IPools {
    /// @notice A pool was created.
    event PoolCreated(uint32 indexed poolId, address indexed operator, PoolConfig config);
    /// @notice A pool's configuration was replaced. Running leases keep the fee they started with.
    event PoolUpdated(uint32 indexed poolId, PoolConfig config);
    /// @notice The operator proposed a successor, who must accept (zero cancels).
    event OperatorTransferStarted(uint32 indexed poolId, address indexed operator, address indexed pendingOperator);
    /// @notice The pending operator accepted and now operates the pool.
    event OperatorTransferred(uint32 indexed poolId, address indexed previousOperator, address indexed newOperator);

    /// @notice The pool does not exist.
    error Pools_UnknownPool(uint32 poolId);
    /// @notice Only the pool's operator may do this.
    error Pools_NotOperator(uint32 poolId, address caller);
    /// @notice Only the pending operator may accept.
    error Pools_NotPendingOperator(uint32 poolId, address caller);
    /// @notice The name is empty or longer than 64 bytes.
    error Pools_InvalidName();
    /// @notice The metadata URI is longer than 256 bytes.
    error Pools_InvalidMetadataURI();
    /// @notice The fee exceeds the cap.
    error Pools_FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @notice A slash share exceeds the cap, or the boot-failure share exceeds the no-boot share.
    error Pools_InvalidSlashShares(uint16 noBootSlashBps, uint16 bootFailSlashBps, uint16 maxBuyerSlashBps);
    /// @notice The unbonding period is zero or longer than a year.
    error Pools_InvalidUnbonding(uint32 providerUnbonding);
    /// @notice The minimum stake must be positive.
    error Pools_ZeroMinStake();
    /// @notice The anonymous target share must be in (0, 10000].
    error Pools_InvalidTargetShare(uint16 anonTargetShareBps);
    /// @notice The anonymous fee bounds are inverted, or the floor is zero while the ceiling is not.
    error Pools_InvalidAnonFeeBounds(uint96 anonMinFee, uint96 anonMaxFee);
    /// @notice `maxLeases` must be positive and at least `baseLeases`.
    error Pools_InvalidLeaseLimits(uint16 baseLeases, uint16 maxLeases);

    /// @notice Creates a pool operated by the caller.
    /// @dev Emits {PoolCreated}.
    /// Requirements: a valid configuration (see the errors).
    /// @param config The pool's configuration.
    /// @return poolId The new pool's id, counting from 1.
    function createPool(PoolConfig calldata config) external returns (uint32 poolId);

    /// @notice Replaces a pool's configuration.
    /// @dev Emits {PoolUpdated}. A higher minimum stake stops under-staked providers from taking new leases;
    /// running leases keep their fee.
    /// Requirements: caller is the operator; a valid configuration.
    /// @param poolId The pool.
    /// @param config The new configuration.
    function updatePool(uint32 poolId, PoolConfig calldata config) external;

    /// @notice Starts handing the pool over; the new operator must call {acceptOperator}.
    /// @dev Emits {OperatorTransferStarted}. Passing the zero address cancels a pending hand-over.
    /// Requirements: caller is the operator.
    /// @param poolId The pool.
    /// @param newOperator The proposed operator.
    function transferOperator(uint32 poolId, address newOperator) external;

    /// @notice Completes a hand-over started by {transferOperator}.
    /// @dev Emits {OperatorTransferred}.
    /// Requirements: caller is the pending operator.
    /// @param poolId The pool.
    function acceptOperator(uint32 poolId) external;

    /// @notice The number of pools created so far; ids run from 1 to this.
    function poolCount() external view returns (uint32);

    /// @notice The whole pool record.
    /// @param poolId The pool; reverts with {Pools_UnknownPool} if it does not exist.
    function getPool(uint32 poolId) external view returns (Pool memory);

    /// @notice The pool's operator.
    /// @param poolId The pool; reverts with {Pools_UnknownPool} if it does not exist.
    function operatorOf(uint32 poolId) external view returns (address);

    /// @notice What the escrow needs to open a lease in the pool, in one call.
    /// @param poolId The pool; reverts with {Pools_UnknownPool} if it does not exist.
    /// @return feeBps The pool's fee.
    /// @return minStake The least bonded stake of an eligible provider.
    /// @return trust The buyer trust parameters.
    function leaseParams(uint32 poolId) external view returns (uint16 feeBps, uint96 minStake, TrustParams memory trust);

    /// @notice The least bonded stake with which a provider may take new leases in the pool.
    /// @param poolId The pool; reverts with {Pools_UnknownPool} if it does not exist.
    function minStakeOf(uint32 poolId) external view returns (uint96);

    /// @notice The stake-slashing shares and unbonding period of a pool.
    /// @param poolId The pool; reverts with {Pools_UnknownPool} if it does not exist.
    function stakeParams(uint32 poolId)
        external
        view
        returns (uint96 minStake, uint32 providerUnbonding, uint16 noBootSlashBps, uint16 bootFailSlashBps);
}
