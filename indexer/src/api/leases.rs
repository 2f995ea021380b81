//! `GET /v1/leases/{id}`: a lease's state now, with its opening, access details and top-ups.
//!
//! "Now" is the timestamp of the last indexed block (see [`super::App::now`]), overridable with
//! `?at=`: the balance, the provider's earnings and `expired` are computed as
//! `LeaseEscrow.leaseState` would at that time.

use super::{
    App, AtQuery,
    accounting::lease_now,
    db::{Sql, select_entity},
    error::{ApiError, ApiPath, ApiQuery, ErrorBody},
    params,
};
use crate::{
    columns::{Column, hex_address},
    model::{Entity, Lease, end_reason},
};
use axum::{Json, extract::State};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The name of an `EndReason`.
pub(crate) fn end_reason_name(reason: u8) -> Option<&'static str> {
    match reason {
        end_reason::BUYER_STOPPED => Some("buyer_stopped"),
        end_reason::RAN_DRY => Some("ran_dry"),
        end_reason::BOOT_FAILED => Some("boot_failed"),
        end_reason::PROVIDER_TERMINATED => Some("provider_terminated"),
        end_reason::RECLAIMED_NO_BOOT => Some("reclaimed_no_boot"),
        _ => None,
    }
}

/// A lease at one instant. Amounts are token wei as decimal strings; times unix seconds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaseView {
    /// Lease id.
    lease_id: u64,
    /// Buyer.
    buyer: String,
    /// Offer.
    offer_id: u32,
    /// Provider.
    provider: String,
    /// Pool.
    pool_id: u32,
    /// The image booted, `0x` hex.
    image_id: String,
    /// `pending`, `running`, `expired` (running on chain but its balance is spent: the chain halts
    /// it at its next touch), `halted`, `restart_pending` or `closed`.
    status: String,
    /// The status the chain records: as `status`, without `expired`.
    recorded_status: String,
    /// Why it closed: `buyer_stopped`, `ran_dry`, `boot_failed`, `provider_terminated` or
    /// `reclaimed_no_boot`; absent while open.
    end_reason: Option<String>,
    /// Whether it started anonymous.
    is_anonymous: bool,
    /// Token wei per second.
    price_per_second: String,
    /// The buyer's unspent balance plus the provider's unwithdrawn earnings, as recorded.
    funds: String,
    /// The buyer's unspent balance now.
    balance: String,
    /// The provider's earnings still in the lease now (not yet withdrawn).
    earned_unwithdrawn: String,
    /// Running: when the balance runs out (`settled_at + ceil(funds / price)`, the runway capped at
    /// `2**32 - 1` s); halted: when it ran out; otherwise absent.
    paid_until: Option<u64>,
    /// Running: seconds left until `paid_until` (0 when expired).
    runway_seconds: Option<u64>,
    /// Billed up to here while running; when it halted or ended otherwise.
    settled_at: u64,
    /// Boot/restart deadline while awaiting a boot, end of retention while halted, 0 when closed.
    deadline: u64,
    /// Pool fee frozen at opening, basis points.
    fee_bps: u16,
    /// The opening deposit.
    deposit: String,
    /// The anonymous-start fee paid.
    anon_fee: String,
    /// All top-ups.
    topped_up: String,
    /// Paid out to the provider (after fees).
    paid_out: String,
    /// Pool fees taken.
    pool_fees: String,
    /// Refunded to the buyer.
    refunded: String,
    /// Slashed from the provider to the buyer when it ended.
    slashed: String,
    /// Billed seconds, all runs.
    billed_seconds: u64,
    /// When it opened.
    opened_at: u64,
    /// When it was last acknowledged, 0 before.
    started_at: u64,
    /// When it ended, 0 before.
    ended_at: u64,
    /// The block it opened in.
    opened_block: u64,
    /// The time the figures are computed for.
    as_of: u64,
}

impl LeaseView {
    /// `lease` at `now`.
    pub(crate) fn new(lease: &Lease, now: u64) -> Self {
        let state = lease_now(
            lease.status,
            lease.funds,
            lease.price_per_second,
            lease.settled_at,
            now,
        );
        let runway_seconds = (lease.status == crate::model::lease_status::RUNNING)
            .then(|| state.paid_until.unwrap_or(0).saturating_sub(now));
        Self {
            lease_id: lease.lease_id,
            buyer: hex_address(&lease.buyer),
            offer_id: lease.offer_id,
            provider: hex_address(&lease.provider),
            pool_id: lease.pool_id,
            image_id: lease.image_id.to_string(),
            status: state.status.to_owned(),
            recorded_status: super::accounting::status_name(lease.status).to_owned(),
            end_reason: end_reason_name(lease.end_reason).map(str::to_owned),
            is_anonymous: lease.is_anonymous,
            price_per_second: lease.price_per_second.to_string(),
            funds: lease.funds.to_string(),
            balance: state.balance.to_string(),
            earned_unwithdrawn: state.earned.to_string(),
            paid_until: state.paid_until,
            runway_seconds,
            settled_at: lease.settled_at,
            deadline: lease.deadline,
            fee_bps: lease.fee_bps,
            deposit: lease.deposit.to_string(),
            anon_fee: lease.anon_fee.to_string(),
            topped_up: lease.topped_up.to_string(),
            paid_out: lease.paid_out.to_string(),
            pool_fees: lease.pool_fees.to_string(),
            refunded: lease.refunded.to_string(),
            slashed: lease.slashed.to_string(),
            billed_seconds: lease.billed_seconds,
            opened_at: lease.opened_at,
            started_at: lease.started_at,
            ended_at: lease.ended_at,
            opened_block: lease.opened_block,
            as_of: now,
        }
    }
}

/// What the lease was opened with.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OpeningView {
    /// The buyer's OpenSSH public key.
    ssh_public_key: String,
    /// Cloud-init user data encrypted to the provider, `0x` hex.
    encrypted_user_data: String,
    /// keccak256 of the user data, zero when there is none.
    user_data_hash: String,
}

/// The latest acknowledgement's access details.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccessView {
    /// When it was acknowledged.
    acknowledged_at: u64,
    /// The block of the acknowledgement.
    block_number: u64,
    /// The machine's SSH host key fingerprint, `0x` hex.
    host_key_fingerprint: String,
    /// The access details encrypted to the buyer's SSH key (age), `0x` hex.
    encrypted_access: String,
}

/// One top-up.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TopUpView {
    /// Block.
    block_number: u64,
    /// Log index in the block.
    log_index: u64,
    /// Block timestamp.
    block_timestamp: u64,
    /// Transaction.
    tx_hash: String,
    /// Who paid.
    payer: Option<String>,
    /// Amount added.
    amount: Option<String>,
    /// The lease's funds after it.
    funds: Option<String>,
    /// Whether it resumed a halted lease.
    resumed: Option<bool>,
    /// The restart deadline when it resumed one.
    restart_deadline: Option<u64>,
}

/// A lease with its opening, access and top-ups.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaseDetail {
    /// The lease now.
    #[serde(flatten)]
    lease: LeaseView,
    /// What it was opened with.
    opening: Option<OpeningView>,
    /// The latest access details, absent before the first acknowledgement.
    access: Option<AccessView>,
    /// Every top-up, oldest first.
    top_ups: Vec<TopUpView>,
}

/// One lease: status and money now, opening, access details, top-ups.
#[utoipa::path(
    get,
    path = "/v1/leases/{id}",
    tag = "leases",
    params(("id" = u64, Path, description = "Lease id"), AtQuery),
    responses(
        (status = 200, description = "The lease", body = LeaseDetail),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No such lease", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<Json<LeaseDetail>, ApiError> {
    let lease_id = params::number("id", Some(&id))?.unwrap_or_default();
    let now = app.now(query.at.as_deref())?;
    let db = app.context.store.pool();

    let mut sql = Sql::new(&select_entity::<Lease>("l"));
    let p = sql.int(lease_id);
    sql.push(&format!(" WHERE l.lease_id = {p}"));
    let row = sql
        .fetch_optional(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no lease {lease_id}")))?;
    let lease = Lease::from_row(&row)?;

    let mut sql = Sql::new(
        "SELECT ssh_public_key, encrypted_user_data, user_data_hash FROM lease_openings WHERE lease_id = ",
    );
    let p = sql.int(lease_id);
    sql.push(&p);
    let opening = match sql.fetch_optional(db).await? {
        Some(row) => Some(OpeningView {
            ssh_public_key: String::read(&row, "ssh_public_key")?,
            encrypted_user_data: String::read(&row, "encrypted_user_data")?,
            user_data_hash: String::read(&row, "user_data_hash")?,
        }),
        None => None,
    };

    let mut sql = Sql::new(
        "SELECT block_number, acknowledged_at, host_key_fingerprint, encrypted_access FROM lease_access WHERE lease_id = ",
    );
    let p = sql.int(lease_id);
    sql.push(&p);
    sql.push(" ORDER BY block_number DESC, log_index DESC LIMIT 1");
    let access = match sql.fetch_optional(db).await? {
        Some(row) => Some(AccessView {
            acknowledged_at: u64::read(&row, "acknowledged_at")?,
            block_number: u64::read(&row, "block_number")?,
            host_key_fingerprint: String::read(&row, "host_key_fingerprint")?,
            encrypted_access: String::read(&row, "encrypted_access")?,
        }),
        None => None,
    };

    let mut sql = Sql::new(
        "SELECT block_number, log_index, block_timestamp, tx_hash, fields FROM events \
         WHERE kind = 'LeaseToppedUp' AND lease_id = ",
    );
    let p = sql.int(lease_id);
    sql.push(&p);
    sql.push(" ORDER BY block_number, log_index");
    let mut top_ups = Vec::new();
    for row in sql.fetch_all(db).await? {
        let fields: serde_json::Value =
            serde_json::from_str(&String::read(&row, "fields")?).unwrap_or_default();
        let text = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        top_ups.push(TopUpView {
            block_number: u64::read(&row, "block_number")?,
            log_index: u64::read(&row, "log_index")?,
            block_timestamp: u64::read(&row, "block_timestamp")?,
            tx_hash: String::read(&row, "tx_hash")?,
            payer: text("payer"),
            amount: text("amount"),
            funds: text("funds"),
            resumed: fields.get("resumed").and_then(|v| v.as_bool()),
            restart_deadline: fields.get("restartDeadline").and_then(|v| v.as_u64()),
        });
    }
    Ok(Json(LeaseDetail {
        lease: LeaseView::new(&lease, now),
        opening,
        access,
        top_ups,
    }))
}
