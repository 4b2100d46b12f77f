//! Sinks: where scored rows go besides a command's normal output — SQL tables (SQLite,
//! PostgreSQL, MySQL/MariaDB) and a data lake of files (CSV, JSON lines, Parquet).
//!
//! Every scoring command takes `--sink URL` (repeatable); each scored row goes to every
//! sink. Rows reach the sinks through a [`Sinks`] handle: a bounded queue to a writer thread
//! that buffers each sink's rows and writes them in batches — one transaction (SQL) or one
//! file (lake) per batch, at most `batch=N` rows, and no row waits longer than `age=S`
//! seconds. A batch is *confirmed* when every sink has it durably (transaction committed;
//! file fsynced and renamed); [`Sinks::confirmed`] counts the batches handed over that are,
//! which is what `serve kafka` waits for before it commits their input offsets.
//!
//! A sink that fails is retried with backoff (doubling to 5 s), logged, and meanwhile the
//! queue fills and [`Sinks::send`] blocks: the scorer stops taking input rather than
//! buffering without bound, and goes on where it was once the sink is back. With a deadline
//! (`--sink-deadline`, `predict`'s default) a failure that does not heal in time stops the
//! run with an error naming the sink.
//!
//! Without the `sinks` cargo feature the URLs are still parsed, and starting a sink explains
//! how to get one.

#[cfg(feature = "sinks")]
mod lake;
#[cfg(feature = "sinks")]
mod sql;

#[cfg(feature = "sinks")]
use anyhow::Context;
use anyhow::{bail, Result};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use timber_runtime::{Float, ModelInfo};

/// The table (or lake file prefix) rows go to unless `table=` says otherwise.
pub const DEFAULT_TABLE: &str = "predictions";

#[cfg(feature = "sinks")]
/// Batches queued for the writer before [`Sinks::send`] blocks.
const QUEUE_BATCHES: usize = 4;

#[cfg(feature = "sinks")]
/// Longest wait between two attempts at a failing sink.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// `--sink` and its deadline: shared by `predict`, `serve socket`, `serve kafka` and
/// `serve http`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SinkArgs {
    /// Also write every scored row here (repeatable): `sqlite://PATH`,
    /// `postgres://USER:PASS@HOST:PORT/DB`, `mysql://USER:PASS@HOST:PORT/DB`, or
    /// `file://DIR?format=csv|jsonl|parquet`. Options after `?`, joined by `&`:
    /// `table=NAME` (default `predictions`), `batch=N` (rows per transaction or file),
    /// `age=SECONDS` (longest a row waits for its batch), `upsert=true` (SQL: replace the row
    /// with the same key instead of adding one).
    #[arg(long = "sink", value_name = "URL", value_parser = SinkUrl::parse)]
    pub sinks: Vec<SinkUrl>,
    /// Give up, with an error naming the sink, when a sink keeps failing for this many
    /// seconds (`predict` default: 60; serving default: 0 = retry for ever, not taking input
    /// meanwhile).
    #[arg(long, value_name = "SECONDS")]
    pub sink_deadline: Option<f64>,
}

impl SinkArgs {
    /// The deadline asked for, or `default` seconds (0 = none).
    pub fn deadline(&self, default: f64) -> Option<Duration> {
        let s = self.sink_deadline.unwrap_or(default);
        (s > 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s.min(1e9)))
    }
}

/// The kinds of sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// An SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server; the connection URL without Timber's options.
    Postgres(String),
    /// A MySQL or MariaDB server; the connection URL without Timber's options.
    MySql(String),
    /// A directory of files.
    Lake {
        /// Where the files go (created if missing).
        dir: PathBuf,
        /// Their format.
        format: LakeFormat,
    },
}

/// File formats of a lake sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LakeFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet, one row group per file.
    Parquet,
}

impl LakeFormat {
    /// The files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            LakeFormat::Csv => "csv",
            LakeFormat::Jsonl => "jsonl",
            LakeFormat::Parquet => "parquet",
        }
    }
}

/// A parsed `--sink` URL.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkUrl {
    /// What and where.
    pub kind: SinkKind,
    /// The URL as given, password hidden: how logs and errors name the sink.
    pub shown: String,
    /// `table=`: the table, or the lake files' name prefix.
    pub table: String,
    /// `batch=`: most rows per transaction or file.
    pub batch: usize,
    /// `age=`: longest a row waits for its batch to be written.
    pub age: Duration,
    /// `upsert=true`: SQL rows replace the row with the same key.
    pub upsert: bool,
}

impl fmt::Display for SinkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Why a `--sink` URL was refused.
#[derive(Debug, thiserror::Error)]
#[error("sink `{url}`: {reason}")]
pub struct BadSinkUrl {
    url: String,
    reason: String,
}

/// Hides the password of `scheme://user:pass@host/...`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!(
                "{scheme}://{user}:***@{}{}",
                &authority[at + 1..],
                &rest[authority_end..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

impl SinkUrl {
    /// Parses a `--sink` URL (see [`SinkArgs`]).
    pub fn parse(url: &str) -> Result<SinkUrl, BadSinkUrl> {
        let shown = hide_password(url);
        let bad = |reason: String| BadSinkUrl {
            url: shown.clone(),
            reason,
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad(
                "not a URL; expected sqlite://PATH, postgres://USER:PASS@HOST:PORT/DB, \
                 mysql://USER:PASS@HOST:PORT/DB or file://DIR?format=csv|jsonl|parquet"
                    .into(),
            ));
        };
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut options = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) => options.push((k, v)),
                None => return Err(bad(format!("option `{pair}` is not NAME=VALUE"))),
            }
        }
        let lake = scheme == "file";
        let mut sink = SinkUrl {
            kind: SinkKind::Sqlite(PathBuf::new()),
            shown: shown.clone(),
            table: DEFAULT_TABLE.to_string(),
            batch: if lake { 100_000 } else { 10_000 },
            age: Duration::from_secs(if lake { 60 } else { 1 }),
            upsert: false,
        };
        let mut format = LakeFormat::Parquet;
        for (key, value) in options {
            match key {
                "table" => {
                    if !is_identifier(value) {
                        return Err(bad(format!(
                            "table `{value}`: a table name is letters, digits and `_` \
                             (not starting with a digit), at most 63 of them"
                        )));
                    }
                    sink.table = value.to_string();
                }
                "batch" | "rows" => match value.parse::<usize>() {
                    Ok(n) if n > 0 => sink.batch = n,
                    _ => return Err(bad(format!("{key}=`{value}` is not a positive number"))),
                },
                "age" => match value.parse::<f64>() {
                    Ok(s) if s > 0.0 && s.is_finite() => {
                        sink.age = Duration::from_secs_f64(s.min(1e9))
                    }
                    _ => {
                        return Err(bad(format!(
                            "age=`{value}` is not a positive number of seconds"
                        )))
                    }
                },
                "upsert" if !lake => match value {
                    "true" | "1" | "yes" => sink.upsert = true,
                    "false" | "0" | "no" => sink.upsert = false,
                    _ => return Err(bad(format!("upsert=`{value}` is not true or false"))),
                },
                "format" if lake => {
                    format = match value {
                        "csv" => LakeFormat::Csv,
                        "jsonl" | "json" => LakeFormat::Jsonl,
                        "parquet" => LakeFormat::Parquet,
                        _ => {
                            return Err(bad(format!(
                                "format=`{value}`: a lake's files are csv, jsonl or parquet"
                            )))
                        }
                    }
                }
                _ => {
                    let known = if lake {
                        "format, table, batch (or rows), age"
                    } else {
                        "table, batch, age, upsert"
                    };
                    return Err(bad(format!(
                        "unknown option `{key}` (this sink takes {known})"
                    )));
                }
            }
        }
        let base_url = format!("{scheme}://{base}");
        sink.kind = match scheme {
            "sqlite" => {
                if base.is_empty() {
                    return Err(bad("no database file: sqlite://PATH".into()));
                }
                SinkKind::Sqlite(PathBuf::from(base))
            }
            "postgres" | "postgresql" => {
                server_parts(base).map_err(bad)?;
                SinkKind::Postgres(base_url)
            }
            "mysql" | "mariadb" => {
                server_parts(base).map_err(bad)?;
                SinkKind::MySql(format!("mysql://{base}"))
            }
            "file" => {
                if base.is_empty() {
                    return Err(bad("no directory: file://DIR?format=…".into()));
                }
                SinkKind::Lake {
                    dir: PathBuf::from(base),
                    format,
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown kind of sink `{other}://` (sqlite, postgres, mysql, mariadb or file)"
                )))
            }
        };
        Ok(sink)
    }
}

/// Checks `USER[:PASS]@HOST[:PORT]/DB`.
fn server_parts(base: &str) -> Result<(), String> {
    let (authority, db) = base
        .split_once('/')
        .ok_or_else(|| "no database: expected USER:PASS@HOST:PORT/DB".to_string())?;
    if db.is_empty() {
        return Err("no database: expected USER:PASS@HOST:PORT/DB".into());
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() {
        return Err("no host: expected USER:PASS@HOST:PORT/DB".into());
    }
    if let Some((_, port)) = host.rsplit_once(':') {
        if port.parse::<u16>().is_err() {
            return Err(format!("port `{port}` is not a number"));
        }
    }
    Ok(())
}

/// What every sink knows of the model.
#[derive(Debug, Clone)]
pub struct SinkModel {
    /// The model's name.
    pub name: String,
    /// The SHA-256 of the model file it was compiled from.
    pub sha256: String,
    /// Values per row: the printed ones (outputs, or margins for `--margin` CSV).
    pub width: usize,
    /// Whether the model's float is `f32` (values are stored as REAL / FLOAT / float).
    pub single: bool,
}

impl SinkModel {
    /// The sink's view of a model whose printed values are `width` floats of type `F`.
    pub fn new<F: Float>(info: &ModelInfo, width: usize) -> Self {
        SinkModel {
            name: info.name.to_string(),
            sha256: info.source_sha256.to_string(),
            width,
            single: std::mem::size_of::<F>() == 4,
        }
    }

    /// Every column a sink writes, in order: the row's key, the model, its SHA-256, when
    /// it was scored, where the row came from, the value columns, then `error`.
    pub fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = [
            "key",
            "model",
            "model_sha256",
            "scored_at",
            "source_partition",
            "source_offset",
        ]
        .map(String::from)
        .into();
        columns.extend(self.value_columns());
        columns.push("error".into());
        columns
    }

    /// The value columns: `prediction` for one, else `prediction_0`, `prediction_1`, ….
    pub fn value_columns(&self) -> Vec<String> {
        if self.width == 1 {
            vec!["prediction".to_string()]
        } else {
            (0..self.width).map(|i| format!("prediction_{i}")).collect()
        }
    }
}

/// One scored row (or a row that failed) as the sinks store it.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRow {
    /// The Kafka key, the JSON `"id"`, or the input line number (`predict`), or the row's
    /// number in the stream (`serve socket`, `serve http`; `ID[ROW]` for an inference
    /// request with an `id`).
    pub key: String,
    /// The Kafka partition the row came from.
    pub partition: Option<i32>,
    /// The Kafka offset the row came from.
    pub offset: Option<i64>,
    /// When it was scored, in microseconds since 1970 (UTC).
    pub scored_at: i64,
    /// The values the scorer printed (widened to `f64`, which is exact for `f32`); empty
    /// when the row failed.
    pub values: Vec<f64>,
    /// Why the row could not be scored.
    pub error: Option<String>,
}

impl SinkRow {
    /// A row scored now-ish (`scored_at` from [`now_micros`]) with `values`.
    pub fn scored<F: Float>(key: String, scored_at: i64, values: &[F]) -> Self {
        SinkRow {
            key,
            partition: None,
            offset: None,
            scored_at,
            values: values.iter().map(|v| v.to_f64()).collect(),
            error: None,
        }
    }

    /// A row that failed for `reason`.
    pub fn failed(key: String, scored_at: i64, reason: &str) -> Self {
        SinkRow {
            key,
            partition: None,
            offset: None,
            scored_at,
            values: Vec::new(),
            error: Some(reason.to_string()),
        }
    }
}

/// The key of a row: its JSON `"id"` (a string as itself) or else `fallback`.
pub fn row_key(id: Option<&serde_json::Value>, fallback: impl FnOnce() -> String) -> String {
    match id {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => fallback(),
    }
}

/// Microseconds since 1970-01-01 UTC.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) for `micros` since 1970.
pub fn format_utc(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01: shift the
/// year to start in March (so the leap day ends it), split into 400-year eras of 146,097
/// days, then into years of the era and days of the year.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A destination of rows: writes one batch durably (one transaction, one file), or fails
/// leaving nothing half-written that a reader could see.
#[cfg(feature = "sinks")]
pub(crate) enum Writer {
    Sql(sql::SqlSink),
    Lake(lake::LakeSink),
}

#[cfg(feature = "sinks")]
impl Writer {
    async fn open(url: &SinkUrl, model: &SinkModel) -> Result<Self> {
        Ok(match &url.kind {
            SinkKind::Lake { .. } => Writer::Lake(lake::LakeSink::open(url, model)?),
            _ => Writer::Sql(sql::SqlSink::open(url, model).await?),
        })
    }

    async fn write_batch(&mut self, rows: &[SinkRow]) -> Result<()> {
        match self {
            Writer::Sql(s) => s.write_batch(rows).await,
            Writer::Lake(l) => l.write_batch(rows),
        }
    }
}

/// One sink in the writer thread, with the rows waiting for it.
#[cfg(feature = "sinks")]
struct Pending {
    url: SinkUrl,
    writer: Writer,
    rows: Vec<SinkRow>,
    /// When the oldest waiting row arrived.
    since: Option<std::time::Instant>,
    /// (batch number, rows received up to and including it), for batches not yet written.
    marks: std::collections::VecDeque<(u64, u64)>,
    received: u64,
    written: u64,
    /// The last batch whose rows are all written.
    confirmed: u64,
}

#[cfg(feature = "sinks")]
impl Pending {
    fn due(&self, now: std::time::Instant) -> bool {
        self.rows.len() >= self.url.batch || self.since.is_some_and(|s| now >= s + self.url.age)
    }

    /// Writes the waiting rows, a batch at a time, retrying a failure with backoff until it
    /// succeeds or `deadline` passes. `all`: also a last batch smaller than `batch=`.
    async fn flush(&mut self, all: bool, deadline: Option<Duration>) -> Result<()> {
        while !self.rows.is_empty() && (all || self.due(std::time::Instant::now())) {
            let n = self.rows.len().min(self.url.batch);
            let mut failing_since: Option<std::time::Instant> = None;
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.writer.write_batch(&self.rows[..n]).await {
                    Ok(()) => break,
                    Err(e) => {
                        let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                        let message = crate::error_message(&e);
                        if let Some(limit) = deadline {
                            if since.elapsed() >= limit {
                                bail!(
                                    "sink {}: still failing after {:.0} s (--sink-deadline): {message}",
                                    self.url,
                                    limit.as_secs_f64()
                                );
                            }
                        }
                        tracing::warn!(
                            "sink {}: {message}; {n} rows not written, trying again in {:.1} s \
                             (input paused meanwhile)",
                            self.url,
                            backoff.as_secs_f64()
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
            if failing_since.is_some() {
                tracing::info!("sink {}: written again", self.url);
            }
            self.rows.drain(..n);
            self.written += n as u64;
            self.since = (!self.rows.is_empty()).then(std::time::Instant::now);
            while let Some(&(batch, end)) = self.marks.front() {
                if end > self.written {
                    break;
                }
                self.confirmed = batch;
                self.marks.pop_front();
            }
        }
        Ok(())
    }
}

/// The scorer's side of the sinks: hands batches of rows to the writer thread.
pub struct Sinks {
    queue: Option<tokio::sync::mpsc::Sender<Vec<SinkRow>>>,
    confirmed: Arc<AtomicU64>,
    sent: u64,
    done: Option<std::sync::mpsc::Receiver<Result<()>>>,
    names: Vec<String>,
}

/// A clonable sender of rows to the sinks, for async tasks (`serve socket`, `serve http`).
#[derive(Clone)]
pub struct SinkSender(Option<tokio::sync::mpsc::Sender<Vec<SinkRow>>>);

impl SinkSender {
    /// A sender to no sinks: sending does nothing.
    pub fn none() -> Self {
        SinkSender(None)
    }

    /// Whether there is any sink at all.
    pub fn is_active(&self) -> bool {
        self.0.is_some()
    }

    /// Queues a batch, waiting while the queue is full (a sink is slow or down).
    pub async fn send(&self, rows: Vec<SinkRow>) -> Result<()> {
        match &self.0 {
            Some(q) if !rows.is_empty() => q
                .send(rows)
                .await
                .map_err(|_| anyhow::anyhow!("the sink writer stopped")),
            _ => Ok(()),
        }
    }
}

impl Sinks {
    /// No sinks: sending does nothing, and everything is confirmed at once.
    pub fn none() -> Self {
        Sinks {
            queue: None,
            confirmed: Arc::new(AtomicU64::new(0)),
            sent: 0,
            done: None,
            names: Vec::new(),
        }
    }

    /// Whether there is any sink at all.
    pub fn is_active(&self) -> bool {
        self.queue.is_some()
    }

    /// Opens every sink of `args` (connecting, creating tables and directories: a bad URL or
    /// an unreachable server is an error now, naming the sink) and starts the writer thread.
    pub fn start(args: &SinkArgs, model: SinkModel, deadline: Option<Duration>) -> Result<Self> {
        if args.sinks.is_empty() {
            return Ok(Self::none());
        }
        Self::start_urls(&args.sinks, model, deadline)
    }

    #[cfg(not(feature = "sinks"))]
    fn start_urls(urls: &[SinkUrl], _: SinkModel, _: Option<Duration>) -> Result<Self> {
        bail!(
            "sink {}: this scorer was built without sinks; rebuild it with the `sinks` feature \
             (`cargo build --release --features sinks`)",
            urls[0]
        )
    }

    #[cfg(feature = "sinks")]
    fn start_urls(urls: &[SinkUrl], model: SinkModel, deadline: Option<Duration>) -> Result<Self> {
        let (queue, mut rx) = tokio::sync::mpsc::channel::<Vec<SinkRow>>(QUEUE_BATCHES);
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<()>>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<()>>();
        let confirmed = Arc::new(AtomicU64::new(0));
        let names = urls.iter().map(|u| u.shown.clone()).collect();
        let urls = urls.to_vec();
        let shared = confirmed.clone();
        std::thread::Builder::new()
            .name("timber-sinks".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e).context("cannot start the sinks' runtime"));
                        return;
                    }
                };
                let result = runtime.block_on(async move {
                    let mut sinks = Vec::new();
                    for url in urls {
                        match Writer::open(&url, &model).await {
                            Ok(writer) => sinks.push(Pending {
                                url,
                                writer,
                                rows: Vec::new(),
                                since: None,
                                marks: Default::default(),
                                received: 0,
                                written: 0,
                                confirmed: 0,
                            }),
                            Err(e) => {
                                let _ = opened_tx.send(Err(e));
                                return Ok(());
                            }
                        }
                    }
                    let _ = opened_tx.send(Ok(()));
                    run_writer(&mut sinks, &mut rx, &shared, deadline).await
                });
                let _ = done_tx.send(result);
            })
            .context("cannot start the sink writer thread")?;
        match opened_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => bail!("the sink writer stopped while opening the sinks"),
        }
        for name in &names {
            tracing::info!("writing rows to sink {name}");
        }
        Ok(Sinks {
            queue: Some(queue),
            confirmed,
            sent: 0,
            done: Some(done_rx),
            names,
        })
    }

    /// A sender for async tasks.
    pub fn sender(&self) -> SinkSender {
        SinkSender(self.queue.clone())
    }

    /// Hands a batch of rows to the sinks, blocking while the queue is full. Returns the
    /// batch's number (1, 2, …): it is confirmed once [`Sinks::confirmed`] reaches it. Fails
    /// when the writer gave up (see [`Sinks::finish`] for why). Not for async tasks.
    pub fn send(&mut self, rows: Vec<SinkRow>) -> Result<u64> {
        let Some(queue) = &self.queue else {
            return Ok(self.sent);
        };
        if queue.blocking_send(rows).is_err() {
            return Err(self.failure());
        }
        self.sent += 1;
        Ok(self.sent)
    }

    /// How many of the batches handed over every sink has written durably.
    pub fn confirmed(&self) -> u64 {
        if self.queue.is_none() {
            return self.sent;
        }
        self.confirmed.load(Ordering::Acquire)
    }

    /// The writer's error once it stopped.
    fn failure(&mut self) -> anyhow::Error {
        match self.done.take().map(|d| d.recv()) {
            Some(Ok(Err(e))) => e,
            _ => anyhow::anyhow!("the sink writer stopped ({})", self.names.join(", ")),
        }
    }

    /// Writes everything still waiting and stops the writer; waits at most `grace` (for
    /// ever without one). Every batch sent is confirmed when this returns `Ok`.
    pub fn finish(mut self, grace: Option<Duration>) -> Result<()> {
        drop(self.queue.take());
        let Some(done) = self.done.take() else {
            return Ok(());
        };
        let result = match grace {
            Some(g) => done.recv_timeout(g).map_err(|_| ()),
            None => done.recv().map_err(|_| ()),
        };
        match result {
            Ok(r) => r,
            Err(()) => bail!(
                "sink {}: rows still not written after {:.0} s; giving up",
                self.names.join(", "),
                grace.unwrap_or_default().as_secs_f64()
            ),
        }
    }
}

/// The writer thread: takes batches, writes what is due, publishes confirmations; at the
/// end of the queue writes everything left.
#[cfg(feature = "sinks")]
async fn run_writer(
    sinks: &mut [Pending],
    rx: &mut tokio::sync::mpsc::Receiver<Vec<SinkRow>>,
    confirmed: &AtomicU64,
    deadline: Option<Duration>,
) -> Result<()> {
    let mut received = 0u64;
    loop {
        let next_due = sinks
            .iter()
            .filter_map(|s| s.since.map(|t| t + s.url.age))
            .min();
        let wait = async {
            match next_due {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        let end = tokio::select! {
            batch = rx.recv() => match batch {
                Some(rows) => {
                    received += 1;
                    let now = std::time::Instant::now();
                    for sink in sinks.iter_mut() {
                        sink.received += rows.len() as u64;
                        sink.marks.push_back((received, sink.received));
                        if sink.rows.is_empty() && !rows.is_empty() {
                            sink.since = Some(now);
                        }
                        sink.rows.extend_from_slice(&rows);
                        // An empty batch is confirmed at once.
                        if sink.rows.is_empty() {
                            sink.marks.pop_back();
                            sink.confirmed = received;
                        }
                    }
                    false
                }
                None => true,
            },
            _ = wait => false,
        };
        for sink in sinks.iter_mut() {
            sink.flush(end, deadline).await?;
            if sink.marks.is_empty() {
                sink.confirmed = received;
            }
        }
        let all = sinks.iter().map(|s| s.confirmed).min().unwrap_or(received);
        confirmed.store(all, Ordering::Release);
        if end {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_options() {
        let s = SinkUrl::parse("sqlite://out/preds.db?table=scores&batch=500").unwrap();
        assert_eq!(s.kind, SinkKind::Sqlite("out/preds.db".into()));
        assert_eq!((s.table.as_str(), s.batch), ("scores", 500));
        let p = SinkUrl::parse("postgres://u:secret@127.0.0.1:5432/db?upsert=true").unwrap();
        assert_eq!(
            p.kind,
            SinkKind::Postgres("postgres://u:secret@127.0.0.1:5432/db".into())
        );
        assert!(p.upsert);
        assert!(!p.shown.contains("secret"), "{}", p.shown);
        let l = SinkUrl::parse("file:///tmp/lake?format=csv&rows=10&age=0.5").unwrap();
        assert_eq!(
            l.kind,
            SinkKind::Lake {
                dir: "/tmp/lake".into(),
                format: LakeFormat::Csv
            }
        );
        assert_eq!((l.batch, l.age), (10, Duration::from_millis(500)));
    }

    #[test]
    fn refuses_bad_urls_with_reasons() {
        for (url, why) in [
            ("preds.db", "not a URL"),
            ("redis://x/1", "unknown kind of sink"),
            ("sqlite://a.db?table=x;drop", "table `x;drop`"),
            ("sqlite://a.db?batch=0", "not a positive number"),
            ("sqlite://a.db?colour=red", "unknown option `colour`"),
            ("file:///tmp/x?format=xml", "csv, jsonl or parquet"),
            ("file:///tmp/x?upsert=true", "unknown option `upsert`"),
            ("postgres://u:p@host:port/db", "port `port`"),
            ("mysql://u:p@host:3306/", "no database"),
        ] {
            let e = SinkUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00.000000");
        // 2024-02-29 23:59:59.123456 UTC (a leap day).
        assert_eq!(
            format_utc(1_709_251_199_123_456),
            "2024-02-29 23:59:59.123456"
        );
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(
            format_utc(951_782_400_000_000),
            "2000-02-29 00:00:00.000000"
        );
    }
}
