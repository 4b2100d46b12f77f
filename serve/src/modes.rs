//! `serve`: scoring live streams — a TCP socket (server or client), a Kafka consumer group or
//! HTTP requests — one mode started with its sinks, run until the stream ends or a signal.
//!
//! Every mode shares the row codecs of [`crate::codec`], logs with `tracing` (standard
//! error, `RUST_LOG` to filter), logs a periodic line of rows scored, errors and rows/s, and
//! stops cleanly on SIGTERM or SIGINT: it stops taking new rows, finishes what it already
//! received (the socket within `--drain-timeout`; Kafka delivers the batch in hand and
//! commits), flushes, and exits 0. What each mode promises, and the test of each promise,
//! is listed in `docs/reliability.md`.

use crate::codec::Codec;
use crate::http;
#[cfg(feature = "kafka")]
use crate::kafka;
use crate::metrics::Stats;
use crate::sink::{SinkArgs, SinkModel, Sinks};
use crate::socket;
use crate::stream::{init_logging, Shutdown, StreamArgs};
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use timber_runtime::Model;

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
