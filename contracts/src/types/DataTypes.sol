// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Trust parameters a pool sets for its buyers: how many leases a buyer may hold at once,
/// who counts as anonymous, and the bounds of the anonymous-start fee.
/// @dev Packed into three slots: (trustedDeposit, trustedKarma, 4 x uint16), (depositPerLease,
/// karmaPerLease), (anonMinFee, anonMaxFee).
struct TrustParams {
    /// @dev A buyer whose bonded deposit reaches this is not anonymous.
    uint96 trustedDeposit;
    /// @dev A buyer whose karma reaches this is not anonymous.
    uint96 trustedKarma;
    /// @dev Target share, in basis points of the global compute rate, of anonymous leases in this pool.
    uint16 anonTargetShareBps;
    /// @dev Largest share, in basis points, of a buyer's deposit one upheld abuse report may slash.
    uint16 maxBuyerSlashBps;
    /// @dev Leases any buyer may hold at once in this pool, before deposit and karma.
    uint16 baseLeases;
    /// @dev Hard cap on the leases one buyer may hold at once, whatever its trust.
    uint16 maxLeases;
    /// @dev Each full multiple of this deposit allows one more concurrent lease (0 = deposit adds none).
    uint96 depositPerLease;
    /// @dev Each full multiple of this karma allows one more concurrent lease (0 = karma adds none).
    uint96 karmaPerLease;
    /// @dev Floor of the anonymous-start fee (0 together with anonMaxFee = 0 disables the fee).
    uint96 anonMinFee;
    /// @dev Ceiling of the anonymous-start fee.
    uint96 anonMaxFee;
}

/// @notice Everything a pool operator configures.
struct PoolConfig {
    /// @dev Human-readable name, at most 64 bytes.
    string name;
    /// @dev Where the pool's branding and rules live (https, ipfs, ...), at most 256 bytes.
    string metadataURI;
    /// @dev Share of provider earnings the pool takes, in basis points, capped by `Pools.MAX_FEE_BPS`.
    uint16 feeBps;
    /// @dev Share of a provider's stake slashed to the buyer when a lease is reclaimed after no boot.
    uint16 noBootSlashBps;
    /// @dev Share slashed when a provider honestly reports a failed boot (smaller than `noBootSlashBps`).
    uint16 bootFailSlashBps;
    /// @dev Seconds a provider's withdrawn stake stays slashable before it can be taken out.
    uint32 providerUnbonding;
    /// @dev Least bonded stake with which a provider may take new leases in this pool.
    uint96 minStake;
    /// @dev The buyer trust parameters.
    TrustParams trust;
}

/// @notice A pool as stored.
struct Pool {
    address operator;
    uint16 feeBps;
    uint16 noBootSlashBps;
    uint16 bootFailSlashBps;
    uint32 providerUnbonding;
    address pendingOperator;
    uint96 minStake;
    TrustParams trust;
    string name;
    string metadataURI;
}

/// @notice A provider's stake in one pool.
struct Stake {
    /// @dev Stake that counts towards eligibility and trust.
    uint96 bonded;
    /// @dev Stake on its way out: not counted, still slashable.
    uint96 unbonding;
    /// @dev When `unbonding` may be withdrawn.
    uint40 unbondingEnds;
    /// @dev Whether the provider ever joined this pool.
    bool joined;
}

/// @notice The machine an offer sells. Only emitted and stored for readers; the contracts never
/// interpret it.
struct OfferSpec {
    uint16 vcpus;
    uint32 ramMiB;
    uint32 diskGiB;
    uint16 gpuCount;
    uint32 bandwidthUpMbps;
    uint32 bandwidthDownMbps;
    bool publicIpv4;
    bool publicIpv6;
    /// @dev Empty when `gpuCount` is zero. At most 64 bytes.
    string gpuModel;
    /// @dev Free-form region label, e.g. "eu-west-1". 1 to 64 bytes.
    string region;
}

/// @notice The commercial terms of an offer.
struct OfferTerms {
    /// @dev Token wei per second of a running lease. Running leases keep the price they started at.
    uint96 pricePerSecond;
    /// @dev How many leases the offer serves at once (halted leases keep their slot: their disk is kept).
    uint32 capacity;
    /// @dev Seconds the provider has to acknowledge a (re)start before the buyer may reclaim.
    uint32 bootTimeout;
    /// @dev Seconds a halted (ran-dry) machine's disk is kept, unbilled, for a resuming top-up.
    uint32 retention;
}

/// @notice An OS image an offer boots.
struct Image {
    /// @dev Opaque id the provider agent maps to a cloud image; never zero.
    bytes32 id;
    /// @dev Human-readable name, e.g. "ubuntu-24.04". 1 to 64 bytes.
    string name;
}

/// @notice Lifecycle state of an offer.
enum OfferStatus {
    None,
    Active,
    Paused,
    Retired
}

/// @notice An offer as stored.
/// @dev Slot 0: provider (160) | poolId (32) | bootTimeout (32) | retention (32): everything `providerOf` returns,
/// in one slot, because every lease call after the opening reads it.
/// Slot 1: pricePerSecond (96) | capacity (32) | status (8) | imagesRevision (16).
struct Offer {
    address provider;
    uint32 poolId;
    uint32 bootTimeout;
    uint32 retention;
    uint96 pricePerSecond;
    uint32 capacity;
    OfferStatus status;
    uint16 imagesRevision;
    OfferSpec spec;
}

/// @notice Lifecycle state of a lease as stored. A `Running` lease whose balance is spent is halted
/// in fact even before anyone records it (see `LeaseEscrow.leaseState`).
enum LeaseStatus {
    None,
    /// @dev Opened, waiting for the provider to acknowledge the boot. Not billed.
    Pending,
    /// @dev Acknowledged and billed per second.
    Running,
    /// @dev Ran dry; the machine is stopped and its disk kept until `deadline`. Not billed.
    Halted,
    /// @dev Topped up while halted; waiting for the provider to acknowledge the restart. Not billed.
    RestartPending,
    /// @dev Ended; `funds` is what the provider has still to withdraw.
    Closed
}

/// @notice Why a lease ended. Counted per provider: the basis of its reputation.
enum EndReason {
    None,
    BuyerStopped,
    RanDry,
    BootFailed,
    ProviderTerminated,
    ReclaimedNoBoot
}

/// @notice A lease as stored, in two slots.
/// @dev Slot 0: buyer (160) | offerId (32) | status (8) | isAnonymous (8) | settledAt (40).
/// Slot 1: funds (96) | pricePerSecond (96) | deadline (40) | feeBps (16).
/// `funds` is the buyer's unspent balance plus the provider's unwithdrawn earnings: while running,
/// the provider has earned `min(funds, price * (now - settledAt))` of it; once halted or closed, all of it.
/// `deadline` is the boot/restart deadline while pending, the end of retention while halted.
/// For a closed lease `settledAt` is the time it ended.
struct Lease {
    address buyer;
    uint32 offerId;
    LeaseStatus status;
    bool isAnonymous;
    uint40 settledAt;
    uint96 funds;
    uint96 pricePerSecond;
    uint40 deadline;
    uint16 feeBps;
}

/// @notice What a buyer opens a lease with.
struct OpenParams {
    uint32 offerId;
    /// @dev One of the offer's current image ids.
    bytes32 imageId;
    /// @dev Tokens escrowed for the lease, at least 60 seconds at the offer's price.
    uint256 deposit;
    /// @dev The highest price per second the buyer accepts (the offer's price may change after the buyer looked).
    uint256 maxPricePerSecond;
    /// @dev The most the buyer accepts to pay as anonymous-start fee (slippage guard).
    uint256 maxAnonFee;
    /// @dev OpenSSH public key injected into the machine; access details are encrypted to it.
    string sshPublicKey;
    /// @dev Optional cloud-init user data encrypted to the provider's age key. Only its hash is stored.
    bytes encryptedUserData;
}

/// @notice A provider's record of lease outcomes, kept by the escrow.
/// @dev One slot: five uint32 counters and a uint64 of billed lease-seconds.
struct ProviderRecord {
    uint32 buyerStopped;
    uint32 ranDry;
    uint32 bootFailed;
    uint32 terminated;
    uint32 reclaimed;
    uint64 completedSeconds;
}

/// @notice A buyer's lease counters, kept by the escrow.
/// @dev One slot. `opened` never returns to zero, so the slot is never cleared and later writes stay cheap.
struct BuyerRecord {
    uint32 active;
    uint64 opened;
    /// @dev Tokens paid for running time (the provider's part and the pool fee) since the last upheld abuse report.
    uint96 karma;
    /// @dev When the buyer's latest lease ended: its trust deposit stays locked for the report window after it.
    uint40 lastEndedAt;
}

/// @notice The payload of `LeaseOpened`: everything the provider agent and the indexer need.
struct LeaseOpening {
    address provider;
    uint32 poolId;
    bytes32 imageId;
    uint96 pricePerSecond;
    uint96 deposit;
    uint96 anonFee;
    bool isAnonymous;
    uint16 feeBps;
    uint40 bootDeadline;
    /// @dev keccak256 of `encryptedUserData`, zero when there is none.
    bytes32 userDataHash;
    string sshPublicKey;
    bytes encryptedUserData;
}
