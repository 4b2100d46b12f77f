//! `serve socket`: newline-delimited rows over TCP.
//!
//! Server mode (`--listen`) answers every line with exactly one line, in order: the result,
//! or an error line; a bad or oversized line never closes the connection. Client mode
//! (`--connect`) reads rows from a line source (`nc -lk 9999`, Spark-style) and prints the
//! results on standard output.
//!
//! Reads and writes are batched: every read takes whatever the socket holds (up to 64 KiB
//! at a time), the complete lines in it are scored in batches, and each batch's results go
//! out in one write, so a client that pipelines 100k rows is not answered one syscall per
//! row.
//!
//! Memory is bounded whatever the peers send or the model's width:
//! - a line longer than `--max-line-bytes` is answered with an error; its bytes are dropped
//!   as they arrive, never held;
//! - partial lines beyond 128 KiB per connection are held only while the total across
//!   connections stays under `--max-buffered-bytes`; a line that does not fit is answered
//!   with an error (its bytes dropped) rather than allocated;
//! - a batch holds at most `--max-batch-bytes` of decoded rows and results (at least one
//!   row), and all batches in flight together at most `--max-scoring-bytes`: a connection
//!   takes room for the lines it holds before decoding them, waits for it (and meanwhile
//!   reads nothing, so TCP pushes back on its peer), and keeps it until its results are
//!   written.
//!
//! A peer that stops reading its answers is dropped after `--write-timeout`; a peer that
//! sends nothing, after `--idle-timeout`. On SIGTERM/SIGINT the server stops accepting and
//! reading new lines, answers the lines it has read (and bytes already on their way), and
//! closes every connection within `--drain-timeout`.

use crate::codec::{Batch, Codec, RowFailure};
use crate::metrics::Stats;
use crate::predict::DEFAULT_MAX_LINE_BYTES;
use crate::sink::{SinkRow, SinkSender};
use crate::stream::{Shutdown, StreamArgs};
use anyhow::{Context, Result};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use timber_runtime::Model;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, warn};

/// How long a stopping connection waits for bytes already on their way before closing.
const DRAIN_WAIT: Duration = Duration::from_millis(50);

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 << 10;

/// Buffer every connection may hold without drawing on `--max-buffered-bytes`.
const FREE_BUFFER: usize = 2 * READ_CHUNK;

/// `--max-scoring-bytes` is counted in units of this many bytes (a semaphore's permits).
const PERMIT_BYTES: usize = 1 << 10;

/// Arguments of `serve socket`.
#[derive(clap::Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["listen", "connect"]))]
pub struct SocketArgs {
    /// Server mode: listen on this address (e.g. `127.0.0.1:9999`; port 0 picks a free port,
    /// logged at start-up).
    #[arg(long)]
    pub listen: Option<String>,
    /// Client mode: read rows from the line source at this address (e.g. `nc -lk 9999`);
    /// results go to standard output.
    #[arg(long)]
    pub connect: Option<String>,
    /// Longest accepted line in bytes; a longer line gets an error line (its bytes are
    /// dropped as they arrive, not held).
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Most bytes of unanswered partial lines held across all connections beyond 128 KiB
    /// per connection; a line that does not fit gets an error line instead.
    #[arg(long, default_value_t = 256 << 20)]
    pub max_buffered_bytes: usize,
    /// Most memory one batch of decoded rows and their results may take (one row at least);
    /// a read holding more lines is scored in several batches.
    #[arg(long, default_value_t = 8 << 20)]
    pub max_batch_bytes: usize,
    /// Most memory all batches in flight may take together; connections wait for room
    /// (reading nothing meanwhile, so their peers are slowed by TCP).
    #[arg(long, default_value_t = 256 << 20)]
    pub max_scoring_bytes: usize,
    /// Server mode: most connections open at once; more are refused with an error line.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that sends nothing for this many seconds; 0 = never.
    #[arg(long, default_value_t = 300.0)]
    pub idle_timeout: f64,
    /// Drop a connection whose peer takes none of its answers for this many seconds (it
    /// stopped reading); 0 = never.
    #[arg(long, default_value_t = 30.0)]
    pub write_timeout: f64,
    /// On SIGTERM or SIGINT: stop reading new lines, answer the lines already read, and
    /// close every connection within this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub drain_timeout: f64,
    /// Client mode: keep retrying the connection for this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stream: StreamArgs,
}

/// A duration in seconds from the command line; `None` for 0 (never) or nonsense.
fn seconds(s: f64) -> Option<Duration> {
    (s > 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s.min(1e9)))
}

/// Bytes drawn from a shared limit without waiting: a draw that does not fit fails.
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// What every connection shares.
struct Shared<M: Model + 'static> {
    codec: Arc<Codec<'static, M>>,
    max_line: usize,
    idle: Option<Duration>,
    write_timeout: Option<Duration>,
    drain_timeout: Duration,
    /// Rows per batch, from `--max-batch-bytes` and the model's row size.
    batch_rows: usize,
    buffers: Budget,
    /// `--max-scoring-bytes`, in permits of [`PERMIT_BYTES`].
    scoring: Semaphore,
    scoring_permits: u32,
    shutdown: Shutdown,
    /// When stopping connections must be closed; fixed by the first look after the signal.
    drain_deadline: OnceLock<Instant>,
    stats: Arc<Stats>,
    /// Where scored rows also go (`--sink`), and the count that keys rows without an id.
    sinks: SinkSender,
    rows_seen: AtomicU64,
}

impl<M: Model> Shared<M> {
    fn new(
        codec: Arc<Codec<'static, M>>,
        args: &SocketArgs,
        shutdown: Shutdown,
        stats: Arc<Stats>,
        sinks: SinkSender,
    ) -> Self {
        let row = codec.row_bytes().max(1);
        let scoring_permits =
            (args.max_scoring_bytes / PERMIT_BYTES).clamp(1, u32::MAX as usize >> 4);
        Shared {
            codec,
            max_line: args.max_line_bytes.max(1),
            idle: seconds(args.idle_timeout),
            write_timeout: seconds(args.write_timeout),
            drain_timeout: seconds(args.drain_timeout).unwrap_or(Duration::ZERO),
            batch_rows: (args.max_batch_bytes / row).clamp(1, 1 << 20),
            buffers: Budget {
                used: AtomicUsize::new(0),
                limit: args.max_buffered_bytes,
            },
            scoring: Semaphore::new(scoring_permits),
            scoring_permits: scoring_permits as u32,
            shutdown,
            drain_deadline: OnceLock::new(),
            stats,
            sinks,
            rows_seen: AtomicU64::new(0),
        }
    }

    /// The moment stopping connections are cut (call only once the signal was given).
    fn drain_deadline(&self) -> Instant {
        *self
            .drain_deadline
            .get_or_init(|| Instant::now() + self.drain_timeout)
    }

    /// Resolves at the drain deadline (never before the stop signal).
    async fn drained(&self) {
        self.shutdown.wait().await;
        tokio::time::sleep_until(self.drain_deadline()).await;
    }

    /// Waits for room in the scoring budget for a batch of `rows` rows (all of it for a
    /// batch larger than the budget), or fails with `Interrupted` at the drain deadline.
    async fn room(&self, rows: usize) -> std::io::Result<SemaphorePermit<'_>> {
        let bytes = rows.saturating_mul(self.codec.row_bytes());
        let permits = (bytes / PERMIT_BYTES + 1).min(self.scoring_permits as usize) as u32;
        self.bounded(None, async {
            self.scoring
                .acquire_many(permits)
                .await
                .map_err(|_| std::io::Error::other("the scoring budget is closed"))
        })
        .await
    }

    /// Runs `work` unless `limit` passes first (`TimedOut`) or the drain deadline passes
    /// first (`Interrupted`).
    async fn bounded<T>(
        &self,
        limit: Option<Duration>,
        work: impl Future<Output = std::io::Result<T>>,
    ) -> std::io::Result<T> {
        let limit = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            done = work => done,
            _ = limit => Err(std::io::ErrorKind::TimedOut.into()),
            _ = self.drained() => Err(std::io::ErrorKind::Interrupted.into()),
        }
    }
}

/// Runs server or client mode until the stream ends or `shutdown` is given.
pub async fn run<M: Model + 'static>(
    codec: Arc<Codec<'static, M>>,
    args: &SocketArgs,
    shutdown: Shutdown,
    stats: Arc<Stats>,
    sinks: SinkSender,
) -> Result<()> {
    let shared = Arc::new(Shared::new(codec, args, shutdown, stats, sinks));
    match (&args.listen, &args.connect) {
        (Some(addr), _) => listen(shared, addr, args.max_connections).await,
        (None, Some(addr)) => {
            let timeout = Duration::from_secs_f64(args.connect_timeout.clamp(0.0, 1e9));
            let stream = connect(addr, timeout, &shared.shutdown).await?;
            info!("connected to {addr}; results go to standard output");
            // Keep the write half open: dropping it sends FIN, and a line source such as
            // OpenBSD `nc -lk` stops sending when it sees one.
            let (reader, _writer) = stream.into_split();
            let mut stdout = tokio::io::stdout();
            let end = score_lines(&shared, reader, &mut stdout)
                .await
                .with_context(|| format!("while scoring rows from {addr}"))?;
            match end {
                End::Closed => info!("{addr} closed the stream"),
                End::Idle => info!("{addr} sent nothing for the idle timeout; closing"),
                End::Stopped => info!("stopped reading from {addr}"),
            }
            let (scored, failed) = shared.stats.totals();
            info!("done: {scored} rows scored, {failed} errors");
            Ok(())
        }
        (None, None) => anyhow::bail!("give --listen ADDR or --connect ADDR"),
    }
}

async fn listen<M: Model + 'static>(
    shared: Arc<Shared<M>>,
    addr: &str,
    max_connections: usize,
) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr().context("no local address")?;
    info!("listening on {local}");
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shared.shutdown.wait() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (mut stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    warn!("refusing {peer}: {max_connections} connections already open");
                    let write_timeout = shared.write_timeout.unwrap_or(Duration::from_secs(5));
                    tokio::spawn(async move {
                        let refuse = async {
                            stream.write_all(b"error: too many connections, try again later\n").await?;
                            stream.shutdown().await
                        };
                        let _ = tokio::time::timeout(write_timeout, refuse).await;
                    });
                    continue;
                };
                let shared = shared.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let _ = stream.set_nodelay(true);
                    let (reader, mut writer) = stream.into_split();
                    match score_lines(&shared, reader, &mut writer).await {
                        Ok(End::Idle) => info!("{peer}: closing an idle connection"),
                        Ok(_) => tracing::debug!("{peer} done"),
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => warn!(
                            "{peer}: dropped: it took no answer for the write timeout (it stopped reading)"
                        ),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                            warn!("{peer}: cut at the drain deadline")
                        }
                        Err(e) => warn!("{peer}: {e}"),
                    }
                    let _ = shared.bounded(Some(Duration::from_secs(1)), writer.shutdown()).await;
                });
            }
        }
    }
    drop(listener);
    info!(
        "stopped accepting; finishing {} open connections (at most {:.1} s)",
        connections.len(),
        shared.drain_timeout.as_secs_f64()
    );
    // Every connection stops by itself at the drain deadline; the grace covers a task
    // that is busy scoring at that moment.
    let grace = shared.drain_deadline() + Duration::from_secs(2);
    while !connections.is_empty() {
        tokio::select! {
            _ = connections.join_next() => {}
            _ = tokio::time::sleep_until(grace) => {
                warn!("cutting {} connections still open after the drain deadline", connections.len());
                connections.shutdown().await;
            }
        }
    }
    let (scored, failed) = shared.stats.totals();
    info!("done: {scored} rows scored, {failed} errors");
    Ok(())
}

async fn connect(addr: &str, timeout: Duration, shutdown: &Shutdown) -> Result<TcpStream> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(50);
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() + delay < deadline && !shutdown.is_set() => {
                warn!("cannot connect to {addr} ({e}); retrying in {delay:?}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait() => {}
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot connect to {addr}")),
        }
    }
}

/// Why [`score_lines`] returned normally.
enum End {
    /// The peer closed its side; every line was answered.
    Closed,
    /// The peer sent nothing for the idle timeout.
    Idle,
    /// The stop signal: the lines read were answered.
    Stopped,
}

/// Scores every line read from `reader`, writing one result line per input line to
/// `writer`, until end of input, the idle timeout, or the stop signal (after which the
/// lines already received, including bytes already on their way, are still answered,
/// within the drain deadline). A write that makes no progress for the write timeout fails
/// with `TimedOut`; work cut by the drain deadline, with `Interrupted`.
async fn score_lines<M: Model, R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    shared: &Shared<M>,
    mut reader: R,
    writer: &mut W,
) -> std::io::Result<End> {
    let codec = &*shared.codec;
    let mut lines = LineBuffer::new(shared.max_line, &shared.buffers);
    let mut batch = codec.batch();
    let mut out = Vec::with_capacity(READ_CHUNK);
    let mut stopping = false;
    let end = loop {
        lines.reserve();
        let n = if stopping {
            let left = shared
                .drain_deadline()
                .saturating_duration_since(Instant::now());
            if left.is_zero() {
                break End::Stopped;
            }
            match tokio::time::timeout(left.min(DRAIN_WAIT), reader.read_buf(&mut lines.buf)).await
            {
                Ok(read) => read?,
                Err(_) => break End::Stopped,
            }
        } else {
            tokio::select! {
                biased;
                _ = shared.shutdown.wait() => {
                    stopping = true;
                    continue;
                }
                read = read_idle(&mut reader, &mut lines.buf, shared.idle) => match read {
                    Some(read) => read?,
                    None => break End::Idle,
                },
            }
        };
        let at_end = n == 0;
        loop {
            // Room first, then decode: a connection waiting for room holds raw lines only.
            let rows = lines.ready(shared.batch_rows, at_end);
            let room = if rows > 0 {
                Some(shared.room(rows).await?)
            } else {
                None
            };
            lines.take(codec, &mut batch, at_end, shared.batch_rows);
            if batch.is_empty() {
                break;
            }
            score_batch(shared, &mut batch, &mut out, writer).await?;
            drop(room);
        }
        if at_end {
            return Ok(End::Closed);
        }
    };
    if lines.has_partial() {
        warn!("dropping an unterminated line received before the connection closed");
    }
    shared
        .bounded(shared.write_timeout, writer.flush())
        .await
        .map(|()| end)
}

/// Scores `batch` (its room in the scoring budget taken) and writes its results.
async fn score_batch<M: Model, W: AsyncWrite + Unpin>(
    shared: &Shared<M>,
    batch: &mut Batch<M>,
    out: &mut Vec<u8>,
    writer: &mut W,
) -> std::io::Result<()> {
    let codec = &*shared.codec;
    let started = Instant::now();
    let sample = shared.stats.before_batch(batch);
    let rows = batch.len();
    let mut sink_rows = Vec::new();
    let (scored, failed) = if shared.sinks.is_active() {
        // Rows without an "id" are keyed by their number in this server's stream.
        let first = shared.rows_seen.fetch_add(rows as u64, Ordering::Relaxed);
        let now = crate::sink::now_micros();
        sink_rows.reserve(rows);
        codec.write_batch_each(
            batch,
            out,
            |_| {},
            |id, outcome| {
                let key =
                    crate::sink::row_key(id, || (first + sink_rows.len() as u64 + 1).to_string());
                sink_rows.push(match outcome {
                    Ok(values) => SinkRow::scored(key, now, values),
                    Err(failure) => SinkRow::failed(key, now, &failure.reason),
                });
            },
        )
    } else {
        codec.write_batch(batch, out, |_| {})
    };
    shared.stats.after_batch(codec, batch, sample);
    shared.stats.record_batch(scored, failed, started.elapsed());
    if shared.sinks.is_active() {
        // Waits while the sinks are behind: this connection reads nothing meanwhile.
        shared
            .bounded(None, async {
                shared
                    .sinks
                    .send(sink_rows)
                    .await
                    .map_err(std::io::Error::other)
            })
            .await?;
    }
    let written = write_all(shared, writer, out).await;
    out.clear();
    // Keep small buffers for the next batch; give back what a batch of wide rows took.
    batch.shrink_to(READ_CHUNK);
    out.shrink_to(READ_CHUNK);
    written
}

/// Writes all of `bytes`, failing with `TimedOut` when one write makes no progress for the
/// write timeout (the peer stopped reading), or `Interrupted` at the drain deadline.
async fn write_all<M: Model, W: AsyncWrite + Unpin>(
    shared: &Shared<M>,
    writer: &mut W,
    mut bytes: &[u8],
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match shared
            .bounded(shared.write_timeout, writer.write(bytes))
            .await?
        {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => bytes = &bytes[n..],
        }
    }
    shared.bounded(shared.write_timeout, writer.flush()).await
}

/// A read that gives up (`None`) after `idle` without data.
async fn read_idle<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    idle: Option<Duration>,
) -> Option<std::io::Result<usize>> {
    match idle {
        Some(idle) => tokio::time::timeout(idle, reader.read_buf(buf)).await.ok(),
        None => Some(reader.read_buf(buf).await),
    }
}

/// Why the line being received is dropped rather than kept.
#[derive(Clone, Copy)]
enum Dropping {
    /// Longer than `--max-line-bytes`.
    TooLong,
    /// It outgrew the free buffer and `--max-buffered-bytes` had no room for it.
    NoRoom,
}

/// Bytes received but not yet answered, split into lines.
struct LineBuffer<'b> {
    buf: Vec<u8>,
    /// Bytes before this offset were answered.
    start: usize,
    /// Bytes from `start` up to this offset hold no newline.
    scanned: usize,
    /// The line being received is dropped until its newline, for this reason.
    dropping: Option<Dropping>,
    max_line: usize,
    budget: &'b Budget,
    /// Bytes of `budget` this buffer holds (its capacity beyond [`FREE_BUFFER`]).
    charged: usize,
}

impl<'b> LineBuffer<'b> {
    fn new(max_line: usize, budget: &'b Budget) -> Self {
        LineBuffer {
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            scanned: 0,
            dropping: None,
            max_line,
            budget,
            charged: 0,
        }
    }

    /// Makes room for the next read: drops answered bytes, then grows the buffer if it is
    /// nearly full — drawing on the shared budget beyond [`FREE_BUFFER`], and dropping the
    /// partial line instead when the budget has no room.
    fn reserve(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        let (len, capacity) = (self.buf.len(), self.buf.capacity());
        if self.charged > 0 && len < READ_CHUNK {
            // A long line was answered: give back the memory it made the buffer grow to.
            let mut small = Vec::with_capacity(READ_CHUNK);
            small.extend_from_slice(&self.buf);
            self.buf = small;
            self.budget.give(self.charged);
            self.charged = 0;
            return;
        }
        if capacity - len >= READ_CHUNK / 4 {
            return;
        }
        let wanted = (len + READ_CHUNK)
            .max(capacity * 2)
            .min(len + READ_CHUNK + self.max_line);
        let charge = wanted.saturating_sub(FREE_BUFFER);
        if charge <= self.charged || self.budget.try_take(charge - self.charged) {
            self.charged = self.charged.max(charge);
            self.buf.reserve_exact(wanted - len);
        } else {
            // Only a partial line is left (complete ones were answered): drop it and its
            // memory; it is answered with an error when its newline arrives.
            self.dropping = Some(Dropping::NoRoom);
            self.release();
        }
    }

    /// Empties the buffer and gives its memory and budget back.
    fn release(&mut self) {
        self.buf = Vec::with_capacity(READ_CHUNK);
        self.start = 0;
        self.scanned = 0;
        self.budget.give(self.charged);
        self.charged = 0;
    }

    fn has_partial(&self) -> bool {
        self.buf.len() > self.start || self.dropping.is_some()
    }

    fn failure(&self, why: Dropping) -> RowFailure {
        RowFailure {
            id: None,
            reason: match why {
                Dropping::TooLong => format!("line longer than {} bytes", self.max_line),
                Dropping::NoRoom => "line dropped: the server's buffer for partial lines \
                                     (--max-buffered-bytes) is full; send it again later"
                    .to_string(),
            },
        }
    }

    /// How many rows (at most `max_rows`) the next [`LineBuffer::take`] moves: the complete
    /// lines, and `at_end` one more for an unterminated or dropped last line (counted even
    /// when it turns out to be none).
    fn ready(&self, max_rows: usize, at_end: bool) -> usize {
        let from = self.scanned.max(self.start);
        let complete = memchr::memchr_iter(b'\n', &self.buf[from..])
            .take(max_rows)
            .count();
        let last = at_end && (self.buf.len() > self.start || self.dropping.is_some());
        (complete + usize::from(last)).min(max_rows)
    }

    /// Moves up to `max_rows` complete lines (and, `at_end`, the unterminated last one) into
    /// `batch`, decoded or as failures.
    fn take<M: Model>(
        &mut self,
        codec: &Codec<'_, M>,
        batch: &mut Batch<M>,
        at_end: bool,
        max_rows: usize,
    ) {
        while batch.len() < max_rows {
            let from = self.scanned.max(self.start);
            let Some(offset) = memchr::memchr(b'\n', &self.buf[from..]) else {
                break;
            };
            let end = from + offset;
            if let Some(why) = self.dropping.take() {
                batch.push_failure(self.failure(why));
            } else if end - self.start > self.max_line {
                batch.push_failure(self.failure(Dropping::TooLong));
            } else {
                codec.push_line(batch, &self.buf[self.start..end]);
            }
            self.start = end + 1;
            self.scanned = self.start;
        }
        if batch.len() >= max_rows {
            return;
        }
        let rest = self.buf.len() - self.start;
        if at_end && (rest > 0 || self.dropping.is_some()) {
            if let Some(why) = self.dropping.take() {
                batch.push_failure(self.failure(why));
            } else if rest > self.max_line {
                batch.push_failure(self.failure(Dropping::TooLong));
            } else {
                codec.push_line(batch, &self.buf[self.start..]);
            }
            self.start = self.buf.len();
        } else if self.dropping.is_some() {
            // The rest of a dropped line: not kept.
            self.buf.truncate(self.start);
        } else if rest > self.max_line {
            // Too long already: stop keeping its bytes, answer it when its newline comes.
            self.dropping = Some(Dropping::TooLong);
            self.buf.truncate(self.start);
        }
        self.scanned = self.buf.len();
        if self.dropping.is_some() && self.buf.len() == self.start && self.charged > 0 {
            // Nothing kept: give back what the long line made the buffer grow to.
            self.release();
        }
    }
}

impl Drop for LineBuffer<'_> {
    fn drop(&mut self) {
        self.budget.give(self.charged);
    }
}
