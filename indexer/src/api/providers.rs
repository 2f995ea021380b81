//! `GET /v1/providers/{address}`: a provider's stakes and trust, record, earnings, reputation and
//! offers.

use super::{
    App,
    db::{self, Sql, entities, select_entity},
    error::{ApiError, ApiPath, ErrorBody},
    offers::{OfferView, offer_views},
    params,
};
use crate::model::{Entity, Offer, Provider, Stake};
use alloy::primitives::B256;
use axum::{Json, extract::State};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// How a provider's ended leases went, from the typed end reasons the escrow counts.
///
/// - completions = `buyer_stopped + ran_dry` (the machine ran until the buyer stopped paying);
/// - failures = `boot_failed + terminated + reclaimed`;
/// - ended = completions + failures;
/// - `completion_rate_bps` = completions × 10000 / ended, rounded down;
/// - `boot_failure_rate_bps` = (`boot_failed + reclaimed`) × 10000 / ended: leases whose machine
///   never came up (reported failed, or reclaimed by the buyer after the boot deadline);
/// - `termination_rate_bps` = `terminated` × 10000 / ended.
///
/// Rates are absent (null) while no lease has ended.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Reputation {
    /// Leases that ended well: stopped by the buyer or ran dry.
    completions: u64,
    /// Leases that ended badly: boot failed, terminated by the provider, reclaimed after no boot.
    failures: u64,
    /// completions + failures.
    ended: u64,
    /// completions / ended, basis points.
    completion_rate_bps: Option<u64>,
    /// (boot_failed + reclaimed) / ended, basis points.
    boot_failure_rate_bps: Option<u64>,
    /// terminated / ended, basis points.
    termination_rate_bps: Option<u64>,
}

impl Reputation {
    /// From a provider's record.
    pub(crate) fn new(record: &Provider) -> Self {
        let completions = u64::from(record.buyer_stopped) + u64::from(record.ran_dry);
        let failures = u64::from(record.boot_failed)
            + u64::from(record.terminated)
            + u64::from(record.reclaimed);
        let ended = completions + failures;
        let rate = |n: u64| (ended > 0).then(|| n * 10_000 / ended);
        Self {
            completions,
            failures,
            ended,
            completion_rate_bps: rate(completions),
            boot_failure_rate_bps: rate(
                u64::from(record.boot_failed) + u64::from(record.reclaimed),
            ),
            termination_rate_bps: rate(record.terminated.into()),
        }
    }
}

/// A provider in brief, as shown with an offer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProviderSummary {
    /// Address.
    pub(crate) address: String,
    /// Trust level in the offer's pool.
    pub(crate) trust_level: u8,
    /// Its X25519 age key for encrypting user data, absent until set.
    pub(crate) encryption_key: Option<String>,
    /// Billed lease-seconds, all time.
    pub(crate) completed_seconds: u64,
    /// How its leases ended.
    pub(crate) reputation: Reputation,
}

/// A stake in one pool.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StakeView {
    /// Pool.
    pool_id: u32,
    /// Stake that counts.
    bonded: String,
    /// Stake on its way out, still slashable.
    unbonding: String,
    /// When `unbonding` may be withdrawn.
    unbonding_ends: u64,
    /// Whether it joined the pool.
    joined: bool,
    /// Slashed from this stake, all time.
    slashed: String,
    /// The pool's minimum stake.
    min_stake: Option<String>,
    /// Trust level in this pool (`ProviderRegistry.trustLevel`).
    trust_level: u8,
}

/// Lease outcomes and billed time, network-wide.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProviderRecord {
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
    /// Offers it published.
    offer_count: u32,
    /// Leases ever opened on its offers.
    lease_count: u64,
}

/// Token earnings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Earnings {
    /// Paid out to it after pool fees, all time.
    earned: String,
    /// Withdrawn, all time.
    withdrawn: String,
}

/// A provider.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProviderView {
    /// Address.
    address: String,
    /// Its X25519 age key, absent until set.
    encryption_key: Option<String>,
    /// Its stakes, by pool.
    stakes: Vec<StakeView>,
    /// Lease outcomes.
    record: ProviderRecord,
    /// Earnings.
    earnings: Earnings,
    /// Rates derived from the record.
    reputation: Reputation,
    /// Its offers, any status, by id.
    offers: Vec<OfferView>,
}

/// A provider: stakes with trust levels, record, earnings, reputation and offers.
#[utoipa::path(
    get,
    path = "/v1/providers/{address}",
    tag = "providers",
    params(("address" = String, Path, description = "Provider address, 0x hex")),
    responses(
        (status = 200, description = "The provider", body = ProviderView),
        (status = 400, description = "A bad address", body = ErrorBody),
        (status = 404, description = "Nothing is known about this address as a provider", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<ProviderView>, ApiError> {
    let address = params::address("address", &address)?;
    let db = app.context.store.pool();

    let mut sql = Sql::new(&select_entity::<Provider>("r"));
    let p = sql.text(address.clone());
    sql.push(&format!(" WHERE r.provider = {p}"));
    let record = sql
        .fetch_optional(db)
        .await?
        .map(|row| Provider::from_row(&row))
        .transpose()?;

    let mut sql = Sql::new(&select_entity::<Stake>("s"));
    let p = sql.text(address.clone());
    sql.push(&format!(" WHERE s.provider = {p} ORDER BY s.pool_id"));
    let stakes: Vec<Stake> = entities(&sql.fetch_all(db).await?)?;

    let mut sql = Sql::new(&select_entity::<Offer>("o"));
    let p = sql.text(address.clone());
    sql.push(&format!(" WHERE o.provider = {p} ORDER BY o.offer_id"));
    let offers: Vec<Offer> = entities(&sql.fetch_all(db).await?)?;

    if record.is_none() && stakes.is_empty() && offers.is_empty() {
        return Err(ApiError::not_found(format!("no provider {address}")));
    }
    let record = record.unwrap_or_default();
    let trust = db::trust_levels(db, Some(std::slice::from_ref(&address))).await?;
    let pools = db::pools(db).await?;
    let stakes = stakes
        .iter()
        .map(|s| StakeView {
            pool_id: s.pool_id,
            bonded: s.bonded.to_string(),
            unbonding: s.unbonding.to_string(),
            unbonding_ends: s.unbonding_ends,
            joined: s.joined,
            slashed: s.slashed.to_string(),
            min_stake: pools
                .iter()
                .find(|p| p.pool_id == s.pool_id)
                .map(|p| p.min_stake.to_string()),
            trust_level: trust
                .get(&(s.pool_id, address.clone()))
                .copied()
                .unwrap_or(0),
        })
        .collect();
    Ok(Json(ProviderView {
        encryption_key: (record.encryption_key != B256::ZERO)
            .then(|| record.encryption_key.to_string()),
        stakes,
        record: ProviderRecord {
            buyer_stopped: record.buyer_stopped,
            ran_dry: record.ran_dry,
            boot_failed: record.boot_failed,
            terminated: record.terminated,
            reclaimed: record.reclaimed,
            completed_seconds: record.completed_seconds,
            offer_count: record.offer_count,
            lease_count: record.lease_count,
        },
        earnings: Earnings {
            earned: record.earned.to_string(),
            withdrawn: record.withdrawn.to_string(),
        },
        reputation: Reputation::new(&record),
        offers: offer_views(db, &offers).await?,
        address,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reputation_rates() {
        let record = Provider {
            buyer_stopped: 5,
            ran_dry: 2,
            boot_failed: 1,
            terminated: 1,
            reclaimed: 1,
            ..Provider::default()
        };
        let r = Reputation::new(&record);
        assert_eq!((r.completions, r.failures, r.ended), (7, 3, 10));
        assert_eq!(r.completion_rate_bps, Some(7000));
        assert_eq!(r.boot_failure_rate_bps, Some(2000));
        assert_eq!(r.termination_rate_bps, Some(1000));
        let fresh = Reputation::new(&Provider::default());
        assert_eq!(fresh.completion_rate_bps, None);
    }
}
