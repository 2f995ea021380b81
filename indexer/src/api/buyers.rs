//! `GET /v1/buyers/{address}` and `GET /v1/buyers/{address}/leases`.

use super::{
    App,
    db::{Sql, entities, select_entity},
    error::{ApiError, ApiPath, ApiQuery, ErrorBody},
    leases::LeaseView,
    params,
};
use crate::{
    columns::hex_address,
    model::{Buyer, Entity, Lease, lease_status},
};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// A buyer's counters, karma and trust deposit. Amounts are token wei as decimal strings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BuyerView {
    /// Address.
    address: String,
    /// Leases held now.
    active: u32,
    /// Leases ever opened.
    opened: u64,
    /// Tokens paid for running time since the last upheld report.
    karma: String,
    /// When the latest lease ended.
    last_ended_at: u64,
    /// Bonded trust deposit.
    deposit: String,
    /// Deposit on its way out.
    unbonding: String,
    /// When `unbonding` may be withdrawn.
    unbonding_ends: u64,
    /// Open abuse reports against it.
    open_reports: u32,
    /// The deposit is frozen until here while reports are open.
    frozen_until: u64,
}

/// A buyer.
#[utoipa::path(
    get,
    path = "/v1/buyers/{address}",
    tag = "buyers",
    params(("address" = String, Path, description = "Buyer address, 0x hex")),
    responses(
        (status = 200, description = "The buyer", body = BuyerView),
        (status = 400, description = "A bad address", body = ErrorBody),
        (status = 404, description = "The address never opened a lease nor deposited", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<BuyerView>, ApiError> {
    let address = params::address("address", &address)?;
    let mut sql = Sql::new(&select_entity::<Buyer>("b"));
    let p = sql.text(address.clone());
    sql.push(&format!(" WHERE b.buyer = {p}"));
    let row = sql
        .fetch_optional(app.context.store.pool())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no buyer {address}")))?;
    let b = Buyer::from_row(&row)?;
    Ok(Json(BuyerView {
        address: hex_address(&b.buyer),
        active: b.active,
        opened: b.opened,
        karma: b.karma.to_string(),
        last_ended_at: b.last_ended_at,
        deposit: b.deposit.to_string(),
        unbonding: b.unbonding.to_string(),
        unbonding_ends: b.unbonding_ends,
        open_reports: b.open_reports,
        frozen_until: b.frozen_until,
    }))
}

/// Parameters of a buyer's lease list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BuyerLeasesQuery {
    /// `pending`, `running`, `halted`, `restart_pending`, `closed` or `open` (any but closed); all
    /// when absent. `running` matches what the chain records as running, including leases shown
    /// as `expired`.
    status: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500, default 50.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// Compute balances at this unix time instead of the last indexed block's.
    #[param(value_type = Option<u64>)]
    at: Option<String>,
}

/// A page of leases.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeasePage {
    /// The leases, newest (highest id) first.
    items: Vec<LeaseView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// A buyer's leases, newest first.
#[utoipa::path(
    get,
    path = "/v1/buyers/{address}/leases",
    tag = "buyers",
    params(("address" = String, Path, description = "Buyer address, 0x hex"), BuyerLeasesQuery),
    responses(
        (status = 200, description = "A page of leases", body = LeasePage),
        (status = 400, description = "A bad parameter; `field` names it", body = ErrorBody),
    )
)]
pub(crate) async fn leases(
    State(app): State<Arc<App>>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<BuyerLeasesQuery>,
) -> Result<Json<LeasePage>, ApiError> {
    let address = params::address("address", &address)?;
    let now = app.now(q.at.as_deref())?;
    let limit = params::limit(q.limit.as_deref())?;
    let mut sql = Sql::new(&select_entity::<Lease>("l"));
    let p = sql.text(address);
    let mut conditions = vec![format!("l.buyer = {p}")];
    if let Some(status) = q.status.as_deref() {
        let status = params::choice(
            "status",
            "invalid_value",
            status,
            &[
                ("pending", Some(lease_status::PENDING)),
                ("running", Some(lease_status::RUNNING)),
                ("halted", Some(lease_status::HALTED)),
                ("restart_pending", Some(lease_status::RESTART_PENDING)),
                ("closed", Some(lease_status::CLOSED)),
                ("open", None),
            ],
        )?;
        match status {
            Some(s) => conditions.push(format!("l.status = {}", sql.int(s.into()))),
            None => conditions.push(format!(
                "l.status <> {}",
                sql.int(lease_status::CLOSED.into())
            )),
        }
    }
    if let Some(cursor) = &q.cursor {
        let text = params::decode_cursor(cursor)?;
        let before = text
            .strip_prefix("leases:")
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| params::bad_cursor("the cursor is not a lease list cursor"))?;
        conditions.push(format!("l.lease_id < {}", sql.int(before)));
    }
    sql.push(" WHERE ");
    sql.push(&conditions.join(" AND "));
    let fetch = sql.int(limit + 1);
    sql.push(&format!(" ORDER BY l.lease_id DESC LIMIT {fetch}"));
    let mut rows: Vec<Lease> = entities(&sql.fetch_all(app.context.store.pool()).await?)?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|l| params::encode_cursor(&format!("leases:{}", l.lease_id)))
    } else {
        None
    };
    Ok(Json(LeasePage {
        items: rows.iter().map(|l| LeaseView::new(l, now)).collect(),
        next_cursor,
    }))
}
