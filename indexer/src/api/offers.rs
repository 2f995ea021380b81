//! `GET /v1/offers` (search) and `GET /v1/offers/{id}`.
//!
//! Search filters, sorts and pages the in-memory [`super::catalog`], with the semantics of SQL over
//! the `offers` table: equality and bounds on the columns, the image name matched exactly among the
//! offer's names, ties broken on the offer id in the sort's direction. Pages are keyset pages: the
//! cursor holds the sort, the direction, the last item's sort key and its offer id (the
//! tie-breaker), so a page never repeats or skips an offer however many share a key.
//!
//! The provider trust filter (`min_trust`) compares the level the catalog keeps per `(pool,
//! provider)`, computed by the same function that reports trust levels
//! ([`super::trust::trust_level`]), before the page is cut, so pagination stays exact.

use super::{
    App, AtQuery,
    catalog::Search,
    db::{self, Sql, TrustMap, select_entity},
    error::{ApiError, ApiPath, ApiQuery, ErrorBody},
    params,
    pools::PoolView,
    providers::{ProviderSummary, Reputation},
};
use crate::{
    columns::hex_address,
    model::{Entity, Offer, Provider},
};
use alloy::primitives::B256;
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// An image an offer boots.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ImageView {
    /// The image id, `0x` hex.
    id: String,
    /// Its name, e.g. `ubuntu-24.04`.
    name: String,
}

/// An offer. Amounts are token wei as decimal strings; times unix seconds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferView {
    /// Offer id.
    offer_id: u32,
    /// Provider.
    provider: String,
    /// Pool.
    pool_id: u32,
    /// `active`, `paused` or `retired`.
    status: String,
    /// Token wei per second.
    price_per_second: String,
    /// Concurrent lease capacity.
    capacity: u32,
    /// Leases holding a slot now.
    active_leases: u32,
    /// Free slots: `capacity - active_leases`, never negative.
    available: u32,
    /// Leases ever opened.
    total_leases: u64,
    /// Seconds to acknowledge a (re)start.
    boot_timeout: u32,
    /// Seconds a halted machine's disk is kept.
    retention: u32,
    /// Revision of the image list.
    images_revision: u16,
    /// The images.
    images: Vec<ImageView>,
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
    /// When it was published.
    published_at: u64,
    /// The provider's trust level in the offer's pool (`ProviderRegistry.trustLevel`).
    provider_trust_level: u8,
}

/// The name of an offer status.
fn status_name(status: u8) -> &'static str {
    match status {
        1 => "active",
        2 => "paused",
        3 => "retired",
        _ => "unknown",
    }
}

impl OfferView {
    /// The view of `offer`, with its provider's trust level from `trust`.
    pub(crate) fn new(offer: &Offer, trust: &TrustMap) -> Self {
        let level = trust
            .get(&(offer.pool_id, hex_address(&offer.provider)))
            .copied()
            .unwrap_or(0);
        Self::with_level(offer, level)
    }

    /// The view of `offer`, its provider's trust level in its pool being `level`.
    pub(crate) fn with_level(offer: &Offer, level: u8) -> Self {
        let provider = hex_address(&offer.provider);
        let images = serde_json::from_str(&offer.images).unwrap_or_else(|error| {
            tracing::warn!(offer = offer.offer_id, %error, "offer images do not parse");
            Vec::new()
        });
        Self {
            offer_id: offer.offer_id,
            provider_trust_level: level,
            provider,
            pool_id: offer.pool_id,
            status: status_name(offer.status).to_owned(),
            price_per_second: offer.price_per_second.to_string(),
            capacity: offer.capacity,
            active_leases: offer.active_leases,
            available: offer.capacity.saturating_sub(offer.active_leases),
            total_leases: offer.total_leases,
            boot_timeout: offer.boot_timeout,
            retention: offer.retention,
            images_revision: offer.images_revision,
            images,
            vcpus: offer.vcpus,
            ram_mib: offer.ram_mib,
            disk_gib: offer.disk_gib,
            gpu_count: offer.gpu_count,
            gpu_model: offer.gpu_model.clone(),
            bandwidth_up_mbps: offer.bandwidth_up_mbps,
            bandwidth_down_mbps: offer.bandwidth_down_mbps,
            public_ipv4: offer.public_ipv4,
            public_ipv6: offer.public_ipv6,
            region: offer.region.clone(),
            published_at: offer.published_at,
        }
    }
}

/// Offers with trust levels, for a list of rows.
pub(crate) async fn offer_views(
    pool: &sqlx::AnyPool,
    offers: &[Offer],
) -> Result<Vec<OfferView>, ApiError> {
    let mut providers: Vec<String> = offers.iter().map(|o| hex_address(&o.provider)).collect();
    providers.sort();
    providers.dedup();
    let trust = db::trust_levels(pool, Some(&providers)).await?;
    Ok(offers.iter().map(|o| OfferView::new(o, &trust)).collect())
}

/// Search parameters. All optional; numbers are decimal digits, amounts token wei.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OfferSearch {
    /// At least this many vCPUs.
    #[param(value_type = Option<u64>)]
    min_vcpus: Option<String>,
    /// At most this many vCPUs.
    #[param(value_type = Option<u64>)]
    max_vcpus: Option<String>,
    /// At least this much RAM, MiB.
    #[param(value_type = Option<u64>)]
    min_ram_mib: Option<String>,
    /// At least this much disk, GiB.
    #[param(value_type = Option<u64>)]
    min_disk_gib: Option<String>,
    /// At least this many GPUs.
    #[param(value_type = Option<u64>)]
    min_gpu_count: Option<String>,
    /// This GPU model, exactly.
    gpu_model: Option<String>,
    /// This region label, exactly.
    region: Option<String>,
    /// Offers that boot an image of exactly this name, e.g. `ubuntu-24.04`.
    image: Option<String>,
    /// Price per second at least this, wei.
    #[param(value_type = Option<String>, example = "1000000000")]
    min_price: Option<String>,
    /// Price per second at most this, wei.
    #[param(value_type = Option<String>, example = "1000000000")]
    max_price: Option<String>,
    /// In this pool.
    #[param(value_type = Option<u32>)]
    pool: Option<String>,
    /// By this provider (address).
    provider: Option<String>,
    /// The provider's trust level in the offer's pool is at least this (0 to 8).
    #[param(value_type = Option<u8>)]
    min_trust: Option<String>,
    /// At least this many free slots (`capacity - active_leases`).
    #[param(value_type = Option<u64>)]
    min_available: Option<String>,
    /// `active` (the default), `paused`, `retired` or `all`.
    status: Option<String>,
    /// `price` (the default), `vcpus`, `ram`, `newest` or `available`.
    sort: Option<String>,
    /// `asc` or `desc`; the default is `asc` for `price`, `desc` for the others.
    order: Option<String>,
    /// `next_cursor` of the previous page, with the same `sort` and `order`.
    cursor: Option<String>,
    /// Page size, 1 to 500, default 50.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

/// A page of offers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferPage {
    /// The offers.
    items: Vec<OfferView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// The orders a search sorts in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SortBy {
    /// By price (the default).
    #[default]
    Price,
    /// By vCPUs.
    Vcpus,
    /// By RAM.
    Ram,
    /// By publication time.
    Newest,
    /// By free slots, `capacity - active_leases`.
    Available,
}

impl SortBy {
    const CHOICES: [(&'static str, Self); 5] = [
        ("price", Self::Price),
        ("vcpus", Self::Vcpus),
        ("ram", Self::Ram),
        ("newest", Self::Newest),
        ("available", Self::Available),
    ];

    fn name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("price", |(n, _)| n)
    }
}

/// The position after which a page starts.
struct After {
    key: String,
    offer_id: i64,
}

fn parse_cursor(value: &str, sort: SortBy, descending: bool) -> Result<After, ApiError> {
    let text = params::decode_cursor(value)?;
    let parts: Vec<&str> = text.split(':').collect();
    let [kind, sort_name, order, key, offer_id] = parts.as_slice() else {
        return Err(params::bad_cursor(
            "the cursor is not one this API handed out",
        ));
    };
    if *kind != "offers" {
        return Err(params::bad_cursor(
            "the cursor is not an offer search cursor",
        ));
    }
    if *sort_name != sort.name() || *order != if descending { "desc" } else { "asc" } {
        return Err(params::bad_cursor(
            "the cursor belongs to another sort or order: pass the same sort and order as the first page",
        ));
    }
    let key_ok = match sort {
        SortBy::Price => key.len() == 78 && key.bytes().all(|b| b.is_ascii_digit()),
        _ => key.parse::<i64>().is_ok(),
    };
    let offer_id = offer_id.parse::<i64>().ok().filter(|_| key_ok);
    let offer_id = offer_id.ok_or_else(|| params::bad_cursor("the cursor is damaged"))?;
    Ok(After {
        key: (*key).to_owned(),
        offer_id,
    })
}

/// The cursor of a page whose last offer is `offer_id`, with sort key `key` as text (a price as
/// its 78-digit `price_key`).
pub(super) fn make_cursor(sort: SortBy, descending: bool, key: &str, offer_id: u32) -> String {
    let order = if descending { "desc" } else { "asc" };
    params::encode_cursor(&format!("offers:{}:{order}:{key}:{offer_id}", sort.name()))
}

/// Search offers: filter, sort, page.
#[utoipa::path(
    get,
    path = "/v1/offers",
    tag = "offers",
    params(OfferSearch),
    responses(
        (status = 200, description = "A page of offers", body = OfferPage),
        (status = 400, description = "A bad parameter; `field` names it", body = ErrorBody),
    )
)]
pub(crate) async fn search(
    State(app): State<Arc<App>>,
    ApiQuery(q): ApiQuery<OfferSearch>,
) -> Result<Response, ApiError> {
    let search = checked(&q)?;
    let body = app.context.offers.search(&search).await;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The search `q` asks for, each parameter checked in turn so an error names the first bad one.
fn checked(q: &OfferSearch) -> Result<Search, ApiError> {
    let mut search = Search::default();
    let status = q.status.as_deref().unwrap_or("active");
    search.status = params::choice(
        "status",
        "invalid_value",
        status,
        &[
            ("active", Some(1)),
            ("paused", Some(2)),
            ("retired", Some(3)),
            ("all", None),
        ],
    )?;
    search.min_vcpus = params::number("min_vcpus", q.min_vcpus.as_deref())?;
    search.max_vcpus = params::number("max_vcpus", q.max_vcpus.as_deref())?;
    search.min_ram_mib = params::number("min_ram_mib", q.min_ram_mib.as_deref())?;
    search.min_disk_gib = params::number("min_disk_gib", q.min_disk_gib.as_deref())?;
    search.min_gpu_count = params::number("min_gpu_count", q.min_gpu_count.as_deref())?;
    search.min_available = params::number("min_available", q.min_available.as_deref())?;
    search.pool = params::bounded("pool", q.pool.as_deref(), u32::MAX.into())?;
    search.provider = params::opt_address("provider", q.provider.as_deref())?
        .map(|a| a.parse().expect("a checked address parses"));
    search.gpu_model.clone_from(&q.gpu_model);
    search.region.clone_from(&q.region);
    if let Some(image) = &q.image {
        if image.is_empty() || image.contains('|') {
            return Err(ApiError::bad(
                "image",
                "invalid_value",
                "image must be a non-empty image name without '|'",
            ));
        }
        search.image = Some(image.clone());
    }
    search.min_price = params::amount("min_price", q.min_price.as_deref())?;
    search.max_price = params::amount("max_price", q.max_price.as_deref())?;
    search.min_trust = params::bounded("min_trust", q.min_trust.as_deref(), 255)?;
    search.sort = params::choice(
        "sort",
        "unknown_sort",
        q.sort.as_deref().unwrap_or("price"),
        &SortBy::CHOICES,
    )?;
    search.descending = match q.order.as_deref() {
        None => search.sort != SortBy::Price,
        Some(order) => params::choice(
            "order",
            "invalid_value",
            order,
            &[("asc", false), ("desc", true)],
        )?,
    };
    search.limit = params::limit(q.limit.as_deref())? as usize;
    if let Some(cursor) = &q.cursor {
        let after = parse_cursor(cursor, search.sort, search.descending)?;
        search.after = Some((after.key, after.offer_id));
    }
    Ok(search)
}

/// An offer with its provider and pool.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OfferDetail {
    /// The offer.
    #[serde(flatten)]
    offer: OfferView,
    /// Its provider, with the trust level in the offer's pool.
    provider_summary: ProviderSummary,
    /// Its pool.
    pool: Option<PoolView>,
}

/// One offer, with its images, its provider and its pool.
#[utoipa::path(
    get,
    path = "/v1/offers/{id}",
    tag = "offers",
    params(("id" = u32, Path, description = "Offer id"), AtQuery),
    responses(
        (status = 200, description = "The offer", body = OfferDetail),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<Json<OfferDetail>, ApiError> {
    let offer_id = params::bounded("id", Some(&id), u32::MAX.into())?.unwrap_or_default();
    let now = app.now(query.at.as_deref())?;
    let db = app.context.store.pool();
    let mut sql = Sql::new(&select_entity::<Offer>("o"));
    let p = sql.int(offer_id);
    sql.push(&format!(" WHERE o.offer_id = {p}"));
    let row = sql
        .fetch_optional(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no offer {offer_id}")))?;
    let offer = Offer::from_row(&row)?;
    let provider = hex_address(&offer.provider);
    let trust = db::trust_levels(db, Some(std::slice::from_ref(&provider))).await?;
    let mut sql = Sql::new(&select_entity::<Provider>("r"));
    let p = sql.text(provider.clone());
    sql.push(&format!(" WHERE r.provider = {p}"));
    let record = match sql.fetch_optional(db).await? {
        Some(row) => Provider::from_row(&row)?,
        None => Provider {
            provider: offer.provider,
            ..Provider::default()
        },
    };
    let market = db::market(db).await?;
    let pool = db::pool(db, offer.pool_id.into())
        .await?
        .map(|p| PoolView::new(&p, &market, now));
    let view = OfferView::new(&offer, &trust);
    Ok(Json(OfferDetail {
        provider_summary: ProviderSummary {
            address: provider,
            trust_level: view.provider_trust_level,
            encryption_key: (record.encryption_key != B256::ZERO)
                .then(|| record.encryption_key.to_string()),
            completed_seconds: record.completed_seconds,
            reputation: Reputation::new(&record),
        },
        offer: view,
        pool,
    }))
}
