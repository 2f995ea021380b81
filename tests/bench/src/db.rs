//! Fresh databases for a run, and their size.

use anyhow::Context as _;
use sqlx::Row as _;
use std::path::{Path, PathBuf};

/// A database a run writes into.
#[derive(Clone, Debug)]
pub enum BenchDb {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database: its URL and name.
    Postgres {
        /// URL of the database.
        url: String,
        /// Its name.
        name: String,
    },
}

impl BenchDb {
    /// A fresh SQLite file `name.db` in `dir` (removed first, with its WAL).
    pub fn fresh_sqlite(dir: &Path, name: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(Self::Sqlite(path))
    }

    /// A fresh PostgreSQL database `name` on the server of `admin_url` (dropped first).
    pub async fn fresh_postgres(admin_url: &str, name: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await?;
        pool.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        Ok(Self::Postgres {
            url: format!("{base}/{name}"),
            name: name.to_owned(),
        })
    }

    /// The URL to give the indexer.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres { url, .. } => url.clone(),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// Bytes on disk: the SQLite file with its WAL, or `pg_database_size`.
    pub async fn size(&self) -> anyhow::Result<u64> {
        match self {
            Self::Sqlite(path) => Ok(["", "-wal", "-shm"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                .map(|m| m.len())
                .sum()),
            Self::Postgres { url, .. } => {
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(url).await?;
                let row = sqlx::query("SELECT pg_database_size(current_database())")
                    .fetch_one(&pool)
                    .await?;
                let size: i64 = row.try_get(0)?;
                pool.close().await;
                Ok(size as u64)
            }
        }
    }
}
