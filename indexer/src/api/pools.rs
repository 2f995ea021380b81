//! `GET /v1/pools` and `GET /v1/pools/{id}`: each pool's configuration, ledger and anonymous-start
//! fee now.

use super::{
    App, AtQuery,
    db::{self, pool_fee},
    error::{ApiError, ApiPath, ApiQuery, ErrorBody},
    params,
};
use crate::{
    columns::hex_address,
    model::{Market, Pool},
};
use alloy::primitives::Address;
use axum::{Json, extract::State};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// A pool. Amounts are token wei as decimal strings; times unix seconds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PoolView {
    /// Pool id.
    pool_id: u32,
    /// Name.
    name: String,
    /// Where the pool's branding and rules live.
    metadata_uri: String,
    /// Operator.
    operator: String,
    /// Operator-to-be while a hand-over is pending.
    pending_operator: Option<String>,
    /// When it was created.
    created_at: u64,
    /// Providers that joined.
    provider_count: u32,
    /// Fee on provider earnings, basis points.
    fee_bps: u16,
    /// Fees accrued and not withdrawn.
    fees: String,
    /// Fees withdrawn, all time.
    fees_withdrawn: String,
    /// Least bonded stake to take leases.
    min_stake: String,
    /// Seconds a withdrawn provider stake stays slashable.
    provider_unbonding: u32,
    /// Stake share slashed on a reclaim after no boot, basis points.
    no_boot_slash_bps: u16,
    /// Stake share slashed on a reported boot failure, basis points.
    boot_fail_slash_bps: u16,
    /// Deposit at which a buyer is not anonymous.
    trusted_deposit: String,
    /// Karma at which a buyer is not anonymous.
    trusted_karma: String,
    /// Largest share of a buyer deposit one report may slash, basis points.
    max_buyer_slash_bps: u16,
    /// Leases any buyer may hold at once.
    base_leases: u16,
    /// Hard cap of leases per buyer.
    max_leases: u16,
    /// Deposit per extra lease.
    deposit_per_lease: String,
    /// Karma per extra lease.
    karma_per_lease: String,
    /// Target anonymous share of the network's rate, basis points.
    anon_target_share_bps: u16,
    /// Floor of the anonymous-start fee.
    anon_min_fee: String,
    /// Ceiling of the anonymous-start fee; zero: no fee.
    anon_max_fee: String,
    /// Summed price per second of the pool's running anonymous leases.
    anon_rate: String,
    /// The fee as last checkpointed on chain.
    anon_fee_checkpoint: String,
    /// When it was checkpointed.
    anon_fee_updated_at: u64,
    /// The anonymous share's deviation from target now, basis points in `[-10000, 10000]`.
    anon_deviation_bps: i64,
    /// What an anonymous start pays now (`AnonFee.current`).
    current_anon_fee: String,
    /// The time the figures were computed for.
    as_of: u64,
}

impl PoolView {
    /// The view of `pool` at `now`.
    pub(crate) fn new(pool: &Pool, market: &Market, now: u64) -> Self {
        let (fee, deviation) = pool_fee(pool, market, now);
        Self {
            pool_id: pool.pool_id,
            name: pool.name.clone(),
            metadata_uri: pool.metadata_uri.clone(),
            operator: hex_address(&pool.operator),
            pending_operator: (pool.pending_operator != Address::ZERO)
                .then(|| hex_address(&pool.pending_operator)),
            created_at: pool.created_at,
            provider_count: pool.provider_count,
            fee_bps: pool.fee_bps,
            fees: pool.fees.to_string(),
            fees_withdrawn: pool.fees_withdrawn.to_string(),
            min_stake: pool.min_stake.to_string(),
            provider_unbonding: pool.provider_unbonding,
            no_boot_slash_bps: pool.no_boot_slash_bps,
            boot_fail_slash_bps: pool.boot_fail_slash_bps,
            trusted_deposit: pool.trusted_deposit.to_string(),
            trusted_karma: pool.trusted_karma.to_string(),
            max_buyer_slash_bps: pool.max_buyer_slash_bps,
            base_leases: pool.base_leases,
            max_leases: pool.max_leases,
            deposit_per_lease: pool.deposit_per_lease.to_string(),
            karma_per_lease: pool.karma_per_lease.to_string(),
            anon_target_share_bps: pool.anon_target_share_bps,
            anon_min_fee: pool.anon_min_fee.to_string(),
            anon_max_fee: pool.anon_max_fee.to_string(),
            anon_rate: pool.anon_rate.to_string(),
            anon_fee_checkpoint: pool.anon_fee.to_string(),
            anon_fee_updated_at: pool.anon_fee_updated_at,
            anon_deviation_bps: deviation,
            current_anon_fee: fee.to_string(),
            as_of: now,
        }
    }
}

/// Every pool.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PoolList {
    /// The pools, by id.
    items: Vec<PoolView>,
}

/// Every pool, with its anonymous-start fee now.
#[utoipa::path(
    get,
    path = "/v1/pools",
    tag = "pools",
    params(AtQuery),
    responses(
        (status = 200, description = "Every pool", body = PoolList),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<Json<PoolList>, ApiError> {
    let now = app.now(query.at.as_deref())?;
    let pool = app.context.store.pool();
    let market = db::market(pool).await?;
    let items = db::pools(pool)
        .await?
        .iter()
        .map(|p| PoolView::new(p, &market, now))
        .collect();
    Ok(Json(PoolList { items }))
}

/// One pool.
#[utoipa::path(
    get,
    path = "/v1/pools/{id}",
    tag = "pools",
    params(("id" = u32, Path, description = "Pool id"), AtQuery),
    responses(
        (status = 200, description = "The pool", body = PoolView),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No such pool", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<Json<PoolView>, ApiError> {
    let pool_id = params::bounded("id", Some(&id), u32::MAX.into())?.unwrap_or_default();
    let now = app.now(query.at.as_deref())?;
    let db = app.context.store.pool();
    let pool = db::pool(db, pool_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no pool {pool_id}")))?;
    let market = db::market(db).await?;
    Ok(Json(PoolView::new(&pool, &market, now)))
}
