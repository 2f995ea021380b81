//! `GET /v1/market`: the network's rates and each pool's anonymous-start fee now.

use super::{
    App, AtQuery,
    db::{self, pool_fee},
    error::{ApiError, ApiQuery, ErrorBody},
};
use alloy::primitives::U256;
use axum::{Json, extract::State};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// One pool's anonymous figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PoolMarketView {
    /// Pool.
    pool_id: u32,
    /// Name.
    name: String,
    /// Summed price per second of its running anonymous leases.
    anon_rate: String,
    /// Its anonymous share of the global rate, basis points.
    anon_share_bps: u64,
    /// Its target share, basis points.
    anon_target_share_bps: u16,
    /// Deviation from the target, basis points in `[-10000, 10000]`.
    anon_deviation_bps: i64,
    /// What an anonymous start pays now.
    current_anon_fee: String,
}

/// The network's figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarketView {
    /// Summed price per second of running leases, wei.
    global_rate: String,
    /// Summed price per second of running anonymous leases, all pools.
    anon_rate: String,
    /// `anon_rate / global_rate`, basis points (0 on an idle network).
    anon_share_bps: u64,
    /// Leases running now (as recorded on chain).
    running_leases: u64,
    /// Leases ever opened.
    lease_count: u64,
    /// Per pool.
    pools: Vec<PoolMarketView>,
    /// The time the fees are computed for.
    as_of: u64,
}

fn share_bps(part: U256, whole: U256) -> u64 {
    if whole.is_zero() {
        return 0;
    }
    (part.saturating_mul(U256::from(10_000)) / whole).saturating_to()
}

/// Global and anonymous rates, lease counts and each pool's anonymous-start fee now.
#[utoipa::path(
    get,
    path = "/v1/market",
    tag = "market",
    params(AtQuery),
    responses(
        (status = 200, description = "The market", body = MarketView),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<Json<MarketView>, ApiError> {
    let now = app.now(query.at.as_deref())?;
    let db = app.context.store.pool();
    let market = db::market(db).await?;
    let pools = db::pools(db)
        .await?
        .iter()
        .map(|p| {
            let (fee, deviation) = pool_fee(p, &market, now);
            PoolMarketView {
                pool_id: p.pool_id,
                name: p.name.clone(),
                anon_rate: p.anon_rate.to_string(),
                anon_share_bps: share_bps(p.anon_rate, market.global_rate),
                anon_target_share_bps: p.anon_target_share_bps,
                anon_deviation_bps: deviation,
                current_anon_fee: fee.to_string(),
            }
        })
        .collect();
    Ok(Json(MarketView {
        global_rate: market.global_rate.to_string(),
        anon_rate: market.anon_rate.to_string(),
        anon_share_bps: share_bps(market.anon_rate, market.global_rate),
        running_leases: market.running_leases,
        lease_count: market.lease_count,
        pools,
        as_of: now,
    }))
}
