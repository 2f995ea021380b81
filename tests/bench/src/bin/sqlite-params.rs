//! `sqlite-params`: what the placeholder style costs when sqlx binds a large multi-row `INSERT` on
//! SQLite. sqlx-sqlite asks `sqlite3_bind_parameter_name` for every parameter; for `$N` (named)
//! parameters SQLite finds the name by walking a list of all of them, so one statement of `n`
//! parameters costs O(n²). The indexer's store writes 30,000 `$N` parameters per statement.
//!
//! Inserts the same 20,000 rows of 15 columns into an `events`-like table (same indexes as the
//! indexer's) with `$N` in statements of 30,000 parameters, `$N` in statements of ~1,000, and plain
//! `?` in statements of 30,000, and prints the seconds of each.

use clap::Parser;
use std::{path::PathBuf, time::Instant};
use utter_bench::db::BenchDb;

#[derive(Debug, Parser)]
#[command(
    name = "sqlite-params",
    about = "Cost of $N vs ? placeholders in big SQLite inserts"
)]
struct Args {
    /// Rows to insert.
    #[arg(long, default_value_t = 20_000)]
    rows: usize,
    /// Where the SQLite files go (default: target/bench).
    #[arg(long)]
    dir: Option<PathBuf>,
}

const COLUMNS: usize = 15;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"));
    println!("| placeholders | params per statement | rows | seconds | rows/s |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (style, params) in [("$N", 30_000), ("$N", 990), ("?", 30_000)] {
        let db = BenchDb::fresh_sqlite(&dir, "sqlite-params")?;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("{}?mode=rwc", db.url())).await?;
        sqlx::query(
            "CREATE TABLE events (block_hash TEXT NOT NULL, log_index BIGINT NOT NULL, block_number BIGINT NOT NULL, \
             block_timestamp BIGINT NOT NULL, tx_hash TEXT NOT NULL, contract TEXT NOT NULL, kind TEXT NOT NULL, \
             lease_id BIGINT, buyer TEXT, provider TEXT, offer_id BIGINT, pool_id BIGINT, fields TEXT NOT NULL, \
             topics TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (block_hash, log_index))",
        )
        .execute(&pool)
        .await?;
        for index in [
            "CREATE INDEX events_order ON events (block_number, log_index)",
            "CREATE INDEX events_lease ON events (lease_id, block_number)",
            "CREATE INDEX events_buyer ON events (buyer, block_number)",
        ] {
            sqlx::query(index).execute(&pool).await?;
        }
        let rows_per = params / COLUMNS;
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        let mut row = 0;
        while row < args.rows {
            let n = rows_per.min(args.rows - row);
            let mut sql = String::from("INSERT INTO events VALUES ");
            for r in 0..n {
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..COLUMNS {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    if style == "?" {
                        sql.push('?');
                    } else {
                        sql.push_str(&format!("${}", r * COLUMNS + c + 1));
                    }
                }
                sql.push(')');
            }
            let mut query = sqlx::query(&sql);
            for r in row..row + n {
                let i = r as i64;
                query = query
                    .bind(format!("0x{:064x}", r / 100))
                    .bind(i % 100)
                    .bind(i / 100)
                    .bind(1_767_225_600 + i)
                    .bind(format!("0x{r:064x}"))
                    .bind("buyer_trust")
                    .bind("Deposited")
                    .bind(None::<i64>)
                    .bind(format!("0x{:040x}", r % 40))
                    .bind(None::<String>)
                    .bind(None::<i64>)
                    .bind(None::<i64>)
                    .bind(r#"{"amount":"1","deposit":"1"}"#)
                    .bind(format!("[\"0x{r:064x}\"]"))
                    .bind(format!("0x{r:0128x}"));
            }
            query.execute(&mut *tx).await?;
            row += n;
        }
        tx.commit().await?;
        let seconds = started.elapsed().as_secs_f64();
        pool.close().await;
        println!(
            "| {style} | {} | {} | {seconds:.2} | {:.0} |",
            rows_per * COLUMNS,
            args.rows,
            args.rows as f64 / seconds
        );
    }
    Ok(())
}
