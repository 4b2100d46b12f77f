//! The SQL sinks: SQLite (bundled), PostgreSQL and MySQL/MariaDB, through sqlx.
//!
//! The table is created if missing (`key`, `model`, `model_sha256`, `scored_at`,
//! `source_partition`, `source_offset`, one column per value, `error`), and checked to have
//! those columns if it exists. A batch is one transaction of multi-row INSERTs, with every
//! value a bound parameter of the model's float type (REAL / DOUBLE PRECISION / FLOAT /
//! DOUBLE): the database stores the bits the scorer printed. With `upsert=true` the table
//! gets a unique index on `key` and a row replaces the one with the same key.

use super::{format_utc, SinkKind, SinkModel, SinkRow, SinkUrl};
use anyhow::{bail, Context, Result};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use sqlx::QueryBuilder;
use std::str::FromStr;
use std::time::Duration;

/// Bound parameters per statement, under every database's limit (SQLite 32,766,
/// PostgreSQL and MySQL 65,535).
const MAX_PARAMETERS: usize = 30_000;

/// How long getting a connection may take before the attempt counts as failed (retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of the one connection a sink writes through, to the database `options` name.
async fn one_connection<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Result<sqlx::Pool<DB>, sqlx::Error> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
}

/// The SQL dialects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool (each arm type-checks on its own).
macro_rules! with_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
            Pool::MySql($pool) => $body,
        }
    };
}

/// A table being written.
pub(crate) struct SqlSink {
    pool: Pool,
    dialect: Dialect,
    url: SinkUrl,
    model: SinkModel,
    /// `INSERT INTO t (columns) ` in the dialect's quoting.
    insert: String,
    /// The upsert clause, or empty.
    conflict: String,
}

impl SqlSink {
    /// Connects, creates the table if missing, and checks its columns.
    pub(crate) async fn open(url: &SinkUrl, model: &SinkModel) -> Result<Self> {
        let connect =
            |e: sqlx::Error| anyhow::Error::new(e).context(format!("sink {url}: cannot connect"));
        let (pool, dialect) = match &url.kind {
            SinkKind::Sqlite(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    // Readers (sqlite3, dashboards) read while the scorer writes.
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = one_connection(options).await.map_err(connect)?;
                (Pool::Sqlite(pool), Dialect::Sqlite)
            }
            SinkKind::Postgres(u) => {
                let options = PgConnectOptions::from_str(u)
                    .with_context(|| format!("sink {url}: not a PostgreSQL URL"))?;
                let pool = one_connection(options).await.map_err(connect)?;
                (Pool::Postgres(pool), Dialect::Postgres)
            }
            SinkKind::MySql(u) => {
                let options = MySqlConnectOptions::from_str(u)
                    .with_context(|| format!("sink {url}: not a MySQL URL"))?;
                let pool = one_connection(options).await.map_err(connect)?;
                (Pool::MySql(pool), Dialect::MySql)
            }
            SinkKind::Lake { .. } => unreachable!("an SQL sink for {url}"),
        };
        let mut sink = SqlSink {
            pool,
            dialect,
            url: url.clone(),
            model: model.clone(),
            insert: String::new(),
            conflict: String::new(),
        };
        sink.prepare().await?;
        Ok(sink)
    }

    fn quote(&self, name: &str) -> String {
        match self.dialect {
            Dialect::MySql => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// Creates the table (and the upsert index) if missing; checks it has every column;
    /// builds the INSERT.
    async fn prepare(&mut self) -> Result<()> {
        let d = self.dialect;
        let float = match (d, self.model.single) {
            (Dialect::Sqlite, _) => "REAL",
            (Dialect::Postgres, true) => "REAL",
            (Dialect::Postgres, false) => "DOUBLE PRECISION",
            (Dialect::MySql, true) => "FLOAT",
            (Dialect::MySql, false) => "DOUBLE",
        };
        let (key, text, sha, time, big) = match d {
            Dialect::Sqlite => ("TEXT", "TEXT", "TEXT", "TEXT", "INTEGER"),
            Dialect::Postgres => ("TEXT", "TEXT", "TEXT", "TIMESTAMPTZ", "BIGINT"),
            // An indexed MySQL column needs a bounded type.
            Dialect::MySql => ("VARCHAR(255)", "TEXT", "CHAR(64)", "DATETIME(6)", "BIGINT"),
        };
        let table = self.quote(&self.url.table);
        let mut definition = vec![
            format!("{} {key} NOT NULL", self.quote("key")),
            format!("{} {text} NOT NULL", self.quote("model")),
            format!("{} {sha} NOT NULL", self.quote("model_sha256")),
            format!("{} {time} NOT NULL", self.quote("scored_at")),
            format!("{} INTEGER", self.quote("source_partition")),
            format!("{} {big}", self.quote("source_offset")),
        ];
        for c in self.model.value_columns() {
            definition.push(format!("{} {float}", self.quote(&c)));
        }
        definition.push(format!("{} {text}", self.quote("error")));
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} ({})",
            definition.join(", ")
        );
        let columns: Vec<String> = self.model.columns().iter().map(|c| self.quote(c)).collect();
        let check = format!("SELECT {} FROM {table} WHERE 1 = 0", columns.join(", "));
        let index = format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {table} ({})",
            self.quote(&format!("{}_key", self.url.table)),
            self.quote("key")
        );
        let url = &self.url;
        with_pool!(self, pool => {
            sqlx::query(&create)
                .execute(pool)
                .await
                .with_context(|| format!("sink {url}: cannot create table {}", url.table))?;
            if let Err(e) = sqlx::query(&check).fetch_all(pool).await {
                bail!(
                    "sink {url}: table {} exists but is not a predictions table for this model \
                     (it needs the columns {}): {e}",
                    url.table,
                    self.model.columns().join(", ")
                );
            }
            if url.upsert {
                sqlx::query(&index).execute(pool).await.with_context(|| {
                    format!("sink {url}: cannot create the unique index on {}.key (upsert=true)", url.table)
                })?;
            }
        });
        self.insert = format!("INSERT INTO {table} ({}) ", columns.join(", "));
        if self.url.upsert {
            let rest: Vec<String> = self.model.columns()[1..]
                .iter()
                .map(|c| {
                    let c = self.quote(c);
                    match d {
                        Dialect::MySql => format!("{c} = VALUES({c})"),
                        _ => format!("{c} = excluded.{c}"),
                    }
                })
                .collect();
            self.conflict = match d {
                Dialect::MySql => format!(" ON DUPLICATE KEY UPDATE {}", rest.join(", ")),
                _ => format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    self.quote("key"),
                    rest.join(", ")
                ),
            };
        }
        Ok(())
    }

    /// Writes `rows` in one transaction.
    pub(crate) async fn write_batch(&mut self, rows: &[SinkRow]) -> Result<()> {
        // With upsert one statement may not touch a key twice (PostgreSQL refuses): the
        // last row of a key wins, as it would have row by row.
        let deduplicated: Vec<&SinkRow>;
        let rows: Vec<&SinkRow> = if self.url.upsert {
            let mut last = std::collections::HashMap::new();
            for (i, r) in rows.iter().enumerate() {
                last.insert(r.key.as_str(), i);
            }
            deduplicated = rows
                .iter()
                .enumerate()
                .filter(|(i, r)| last[r.key.as_str()] == *i)
                .map(|(_, r)| r)
                .collect();
            deduplicated
        } else {
            rows.iter().collect()
        };
        let per_row = 7 + self.model.width;
        let chunk = (MAX_PARAMETERS / per_row).max(1);
        let (single, width, dialect) = (self.model.single, self.model.width, self.dialect);
        let (name, sha) = (self.model.name.as_str(), self.model.sha256.as_str());
        let time = |micros: i64| match dialect {
            Dialect::Postgres => format!("{}+00", format_utc(micros)),
            _ => format_utc(micros),
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.context("cannot begin a transaction")?;
            for part in rows.chunks(chunk) {
                let mut q = QueryBuilder::new(&self.insert);
                q.push_values(part, |mut b, row| {
                    b.push_bind(row.key.as_str()).push_bind(name).push_bind(sha);
                    if dialect == Dialect::Postgres {
                        b.push("CAST(")
                            .push_bind_unseparated(time(row.scored_at))
                            .push_unseparated(" AS TIMESTAMPTZ)");
                    } else {
                        b.push_bind(time(row.scored_at));
                    }
                    b.push_bind(row.partition).push_bind(row.offset);
                    for i in 0..width {
                        // No database stores NaN the same way (MySQL not at all): NULL.
                        let v = row.values.get(i).copied().filter(|v| v.is_finite());
                        if single {
                            b.push_bind(v.map(|v| v as f32));
                        } else {
                            b.push_bind(v);
                        }
                    }
                    b.push_bind(row.error.as_deref());
                });
                q.push(&self.conflict);
                q.build().execute(&mut *tx).await.context("cannot insert the rows")?;
            }
            tx.commit().await.context("cannot commit the transaction")?;
        });
        Ok(())
    }
}
