//! The exchange's state in plain Rust values, so the state read back from the contracts and the state
//! an indexer rebuilt from events can be compared with one `assert_eq!`.
//!
//! Amounts are token wei, times are unix seconds, enums are the ABI's `uint8` values.

use alloy::primitives::{Address, B256, U256};
use std::collections::BTreeMap;

/// The whole state of one deployment at one block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Pools by id.
    pub pools: BTreeMap<u32, PoolState>,
    /// Provider stakes by (pool id, provider), for providers that ever joined the pool.
    pub stakes: BTreeMap<(u32, Address), StakeState>,
    /// Providers' records by address, for providers that have a non-zero record or key.
    pub providers: BTreeMap<Address, ProviderState>,
    /// Offers by id.
    pub offers: BTreeMap<u32, OfferState>,
    /// Leases by id.
    pub leases: BTreeMap<u64, LeaseState>,
    /// Buyers by address, for buyers that ever opened a lease or hold a trust deposit (bonded or
    /// unbonding).
    pub buyers: BTreeMap<Address, BuyerState>,
    /// Abuse reports by id.
    pub reports: BTreeMap<u64, ReportState>,
    /// Sum of the prices of running leases (`LeaseEscrow.globalRate`).
    pub global_rate: U256,
}

/// A pool (`Pools.getPool`, `LeaseEscrow.poolFees`, `LeaseEscrow.anonRate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Current operator.
    pub operator: Address,
    /// Operator-to-be of a two-step hand-over, zero when none.
    pub pending_operator: Address,
    /// Name.
    pub name: String,
    /// Metadata URI.
    pub metadata_uri: String,
    /// Fee on provider earnings, in basis points.
    pub fee_bps: u16,
    /// Slash share on a reclaim after no boot.
    pub no_boot_slash_bps: u16,
    /// Slash share on an honest boot failure.
    pub boot_fail_slash_bps: u16,
    /// Provider unbonding period in seconds.
    pub provider_unbonding: u32,
    /// Least bonded stake.
    pub min_stake: U256,
    /// Trust parameters, in the order of `TrustParams`: trustedDeposit, trustedKarma,
    /// anonTargetShareBps, maxBuyerSlashBps, baseLeases, maxLeases, depositPerLease, karmaPerLease,
    /// anonMinFee, anonMaxFee.
    pub trust: [U256; 10],
    /// Fees the pool has accrued and not withdrawn (`poolFees`).
    pub fees: U256,
    /// Sum of the prices of running anonymous leases in the pool (`anonRate`).
    pub anon_rate: U256,
}

/// A provider's stake in one pool (`ProviderRegistry.stakeOf`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StakeState {
    /// Bonded stake.
    pub bonded: U256,
    /// Stake unbonding.
    pub unbonding: U256,
    /// When the unbonding stake may be withdrawn.
    pub unbonding_ends: u64,
    /// Whether the provider joined the pool.
    pub joined: bool,
}

/// A provider's network-wide record (`LeaseEscrow.providerRecord`, `ProviderRegistry.encryptionKeyOf`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderState {
    /// Leases the buyer stopped.
    pub buyer_stopped: u32,
    /// Leases that ran dry and were closed.
    pub ran_dry: u32,
    /// Boots the provider reported failed.
    pub boot_failed: u32,
    /// Leases the provider terminated.
    pub terminated: u32,
    /// Leases reclaimed after no boot.
    pub reclaimed: u32,
    /// Billed lease-seconds.
    pub completed_seconds: u64,
    /// The provider's X25519 key, zero when unset.
    pub encryption_key: B256,
}

/// An offer (`Offers.getOffer`, `LeaseEscrow.offerLoad`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferState {
    /// Provider.
    pub provider: Address,
    /// Pool.
    pub pool_id: u32,
    /// `OfferStatus` as a number (1 active, 2 paused, 3 retired).
    pub status: u8,
    /// Price per second.
    pub price_per_second: U256,
    /// Concurrent lease capacity.
    pub capacity: u32,
    /// Boot timeout, seconds.
    pub boot_timeout: u32,
    /// Retention, seconds.
    pub retention: u32,
    /// Revision of the image list.
    pub images_revision: u16,
    /// vCPUs.
    pub vcpus: u16,
    /// RAM in MiB.
    pub ram_mib: u32,
    /// Disk in GiB.
    pub disk_gib: u32,
    /// GPUs.
    pub gpu_count: u16,
    /// GPU model.
    pub gpu_model: String,
    /// Upload bandwidth.
    pub bandwidth_up_mbps: u32,
    /// Download bandwidth.
    pub bandwidth_down_mbps: u32,
    /// Public IPv4 promised.
    pub public_ipv4: bool,
    /// Public IPv6 promised.
    pub public_ipv6: bool,
    /// Region label.
    pub region: String,
    /// Leases holding a slot now (`offerLoad.active`).
    pub active_leases: u32,
    /// Leases ever opened (`offerLoad.total`).
    pub total_leases: u64,
}

/// A lease (`LeaseEscrow.getLease`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseState {
    /// Buyer.
    pub buyer: Address,
    /// Offer.
    pub offer_id: u32,
    /// `LeaseStatus` as a number.
    pub status: u8,
    /// Whether it started anonymous.
    pub is_anonymous: bool,
    /// `settledAt`.
    pub settled_at: u64,
    /// `funds`.
    pub funds: U256,
    /// Price per second.
    pub price_per_second: U256,
    /// `deadline`.
    pub deadline: u64,
    /// The pool fee frozen at opening.
    pub fee_bps: u16,
}

/// A buyer (`LeaseEscrow.buyerRecord`, `BuyerTrust.accountOf`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuyerState {
    /// Leases held now.
    pub active: u32,
    /// Leases ever opened.
    pub opened: u64,
    /// Karma.
    pub karma: U256,
    /// When the latest lease ended.
    pub last_ended_at: u64,
    /// Bonded trust deposit.
    pub deposit: U256,
    /// Deposit unbonding.
    pub unbonding: U256,
    /// When the unbonding deposit may be withdrawn.
    pub unbonding_ends: u64,
}

/// An abuse report (`BuyerTrust.getReport`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportState {
    /// The reported lease.
    pub lease_id: u64,
    /// The buyer.
    pub buyer: Address,
    /// The provider that reported.
    pub provider: Address,
    /// The pool whose operator rules.
    pub pool_id: u32,
    /// `ReportStatus` as a number (1 open, 2 upheld, 3 dismissed).
    pub status: u8,
}
