//! The database: SQLite (a file, the default) or PostgreSQL (a `postgres://` URL), through sqlx's
//! `Any` driver, with one set of migrations for both.
//!
//! Each batch of blocks is written in one transaction together with the checkpoint, so a crash at any
//! instant leaves the database at the end of some batch: nothing lost, nothing doubled.

use crate::{
    apply::{Appended, EventRecord},
    columns::{Column, Value, bind_all, hex_address},
    model::{Buyer, Entity, Lease, Market, Offer, Pool, Provider, Report, Stake},
    state::{Changes, State, Table},
};
use alloy::primitives::{Address, B256};
use sqlx::{
    AnyPool, Row,
    any::{AnyConnectOptions, AnyPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres://`/`postgresql://`.
    #[error(
        "database URL {0:?} is not supported: use sqlite://PATH (the default) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    /// The database said no.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// Migrating the schema failed.
    #[error("migrating the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database indexes another deployment.
    #[error(
        "the database indexes chain {db_chain} escrow {db_escrow}, not chain {chain} escrow {escrow}: use another database"
    )]
    OtherDeployment {
        /// In the database.
        db_chain: u64,
        /// In the database.
        db_escrow: String,
        /// Configured.
        chain: u64,
        /// Configured.
        escrow: String,
    },
    /// An undo image in the database does not decode.
    #[error("undo log row {table}/{key} is corrupt: {reason}")]
    CorruptUndo {
        /// Table.
        table: String,
        /// Key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// A block as the indexer records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Timestamp.
    pub timestamp: u64,
}

/// Where indexing stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last applied block.
    pub block_number: u64,
    /// Its hash.
    pub block_hash: B256,
    /// Its timestamp.
    pub block_timestamp: u64,
}

/// Everything one batch writes, in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Appended rows.
    pub appended: Appended,
    /// Changed entities and their undo images.
    pub changes: Changes,
    /// Unfinalized blocks to remember.
    pub blocks: Vec<BlockRecord>,
    /// The new checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// Blocks at or below this are final: their undo images and hashes are dropped.
    pub finalized: u64,
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Most bound parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;

impl Store {
    /// Connects to `url`, creating an SQLite file if needed, and migrates the schema.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let mut url = format!("sqlite:{rest}");
            if !rest.contains("mode=") && !rest.contains(":memory:") {
                url.push_str(if rest.contains('?') { "&" } else { "?" });
                url.push_str("mode=rwc");
            }
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets the API read while the indexer writes; NORMAL sync is durable
                        // across process crashes (only a power loss can lose the last commits).
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA cache_size = -65536",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool, backend })
    }

    /// The connection pool, for queries of the API.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where indexing stands, checking that the database indexes `chain_id`'s `escrow`.
    pub async fn checkpoint(
        &self,
        chain_id: u64,
        escrow: Address,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query(
            "SELECT chain_id, escrow, block_number, block_hash, block_timestamp FROM sync_state WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let db_chain = u64::read(&row, "chain_id")?;
        let db_escrow = String::read(&row, "escrow")?;
        if db_chain != chain_id || db_escrow != hex_address(&escrow) {
            return Err(StoreError::OtherDeployment {
                db_chain,
                db_escrow,
                chain: chain_id,
                escrow: hex_address(&escrow),
            });
        }
        Ok(Some(Checkpoint {
            block_number: u64::read(&row, "block_number")?,
            block_hash: B256::read(&row, "block_hash")?,
            block_timestamp: u64::read(&row, "block_timestamp")?,
        }))
    }

    /// Loads every entity into memory.
    pub async fn load_state(&self) -> Result<State, StoreError> {
        Ok(State {
            pools: self.load_table().await?,
            stakes: self.load_table().await?,
            providers: self.load_table().await?,
            offers: self.load_table().await?,
            leases: self.load_table().await?,
            buyers: self.load_table().await?,
            reports: self.load_table().await?,
            market: self.load_table().await?,
        })
    }

    async fn load_table<E: Entity>(&self) -> Result<Table<E>, StoreError> {
        let sql = format!("SELECT {} FROM {}", E::COLUMNS.join(", "), E::TABLE);
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let rows = rows
            .iter()
            .map(E::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table::from_rows(rows))
    }

    /// The recent blocks remembered for reorg detection, newest first.
    pub async fn recent_blocks(&self) -> Result<Vec<BlockRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT block_number, block_hash, parent_hash, block_timestamp FROM blocks ORDER BY block_number DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BlockRecord {
                    number: u64::read(row, "block_number")?,
                    hash: B256::read(row, "block_hash")?,
                    parent_hash: B256::read(row, "parent_hash")?,
                    timestamp: u64::read(row, "block_timestamp")?,
                })
            })
            .collect()
    }

    /// Writes one batch and its checkpoint atomically.
    pub async fn write(
        &self,
        batch: Batch,
        chain_id: u64,
        escrow: Address,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_events(&mut tx, self.backend, &batch.appended.events).await?;
        insert_rows(
            &mut tx,
            self.backend,
            "lease_openings",
            &[
                "lease_id",
                "block_number",
                "ssh_public_key",
                "encrypted_user_data",
                "user_data_hash",
            ],
            "lease_id",
            batch.appended.openings.iter().map(|o| {
                vec![
                    o.lease_id.to_value(),
                    o.block_number.to_value(),
                    o.ssh_public_key.to_value(),
                    o.encrypted_user_data.to_value(),
                    o.user_data_hash.to_value(),
                ]
            }),
        )
        .await?;
        insert_rows(
            &mut tx,
            self.backend,
            "lease_access",
            &[
                "lease_id",
                "block_number",
                "log_index",
                "acknowledged_at",
                "host_key_fingerprint",
                "encrypted_access",
            ],
            "lease_id, block_number, log_index",
            batch.appended.access.iter().map(|a| {
                vec![
                    a.lease_id.to_value(),
                    a.block_number.to_value(),
                    a.log_index.to_value(),
                    a.acknowledged_at.to_value(),
                    a.host_key_fingerprint.to_value(),
                    a.encrypted_access.to_value(),
                ]
            }),
        )
        .await?;
        let c = &batch.changes;
        upsert(&mut tx, self.backend, &c.pools).await?;
        upsert(&mut tx, self.backend, &c.stakes).await?;
        upsert(&mut tx, self.backend, &c.providers).await?;
        upsert(&mut tx, self.backend, &c.offers).await?;
        upsert(&mut tx, self.backend, &c.leases).await?;
        upsert(&mut tx, self.backend, &c.buyers).await?;
        upsert(&mut tx, self.backend, &c.reports).await?;
        upsert(&mut tx, self.backend, &c.market).await?;
        insert_rows(
            &mut tx,
            self.backend,
            "undo_log",
            &["block_number", "tbl", "row_key", "image"],
            "block_number, tbl, row_key",
            c.undo.iter().map(|u| {
                vec![
                    u.block_number.to_value(),
                    Value::Text(u.table.to_owned()),
                    u.key.to_value(),
                    u.image.clone().map_or(Value::NullText, Value::Text),
                ]
            }),
        )
        .await?;
        for block in &batch.blocks {
            sqlx::query("DELETE FROM blocks WHERE block_number = $1")
                .bind(block.number as i64)
                .execute(&mut *tx)
                .await?;
        }
        insert_rows(
            &mut tx,
            self.backend,
            "blocks",
            &[
                "block_number",
                "block_hash",
                "parent_hash",
                "block_timestamp",
            ],
            "block_number",
            batch.blocks.iter().map(|b| {
                vec![
                    b.number.to_value(),
                    b.hash.to_value(),
                    b.parent_hash.to_value(),
                    b.timestamp.to_value(),
                ]
            }),
        )
        .await?;
        if let Some(checkpoint) = &batch.checkpoint {
            sqlx::query(
                "INSERT INTO sync_state (id, chain_id, escrow, block_number, block_hash, block_timestamp) \
                 VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
                 block_number = excluded.block_number, block_hash = excluded.block_hash, \
                 block_timestamp = excluded.block_timestamp",
            )
            .bind(chain_id as i64)
            .bind(hex_address(&escrow))
            .bind(checkpoint.block_number as i64)
            .bind(checkpoint.block_hash.to_string())
            .bind(checkpoint.block_timestamp as i64)
            .execute(&mut *tx)
            .await?;
        }
        // Keep the finalized block's own hash: it is the anchor a fork search stops at.
        sqlx::query("DELETE FROM blocks WHERE block_number < $1")
            .bind(batch.finalized as i64)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM undo_log WHERE block_number <= $1")
            .bind(batch.finalized as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undoes every block after `fork` (which stays): entity rows get their images back, appended
    /// rows go, the checkpoint moves to `fork`. One transaction.
    pub async fn rollback(&self, fork: &BlockRecord) -> Result<RollbackReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT block_number, tbl, row_key, image FROM undo_log WHERE block_number > $1 \
             ORDER BY block_number DESC",
        )
        .bind(fork.number as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut report = RollbackReport::default();
        for row in &rows {
            let entry = UndoEntryRow {
                table: row.try_get("tbl")?,
                key: row.try_get("row_key")?,
                image: row.try_get("image")?,
            };
            match entry.table.as_str() {
                "pools" => restore::<Pool>(&mut tx, self.backend, &entry).await?,
                "stakes" => restore::<Stake>(&mut tx, self.backend, &entry).await?,
                "providers" => restore::<Provider>(&mut tx, self.backend, &entry).await?,
                "offers" => restore::<Offer>(&mut tx, self.backend, &entry).await?,
                "leases" => restore::<Lease>(&mut tx, self.backend, &entry).await?,
                "buyers" => restore::<Buyer>(&mut tx, self.backend, &entry).await?,
                "reports" => restore::<Report>(&mut tx, self.backend, &entry).await?,
                "market" => restore::<Market>(&mut tx, self.backend, &entry).await?,
                other => {
                    return Err(StoreError::CorruptUndo {
                        table: other.to_owned(),
                        key: entry.key,
                        reason: "unknown table".into(),
                    });
                }
            }
            report.rows_restored += 1;
        }
        for table in [
            "undo_log",
            "events",
            "lease_openings",
            "lease_access",
            "blocks",
        ] {
            let sql = format!("DELETE FROM {table} WHERE block_number > $1");
            let done = sqlx::query(&sql)
                .bind(fork.number as i64)
                .execute(&mut *tx)
                .await?;
            if table == "events" {
                report.events_removed = done.rows_affected();
            }
        }
        sqlx::query(
            "UPDATE sync_state SET block_number = $1, block_hash = $2, block_timestamp = $3 WHERE id = 1",
        )
        .bind(fork.number as i64)
        .bind(fork.hash.to_string())
        .bind(fork.timestamp as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// What a rollback undid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollbackReport {
    /// Entity rows given back their earlier image (or deleted).
    pub rows_restored: u64,
    /// Events removed.
    pub events_removed: u64,
}

struct UndoEntryRow {
    table: String,
    key: String,
    image: Option<String>,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

async fn restore<E: Entity>(
    tx: &mut Tx,
    backend: Backend,
    entry: &UndoEntryRow,
) -> Result<(), StoreError> {
    let corrupt = |reason: String| StoreError::CorruptUndo {
        table: entry.table.clone(),
        key: entry.key.clone(),
        reason,
    };
    match &entry.image {
        Some(image) => {
            let row: E = serde_json::from_str(image).map_err(|e| corrupt(e.to_string()))?;
            upsert(tx, backend, std::slice::from_ref(&row)).await?;
        }
        None => {
            let key: E::Key =
                serde_json::from_str(&entry.key).map_err(|e| corrupt(e.to_string()))?;
            let condition = E::COLUMNS[..E::KEY_COLUMNS]
                .iter()
                .enumerate()
                .map(|(i, column)| format!("{column} = ${}", i + 1))
                .collect::<Vec<_>>()
                .join(" AND ");
            let sql = format!("DELETE FROM {} WHERE {condition}", E::TABLE);
            bind_all(sqlx::query(&sql), E::key_values(&key))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// `($1, $2), ($3, $4), ...` for `rows` rows of `columns` columns on PostgreSQL; `(?, ?), (?, ?)`
/// on SQLite, which finds a `$N` parameter by walking all the statement's names: with thousands of
/// parameters per statement that lookup, not the insert, took nearly all the time (70x slower).
fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(r * columns + c + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

async fn upsert<E: Entity>(tx: &mut Tx, backend: Backend, rows: &[E]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let columns = E::COLUMNS;
    let key = columns[..E::KEY_COLUMNS].join(", ");
    let set = columns[E::KEY_COLUMNS..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    for chunk in rows.chunks(MAX_PARAMS / columns.len()) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({key}) DO UPDATE SET {set}",
            E::TABLE,
            columns.join(", "),
            placeholders(backend, chunk.len(), columns.len()),
        );
        let values = chunk.iter().flat_map(Entity::values).collect();
        bind_all(sqlx::query(&sql), values)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Inserts rows, skipping any whose key exists: appended rows are idempotent.
async fn insert_rows(
    tx: &mut Tx,
    backend: Backend,
    table: &str,
    columns: &[&str],
    key: &str,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<(), StoreError> {
    let rows: Vec<Vec<Value>> = rows.collect();
    for chunk in rows.chunks(MAX_PARAMS / columns.len()) {
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {} ON CONFLICT ({key}) DO NOTHING",
            columns.join(", "),
            placeholders(backend, chunk.len(), columns.len()),
        );
        let values = chunk.iter().flatten().cloned().collect();
        bind_all(sqlx::query(&sql), values)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

const EVENT_COLUMNS: &[&str] = &[
    "block_hash",
    "log_index",
    "block_number",
    "block_timestamp",
    "tx_hash",
    "contract",
    "kind",
    "lease_id",
    "buyer",
    "provider",
    "offer_id",
    "pool_id",
    "fields",
    "topics",
    "data",
];

fn opt_int<T: Column>(value: Option<T>) -> Value {
    value.map_or(Value::NullInt, |v| v.to_value())
}

fn opt_text<T: Column>(value: Option<T>) -> Value {
    value.map_or(Value::NullText, |v| v.to_value())
}

async fn insert_events(
    tx: &mut Tx,
    backend: Backend,
    events: &[EventRecord],
) -> Result<(), StoreError> {
    insert_rows(
        tx,
        backend,
        "events",
        EVENT_COLUMNS,
        "block_hash, log_index",
        events.iter().map(|e| {
            vec![
                e.position.block_hash.to_value(),
                e.position.log_index.to_value(),
                e.position.block_number.to_value(),
                e.position.block_timestamp.to_value(),
                e.position.tx_hash.to_value(),
                Value::Text(e.contract.to_owned()),
                Value::Text(e.kind.to_owned()),
                opt_int(e.lease_id),
                opt_text(e.buyer),
                opt_text(e.provider),
                opt_int(e.offer_id),
                opt_int(e.pool_id),
                Value::Text(e.fields.to_string()),
                Value::Text(e.topics.clone()),
                Value::Text(e.data.clone()),
            ]
        }),
    )
    .await
}
