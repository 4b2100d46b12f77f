//! What every live mode shares: the stream options ([`StreamArgs`]), the stop signal
//! ([`Shutdown`]) and logging. [`crate::modes`] starts a mode; the rows scored are counted in
//! [`crate::metrics::Stats`].

use crate::codec::{CodecOptions, Format};
use crate::sink::SinkArgs;
use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

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
