//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! response types' `ToSchema` derives.

use super::{buyers, leases, market, offers, pools, providers, stream};
use utoipa::OpenApi;

/// The API's document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "utter indexer API",
        description = "Read-only view of utter's contracts as indexed: offers, providers, pools, leases, buyers, the market, and a live event stream. Amounts are token wei as decimal strings, addresses lower-case 0x hex, times unix seconds. Computed figures (balances, fees, trust levels) are as of the last indexed block's timestamp unless `at` is given. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`.",
        license(name = "MIT"),
    ),
    paths(
        super::health,
        super::deployment,
        offers::search,
        offers::get,
        providers::get,
        pools::list,
        pools::get,
        leases::get,
        buyers::get,
        buyers::leases,
        market::get,
        stream::stream,
    ),
    components(schemas(stream::Warning)),
    tags(
        (name = "offers", description = "Machines for rent"),
        (name = "providers", description = "Sellers: stakes, trust, record"),
        (name = "pools", description = "Pools: configuration, fees, anonymous-start fee"),
        (name = "leases", description = "Leases: state and money now"),
        (name = "buyers", description = "Buyers and their leases"),
        (name = "market", description = "Network-wide figures"),
        (name = "events", description = "The live event stream"),
        (name = "service", description = "Health"),
    )
)]
pub(crate) struct ApiDoc;
