//! The indexed state: one Rust struct per SQL table of mutable entities.
//!
//! Each entity is rebuilt from events alone. The [`entity!`] macro keeps the struct, its table, its key
//! and its column list in one place, so a column can never be written under one name and read under
//! another.

use crate::columns::{Column, Value};
use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sqlx::any::AnyRow;
use std::fmt::Debug;

/// A row of a table of mutable entities, kept in memory and written back when it changes.
pub trait Entity: Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The SQL table.
    const TABLE: &'static str;
    /// Every column, key columns first.
    const COLUMNS: &'static [&'static str];
    /// How many of [`Self::COLUMNS`] form the primary key.
    const KEY_COLUMNS: usize;
    /// The key in memory.
    type Key: Ord + Clone + Debug + Send + Sync + Serialize + DeserializeOwned;
    /// This row's key.
    fn key(&self) -> Self::Key;
    /// The key as column values, in column order.
    fn key_values(key: &Self::Key) -> Vec<Value>;
    /// Every column's value, in column order.
    fn values(&self) -> Vec<Value>;
    /// Reads a row selected with [`Self::COLUMNS`].
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error>;
}

macro_rules! entity {
    (
        $(#[$meta:meta])*
        $name:ident in $table:literal, key ($($key:ident),+): $key_ty:ty {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Entity for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            const KEY_COLUMNS: usize = [$(stringify!($key)),+].len();
            type Key = $key_ty;

            #[allow(unused_parens)]
            fn key(&self) -> Self::Key {
                ($(self.$key.clone()),+)
            }

            #[allow(unused_parens)]
            fn key_values(key: &Self::Key) -> Vec<Value> {
                let ($($key),+) = key.clone();
                vec![$($key.to_value()),+]
            }

            fn values(&self) -> Vec<Value> {
                vec![$(self.$field.to_value()),*]
            }

            fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
                Ok(Self { $($field: Column::read(row, stringify!($field))?,)* })
            }
        }
    };
}

entity! {
    /// A pool: its operator, configuration, fee ledger and anonymous-start fee checkpoint.
    Pool in "pools", key (pool_id): u32 {
        /// Pool id (from 1).
        pool_id: u32,
        /// Current operator.
        operator: Address,
        /// Operator-to-be while a hand-over is pending, zero otherwise.
        pending_operator: Address,
        /// Name.
        name: String,
        /// Where the pool's branding and rules live.
        metadata_uri: String,
        /// Fee on provider earnings, basis points.
        fee_bps: u16,
        /// Stake share slashed on a reclaim after no boot, basis points.
        no_boot_slash_bps: u16,
        /// Stake share slashed on an honest boot failure, basis points.
        boot_fail_slash_bps: u16,
        /// Seconds a provider's withdrawn stake stays slashable.
        provider_unbonding: u32,
        /// Least bonded stake to take leases.
        min_stake: U256,
        /// Deposit at which a buyer is not anonymous.
        trusted_deposit: U256,
        /// Karma at which a buyer is not anonymous.
        trusted_karma: U256,
        /// Target anonymous share of the global rate, basis points.
        anon_target_share_bps: u16,
        /// Largest share of a buyer deposit one report may slash, basis points.
        max_buyer_slash_bps: u16,
        /// Leases any buyer may hold at once.
        base_leases: u16,
        /// Hard cap of leases per buyer.
        max_leases: u16,
        /// Deposit per extra lease.
        deposit_per_lease: U256,
        /// Karma per extra lease.
        karma_per_lease: U256,
        /// Floor of the anonymous-start fee.
        anon_min_fee: U256,
        /// Ceiling of the anonymous-start fee.
        anon_max_fee: U256,
        /// Fees accrued and not withdrawn.
        fees: U256,
        /// Fees withdrawn by the operator, all time.
        fees_withdrawn: U256,
        /// The checkpointed anonymous-start fee.
        anon_fee: U256,
        /// When `anon_fee` was checkpointed.
        anon_fee_updated_at: u64,
        /// Summed price of the pool's running anonymous leases.
        anon_rate: U256,
        /// Providers that joined.
        provider_count: u32,
        /// When it was created.
        created_at: u64,
    }
}

entity! {
    /// A provider's stake in one pool.
    Stake in "stakes", key (pool_id, provider): (u32, Address) {
        /// Pool.
        pool_id: u32,
        /// Provider.
        provider: Address,
        /// Stake that counts.
        bonded: U256,
        /// Stake on its way out, still slashable.
        unbonding: U256,
        /// When `unbonding` may be withdrawn.
        unbonding_ends: u64,
        /// Whether the provider joined the pool.
        joined: bool,
        /// Slashed from this stake, all time.
        slashed: U256,
    }
}

entity! {
    /// A provider's network-wide record: lease outcomes, billed time, earnings.
    Provider in "providers", key (provider): Address {
        /// Provider.
        provider: Address,
        /// Its X25519 age key, zero when unset.
        encryption_key: B256,
        /// Leases the buyer stopped.
        buyer_stopped: u32,
        /// Leases that ran dry and ended.
        ran_dry: u32,
        /// Boots reported failed.
        boot_failed: u32,
        /// Leases it terminated.
        terminated: u32,
        /// Leases reclaimed after no boot.
        reclaimed: u32,
        /// Billed lease-seconds.
        completed_seconds: u64,
        /// Paid out to it, after pool fees, all time.
        earned: U256,
        /// Withdrawn by it, all time.
        withdrawn: U256,
        /// Offers it published.
        offer_count: u32,
        /// Leases ever opened on its offers.
        lease_count: u64,
    }
}

entity! {
    /// An offer: the machine, its terms, its images and its load.
    Offer in "offers", key (offer_id): u32 {
        /// Offer id (from 1).
        offer_id: u32,
        /// Provider.
        provider: Address,
        /// Pool.
        pool_id: u32,
        /// 1 active, 2 paused, 3 retired.
        status: u8,
        /// Token wei per second.
        price_per_second: U256,
        /// `price_per_second` as a sort key.
        price_key: String,
        /// Concurrent lease capacity.
        capacity: u32,
        /// Seconds to acknowledge a (re)start.
        boot_timeout: u32,
        /// Seconds a halted machine's disk is kept.
        retention: u32,
        /// Revision of the image list.
        images_revision: u16,
        /// The images as JSON: `[{"id": "0x..", "name": ".."}]`.
        images: String,
        /// The image names between `|`, e.g. `|ubuntu-24.04|debian-12|`, for exact-name search.
        image_names: String,
        /// vCPUs.
        vcpus: u16,
        /// RAM, MiB.
        ram_mib: u32,
        /// Disk, GiB.
        disk_gib: u32,
        /// GPUs.
        gpu_count: u16,
        /// GPU model.
        gpu_model: String,
        /// Upload bandwidth, Mbit/s.
        bandwidth_up_mbps: u32,
        /// Download bandwidth, Mbit/s.
        bandwidth_down_mbps: u32,
        /// A public IPv4 address comes with the machine.
        public_ipv4: bool,
        /// A public IPv6 address comes with the machine.
        public_ipv6: bool,
        /// Region label.
        region: String,
        /// Leases holding a slot now.
        active_leases: u32,
        /// Leases ever opened.
        total_leases: u64,
        /// When it was published.
        published_at: u64,
    }
}

entity! {
    /// A lease's mutable state. What never changes after opening (the SSH key, user data) is in the
    /// append-only `lease_openings` table; the access details are in `lease_access`.
    Lease in "leases", key (lease_id): u64 {
        /// Lease id (from 1).
        lease_id: u64,
        /// Buyer.
        buyer: Address,
        /// Offer.
        offer_id: u32,
        /// The offer's provider.
        provider: Address,
        /// The offer's pool.
        pool_id: u32,
        /// The image booted.
        image_id: B256,
        /// `LeaseStatus`: 1 pending, 2 running, 3 halted, 4 restart pending, 5 closed.
        status: u8,
        /// `EndReason` once closed, 0 before.
        end_reason: u8,
        /// Whether it started anonymous.
        is_anonymous: bool,
        /// The price per second it runs at.
        price_per_second: U256,
        /// The buyer's unspent balance plus the provider's unwithdrawn earnings.
        funds: U256,
        /// Billed up to here while running; when it halted or ended otherwise.
        settled_at: u64,
        /// Boot/restart deadline while awaiting a boot, end of retention while halted, 0 when closed.
        deadline: u64,
        /// Pool fee frozen at opening, basis points.
        fee_bps: u16,
        /// The opening deposit.
        deposit: U256,
        /// The anonymous-start fee paid.
        anon_fee: U256,
        /// All top-ups.
        topped_up: U256,
        /// Paid out to the provider (after fees).
        paid_out: U256,
        /// Pool fees taken from it.
        pool_fees: U256,
        /// Refunded to the buyer.
        refunded: U256,
        /// Slashed from the provider to the buyer when it ended.
        slashed: U256,
        /// Billed seconds, all runs.
        billed_seconds: u64,
        /// When it opened.
        opened_at: u64,
        /// When it was last acknowledged, 0 before.
        started_at: u64,
        /// When it ended, 0 before.
        ended_at: u64,
        /// Block it opened in.
        opened_block: u64,
    }
}

entity! {
    /// A buyer: lease counters, karma and trust deposit.
    Buyer in "buyers", key (buyer): Address {
        /// Buyer.
        buyer: Address,
        /// Leases held now.
        active: u32,
        /// Leases ever opened.
        opened: u64,
        /// Tokens paid for running time since the last upheld report (saturates at uint96).
        karma: U256,
        /// When the latest lease ended.
        last_ended_at: u64,
        /// Bonded trust deposit.
        deposit: U256,
        /// Deposit on its way out.
        unbonding: U256,
        /// When `unbonding` may be withdrawn.
        unbonding_ends: u64,
        /// Open abuse reports against it.
        open_reports: u32,
        /// The deposit is frozen until here while reports are open.
        frozen_until: u64,
    }
}

entity! {
    /// An abuse report against a buyer.
    Report in "reports", key (report_id): u64 {
        /// Report id (from 1).
        report_id: u64,
        /// The reported lease.
        lease_id: u64,
        /// The buyer.
        buyer: Address,
        /// The reporting provider.
        provider: Address,
        /// The pool whose operator rules.
        pool_id: u32,
        /// 1 open, 2 upheld, 3 dismissed.
        status: u8,
        /// Where the evidence is.
        evidence_uri: String,
        /// Slashed from the buyer when upheld.
        slashed: U256,
        /// When it was filed.
        reported_at: u64,
    }
}

entity! {
    /// Network-wide figures, one row.
    Market in "market", key (id): u8 {
        /// Always 1.
        id: u8,
        /// Summed price per second of running leases.
        global_rate: U256,
        /// Summed price per second of running anonymous leases, all pools.
        anon_rate: U256,
        /// Leases running now.
        running_leases: u64,
        /// Leases ever opened.
        lease_count: u64,
    }
}

/// Every entity table, for code that treats them alike (migrations checks, rollback, snapshots).
pub const ENTITY_TABLES: &[&str] = &[
    Pool::TABLE,
    Stake::TABLE,
    Provider::TABLE,
    Offer::TABLE,
    Lease::TABLE,
    Buyer::TABLE,
    Report::TABLE,
    Market::TABLE,
];

/// `OfferStatus` values.
pub mod offer_status {
    /// Open to new leases.
    pub const ACTIVE: u8 = 1;
    /// Closed to new leases for now.
    pub const PAUSED: u8 = 2;
    /// Closed for good.
    pub const RETIRED: u8 = 3;
}

/// An offer's image names between `|` (`|ubuntu-24.04|debian-12|`): how [`Offer::image_names`]
/// keeps them, so that an exact name is found with one substring search.
pub fn image_names_key<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    format!("|{}|", names.join("|"))
}

/// `LeaseStatus` values.
pub mod lease_status {
    /// Waiting for the first boot.
    pub const PENDING: u8 = 1;
    /// Acknowledged and billed.
    pub const RUNNING: u8 = 2;
    /// Ran dry; disk kept.
    pub const HALTED: u8 = 3;
    /// Topped up after halting; waiting for the restart.
    pub const RESTART_PENDING: u8 = 4;
    /// Ended.
    pub const CLOSED: u8 = 5;
}

/// `EndReason` values.
pub mod end_reason {
    /// The buyer stopped it.
    pub const BUYER_STOPPED: u8 = 1;
    /// It ran dry and was closed.
    pub const RAN_DRY: u8 = 2;
    /// The provider reported a failed boot.
    pub const BOOT_FAILED: u8 = 3;
    /// The provider terminated it.
    pub const PROVIDER_TERMINATED: u8 = 4;
    /// The buyer reclaimed it after no boot.
    pub const RECLAIMED_NO_BOOT: u8 = 5;
}
