//! Building parameterised queries that run the same on SQLite and PostgreSQL, and the reads several
//! endpoints share.
//!
//! User input only ever enters a query as a bound `$n` parameter of type `BIGINT` (`i64`) or `TEXT`
//! (`String`); column names come from fixed lists in the code.

use super::{
    anon_fee::{PoolFeeInputs, pool_fee_now},
    error::ApiError,
    trust::{TrustInputs, trust_level},
};
use crate::{
    columns::{Column, Value, bind_all},
    model::{Entity, Market, Pool},
};
use alloy::primitives::U256;
use sqlx::{AnyPool, any::AnyRow};
use std::collections::HashMap;

/// A query under construction and its bound values.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    /// A query starting with `text`.
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Appends SQL text (never user input).
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds an integer and returns its placeholder.
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.binds.push(Value::Int(value));
        format!("${}", self.binds.len())
    }

    /// Binds a text value and returns its placeholder.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.binds.push(Value::Text(value.into()));
        format!("${}", self.binds.len())
    }

    /// Runs it, returning every row.
    pub(crate) async fn fetch_all(self, pool: &AnyPool) -> Result<Vec<AnyRow>, sqlx::Error> {
        bind_all(sqlx::query(&self.text), self.binds)
            .fetch_all(pool)
            .await
    }

    /// Runs it, returning the first row if any.
    pub(crate) async fn fetch_optional(
        self,
        pool: &AnyPool,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        bind_all(sqlx::query(&self.text), self.binds)
            .fetch_optional(pool)
            .await
    }
}

/// `SELECT` of every column of `E`, prefixed with `alias.`.
pub(crate) fn select_entity<E: Entity>(alias: &str) -> String {
    let columns: Vec<String> = E::COLUMNS.iter().map(|c| format!("{alias}.{c}")).collect();
    format!("SELECT {} FROM {} {alias}", columns.join(", "), E::TABLE)
}

/// Reads rows as entities.
pub(crate) fn entities<E: Entity>(rows: &[AnyRow]) -> Result<Vec<E>, ApiError> {
    rows.iter()
        .map(E::from_row)
        .collect::<Result<_, _>>()
        .map_err(ApiError::from)
}

/// The market row, zero before any lease.
pub(crate) async fn market(pool: &AnyPool) -> Result<Market, ApiError> {
    let row = Sql::new(&format!("{} WHERE m.id = 1", select_entity::<Market>("m")))
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(row) => Market::from_row(&row)?,
        None => Market::default(),
    })
}

/// Every pool, by id.
pub(crate) async fn pools(pool: &AnyPool) -> Result<Vec<Pool>, ApiError> {
    let rows = Sql::new(&format!(
        "{} ORDER BY p.pool_id",
        select_entity::<Pool>("p")
    ))
    .fetch_all(pool)
    .await?;
    entities(&rows)
}

/// One pool.
pub(crate) async fn pool(pool: &AnyPool, pool_id: i64) -> Result<Option<Pool>, ApiError> {
    let mut sql = Sql::new(&select_entity::<Pool>("p"));
    let id = sql.int(pool_id);
    sql.push(&format!(" WHERE p.pool_id = {id}"));
    Ok(match sql.fetch_optional(pool).await? {
        Some(row) => Some(Pool::from_row(&row)?),
        None => None,
    })
}

/// A pool's anonymous-start fee and deviation at `now`.
pub(crate) fn pool_fee(pool: &Pool, market: &Market, now: u64) -> (U256, i64) {
    pool_fee_now(
        &PoolFeeInputs {
            stored: pool.anon_fee,
            updated_at: pool.anon_fee_updated_at,
            anon_rate: pool.anon_rate,
            global_rate: market.global_rate,
            target_share_bps: pool.anon_target_share_bps,
            min_fee: pool.anon_min_fee,
            max_fee: pool.anon_max_fee,
        },
        now,
    )
}

/// Trust levels by `(pool_id, provider)`.
pub(crate) type TrustMap = HashMap<(u32, String), u8>;

/// The trust level of every stake, or of the stakes of `providers` when given. A provider with no
/// stake row in a pool has level 0 there.
pub(crate) async fn trust_levels(
    pool: &AnyPool,
    providers: Option<&[String]>,
) -> Result<TrustMap, ApiError> {
    let mut sql = Sql::new(
        "SELECT s.pool_id, s.provider, s.bonded, p.min_stake, r.completed_seconds, r.reclaimed, \
         r.boot_failed FROM stakes s JOIN pools p ON p.pool_id = s.pool_id \
         LEFT JOIN providers r ON r.provider = s.provider",
    );
    if let Some(providers) = providers {
        if providers.is_empty() {
            return Ok(TrustMap::new());
        }
        let placeholders: Vec<String> = providers.iter().map(|p| sql.text(p.clone())).collect();
        sql.push(&format!(
            " WHERE s.provider IN ({})",
            placeholders.join(", ")
        ));
    }
    let rows = sql.fetch_all(pool).await?;
    let mut map = TrustMap::new();
    for row in &rows {
        let inputs = TrustInputs {
            bonded: U256::read(row, "bonded")?,
            min_stake: U256::read(row, "min_stake")?,
            completed_seconds: opt_int(row, "completed_seconds")?,
            reclaimed: opt_int(row, "reclaimed")?,
            boot_failed: opt_int(row, "boot_failed")?,
        };
        map.insert(
            (u32::read(row, "pool_id")?, String::read(row, "provider")?),
            trust_level(&inputs),
        );
    }
    Ok(map)
}

/// A nullable integer column (from an outer join), zero when null.
fn opt_int<T: TryFrom<i64> + Default>(row: &AnyRow, name: &str) -> Result<T, ApiError> {
    use sqlx::Row as _;
    let value: Option<i64> = row.try_get(name)?;
    Ok(value.and_then(|v| T::try_from(v).ok()).unwrap_or_default())
}
