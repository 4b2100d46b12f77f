//! The live page's data: once a second, a JSON snapshot of the counters, the rows/s and
//! errors/s of the last minutes, latency percentiles, prediction histograms and the latest
//! rows, published on a watch channel that every `/events` stream follows.

use crate::metrics::LatencySnapshot;
use crate::metrics::Stats;
use crate::stream::Shutdown;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use timber_runtime::Model;
use tokio::sync::watch;

/// Seconds of rows/s history the page charts.
const HISTORY: usize = 300;

/// Seconds the latency percentiles cover.
const LATENCY_WINDOW: usize = 60;

/// Bars of a prediction histogram.
const BINS: usize = 24;

/// Starts the once-a-second snapshot task; returns the channel it publishes on.
pub(super) fn start<M: Model + 'static>(
    model: &'static M,
    name: &str,
    mode: &'static str,
    stats: Arc<Stats>,
    shutdown: Shutdown,
) -> watch::Receiver<Arc<str>> {
    let mut live = Live::new(model, name, mode, stats);
    let (tx, rx) = watch::channel(live.tick());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = shutdown.wait() => {
                    let _ = tx.send(live.tick());
                    return;
                }
            }
            if tx.send(live.tick()).is_err() {
                return;
            }
        }
    });
    rx
}

/// One second of history.
#[derive(Clone, Copy)]
struct Point {
    /// Milliseconds since the Unix epoch.
    t: u64,
    rows: f64,
    errors: f64,
    /// Latency percentiles of this second's batches (seconds), if it had any.
    p50: Option<f64>,
    p99: Option<f64>,
}

struct Live {
    stats: Arc<Stats>,
    model: Value,
    outputs: usize,
    margins: usize,
    history: VecDeque<Point>,
    latency: VecDeque<LatencySnapshot>,
    last: (u64, u64, Instant),
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Live {
    fn new<M: Model>(model: &M, name: &str, mode: &str, stats: Arc<Stats>) -> Self {
        let info = model.info();
        let model = json!({
            "name": name,
            "type": info.name,
            "mode": mode,
            "format": info.format,
            "objective": info.objective,
            "transform": info.transform,
            "trees": info.num_trees,
            "nodes": info.num_nodes,
            "depth": info.max_depth,
            "features": info.num_features(),
            "outputs": info.num_outputs,
            "precision": info.precision,
            "sha256": info.source_sha256,
            "timber": info.timber_version,
        });
        let (scored, failed) = stats.totals();
        let first = stats.metrics.latency_snapshot();
        Live {
            model,
            outputs: info.num_outputs,
            margins: info.num_margins,
            history: VecDeque::with_capacity(HISTORY),
            latency: VecDeque::from([first]),
            last: (scored, failed, Instant::now()),
            stats,
        }
    }

    /// Takes this second's figures and renders the snapshot.
    fn tick(&mut self) -> Arc<str> {
        let (scored, failed) = self.stats.totals();
        let now = Instant::now();
        let seconds = (now - self.last.2).as_secs_f64();
        let latency = self.stats.metrics.latency_snapshot();
        if seconds > 0.05 {
            let previous = self.latency.back().cloned().unwrap_or_default();
            let point = Point {
                t: epoch_ms(),
                rows: (scored.saturating_sub(self.last.0)) as f64 / seconds,
                errors: (failed.saturating_sub(self.last.1)) as f64 / seconds,
                p50: latency.quantile_since(&previous, 0.5),
                p99: latency.quantile_since(&previous, 0.99),
            };
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(point);
            if self.latency.len() > LATENCY_WINDOW {
                self.latency.pop_front();
            }
            self.latency.push_back(latency.clone());
            self.last = (scored, failed, now);
        }
        let oldest = self.latency.front().cloned().unwrap_or_default();
        let quantile = |q| latency.quantile_since(&oldest, q);
        let (latest, values, margins) = self.stats.metrics.recent();
        let recent: Vec<&crate::metrics::LatestRow> = latest.iter().rev().collect();
        let width = if margins { self.margins } else { self.outputs };
        let histograms: Vec<Value> = (0..width)
            .map(|i| histogram(values.get(i).map_or(&[][..], Vec::as_slice), margins))
            .collect();
        // The rate shown as "now": the last few seconds, so one slow tick does not jump.
        let tail: Vec<&Point> = self.history.iter().rev().take(5).collect();
        let rate = |f: fn(&Point) -> f64| {
            if tail.is_empty() {
                0.0
            } else {
                tail.iter().map(|p| f(p)).sum::<f64>() / tail.len() as f64
            }
        };
        let uptime = SystemTime::now()
            .duration_since(self.stats.metrics.started())
            .map_or(0.0, |d| d.as_secs_f64());
        let snapshot = json!({
            "model": self.model,
            "now": epoch_ms(),
            "uptime": uptime,
            "totals": {
                "scored": scored,
                "failed": failed,
                "batches": self.stats.metrics.batches(),
            },
            "rate": { "rows": rate(|p| p.rows), "errors": rate(|p| p.errors) },
            "series": {
                "t": self.history.iter().map(|p| p.t).collect::<Vec<_>>(),
                "rows": self.history.iter().map(|p| p.rows).collect::<Vec<_>>(),
                "errors": self.history.iter().map(|p| p.errors).collect::<Vec<_>>(),
                "p50": self.history.iter().map(|p| p.p50).collect::<Vec<_>>(),
                "p99": self.history.iter().map(|p| p.p99).collect::<Vec<_>>(),
            },
            "latency": {
                "window": (self.latency.len().saturating_sub(1)).max(1),
                "batches": latency.count_since(&oldest),
                "p50": quantile(0.5),
                "p90": quantile(0.9),
                "p99": quantile(0.99),
            },
            "histograms": {
                "kind": if margins { "margin" } else { "prediction" },
                "outputs": histograms,
            },
            "latest": recent,
        });
        Arc::from(snapshot.to_string())
    }
}

/// A histogram of recent values: `[0, 1]` when they all are probabilities, else their
/// range; non-finite values are counted apart.
fn histogram(values: &[f64], margins: bool) -> Value {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if finite.is_empty() || (!margins && lo >= 0.0 && hi <= 1.0) {
        (lo, hi) = (0.0, 1.0);
    } else if hi - lo < 1e-12 {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let mut counts = [0u64; BINS];
    let width = (hi - lo) / BINS as f64;
    for v in &finite {
        let i = (((v - lo) / width) as usize).min(BINS - 1);
        counts[i] += 1;
    }
    let mean = if finite.is_empty() {
        None
    } else {
        Some(finite.iter().sum::<f64>() / finite.len() as f64)
    };
    json!({
        "lo": lo,
        "hi": hi,
        "counts": counts,
        "n": finite.len(),
        "nonfinite": values.len() - finite.len(),
        "mean": mean,
    })
}
