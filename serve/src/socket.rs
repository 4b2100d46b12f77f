//! `serve socket`: newline-delimited rows over TCP.
//!
//! Server mode (`--listen`) answers every line with exactly one line, in order: the result,
//! or an error line; a bad or oversized line never closes the connection. Client mode
//! (`--connect`) reads rows from a line source (`nc -lk 9999`, Spark-style) and prints the
//! results on standard output.
//!
//! Reads and writes are batched: every read takes whatever the socket holds (up to 64 KiB
//! at a time), all complete lines in it are scored, and their results go out in one write,
//! so a client that pipelines 100k rows is not answered one syscall per row.

use crate::codec::{Batch, Codec, RowFailure};
use crate::stream::{Shutdown, Stats, StreamArgs};
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use timber_runtime::Model;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// How long a stopping connection waits for bytes already on their way before closing.
const DRAIN_WAIT: Duration = Duration::from_millis(50);

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 << 10;

/// Arguments of `serve socket`.
#[derive(clap::Args, Debug, Clone)]
pub struct SocketArgs {
    /// Server mode: listen on this address (e.g. `127.0.0.1:9999`; port 0 picks a free port,
    /// logged at start-up).
    #[arg(long, required_unless_present = "connect", conflicts_with = "connect")]
    pub listen: Option<String>,
    /// Client mode: read rows from the line source at this address; results go to stdout.
    #[arg(long)]
    pub connect: Option<String>,
    /// Longest accepted line in bytes; a longer line gets an error line.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_line_bytes: usize,
    /// Server mode: most connections open at once; more are refused with an error line.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that sends nothing for this many seconds; 0 = never.
    #[arg(long, default_value_t = 300.0)]
    pub idle_timeout: f64,
    /// Client mode: keep retrying the connection for this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stream: StreamArgs,
}

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_line: usize,
    idle: Option<Duration>,
}

/// Runs server or client mode until the stream ends or `shutdown` is given.
pub async fn run<M: Model + 'static>(
    codec: Arc<Codec<'static, M>>,
    args: &SocketArgs,
    shutdown: Shutdown,
    stats: Arc<Stats>,
) -> Result<()> {
    let limits = Limits {
        max_line: args.max_line_bytes.max(1),
        idle: (args.idle_timeout > 0.0 && args.idle_timeout.is_finite())
            .then(|| Duration::from_secs_f64(args.idle_timeout)),
    };
    match (&args.listen, &args.connect) {
        (Some(addr), _) => listen(codec, addr, args.max_connections, limits, shutdown, stats).await,
        (None, Some(addr)) => {
            let timeout = Duration::from_secs_f64(args.connect_timeout.max(0.0));
            let stream = connect(addr, timeout, &shutdown).await?;
            info!("connected to {addr}; results go to standard output");
            let (reader, _) = stream.into_split();
            let mut stdout = tokio::io::stdout();
            score_lines(&codec, reader, &mut stdout, limits, &shutdown, &stats)
                .await
                .with_context(|| format!("while scoring rows from {addr}"))?;
            info!("{addr} closed the stream");
            Ok(())
        }
        (None, None) => anyhow::bail!("give --listen ADDR or --connect ADDR"),
    }
}

async fn listen<M: Model + 'static>(
    codec: Arc<Codec<'static, M>>,
    addr: &str,
    max_connections: usize,
    limits: Limits,
    shutdown: Shutdown,
    stats: Arc<Stats>,
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
            _ = shutdown.wait() => break,
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
                    tokio::spawn(async move {
                        let _ = stream.write_all(b"error: too many connections, try again later\n").await;
                        let _ = stream.shutdown().await;
                    });
                    continue;
                };
                let (codec, shutdown, stats) = (codec.clone(), shutdown.clone(), stats.clone());
                connections.spawn(async move {
                    let _slot = slot;
                    let _ = stream.set_nodelay(true);
                    let (reader, mut writer) = stream.into_split();
                    match score_lines(&codec, reader, &mut writer, limits, &shutdown, &stats).await {
                        Ok(()) => tracing::debug!("{peer} done"),
                        Err(e) => warn!("{peer}: {e}"),
                    }
                    let _ = writer.shutdown().await;
                });
            }
        }
    }
    drop(listener);
    info!(
        "stopped accepting; finishing {} open connections",
        connections.len()
    );
    while connections.join_next().await.is_some() {}
    let (scored, failed) = stats.totals();
    info!("done: {scored} rows scored, {failed} errors");
    Ok(())
}

async fn connect(addr: &str, timeout: Duration, shutdown: &Shutdown) -> Result<TcpStream> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(50);
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) if tokio::time::Instant::now() + delay < deadline && !shutdown.is_set() => {
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

/// Scores every line read from `reader`, writing one result line per input line to
/// `writer`, until end of input, the idle timeout, or `shutdown` (after which the lines
/// already received, including bytes already on their way, are still answered).
async fn score_lines<M: Model, R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    codec: &Codec<'_, M>,
    mut reader: R,
    writer: &mut W,
    limits: Limits,
    shutdown: &Shutdown,
    stats: &Stats,
) -> std::io::Result<()> {
    let mut lines = LineBuffer::new(limits.max_line);
    let mut batch = codec.batch();
    let mut out = Vec::with_capacity(READ_CHUNK);
    let mut stopping = false;
    loop {
        lines.reserve();
        let n = if stopping {
            match tokio::time::timeout(DRAIN_WAIT, reader.read_buf(&mut lines.buf)).await {
                Ok(read) => read?,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                biased;
                _ = shutdown.wait() => {
                    stopping = true;
                    continue;
                }
                read = read_idle(&mut reader, &mut lines.buf, limits.idle) => match read {
                    Some(read) => read?,
                    None => {
                        info!("closing an idle connection");
                        break;
                    }
                },
            }
        };
        let at_end = n == 0;
        let started = std::time::Instant::now();
        let (scored, failed) = lines.score(codec, &mut batch, &mut out, at_end, stats);
        if scored + failed > 0 {
            stats.record_batch(scored, failed, started.elapsed());
        }
        if !out.is_empty() {
            writer.write_all(&out).await?;
            writer.flush().await?;
            out.clear();
        }
        if at_end {
            return Ok(());
        }
    }
    if lines.has_partial() {
        warn!("dropping an unterminated line received before the connection closed");
    }
    writer.flush().await
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

/// Bytes received but not yet answered, split into lines.
struct LineBuffer {
    buf: Vec<u8>,
    /// Bytes before this offset hold no newline.
    scanned: usize,
    /// Inside a line longer than the limit: its bytes are dropped until its newline.
    oversized: bool,
    max_line: usize,
}

impl LineBuffer {
    fn new(max_line: usize) -> Self {
        LineBuffer {
            buf: Vec::with_capacity(READ_CHUNK),
            scanned: 0,
            oversized: false,
            max_line,
        }
    }

    fn reserve(&mut self) {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
    }

    fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.oversized
    }

    /// Scores every complete line (and, `at_end`, the unterminated last one) in one batch,
    /// appending one result line each to `out`; returns (rows scored, rows failed).
    fn score<M: Model>(
        &mut self,
        codec: &Codec<'_, M>,
        batch: &mut Batch<M>,
        out: &mut Vec<u8>,
        at_end: bool,
        stats: &Stats,
    ) -> (u64, u64) {
        let mut start = 0;
        let max_line = self.max_line;
        let mut answer = |line: Option<&[u8]>| match line {
            Some(line) => codec.push_line(batch, strip_cr(line)),
            None => batch.push_failure(RowFailure {
                id: None,
                reason: format!("line longer than {max_line} bytes"),
            }),
        };
        while let Some(offset) = memchr::memchr(b'\n', &self.buf[self.scanned.max(start)..]) {
            let end = self.scanned.max(start) + offset;
            if self.oversized {
                answer(None);
                self.oversized = false;
            } else if end - start > self.max_line {
                answer(None);
            } else {
                answer(Some(&self.buf[start..end]));
            }
            start = end + 1;
        }
        let rest = self.buf.len() - start;
        if at_end && (rest > 0 || self.oversized) {
            if self.oversized || rest > self.max_line {
                answer(None);
            } else {
                answer(Some(&self.buf[start..]));
            }
            self.oversized = false;
            start = self.buf.len();
        } else if rest > self.max_line {
            // Too long already: stop keeping its bytes, answer it when its newline comes.
            self.oversized = true;
            start = self.buf.len();
        }
        if self.oversized {
            self.buf.clear();
        } else {
            self.buf.drain(..start);
        }
        self.scanned = self.buf.len();
        if batch.is_empty() {
            return (0, 0);
        }
        let sample = stats.before_batch(batch);
        let counts = codec.write_batch(batch, out, |_| {});
        stats.after_batch(codec, batch, sample);
        counts
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
