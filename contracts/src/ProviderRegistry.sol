// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ILeaseEscrow} from "./interfaces/ILeaseEscrow.sol";
import {IPools} from "./interfaces/IPools.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Bonds} from "./libraries/Bonds.sol";
import {ProviderRecord, Stake} from "./types/DataTypes.sol";

/// @title ProviderRegistry
/// @notice Providers' trust stakes, per pool. Joining a pool takes at least its minimum stake; stake can be
/// raised at any time; withdrawing waits out the pool's unbonding period, during which the stake stays
/// slashable. Only the lease escrow slashes, and only for faults it has proven.
contract ProviderRegistry is IProviderRegistry, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The stake token.
    IERC20 public immutable TOKEN;
    /// @notice The pool registry.
    IPools public immutable POOLS;
    /// @notice The lease escrow, the only contract that may slash.
    address public immutable ESCROW;

    mapping(uint32 poolId => mapping(address provider => Stake)) private _stakes;
    mapping(address provider => bytes32) private _encryptionKeys;

    /// @param token The compute token.
    /// @param pools The pool registry.
    /// @param escrow The lease escrow (deployed after this contract at a predicted address).
    constructor(IERC20 token, IPools pools, address escrow) {
        TOKEN = token;
        POOLS = pools;
        ESCROW = escrow;
    }

    /// @inheritdoc IProviderRegistry
    function stake(uint32 poolId, uint256 amount) external nonReentrant {
        if (amount == 0) revert Registry_ZeroAmount();
        uint96 minStake = POOLS.minStakeOf(poolId);
        Stake storage s = _stakes[poolId][msg.sender];
        uint96 bonded = s.bonded + SafeCast.toUint96(amount);
        bool joining = !s.joined;
        if (joining && bonded < minStake) revert Registry_BelowMinStake(minStake, bonded);
        s.bonded = bonded;
        if (joining) s.joined = true;
        if (joining) emit ProviderJoined(poolId, msg.sender);
        emit Staked(poolId, msg.sender, amount, bonded);
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function unbond(uint32 poolId, uint256 amount) external {
        if (amount == 0) revert Registry_ZeroAmount();
        Stake storage s = _stakes[poolId][msg.sender];
        uint96 bonded = s.bonded;
        if (amount > bonded) revert Registry_InsufficientBonded(bonded, amount);
        // Only the unbonding period is needed.
        // slither-disable-next-line unused-return
        (, uint32 unbondingPeriod,,) = POOLS.stakeParams(poolId);
        uint96 unbonding;
        (bonded, unbonding) = Bonds.unbond(bonded, s.unbonding, amount);
        uint40 ends = uint40(block.timestamp) + unbondingPeriod;
        s.bonded = bonded;
        s.unbonding = unbonding;
        s.unbondingEnds = ends;
        emit UnbondingStarted(poolId, msg.sender, amount, bonded, unbonding, ends);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawUnbonded(uint32 poolId, address to) external nonReentrant {
        if (to == address(0)) revert Registry_ZeroAddress();
        Stake storage s = _stakes[poolId][msg.sender];
        uint96 amount = s.unbonding;
        if (amount == 0 || block.timestamp < s.unbondingEnds) {
            revert Registry_NothingToWithdraw(s.unbondingEnds, amount);
        }
        s.unbonding = 0;
        emit UnbondedWithdrawn(poolId, msg.sender, to, amount);
        TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc IProviderRegistry
    function setEncryptionKey(bytes32 x25519PublicKey) external {
        if (x25519PublicKey == bytes32(0)) revert Registry_ZeroKey();
        _encryptionKeys[msg.sender] = x25519PublicKey;
        emit EncryptionKeySet(msg.sender, x25519PublicKey);
    }

    /// @inheritdoc IProviderRegistry
    function slash(uint32 poolId, address provider, uint16 shareBps, address recipient)
        external
        nonReentrant
        returns (uint256 amount)
    {
        if (msg.sender != ESCROW) revert Registry_NotEscrow(msg.sender);
        if (shareBps > 10_000) revert Registry_InvalidShare(shareBps);
        if (recipient == address(0)) revert Registry_ZeroAddress();
        Stake storage s = _stakes[poolId][provider];
        uint96 bonded = s.bonded;
        uint96 unbonding = s.unbonding;
        // Rounds down, in the provider's favour: the escrow has proven the fault, not its size.
        amount = Bonds.share(bonded, unbonding, shareBps);
        if (amount == 0) return 0;
        (bonded, unbonding) = Bonds.take(bonded, unbonding, amount);
        s.bonded = bonded;
        s.unbonding = unbonding;
        emit ProviderSlashed(poolId, provider, recipient, amount, bonded, unbonding);
        TOKEN.safeTransfer(recipient, amount);
    }

    /// @inheritdoc IProviderRegistry
    function stakeOf(uint32 poolId, address provider) external view returns (Stake memory) {
        return _stakes[poolId][provider];
    }

    /// @inheritdoc IProviderRegistry
    function bondedOf(uint32 poolId, address provider) external view returns (uint96) {
        return _stakes[poolId][provider].bonded;
    }

    /// @inheritdoc IProviderRegistry
    function isEligible(uint32 poolId, address provider) public view returns (bool) {
        return _stakes[poolId][provider].bonded >= POOLS.minStakeOf(poolId);
    }

    /// @inheritdoc IProviderRegistry
    function encryptionKeyOf(address provider) external view returns (bytes32) {
        return _encryptionKeys[provider];
    }

    /// @inheritdoc IProviderRegistry
    function trustLevel(uint32 poolId, address provider) external view returns (uint8) {
        uint96 minStake = POOLS.minStakeOf(poolId);
        uint256 bonded = _stakes[poolId][provider].bonded;
        if (bonded < minStake) return 0;
        uint256 stakePoints = bonded / minStake;
        if (stakePoints > 4) stakePoints = 4;
        ProviderRecord memory record = ILeaseEscrow(ESCROW).providerRecord(provider);
        uint256 seconds_ = record.completedSeconds;
        uint256 servicePoints = (seconds_ >= 1 days ? 1 : 0) + (seconds_ >= 7 days ? 1 : 0)
            + (seconds_ >= 30 days ? 1 : 0) + (seconds_ >= 365 days ? 1 : 0);
        uint256 penalty = uint256(record.reclaimed) * 2 + record.bootFailed / 4;
        uint256 points = stakePoints + servicePoints;
        // forge-lint: disable-next-line(unsafe-typecast)
        return points > penalty + 1 ? uint8(points - penalty) : 1;
    }
}
