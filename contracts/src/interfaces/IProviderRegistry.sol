// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Stake} from "../types/DataTypes.sol";

/// @title IProviderRegistry
/// @notice Providers' membership of pools and their trust stakes. Stake is slashable only by the lease
/// escrow, and only on a provable fault it has checked (a boot never acknowledged, or a failed boot).
interface IProviderRegistry {
    /// @notice A provider joined a pool (its first stake there reached the pool's minimum).
    event ProviderJoined(uint32 indexed poolId, address indexed provider);
    /// @notice Stake was added.
    event Staked(uint32 indexed poolId, address indexed provider, uint256 amount, uint256 bonded);
    /// @notice Stake started unbonding. All unbonding stake of this provider in this pool unlocks at `unbondingEnds`.
    event UnbondingStarted(
        uint32 indexed poolId,
        address indexed provider,
        uint256 amount,
        uint256 bonded,
        uint256 unbonding,
        uint40 unbondingEnds
    );
    /// @notice Unbonded stake was withdrawn.
    event UnbondedWithdrawn(uint32 indexed poolId, address indexed provider, address to, uint256 amount);
    /// @notice Stake was slashed to a wronged party.
    event ProviderSlashed(
        uint32 indexed poolId,
        address indexed provider,
        address indexed recipient,
        uint256 amount,
        uint256 bonded,
        uint256 unbonding
    );
    /// @notice The provider published the X25519 public key (age recipient) buyers encrypt user data to.
    event EncryptionKeySet(address indexed provider, bytes32 x25519PublicKey);

    /// @notice Amounts must be positive.
    error Registry_ZeroAmount();
    /// @notice A first stake must reach the pool's minimum.
    error Registry_BelowMinStake(uint256 minStake, uint256 bonded);
    /// @notice More was asked to unbond than is bonded.
    error Registry_InsufficientBonded(uint256 bonded, uint256 requested);
    /// @notice Nothing is unbonding, or it is not yet free.
    error Registry_NothingToWithdraw(uint40 unbondingEnds, uint256 unbonding);
    /// @notice Only the lease escrow may slash.
    error Registry_NotEscrow(address caller);
    /// @notice The recipient of a withdrawal or slash is the zero address.
    error Registry_ZeroAddress();
    /// @notice The encryption key must be non-zero.
    error Registry_ZeroKey();
    /// @notice The slash share exceeds 100%.
    error Registry_InvalidShare(uint16 shareBps);

    /// @notice Adds stake in a pool, joining it if this is the first stake.
    /// @dev Emits {Staked} and, on joining, {ProviderJoined}. Pulls `amount` tokens from the caller.
    /// Requirements: `amount` > 0; the pool exists; on joining, `amount` reaches the pool's minimum stake.
    /// @param poolId The pool.
    /// @param amount Tokens to add.
    function stake(uint32 poolId, uint256 amount) external;

    /// @notice Moves bonded stake to unbonding; it stays slashable until the pool's unbonding period has passed.
    /// @dev Emits {UnbondingStarted}. The period restarts for all unbonding stake of the caller in the pool.
    /// Requirements: 0 < `amount` <= bonded.
    /// @param poolId The pool.
    /// @param amount Tokens to unbond.
    function unbond(uint32 poolId, uint256 amount) external;

    /// @notice Withdraws stake whose unbonding period has passed.
    /// @dev Emits {UnbondedWithdrawn}.
    /// Requirements: something is unbonding and its period has passed; `to` is not zero.
    /// @param poolId The pool.
    /// @param to Where the tokens go.
    function withdrawUnbonded(uint32 poolId, address to) external;

    /// @notice Publishes the caller's X25519 public key, to which buyers encrypt cloud-init user data with age.
    /// @dev Emits {EncryptionKeySet}.
    /// @param x25519PublicKey The raw 32-byte key (the payload of an `age1...` recipient).
    function setEncryptionKey(bytes32 x25519PublicKey) external;

    /// @notice Slashes a share of a provider's stake in a pool (bonded first, then unbonding) to `recipient`.
    /// @dev Emits {ProviderSlashed}. Rounds down, in the provider's favour: the escrow has proven the fault,
    /// not its size.
    /// Requirements: caller is the lease escrow; `shareBps` <= 10000.
    /// @return amount The tokens moved to `recipient`.
    function slash(uint32 poolId, address provider, uint16 shareBps, address recipient)
        external
        returns (uint256 amount);

    /// @notice The provider's stake in the pool.
    function stakeOf(uint32 poolId, address provider) external view returns (Stake memory);

    /// @notice The provider's bonded stake in the pool.
    function bondedOf(uint32 poolId, address provider) external view returns (uint96);

    /// @notice Whether the provider may take new leases in the pool: its bonded stake reaches the minimum.
    function isEligible(uint32 poolId, address provider) external view returns (bool);

    /// @notice The provider's published X25519 key, zero if none.
    function encryptionKeyOf(address provider) external view returns (bytes32);

    /// @notice The provider's trust level in a pool, 0 (not eligible) to 8.
    /// @dev Derived from bonded stake (1 to 4 points for 1x to 4x the minimum), billed lease-seconds (one point
    /// each at one day, one week, thirty days and one year), minus two points per lease reclaimed after no boot
    /// and one per four honest boot failures; an eligible provider never falls below 1.
    function trustLevel(uint32 poolId, address provider) external view returns (uint8);
}
