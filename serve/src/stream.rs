//! `serve`: scoring live streams — a TCP socket (server or client) or a Kafka consumer group.
//!
//! Every mode shares the row codecs of [`crate::codec`], logs with `tracing` (standard
//! error, `RUST_LOG` to filter), logs a periodic line of rows scored, errors and rows/s, and
//! stops cleanly on SIGTERM or SIGINT: it stops taking new rows, finishes what it already
//! received (the socket within `--drain-timeout`; Kafka delivers the batch in hand and
//! commits), flushes, and exits 0. What each mode promises, and the test of each promise,
//! is listed in `docs/reliability.md`.

use crate::codec::{Codec, CodecOptions, Format};
use crate::sink::{SinkArgs, SinkModel, Sinks};
use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timber_runtime::Model;
use tokio::sync::watch;

use crate::http;
#[cfg(feature = "kafka")]
use crate::kafka;
use crate::socket;

/// Arguments of `serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Where rows come from.
    #[command(subcommand)]
    pub mode: ServeMode,
}

/// The stream sources `serve` can read.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ServeMode {
    /// Newline-delimited rows over TCP: a server (`--listen`) or a client of a line
    /// source such as `nc -lk 9999` (`--connect`).
    Socket(socket::SocketArgs),
    /// A Kafka consumer group: input topic in, predictions to the output topic.
    Kafka(KafkaArgs),
    /// HTTP: the Open Inference Protocol (KServe v2, JSON) and plain CSV/JSON rows, with
    /// `/metrics` and the live page.
    Http(http::HttpArgs),
}

/// Arguments of `serve kafka` (always parsed, so the CLI is the same with or without the
/// `kafka` feature; without it the command explains how to get it).
#[cfg(feature = "kafka")]
pub use kafka::KafkaArgs;

/// Arguments of `serve kafka` in a scorer built without the `kafka` feature.
#[cfg(not(feature = "kafka"))]
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Anything: the scorer cannot talk to Kafka without the `kafka` feature.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ignored: Vec<String>,
}

/// Options every stream mode shares.
#[derive(clap::Args, Debug, Clone)]
pub struct StreamArgs {
    /// Row and result encoding.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// CSV: send raw margins instead of predictions. JSON: add each row's margins.
    #[arg(long)]
    pub margin: bool,
    /// JSON objects: skip fields that name no feature instead of rejecting the row.
    #[arg(long)]
    pub ignore_unknown: bool,
    /// Seconds between the periodic log lines (rows scored, errors, rows/s); 0 = none.
    #[arg(long, default_value_t = 10.0)]
    pub stats_interval: f64,
    /// Also serve Prometheus `/metrics` and the live page (`/`) over HTTP on this address
    /// (e.g. `127.0.0.1:9100`; port 0 picks a free port, logged at start-up).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sink: SinkArgs,
}

impl StreamArgs {
    /// The codec options these arguments ask for.
    pub fn codec_options(&self) -> CodecOptions {
        CodecOptions {
            format: self.format,
            margin: self.margin,
            ignore_unknown: self.ignore_unknown,
        }
    }
}

/// Runs `serve` until the stream ends or a signal stops it.
pub fn serve<M: Model + 'static>(model: M, args: ServeArgs) -> Result<()> {
    init_logging();
    // The model lives as long as the process; leaking it lets every task borrow it.
    let model: &'static M = Box::leak(Box::new(model));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = Shutdown::on_signals()?;
        match args.mode {
            ServeMode::Socket(a) => {
                let (codec, sinks, stats) =
                    start_stream(model, &a.stream, "socket", &shutdown).await?;
                let served = socket::run(codec, &a, shutdown, stats, sinks.sender()).await;
                let finished = finish_sinks(sinks).await;
                served.and(finished)
            }
            #[cfg(feature = "kafka")]
            ServeMode::Kafka(a) => {
                let (codec, sinks, stats) =
                    start_stream(model, &a.stream, "kafka", &shutdown).await?;
                kafka::run(codec, a, shutdown, stats, sinks).await
            }
            ServeMode::Http(a) => {
                // Requests choose predictions or margins; the sinks store predictions.
                let info = model.info();
                let sinks =
                    start_sinks(SinkModel::new::<M::Output>(info, info.num_outputs), &a.sink)?;
                let stats = Stats::start(a.stats_interval, &shutdown);
                let served = http::run(model, &a, shutdown, stats, sinks.sender()).await;
                let finished = finish_sinks(sinks).await;
                served.and(finished)
            }
            #[cfg(not(feature = "kafka"))]
            ServeMode::Kafka(_) => anyhow::bail!(
                "this scorer was built without Kafka support; rebuild it with the `kafka` \
                 feature (`cargo build --release --features kafka`)"
            ),
        }
    })
}

/// What the socket and Kafka modes start before reading: the codec, the `--sink`s, the
/// periodic stats and, with `--http`, the metrics and live page (`mode` names the mode there).
async fn start_stream<M: Model + 'static>(
    model: &'static M,
    args: &StreamArgs,
    mode: &'static str,
    shutdown: &Shutdown,
) -> Result<(Arc<Codec<'static, M>>, Sinks, Arc<Stats>)> {
    let codec = Arc::new(Codec::new(model, args.codec_options()));
    let sinks = start_sinks(sink_model(&codec), &args.sink)?;
    let stats = Stats::start(args.stats_interval, shutdown);
    if let Some(addr) = &args.http {
        http::observe(model, addr, mode, stats.clone(), shutdown).await?;
    }
    Ok((codec, sinks, stats))
}

/// How long a stopping scorer keeps trying to write the rows its sinks still wait for.
const SINK_STOP_GRACE: Duration = Duration::from_secs(30);

/// What the sinks of a mode scoring with `codec` store: the values it prints.
fn sink_model<M: Model>(codec: &Codec<'_, M>) -> SinkModel {
    SinkModel::new::<M::Output>(codec.model().info(), codec.printed_width())
}

/// Opens the `--sink`s of a serving mode (retrying a failing sink for ever unless
/// `--sink-deadline` says otherwise).
fn start_sinks(model: SinkModel, args: &SinkArgs) -> Result<Sinks> {
    let sinks_args = args.clone();
    // Opening connects to servers and waits for them: not on an async worker.
    tokio::task::block_in_place(move || Sinks::start(&sinks_args, model, sinks_args.deadline(0.0)))
}

/// Writes what the sinks still hold, within [`SINK_STOP_GRACE`].
async fn finish_sinks(sinks: Sinks) -> Result<()> {
    tokio::task::spawn_blocking(move || sinks.finish(Some(SINK_STOP_GRACE)))
        .await
        .context("the sink writer stopped abnormally")?
}

/// Logs to standard error; `RUST_LOG` filters (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests running serve twice in one process) keeps the first logger.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The stop signal: set once by SIGTERM/SIGINT, observable from async tasks ([`wait`])
/// and from blocking threads ([`is_set`]).
///
/// [`wait`]: Shutdown::wait
/// [`is_set`]: Shutdown::is_set
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
    flag: Arc<AtomicBool>,
}

impl Shutdown {
    /// A stop signal set by SIGTERM or SIGINT (Ctrl-C). Must run inside the tokio runtime.
    pub fn on_signals() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot catch SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot catch SIGINT")?;
        let (shutdown, trigger) = Self::manual();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!("{name}: stopping, finishing the rows already received");
            trigger();
        });
        Ok(shutdown)
    }

    /// A stop signal and the function that sets it.
    pub fn manual() -> (Self, impl FnOnce() + Send + 'static) {
        let (tx, rx) = watch::channel(false);
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let trigger = move || {
            set.store(true, Ordering::SeqCst);
            let _ = tx.send(true);
            // Keep the sender alive so waiters see `true`, not a closed channel.
            std::mem::forget(tx);
        };
        (Shutdown { rx, flag }, trigger)
    }

    /// Whether the stop signal has been given.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once the stop signal has been given.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means the sender is gone, which only happens once the signal was sent.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Counters behind the periodic log line, `/metrics` and the live page.
#[derive(Default)]
pub struct Stats {
    scored: AtomicU64,
    failed: AtomicU64,
    /// Batches, latency, the latest rows and adapters' gauges ([`crate::metrics`]).
    pub metrics: crate::metrics::Metrics,
}

impl Stats {
    /// Counters, and a task logging them every `interval` seconds until shutdown.
    pub fn start(interval: f64, shutdown: &Shutdown) -> Arc<Stats> {
        let stats = Arc::new(Stats::default());
        if interval > 0.0 && interval.is_finite() {
            let (stats, shutdown) = (stats.clone(), shutdown.clone());
            tokio::spawn(async move {
                let period = Duration::from_secs_f64(interval);
                let (mut last, mut last_at) = (0u64, Instant::now());
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(period) => {}
                        _ = shutdown.wait() => {}
                    }
                    let (scored, failed) = stats.totals();
                    let now = Instant::now();
                    let rate = (scored + failed - last) as f64 / (now - last_at).as_secs_f64();
                    tracing::info!(
                        "rows scored: {scored}, errors: {failed}, {rate:.0} rows/s over the last {:.1} s",
                        (now - last_at).as_secs_f64()
                    );
                    (last, last_at) = (scored + failed, now);
                    if shutdown.is_set() {
                        return;
                    }
                }
            });
        }
        stats
    }

    /// Adds `scored` good rows and `failed` bad ones.
    pub fn add(&self, scored: u64, failed: u64) {
        self.scored.fetch_add(scored, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    /// Rows scored and rows failed so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.scored.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
