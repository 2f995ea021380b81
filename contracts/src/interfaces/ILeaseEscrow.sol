// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    BuyerRecord,
    EndReason,
    Lease,
    LeaseOpening,
    LeaseStatus,
    OpenParams,
    ProviderRecord
} from "../types/DataTypes.sol";

/// @title ILeaseEscrow
/// @notice The lease escrow: buyers' deposits drain per second to providers while a machine runs, top-ups
/// keep it running, an empty balance halts it. All accounting is lazy and O(1) per lease per call.
interface ILeaseEscrow {
    /// @notice A lease was opened. Carries everything the provider needs to boot it.
    event LeaseOpened(uint256 indexed leaseId, uint32 indexed offerId, address indexed buyer, LeaseOpening opening);
    /// @notice The provider acknowledged a boot or restart; billing runs from `startedAt`.
    /// @param encryptedAccess Access details (address, port, user, host key) encrypted with age to the buyer's SSH key.
    event LeaseAcknowledged(
        uint256 indexed leaseId,
        address indexed provider,
        uint40 startedAt,
        uint40 paidUntil,
        bytes32 hostKeyFingerprint,
        bytes encryptedAccess
    );
    /// @notice Someone added funds. `resumed` when this topped up a halted lease, which now waits for the
    /// provider to acknowledge the restart by `restartDeadline`.
    event LeaseToppedUp(
        uint256 indexed leaseId,
        address indexed payer,
        uint256 amount,
        uint256 funds,
        bool resumed,
        uint40 restartDeadline
    );
    /// @notice A lease's balance ran out at `haltedAt`; its disk is kept until `retentionEnds`.
    event LeaseHalted(uint256 indexed leaseId, uint40 haltedAt, uint40 retentionEnds);
    /// @notice Earnings of a lease became final: `earned` for `billedSeconds` of running time. They count for the
    /// buyer's karma and the provider's billed seconds, and stay in the lease until paid out.
    event LeaseSettled(uint256 indexed leaseId, uint256 earned, uint256 billedSeconds);
    /// @notice `amount + poolFee` of a lease's earnings left the lease: `amount` to the provider, `poolFee` to the pool.
    event LeasePaidOut(uint256 indexed leaseId, address indexed provider, uint256 amount, uint256 poolFee);
    /// @notice A lease ended. `refund` went back to the buyer, `slashed` came from the provider's stake.
    event LeaseEnded(
        uint256 indexed leaseId, EndReason indexed reason, uint40 endedAt, uint256 refund, uint256 slashed
    );
    /// @notice A provider withdrew earnings (after the pool's fee) of `leaseCount` leases.
    event EarningsWithdrawn(address indexed provider, address to, uint256 amount, uint256 leaseCount);
    /// @notice A pool operator withdrew pool fees.
    event PoolFeesWithdrawn(uint32 indexed poolId, address to, uint256 amount);
    /// @notice The anonymous-start fee of a pool was checkpointed at an anonymous start. `anonRate` and
    /// `globalRate` are the rates the next fee was priced with, counting the new lease as running.
    /// `checkpointAt` is the time `fee` holds for (it keeps an unfinished period's progress, so it may be earlier
    /// than the block).
    event AnonFeeUpdated(uint32 indexed poolId, uint256 fee, uint40 checkpointAt, uint256 anonRate, uint256 globalRate);
    /// @notice The pool operator's ruling reset a buyer's karma.
    event KarmaReset(address indexed buyer);

    /// @notice The lease does not exist.
    error Escrow_UnknownLease(uint256 leaseId);
    /// @notice Only the lease's buyer may do this.
    error Escrow_NotBuyer(uint256 leaseId, address caller);
    /// @notice Only the lease's provider may do this.
    error Escrow_NotProvider(uint256 leaseId, address caller);
    /// @notice The lease is not in a state that allows this.
    error Escrow_WrongStatus(uint256 leaseId, LeaseStatus status);
    /// @notice The provider's bonded stake is below the pool's minimum.
    error Escrow_ProviderNotEligible(uint32 poolId, address provider);
    /// @notice The offer serves as many leases as its capacity.
    error Escrow_OfferFull(uint32 offerId, uint32 capacity);
    /// @notice The buyer holds as many leases as its trust allows.
    error Escrow_BuyerLimitReached(address buyer, uint256 limit);
    /// @notice The deposit or top-up does not pay for the minimum 60 seconds.
    error Escrow_DepositTooSmall(uint256 required, uint256 given);
    /// @notice Amounts must be positive.
    error Escrow_ZeroAmount();
    /// @notice The offer's price is above the buyer's limit (it changed after the buyer looked).
    error Escrow_PriceAboveLimit(uint256 pricePerSecond, uint256 maxPricePerSecond);
    /// @notice The anonymous-start fee is above the buyer's limit.
    error Escrow_AnonFeeTooHigh(uint256 fee, uint256 maxFee);
    /// @notice The SSH key is empty or too long.
    error Escrow_InvalidSshKey();
    /// @notice The user data or the access details are too long.
    error Escrow_PayloadTooLarge(uint256 length, uint256 max);
    /// @notice The boot or restart deadline has passed.
    error Escrow_DeadlinePassed(uint256 leaseId, uint40 deadline);
    /// @notice The boot or restart deadline has not passed yet.
    error Escrow_DeadlineNotReached(uint256 leaseId, uint40 deadline);
    /// @notice The lease still has a balance, so it has not halted.
    error Escrow_NotDry(uint256 leaseId, uint40 paidUntil);
    /// @notice The halted lease's retention window has not ended yet.
    error Escrow_RetentionNotOver(uint256 leaseId, uint40 retentionEnds);
    /// @notice The halted lease's retention window has ended: it can only be closed.
    error Escrow_RetentionOver(uint256 leaseId, uint40 retentionEnds);
    /// @notice Only the pool operator may do this.
    error Escrow_NotOperator(uint32 poolId, address caller);
    /// @notice Only the buyer trust contract may do this.
    error Escrow_NotBuyerTrust(address caller);
    /// @notice The recipient is the zero address.
    error Escrow_ZeroAddress();

    /// @notice Opens a lease on an offer. The buyer needs no account: any address may call.
    /// @dev Emits {LeaseOpened}, and {AnonFeeUpdated} when the buyer is anonymous. Pulls `deposit` plus the
    /// anonymous-start fee from the caller.
    /// Requirements: the offer is active and offers the image; the provider is eligible; the offer has
    /// capacity; the buyer is below its lease limit; the price is at most `maxPricePerSecond`; the deposit pays
    /// for at least 60 s; the fee is at most `maxAnonFee`; a 1 to 2048 byte SSH key; at most 16 KiB of user data.
    /// @return leaseId The new lease's id, counting from 1.
    function openLease(OpenParams calldata params) external returns (uint256 leaseId);

    /// @notice {openLease} with an ERC-2612 permit for the token, in one transaction.
    /// @dev The permit must be for `deposit + maxAnonFee`, saturated at the largest uint256 (so "any fee" means an
    /// unlimited permit). It is tried and its failure ignored, so a front-run permit does not block the lease.
    function openLeaseWithPermit(OpenParams calldata params, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 leaseId);

    /// @notice The provider acknowledges a boot or restart, publishing the encrypted access details.
    /// Billing starts now.
    /// @dev Emits {LeaseAcknowledged}.
    /// Requirements: caller is the provider; the lease is pending or restart-pending; the deadline has not passed;
    /// at most 4 KiB of access details.
    function acknowledge(uint256 leaseId, bytes calldata encryptedAccess, bytes32 hostKeyFingerprint) external;

    /// @notice Adds funds to a lease. Anyone may top up. A halted lease within its retention window
    /// resumes: it waits for the provider to acknowledge the restart, unbilled.
    /// @dev Emits {LeaseToppedUp}; for a lease that ran dry unrecorded also {LeaseSettled} and {LeaseHalted}; on a
    /// resume, the provider's earnings of the halted run are paid out ({LeasePaidOut}) so the new funds stay apart.
    /// Requirements: `amount` > 0; the lease is pending, running, restart-pending, or halted within retention
    /// (then `amount` pays for at least 60 s).
    function topUp(uint256 leaseId, uint256 amount) external;

    /// @notice {topUp} with an ERC-2612 permit.
    function topUpWithPermit(uint256 leaseId, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Records that a running lease ran dry. Anyone may call; it moves no tokens.
    /// @dev Emits {LeaseHalted} and {LeaseSettled}. Requirements: the lease is running and its balance is spent.
    function halt(uint256 leaseId) external;

    /// @notice The buyer ends the lease; the unspent balance is refunded. A pending or restart-pending lease is
    /// refunded in full: nothing has been billed since its (re)start. A halted lease ends as ran dry.
    /// @dev Emits {LeaseEnded} (reason BuyerStopped, or RanDry for a halted lease).
    /// Requirements: caller is the buyer; the lease is not closed.
    function stop(uint256 leaseId) external;

    /// @notice The provider ends the lease early; the buyer gets the unspent balance back.
    /// @dev Emits {LeaseEnded} (ProviderTerminated). Requirements: caller is the provider; the lease is running,
    /// halted or restart-pending (a pending boot is ended with {reportBootFailure}).
    function terminate(uint256 leaseId) external;

    /// @notice The provider honestly reports that it cannot boot the lease: full refund, smaller slash.
    /// @dev Emits {LeaseEnded} (BootFailed). Requirements: caller is the provider; the lease is pending or
    /// restart-pending; the deadline has not passed.
    function reportBootFailure(uint256 leaseId) external;

    /// @notice The buyer reclaims a lease the provider never acknowledged: full refund, and the pool's
    /// no-boot share of the provider's stake.
    /// @dev Emits {LeaseEnded} (ReclaimedNoBoot). Requirements: caller is the buyer; the lease is pending or
    /// restart-pending; the deadline has passed.
    function reclaim(uint256 leaseId) external;

    /// @notice Closes a halted lease whose retention window is over. Anyone may call.
    /// @dev Emits {LeaseEnded} (RanDry). Requirements: the lease ran dry and its retention ended.
    function close(uint256 leaseId) external;

    /// @notice Withdraws the caller's earnings of many leases, after each pool's fee, in one transfer.
    /// @dev Emits {LeaseSettled} for newly final earnings, {LeasePaidOut} per lease and {EarningsWithdrawn}.
    /// Leases with nothing to pay (pending, restart-pending) are skipped.
    /// Requirements: caller is the provider of every lease; `to` is not zero.
    /// @return amount The tokens sent to `to`.
    function withdraw(uint256[] calldata leaseIds, address to) external returns (uint256 amount);

    /// @notice Withdraws a pool's accrued fees.
    /// @dev Emits {PoolFeesWithdrawn}. Requirements: caller is the pool's operator; `to` is not zero.
    function withdrawPoolFees(uint32 poolId, address to) external returns (uint256 amount);

    /// @notice Resets a buyer's karma after an upheld abuse report.
    /// @dev Emits {KarmaReset}. Requirements: caller is the buyer trust contract.
    function resetKarma(address buyer) external;

    /// @notice The lease as stored.
    function getLease(uint256 leaseId) external view returns (Lease memory);

    /// @notice keccak256 of the lease's encrypted cloud-init user data, zero when it has none.
    function userDataHash(uint256 leaseId) external view returns (bytes32);

    /// @notice The lease as it is now, with lazy halting applied.
    /// @return status Halted for a running lease whose balance is spent.
    /// @return balance The buyer's unspent balance now.
    /// @return earned The provider's unwithdrawn earnings now (before the pool fee).
    /// @return paidUntil When a running lease runs dry (its halt time once halted); zero otherwise.
    function leaseState(uint256 leaseId)
        external
        view
        returns (LeaseStatus status, uint256 balance, uint256 earned, uint40 paidUntil);

    /// @notice Buyer, provider, pool, status and end time of a lease, for the buyer trust contract.
    function leaseParties(uint256 leaseId)
        external
        view
        returns (address buyer, address provider, uint32 poolId, LeaseStatus status, uint40 endedAt);

    /// @notice The number of leases opened so far; ids run from 1 to this.
    function leaseCount() external view returns (uint256);

    /// @notice The global compute rate: the summed price per second of all running (acknowledged) leases whose
    /// halt has not been recorded yet. Pending leases enter it when acknowledged, so an unbilled lease cannot
    /// move the anonymous-start fee.
    function globalRate() external view returns (uint256);

    /// @notice The summed price per second of the pool's running anonymous leases, counted as in {globalRate}.
    function anonRate(uint32 poolId) external view returns (uint256);

    /// @notice The anonymous-start fee a lease in the pool pays now.
    function anonFee(uint32 poolId) external view returns (uint256);

    /// @notice The pool fees accrued and not yet withdrawn.
    function poolFees(uint32 poolId) external view returns (uint256);

    /// @notice The provider's record of lease outcomes.
    function providerRecord(address provider) external view returns (ProviderRecord memory);

    /// @notice The buyer's lease counters and karma.
    function buyerRecord(address buyer) external view returns (BuyerRecord memory);

    /// @notice How many leases the buyer may hold at once in the pool, and whether it counts as anonymous there.
    function buyerLimit(uint32 poolId, address buyer) external view returns (uint256 limit, bool isAnonymous);

    /// @notice Active and total leases of an offer.
    function offerLoad(uint32 offerId) external view returns (uint32 active, uint64 total);
}
