// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBuyerTrust} from "./interfaces/IBuyerTrust.sol";
import {ILeaseEscrow} from "./interfaces/ILeaseEscrow.sol";
import {IOffers} from "./interfaces/IOffers.sol";
import {IPools} from "./interfaces/IPools.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {AnonFee} from "./libraries/AnonFee.sol";
import {
    BuyerRecord,
    EndReason,
    Lease,
    LeaseOpening,
    LeaseStatus,
    OpenParams,
    ProviderRecord,
    TrustParams
} from "./types/DataTypes.sol";

/// @title LeaseEscrow
/// @notice The core flow of utter. A buyer escrows tokens for a machine; once the provider acknowledges the boot,
/// the balance drains per second at the offer's price; anyone may top it up; an empty balance halts the lease and
/// the machine's disk is kept for the offer's retention window; a provider that never boots is slashed.
/// @dev All accounting is lazy and O(1) per lease: a running lease's earnings are `min(funds, price * elapsed)`,
/// computed when someone touches it. The token balance of this contract always equals the sum of all leases'
/// `funds` plus the pools' unwithdrawn fees.
contract LeaseEscrow is ILeaseEscrow, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The least runtime a deposit or a resuming top-up must pay for.
    uint256 public constant MIN_PREPAID_SECONDS = 60;
    /// @notice The longest SSH public key accepted.
    uint256 public constant MAX_SSH_KEY_LENGTH = 2048;
    /// @notice The most encrypted user data accepted (it travels in the event).
    uint256 public constant MAX_USER_DATA_LENGTH = 16_384;
    /// @notice The most encrypted access details accepted.
    uint256 public constant MAX_ACCESS_LENGTH = 4096;

    /// @notice The compute token every amount is in.
    IERC20 public immutable TOKEN;
    /// @notice The pool registry.
    IPools public immutable POOLS;
    /// @notice The provider registry, for eligibility and slashing.
    IProviderRegistry public immutable REGISTRY;
    /// @notice The offers.
    IOffers public immutable OFFERS;
    /// @notice The buyer trust deposits.
    IBuyerTrust public immutable BUYER_TRUST;

    /// @dev Per pool, one slot: fees (96) | anonRate (96) | anonFeeUpdatedAt (40) | touched (8). `touched` is set
    /// by the first write and never cleared, so the slot never returns to zero and later writes stay cheap
    /// (a zero-to-nonzero write costs 20,000 gas, a nonzero-to-nonzero one 2,900).
    struct PoolLedger {
        uint96 fees;
        uint96 anonRate;
        uint40 anonFeeUpdatedAt;
        bool touched;
    }

    /// @dev Per offer, one slot. `total` never returns to zero, so later writes stay cheap.
    struct OfferLoad {
        uint32 active;
        uint64 total;
    }

    /// @dev Who serves a lease, read from the offer once per call.
    struct Serving {
        address provider;
        uint32 poolId;
        uint32 bootTimeout;
        uint32 retention;
    }

    // One slot: the lease counter and the global compute rate (summed price per second of active leases).
    uint64 private _leaseCount;
    uint192 private _globalRate;

    mapping(uint256 leaseId => Lease) private _leases;
    mapping(uint256 leaseId => bytes32) private _userDataHashes;
    mapping(uint32 poolId => PoolLedger) private _ledgers;
    /// @dev The checkpointed anonymous-start fee; at least the pool's floor (> 0) once written, so never cleared.
    mapping(uint32 poolId => uint256) private _anonFees;
    mapping(uint32 offerId => OfferLoad) private _offerLoads;
    mapping(address buyer => BuyerRecord) private _buyers;
    mapping(address provider => ProviderRecord) private _providers;

    /// @param token The compute token.
    /// @param pools The pool registry.
    /// @param registry The provider registry.
    /// @param offers The offers.
    /// @param buyerTrust The buyer trust deposits.
    constructor(IERC20 token, IPools pools, IProviderRegistry registry, IOffers offers, IBuyerTrust buyerTrust) {
        TOKEN = token;
        POOLS = pools;
        REGISTRY = registry;
        OFFERS = offers;
        BUYER_TRUST = buyerTrust;
    }

    /*//////////////////////////////////////////////////////////////
                                 BUYERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILeaseEscrow
    function openLease(OpenParams calldata params) external nonReentrant returns (uint256 leaseId) {
        return _open(params);
    }

    /// @inheritdoc ILeaseEscrow
    function openLeaseWithPermit(OpenParams calldata params, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 leaseId)
    {
        // The permit covers the most this call may pull; "any fee" (the maximum) saturates instead of overflowing.
        uint256 deposit = params.deposit;
        uint256 value =
            params.maxAnonFee > type(uint256).max - deposit ? type(uint256).max : deposit + params.maxAnonFee;
        _permit(value, permitDeadline, v, r, s);
        return _open(params);
    }

    /// @inheritdoc ILeaseEscrow
    function topUp(uint256 leaseId, uint256 amount) external nonReentrant {
        _topUp(leaseId, amount);
    }

    /// @inheritdoc ILeaseEscrow
    function topUpWithPermit(uint256 leaseId, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        _permit(amount, permitDeadline, v, r, s);
        _topUp(leaseId, amount);
    }

    /// @inheritdoc ILeaseEscrow
    function stop(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        if (msg.sender != lease.buyer) revert Escrow_NotBuyer(leaseId, msg.sender);
        _endEarly(leaseId, lease, _serving(lease.offerId), EndReason.BuyerStopped);
    }

    /// @inheritdoc ILeaseEscrow
    function reclaim(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        if (msg.sender != lease.buyer) revert Escrow_NotBuyer(leaseId, msg.sender);
        _requireAwaitingBoot(leaseId, lease);
        uint40 deadline = lease.deadline;
        if (block.timestamp <= deadline) revert Escrow_DeadlineNotReached(leaseId, deadline);
        Serving memory serving = _serving(lease.offerId);
        // Only the no-boot share is needed; the other stake parameters are ignored on purpose.
        // slither-disable-next-line unused-return
        (,, uint16 noBootSlashBps,) = POOLS.stakeParams(serving.poolId);
        _endUnbooted(leaseId, lease, serving, EndReason.ReclaimedNoBoot, noBootSlashBps);
    }

    /*//////////////////////////////////////////////////////////////
                               PROVIDERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILeaseEscrow
    function acknowledge(uint256 leaseId, bytes calldata encryptedAccess, bytes32 hostKeyFingerprint)
        external
        nonReentrant
    {
        if (encryptedAccess.length > MAX_ACCESS_LENGTH) {
            revert Escrow_PayloadTooLarge(encryptedAccess.length, MAX_ACCESS_LENGTH);
        }
        Lease storage lease = _existing(leaseId);
        _requireAwaitingBoot(leaseId, lease);
        // Only the provider and pool are needed; the offer's timing terms are ignored on purpose.
        // slither-disable-next-line unused-return
        (address provider, uint32 poolId,,) = OFFERS.providerOf(lease.offerId);
        if (msg.sender != provider) revert Escrow_NotProvider(leaseId, msg.sender);
        uint40 deadline = lease.deadline;
        if (block.timestamp > deadline) revert Escrow_DeadlinePassed(leaseId, deadline);
        uint40 startedAt = uint40(block.timestamp);
        lease.status = LeaseStatus.Running;
        lease.settledAt = startedAt;
        _activate(lease, poolId);
        uint40 paidUntil = startedAt + _runway(lease.funds, lease.pricePerSecond);
        emit LeaseAcknowledged(leaseId, msg.sender, startedAt, paidUntil, hostKeyFingerprint, encryptedAccess);
    }

    /// @inheritdoc ILeaseEscrow
    function terminate(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        Serving memory serving = _serving(lease.offerId);
        if (msg.sender != serving.provider) revert Escrow_NotProvider(leaseId, msg.sender);
        if (lease.status == LeaseStatus.Pending) revert Escrow_WrongStatus(leaseId, LeaseStatus.Pending);
        _endEarly(leaseId, lease, serving, EndReason.ProviderTerminated);
    }

    /// @inheritdoc ILeaseEscrow
    function reportBootFailure(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        Serving memory serving = _serving(lease.offerId);
        if (msg.sender != serving.provider) revert Escrow_NotProvider(leaseId, msg.sender);
        _requireAwaitingBoot(leaseId, lease);
        uint40 deadline = lease.deadline;
        if (block.timestamp > deadline) revert Escrow_DeadlinePassed(leaseId, deadline);
        // Only the boot-failure share is needed; the other stake parameters are ignored on purpose.
        // slither-disable-next-line unused-return
        (,,, uint16 bootFailSlashBps) = POOLS.stakeParams(serving.poolId);
        _endUnbooted(leaseId, lease, serving, EndReason.BootFailed, bootFailSlashBps);
    }

    /// @inheritdoc ILeaseEscrow
    function withdraw(uint256[] calldata leaseIds, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert Escrow_ZeroAddress();
        // Filled from the first lease's offer: offer ids start at 1, so `servingOfferId = 0` never matches.
        // slither-disable-next-line uninitialized-local
        Serving memory serving;
        uint32 servingOfferId = 0;
        uint256 count = leaseIds.length;
        for (uint256 i; i < count; ++i) {
            uint256 leaseId = leaseIds[i];
            Lease storage lease = _existing(leaseId);
            uint32 offerId = lease.offerId;
            // Leases of one offer are usually withdrawn together: read the offer once for them.
            if (offerId != servingOfferId) {
                serving = _serving(offerId);
                servingOfferId = offerId;
            }
            if (msg.sender != serving.provider) revert Escrow_NotProvider(leaseId, msg.sender);
            amount += _payOut(leaseId, lease, serving);
        }
        emit EarningsWithdrawn(msg.sender, to, amount, count);
        if (amount != 0) TOKEN.safeTransfer(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILeaseEscrow
    function halt(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        LeaseStatus status = lease.status;
        if (status != LeaseStatus.Running) revert Escrow_WrongStatus(leaseId, status);
        if (!_haltIfDry(leaseId, lease, _serving(lease.offerId))) {
            revert Escrow_NotDry(leaseId, lease.settledAt + _runway(lease.funds, lease.pricePerSecond));
        }
    }

    /// @inheritdoc ILeaseEscrow
    function close(uint256 leaseId) external nonReentrant {
        Lease storage lease = _existing(leaseId);
        Serving memory serving = _serving(lease.offerId);
        LeaseStatus status = lease.status;
        if (status == LeaseStatus.Running) {
            if (!_haltIfDry(leaseId, lease, serving)) {
                revert Escrow_NotDry(leaseId, lease.settledAt + _runway(lease.funds, lease.pricePerSecond));
            }
        } else if (status != LeaseStatus.Halted) {
            revert Escrow_WrongStatus(leaseId, status);
        }
        uint40 retentionEnds = lease.deadline;
        if (block.timestamp <= retentionEnds) revert Escrow_RetentionNotOver(leaseId, retentionEnds);
        _end(leaseId, lease, serving, EndReason.RanDry, 0, 0);
    }

    /*//////////////////////////////////////////////////////////////
                            POOLS AND TRUST
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILeaseEscrow
    function withdrawPoolFees(uint32 poolId, address to) external nonReentrant returns (uint256 amount) {
        if (msg.sender != POOLS.operatorOf(poolId)) revert Escrow_NotOperator(poolId, msg.sender);
        if (to == address(0)) revert Escrow_ZeroAddress();
        PoolLedger storage ledger = _ledgers[poolId];
        amount = ledger.fees;
        ledger.fees = 0;
        emit PoolFeesWithdrawn(poolId, to, amount);
        if (amount != 0) TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc ILeaseEscrow
    function resetKarma(address buyer) external {
        if (msg.sender != address(BUYER_TRUST)) revert Escrow_NotBuyerTrust(msg.sender);
        _buyers[buyer].karma = 0;
        emit KarmaReset(buyer);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ILeaseEscrow
    function getLease(uint256 leaseId) external view returns (Lease memory) {
        return _existing(leaseId);
    }

    /// @inheritdoc ILeaseEscrow
    function userDataHash(uint256 leaseId) external view returns (bytes32) {
        return _userDataHashes[leaseId];
    }

    /// @inheritdoc ILeaseEscrow
    function leaseState(uint256 leaseId)
        external
        view
        returns (LeaseStatus status, uint256 balance, uint256 earned, uint40 paidUntil)
    {
        Lease memory lease = _existing(leaseId);
        status = lease.status;
        if (status == LeaseStatus.Running) {
            uint40 runway = _runway(lease.funds, lease.pricePerSecond);
            paidUntil = lease.settledAt + runway;
            if (block.timestamp >= paidUntil) {
                return (LeaseStatus.Halted, 0, lease.funds, paidUntil);
            }
            // block.timestamp < paidUntil, so elapsed * price < funds: no overflow, no clamp needed.
            earned = (block.timestamp - lease.settledAt) * lease.pricePerSecond;
            balance = lease.funds - earned;
        } else if (status == LeaseStatus.Halted || status == LeaseStatus.Closed) {
            earned = lease.funds;
            if (status == LeaseStatus.Halted) paidUntil = lease.settledAt;
        } else {
            balance = lease.funds;
        }
    }

    /// @inheritdoc ILeaseEscrow
    function leaseParties(uint256 leaseId)
        external
        view
        returns (address buyer, address provider, uint32 poolId, LeaseStatus status, uint40 endedAt)
    {
        Lease storage lease = _existing(leaseId);
        // The offer's timing terms are not part of the answer.
        // slither-disable-next-line unused-return
        (provider, poolId,,) = OFFERS.providerOf(lease.offerId);
        status = lease.status;
        if (status == LeaseStatus.Closed) endedAt = lease.settledAt;
        return (lease.buyer, provider, poolId, status, endedAt);
    }

    /// @inheritdoc ILeaseEscrow
    function leaseCount() external view returns (uint256) {
        return _leaseCount;
    }

    /// @inheritdoc ILeaseEscrow
    function globalRate() external view returns (uint256) {
        return _globalRate;
    }

    /// @inheritdoc ILeaseEscrow
    function anonRate(uint32 poolId) external view returns (uint256) {
        return _ledgers[poolId].anonRate;
    }

    /// @inheritdoc ILeaseEscrow
    function anonFee(uint32 poolId) external view returns (uint256 fee) {
        // Only the trust parameters price the fee.
        // slither-disable-next-line unused-return
        (,, TrustParams memory trust) = POOLS.leaseParams(poolId);
        (fee,) = _currentAnonFee(poolId, trust);
    }

    /// @inheritdoc ILeaseEscrow
    function poolFees(uint32 poolId) external view returns (uint256) {
        return _ledgers[poolId].fees;
    }

    /// @inheritdoc ILeaseEscrow
    function providerRecord(address provider) external view returns (ProviderRecord memory) {
        return _providers[provider];
    }

    /// @inheritdoc ILeaseEscrow
    function buyerRecord(address buyer) external view returns (BuyerRecord memory) {
        return _buyers[buyer];
    }

    /// @inheritdoc ILeaseEscrow
    function buyerLimit(uint32 poolId, address buyer) external view returns (uint256 limit, bool isAnonymous) {
        // Only the trust parameters set the limit.
        // slither-disable-next-line unused-return
        (,, TrustParams memory trust) = POOLS.leaseParams(poolId);
        return _limit(trust, BUYER_TRUST.depositOf(buyer), _buyers[buyer].karma);
    }

    /// @inheritdoc ILeaseEscrow
    function offerLoad(uint32 offerId) external view returns (uint32 active, uint64 total) {
        OfferLoad memory load = _offerLoads[offerId];
        return (load.active, load.total);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _open(OpenParams calldata params) private returns (uint256 leaseId) {
        uint256 keyLength = bytes(params.sshPublicKey).length;
        if (keyLength == 0 || keyLength > MAX_SSH_KEY_LENGTH) revert Escrow_InvalidSshKey();
        if (params.encryptedUserData.length > MAX_USER_DATA_LENGTH) {
            revert Escrow_PayloadTooLarge(params.encryptedUserData.length, MAX_USER_DATA_LENGTH);
        }
        LeaseOpening memory opening = _admit(params);
        leaseId = ++_leaseCount;
        _leases[leaseId] = Lease({
            buyer: msg.sender,
            offerId: params.offerId,
            status: LeaseStatus.Pending,
            isAnonymous: opening.isAnonymous,
            settledAt: uint40(block.timestamp),
            funds: opening.deposit,
            pricePerSecond: opening.pricePerSecond,
            deadline: opening.bootDeadline,
            feeBps: opening.feeBps
        });
        if (params.encryptedUserData.length != 0) {
            opening.userDataHash = keccak256(params.encryptedUserData);
            _userDataHashes[leaseId] = opening.userDataHash;
        }
        opening.sshPublicKey = params.sshPublicKey;
        opening.encryptedUserData = params.encryptedUserData;
        emit LeaseOpened(leaseId, params.offerId, msg.sender, opening);
        TOKEN.safeTransferFrom(msg.sender, address(this), uint256(opening.deposit) + opening.anonFee);
    }

    /// @dev Checks everything a new lease must satisfy and takes its slots: the offer's capacity and the buyer's
    /// lease limit; charges the anonymous-start fee when the buyer is anonymous in the pool.
    function _admit(OpenParams calldata params) private returns (LeaseOpening memory opening) {
        uint32 capacity;
        uint32 bootTimeout;
        (opening.provider, opening.poolId, opening.pricePerSecond, capacity, bootTimeout) =
            OFFERS.leaseTerms(params.offerId, params.imageId);
        if (opening.pricePerSecond > params.maxPricePerSecond) {
            revert Escrow_PriceAboveLimit(opening.pricePerSecond, params.maxPricePerSecond);
        }
        opening.imageId = params.imageId;
        opening.bootDeadline = uint40(block.timestamp) + bootTimeout;
        uint96 minStake;
        TrustParams memory trust;
        (opening.feeBps, minStake, trust) = POOLS.leaseParams(opening.poolId);
        if (REGISTRY.bondedOf(opening.poolId, opening.provider) < minStake) {
            revert Escrow_ProviderNotEligible(opening.poolId, opening.provider);
        }
        opening.deposit = SafeCast.toUint96(params.deposit);
        uint256 minDeposit = uint256(opening.pricePerSecond) * MIN_PREPAID_SECONDS;
        if (opening.deposit < minDeposit) revert Escrow_DepositTooSmall(minDeposit, opening.deposit);

        OfferLoad storage load = _offerLoads[params.offerId];
        if (load.active >= capacity) revert Escrow_OfferFull(params.offerId, capacity);
        ++load.active;
        ++load.total;

        BuyerRecord storage buyer = _buyers[msg.sender];
        uint256 limit;
        (limit, opening.isAnonymous) = _limit(trust, BUYER_TRUST.depositOf(msg.sender), buyer.karma);
        if (buyer.active >= limit) revert Escrow_BuyerLimitReached(msg.sender, limit);
        ++buyer.active;
        ++buyer.opened;

        if (opening.isAnonymous) {
            // The fee is at most the pool's uint96 anonMaxFee.
            opening.anonFee = uint96(_chargeAnonStart(opening.poolId, trust, opening.pricePerSecond, params.maxAnonFee));
        }
    }

    /// @dev Prices an anonymous start, checks the buyer's limit, accrues the fee to the pool and checkpoints
    /// the next fee with this lease counted as if running (it enters the rates when acknowledged).
    function _chargeAnonStart(uint32 poolId, TrustParams memory trust, uint96 price, uint256 maxFee)
        private
        returns (uint256 fee)
    {
        uint256 checkpointAt;
        (fee, checkpointAt) = _currentAnonFee(poolId, trust);
        if (fee > maxFee) revert Escrow_AnonFeeTooHigh(fee, maxFee);
        PoolLedger storage ledger = _ledgers[poolId];
        uint256 anonAfter = uint256(ledger.anonRate) + price;
        uint256 globalAfter = uint256(_globalRate) + price;
        int256 deviation = AnonFee.deviationBps(anonAfter, globalAfter, trust.anonTargetShareBps);
        uint256 next = deviation > 0 ? AnonFee.step(fee, deviation, trust.anonMinFee, trust.anonMaxFee) : fee;
        // The fee fits: it is bounded by the pool's uint96 anonMaxFee.
        // forge-lint: disable-next-line(unsafe-typecast)
        ledger.fees += uint96(fee);
        // forge-lint: disable-next-line(unsafe-typecast)
        ledger.anonFeeUpdatedAt = uint40(checkpointAt);
        ledger.touched = true;
        _anonFees[poolId] = next;
        // forge-lint: disable-next-line(unsafe-typecast)
        emit AnonFeeUpdated(poolId, next, uint40(checkpointAt), anonAfter, globalAfter);
    }

    function _currentAnonFee(uint32 poolId, TrustParams memory trust)
        private
        view
        returns (uint256 fee, uint256 checkpointAt)
    {
        // A zero ceiling is the pool's explicit "no anonymous-start fee" setting, not a balance.
        // slither-disable-next-line incorrect-equality
        if (trust.anonMaxFee == 0) return (0, block.timestamp);
        PoolLedger memory ledger = _ledgers[poolId];
        int256 deviation = AnonFee.deviationBps(ledger.anonRate, _globalRate, trust.anonTargetShareBps);
        return AnonFee.current(
            _anonFees[poolId], ledger.anonFeeUpdatedAt, deviation, trust.anonMinFee, trust.anonMaxFee, block.timestamp
        );
    }

    function _topUp(uint256 leaseId, uint256 amount) private {
        if (amount == 0) revert Escrow_ZeroAmount();
        uint96 added = SafeCast.toUint96(amount);
        Lease storage lease = _existing(leaseId);
        LeaseStatus status = lease.status;
        bool resumed = false;
        uint40 restartDeadline = 0;
        if (status == LeaseStatus.Running && _isDry(lease)) {
            _haltIfDry(leaseId, lease, _serving(lease.offerId));
            status = LeaseStatus.Halted;
        }
        if (status == LeaseStatus.Halted) {
            (resumed, restartDeadline) = (true, _resume(leaseId, lease, added));
        } else if (status == LeaseStatus.Closed) {
            revert Escrow_WrongStatus(leaseId, status);
        } else {
            lease.funds += added;
        }
        emit LeaseToppedUp(leaseId, msg.sender, amount, lease.funds, resumed, restartDeadline);
        TOKEN.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Restarts a halted lease with fresh funds: pays the provider what the halted run earned, so the new
    /// funds stay apart, and waits for the provider to acknowledge the restart.
    function _resume(uint256 leaseId, Lease storage lease, uint96 added) private returns (uint40 restartDeadline) {
        uint40 retentionEnds = lease.deadline;
        if (block.timestamp > retentionEnds) revert Escrow_RetentionOver(leaseId, retentionEnds);
        uint256 minimum = uint256(lease.pricePerSecond) * MIN_PREPAID_SECONDS;
        if (added < minimum) revert Escrow_DepositTooSmall(minimum, added);
        Serving memory serving = _serving(lease.offerId);
        uint256 earnings = _splitFee(leaseId, lease, serving, lease.funds);
        restartDeadline = uint40(block.timestamp) + serving.bootTimeout;
        lease.funds = added;
        lease.status = LeaseStatus.RestartPending;
        lease.deadline = restartDeadline;
        if (earnings != 0) TOKEN.safeTransfer(serving.provider, earnings);
    }

    /// @dev Pays out what a lease owes its provider now; records a running lease that ran dry as halted.
    /// @return amount The provider's part, after the pool fee.
    function _payOut(uint256 leaseId, Lease storage lease, Serving memory serving) private returns (uint256 amount) {
        LeaseStatus status = lease.status;
        uint256 payout = 0;
        if (status == LeaseStatus.Running) {
            if (_haltIfDry(leaseId, lease, serving)) {
                payout = lease.funds;
            } else {
                uint40 settledAt = lease.settledAt;
                uint256 billedSeconds = block.timestamp - settledAt;
                // Not dry, so billedSeconds * price < funds: fits in uint96.
                payout = billedSeconds * lease.pricePerSecond;
                lease.settledAt = uint40(block.timestamp);
                _recordEarnings(leaseId, lease.buyer, serving.provider, payout, billedSeconds);
            }
        } else if (status == LeaseStatus.Halted || status == LeaseStatus.Closed) {
            payout = lease.funds;
        }
        return _splitFee(leaseId, lease, serving, payout);
    }

    /// @dev Takes `payout` out of the lease: the pool's fee to its ledger, the rest returned for the provider.
    function _splitFee(uint256 leaseId, Lease storage lease, Serving memory serving, uint256 payout)
        private
        returns (uint256 amount)
    {
        // Skips a no-op, e.g. a pending lease in a batch; nothing is decided on an exact balance.
        // slither-disable-next-line incorrect-equality
        if (payout == 0) return 0;
        // Rounds the fee down; the two parts sum to `payout` exactly, so the escrow never pays out more than it holds.
        uint256 fee = payout * lease.feeBps / 10_000;
        amount = payout - fee;
        // payout <= funds, checked by every caller.
        // forge-lint: disable-next-line(unsafe-typecast)
        lease.funds -= uint96(payout);
        if (fee != 0) {
            PoolLedger storage ledger = _ledgers[serving.poolId];
            // forge-lint: disable-next-line(unsafe-typecast)
            ledger.fees += uint96(fee);
            ledger.touched = true;
        }
        emit LeasePaidOut(leaseId, serving.provider, amount, fee);
    }

    /// @dev Ends a lease that is not awaiting its first boot: settles running time, refunds the unspent rest.
    function _endEarly(uint256 leaseId, Lease storage lease, Serving memory serving, EndReason reason) private {
        LeaseStatus status = lease.status;
        if (status == LeaseStatus.Closed) revert Escrow_WrongStatus(leaseId, status);
        if (status == LeaseStatus.Running && _haltIfDry(leaseId, lease, serving)) status = LeaseStatus.Halted;
        uint256 refund = 0;
        if (status == LeaseStatus.Running) {
            uint256 billedSeconds = block.timestamp - lease.settledAt;
            // Not dry, so earned < funds.
            uint256 earned = billedSeconds * lease.pricePerSecond;
            refund = lease.funds - earned;
            // forge-lint: disable-next-line(unsafe-typecast)
            lease.funds = uint96(earned);
            _recordEarnings(leaseId, lease.buyer, serving.provider, earned, billedSeconds);
            _deactivate(lease, serving.poolId);
        } else if (status == LeaseStatus.Halted) {
            // A halted lease's funds are all earned. The buyer stopping it just releases the disk.
            if (reason == EndReason.BuyerStopped) reason = EndReason.RanDry;
        } else {
            // Pending or restart-pending: nothing was billed since the (re)start, and it is not in the rates.
            refund = lease.funds;
            lease.funds = 0;
        }
        _end(leaseId, lease, serving, reason, refund, 0);
        if (refund != 0) TOKEN.safeTransfer(lease.buyer, refund);
    }

    /// @dev Ends a lease whose boot or restart never came: full refund and a slash of the provider's stake.
    function _endUnbooted(
        uint256 leaseId,
        Lease storage lease,
        Serving memory serving,
        EndReason reason,
        uint16 slashBps
    ) private {
        uint256 refund = lease.funds;
        lease.funds = 0;
        address buyer = lease.buyer;
        uint256 slashed = REGISTRY.slash(serving.poolId, serving.provider, slashBps, buyer);
        _end(leaseId, lease, serving, reason, refund, slashed);
        if (refund != 0) TOKEN.safeTransfer(buyer, refund);
    }

    /// @dev Marks a lease closed and updates the offer's, buyer's and provider's counters.
    function _end(
        uint256 leaseId,
        Lease storage lease,
        Serving memory serving,
        EndReason reason,
        uint256 refund,
        uint256 slashed
    ) private {
        uint40 endedAt = uint40(block.timestamp);
        lease.status = LeaseStatus.Closed;
        lease.settledAt = endedAt;
        lease.deadline = 0;
        --_offerLoads[lease.offerId].active;
        BuyerRecord storage buyer = _buyers[lease.buyer];
        --buyer.active;
        buyer.lastEndedAt = endedAt;
        ProviderRecord storage record = _providers[serving.provider];
        if (reason == EndReason.BuyerStopped) ++record.buyerStopped;
        else if (reason == EndReason.RanDry) ++record.ranDry;
        else if (reason == EndReason.BootFailed) ++record.bootFailed;
        else if (reason == EndReason.ProviderTerminated) ++record.terminated;
        else ++record.reclaimed;
        emit LeaseEnded(leaseId, reason, endedAt, refund, slashed);
    }

    /// @dev If a running lease's balance is spent, records it as halted at the moment it ran dry: its whole
    /// balance is earned, the retention window starts, and it leaves the compute rates.
    function _haltIfDry(uint256 leaseId, Lease storage lease, Serving memory serving) private returns (bool) {
        uint96 funds = lease.funds;
        uint96 price = lease.pricePerSecond;
        uint40 settledAt = lease.settledAt;
        uint40 runway = _runway(funds, price);
        uint40 haltedAt = settledAt + runway;
        if (block.timestamp < haltedAt) return false;
        uint40 retentionEnds = haltedAt + serving.retention;
        lease.status = LeaseStatus.Halted;
        lease.settledAt = haltedAt;
        lease.deadline = retentionEnds;
        _deactivate(lease, serving.poolId);
        _recordEarnings(leaseId, lease.buyer, serving.provider, funds, runway);
        emit LeaseHalted(leaseId, haltedAt, retentionEnds);
        return true;
    }

    /// @dev Counts earnings that became final: buyer karma and provider billed seconds.
    function _recordEarnings(uint256 leaseId, address buyer, address provider, uint256 earned, uint256 billedSeconds)
        private
    {
        // Skips a no-op; nothing is decided on an exact balance.
        // slither-disable-next-line incorrect-equality
        if (earned == 0) return;
        // earned <= lease funds < 2**96; karma saturates rather than reverting a payment.
        BuyerRecord storage record = _buyers[buyer];
        uint256 karma = uint256(record.karma) + earned;
        // forge-lint: disable-next-line(unsafe-typecast)
        record.karma = karma > type(uint96).max ? type(uint96).max : uint96(karma);
        // forge-lint: disable-next-line(unsafe-typecast)
        _providers[provider].completedSeconds += uint64(billedSeconds);
        emit LeaseSettled(leaseId, earned, billedSeconds);
    }

    function _activate(Lease storage lease, uint32 poolId) private {
        uint96 price = lease.pricePerSecond;
        _globalRate += price;
        if (lease.isAnonymous) _ledgers[poolId].anonRate += price;
    }

    function _deactivate(Lease storage lease, uint32 poolId) private {
        uint96 price = lease.pricePerSecond;
        _globalRate -= price;
        if (lease.isAnonymous) _ledgers[poolId].anonRate -= price;
    }

    function _isDry(Lease storage lease) private view returns (bool) {
        return block.timestamp >= lease.settledAt + _runway(lease.funds, lease.pricePerSecond);
    }

    function _requireAwaitingBoot(uint256 leaseId, Lease storage lease) private view {
        LeaseStatus status = lease.status;
        if (status != LeaseStatus.Pending && status != LeaseStatus.RestartPending) {
            revert Escrow_WrongStatus(leaseId, status);
        }
    }

    function _existing(uint256 leaseId) private view returns (Lease storage lease) {
        lease = _leases[leaseId];
        if (lease.status == LeaseStatus.None) revert Escrow_UnknownLease(leaseId);
    }

    function _serving(uint32 offerId) private view returns (Serving memory serving) {
        (serving.provider, serving.poolId, serving.bootTimeout, serving.retention) = OFFERS.providerOf(offerId);
    }

    function _limit(TrustParams memory trust, uint256 deposit, uint256 karma)
        private
        pure
        returns (uint256 limit, bool isAnonymous)
    {
        isAnonymous = deposit < trust.trustedDeposit && karma < trust.trustedKarma;
        limit = trust.baseLeases;
        if (trust.depositPerLease != 0) limit += deposit / trust.depositPerLease;
        if (trust.karmaPerLease != 0) limit += karma / trust.karmaPerLease;
        if (limit > trust.maxLeases) limit = trust.maxLeases;
    }

    /// @dev Seconds `funds` pay for at `price`, rounded up: the last, partial second is billed in full, so a lease
    /// never halts with a dust balance nobody can use.
    function _runway(uint96 funds, uint96 price) private pure returns (uint40) {
        // Capped at 2**32 - 1 s (136 years) so that timestamps plus runways stay in uint40; only a price too
        // low to matter (under funds / 2**32 per second) reaches the cap.
        uint256 runway = Math.ceilDiv(funds, price);
        // forge-lint: disable-next-line(unsafe-typecast)
        return runway > type(uint32).max ? type(uint32).max : uint40(runway);
    }

    function _permit(uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        // A failed permit (e.g. front-run with the same signature) is ignored: transferFrom then checks the allowance.
        try IERC20Permit(address(TOKEN)).permit(msg.sender, address(this), value, deadline, v, r, s) {} catch {}
    }
}
