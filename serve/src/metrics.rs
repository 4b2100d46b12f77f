//! What `/metrics` and the live page show, recorded by every serve mode.
//!
//! [`Stats`] (rows scored and failed, the periodic log line) stays the one place counters
//! live; [`Metrics`], a field of it, adds what an operator's dashboard needs on top: batches,
//! a scoring-latency histogram, the latest rows with their predictions (for the page's
//! table and prediction histograms), and labelled gauges that adapters set ([`Gauges`]:
//! Kafka consumer lag today, output sinks later).
//!
//! Recording is cheap enough for the socket's millions of rows per second: a batch costs a
//! few relaxed atomic additions and one short lock, during which at most
//! [`SAMPLED_ROWS`] rows of it are copied.

use crate::codec::{Batch, Codec, Format, Scratch};
use crate::stream::Shutdown;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use timber_runtime::{Float, Model};

/// Rows of one batch whose values feed the prediction histograms (the last ones of it).
pub const SAMPLED_ROWS: usize = 512;

/// Values kept per output for the prediction histograms.
const HISTOGRAM_WINDOW: usize = 4096;

/// Rows kept for the page's table of latest predictions.
const LATEST_ROWS: usize = 25;

/// Upper bounds (seconds) of the `timber_score_seconds` buckets.
pub const LATENCY_BUCKETS: [f64; 19] = [
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Sub-buckets per power of two of the fine latency histogram (percentiles within ~9%).
const FINE_PER_OCTAVE: u32 = 8;
/// Octaves of nanoseconds the fine histogram covers (2^40 ns is 18 minutes).
const FINE_OCTAVES: u32 = 40;
const FINE_BUCKETS: usize = (FINE_PER_OCTAVE * FINE_OCTAVES) as usize;

/// Counters behind the periodic log line, `/metrics` and the live page.
#[derive(Default)]
pub struct Stats {
    scored: AtomicU64,
    failed: AtomicU64,
    /// Batches, latency, the latest rows and adapters' gauges ([`Metrics`]).
    pub metrics: Metrics,
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

/// Everything recorded besides the row counters of [`Stats`].
pub struct Metrics {
    batches: AtomicU64,
    latency: Latency,
    recent: Mutex<Recent>,
    /// Labelled gauges set by adapters (consumer lag, sink queues): rendered as they are.
    pub gauges: Gauges,
    started: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            batches: AtomicU64::new(0),
            latency: Latency::default(),
            recent: Mutex::new(Recent::default()),
            gauges: Gauges::default(),
            started: SystemTime::now(),
        }
    }
}

/// Scoring latency: the Prometheus buckets, and a finer log-scale histogram the page's
/// percentiles come from.
struct Latency {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    fine: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            fine: (0..FINE_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

/// The fine bucket of a duration in nanoseconds: the power of two below it and the next
/// three bits, so bucket bounds grow by 2^(1/8) without a logarithm.
fn fine_bucket(ns: u64) -> usize {
    let ns = ns.max(1);
    let octave = 63 - ns.leading_zeros();
    let sub = if octave >= 3 {
        (ns >> (octave - 3)) & 7
    } else {
        (ns << (3 - octave)) & 7
    };
    ((octave * FINE_PER_OCTAVE) as usize + sub as usize).min(FINE_BUCKETS - 1)
}

/// The upper bound (seconds) of a fine bucket.
fn fine_upper(bucket: usize) -> f64 {
    let octave = bucket as u32 / FINE_PER_OCTAVE;
    let sub = bucket as u32 % FINE_PER_OCTAVE;
    2f64.powi(octave as i32) * (1.0 + f64::from(sub + 1) / 8.0) * 1e-9
}

impl Latency {
    fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&le| secs <= le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.fine[fine_bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The fine latency histogram at one moment; two of them give the percentiles between.
#[derive(Clone, Default)]
pub struct LatencySnapshot(Vec<u64>);

impl LatencySnapshot {
    /// The `q` quantile (0..1, seconds) of the latencies recorded between `earlier` and
    /// `self`, as the upper bound of its fine bucket; `None` without any.
    pub fn quantile_since(&self, earlier: &LatencySnapshot, q: f64) -> Option<f64> {
        let delta: Vec<u64> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, &c)| c.saturating_sub(earlier.0.get(i).copied().unwrap_or(0)))
            .collect();
        let total: u64 = delta.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in delta.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(fine_upper(i));
            }
        }
        None
    }

    /// Latencies recorded between `earlier` and `self`.
    pub fn count_since(&self, earlier: &LatencySnapshot) -> u64 {
        let now: u64 = self.0.iter().sum();
        let then: u64 = earlier.0.iter().sum();
        now.saturating_sub(then)
    }
}

/// One row for the page's table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LatestRow {
    /// Milliseconds since the Unix epoch when the row was scored.
    pub t: u64,
    /// The row's key: its JSON `"id"`, Kafka record key, or a sequence number.
    pub key: String,
    /// Its outputs (predictions, or margins when only margins are computed).
    pub values: Vec<f64>,
    /// Why it could not be scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Recent rows, for the page.
#[derive(Default)]
struct Recent {
    /// Per output, the latest values (a ring of [`HISTOGRAM_WINDOW`]).
    values: Vec<VecDeque<f64>>,
    latest: VecDeque<LatestRow>,
    /// Whether the values are margins (a CSV stream served with `--margin`).
    margins: bool,
    /// Rows seen, for the keys of rows that have none.
    sequence: u64,
}

/// Rows of one batch on their way to [`Metrics`]: filled without a lock, committed with one.
/// Keeps the batch's last rows only (as many as the page's table shows).
pub struct Sample {
    rows: VecDeque<LatestRow>,
    values: Vec<Vec<f64>>,
    margins: bool,
    /// Rows in the batch before the first one sampled.
    skipped: u64,
}

impl Sample {
    /// An empty sample of rows with `outputs` values each.
    pub fn new(outputs: usize, margins: bool) -> Self {
        Sample {
            rows: VecDeque::with_capacity(LATEST_ROWS),
            values: vec![Vec::new(); outputs],
            margins,
            skipped: 0,
        }
    }

    /// An empty sample for the rows `codec` scores (its predictions, or its margins when
    /// it computes only those).
    pub fn for_codec<M: Model>(codec: &Codec<'_, M>) -> Self {
        let (margins, width) = codec_values(codec);
        Sample::new(width, margins)
    }

    /// Counts rows of the batch that are not sampled (they come before the sampled ones).
    pub fn skip(&mut self, rows: u64) {
        self.skipped += rows;
    }

    /// A scored row: `key` (or none: it gets a sequence number) and its values.
    pub fn row<F: Float>(&mut self, key: Option<String>, values: &[F]) {
        for (column, v) in self.values.iter_mut().zip(values) {
            column.push(v.to_f64());
        }
        self.push(LatestRow {
            t: 0,
            key: key.unwrap_or_default(),
            values: values.iter().map(|v| v.to_f64()).collect(),
            error: None,
        });
    }

    /// The row [`Codec::score`] just scored with `scratch`.
    pub fn scratch_row<M: Model>(&mut self, key: Option<String>, scratch: &Scratch<M>) {
        let values = if self.margins {
            scratch.last_margins()
        } else {
            scratch.last_outputs()
        };
        self.row(key, values);
    }

    /// A row that could not be scored.
    pub fn error(&mut self, key: Option<String>, reason: &str) {
        self.push(LatestRow {
            t: 0,
            key: key.unwrap_or_default(),
            values: Vec::new(),
            error: Some(reason.to_string()),
        });
    }

    fn push(&mut self, row: LatestRow) {
        if self.rows.len() == LATEST_ROWS {
            self.rows.pop_front();
            self.skipped += 1;
        }
        self.rows.push_back(row);
    }
}

/// Whether `codec` computes only margins, and how many values a row gets.
fn codec_values<M: Model>(codec: &Codec<'_, M>) -> (bool, usize) {
    let options = codec.options();
    let margins = options.format == Format::Csv && options.margin;
    let info = codec.model().info();
    (
        margins,
        if margins {
            info.num_margins
        } else {
            info.num_outputs
        },
    )
}

/// A row key from a JSON `"id"`: strings as they are, anything else as JSON text.
pub fn key_of(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Metrics {
    /// Records one batch (a socket read's lines, a Kafka poll, an HTTP request) that took
    /// `elapsed` to decode, score and encode.
    pub fn batch(&self, elapsed: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.latency.record(elapsed);
    }

    /// Batches recorded so far.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// When the scorer started.
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// Adds a batch's sampled rows to the recent rows.
    pub fn commit(&self, sample: Sample) {
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        let t = now_ms();
        if recent.values.len() != sample.values.len() || recent.margins != sample.margins {
            recent.values = vec![VecDeque::with_capacity(HISTOGRAM_WINDOW); sample.values.len()];
            recent.margins = sample.margins;
        }
        for (ring, new) in recent.values.iter_mut().zip(&sample.values) {
            let keep = new.len().min(HISTOGRAM_WINDOW);
            let overflow = (ring.len() + keep).saturating_sub(HISTOGRAM_WINDOW);
            ring.drain(..overflow);
            ring.extend(&new[new.len() - keep..]);
        }
        recent.sequence += sample.skipped;
        for mut row in sample.rows {
            recent.sequence += 1;
            if row.key.is_empty() {
                row.key = format!("#{}", recent.sequence);
            }
            row.t = t;
            if recent.latest.len() == LATEST_ROWS {
                recent.latest.pop_front();
            }
            recent.latest.push_back(row);
        }
    }

    /// The fine latency histogram now.
    pub fn latency_snapshot(&self) -> LatencySnapshot {
        LatencySnapshot(
            self.latency
                .fine
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
        )
    }

    /// The latest rows (oldest first), the recent values of each output, and whether they
    /// are margins.
    pub fn recent(&self) -> (Vec<LatestRow>, Vec<Vec<f64>>, bool) {
        match self.recent.lock() {
            Ok(r) => (
                r.latest.iter().cloned().collect(),
                r.values
                    .iter()
                    .map(|v| v.iter().copied().collect())
                    .collect(),
                r.margins,
            ),
            Err(_) => Default::default(),
        }
    }
}

impl Stats {
    /// Counts a batch of `scored` good and `failed` bad rows that took `elapsed`.
    pub fn record_batch(&self, scored: u64, failed: u64, elapsed: Duration) {
        self.add(scored, failed);
        self.metrics.batch(elapsed);
    }

    /// Samples the rows waiting in `batch` before [`Codec::write_batch`] scores it; pass
    /// the result to [`Stats::after_batch`] once it has.
    pub fn before_batch<M: Model>(&self, batch: &Batch<M>) -> PendingSample {
        let total = batch.len();
        let first = total.saturating_sub(SAMPLED_ROWS);
        let rows = batch
            .pending()
            .skip(first)
            .map(|entry| match entry {
                Ok(id) => Ok(id.map(key_of)),
                Err(failure) => Err((failure.id.as_ref().map(key_of), failure.reason.clone())),
            })
            .collect();
        let decoded_before = batch.pending().take(first).filter(|e| e.is_ok()).count();
        PendingSample {
            skipped: first as u64,
            decoded_before,
            rows,
        }
    }

    /// Records the rows sampled by [`Stats::before_batch`] with the values
    /// [`Codec::write_batch`] computed for them.
    pub fn after_batch<M: Model>(
        &self,
        codec: &Codec<'_, M>,
        batch: &Batch<M>,
        pending: PendingSample,
    ) {
        let (margins, width) = codec_values(codec);
        let values = if margins {
            batch.last_margins()
        } else {
            batch.last_outputs()
        };
        let mut sample = Sample::new(width, margins);
        sample.skip(pending.skipped);
        let mut rows = values
            .chunks_exact(width.max(1))
            .skip(pending.decoded_before);
        for entry in pending.rows {
            match entry {
                Ok(key) => match rows.next() {
                    Some(v) => sample.row(key, v),
                    None => sample.error(key, "no values (internal: batch and sample disagree)"),
                },
                Err((key, reason)) => sample.error(key, &reason),
            }
        }
        self.metrics.commit(sample);
    }
}

/// The keys (or failures) of the last rows of a batch, taken before it is scored.
pub struct PendingSample {
    skipped: u64,
    decoded_before: usize,
    rows: Vec<SampledRow>,
}

/// A sampled row before scoring: its key, or its key and why it failed to decode.
type SampledRow = Result<Option<String>, (Option<String>, String)>;

/// A labelled gauge family.
struct Family {
    help: &'static str,
    series: BTreeMap<String, f64>,
}

/// Labelled gauges an adapter sets and `/metrics` renders: the extension point for
/// per-sink figures (`timber_sink_…{sink="…"}`) and Kafka consumer lag.
#[derive(Default)]
pub struct Gauges(Mutex<BTreeMap<&'static str, Family>>);

impl Gauges {
    /// Sets gauge `name` with `labels` to `value`; `help` describes the family.
    pub fn set(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        if let Ok(mut families) = self.0.lock() {
            let family = families.entry(name).or_insert_with(|| Family {
                help,
                series: BTreeMap::new(),
            });
            family.series.insert(label_text(labels), value);
        }
    }

    /// Removes one series of gauge `name` (a partition no longer assigned, a sink closed).
    pub fn remove(&self, name: &'static str, labels: &[(&str, &str)]) {
        if let Ok(mut families) = self.0.lock() {
            if let Some(family) = families.get_mut(name) {
                family.series.remove(&label_text(labels));
            }
        }
    }

    /// The current value of one series.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let families = self.0.lock().ok()?;
        families.get(name)?.series.get(&label_text(labels)).copied()
    }

    fn render(&self, out: &mut String) {
        let Ok(families) = self.0.lock() else { return };
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, value) in &family.series {
                let _ = writeln!(out, "{name}{labels} {}", number(*value));
            }
        }
    }
}

/// Sets `timber_kafka_consumer_lag{topic,partition}` from librdkafka's statistics: records
/// on the broker not yet committed by this consumer, per partition it consumes.
#[cfg(feature = "kafka")]
pub fn kafka_lag(gauges: &Gauges, statistics: &rdkafka::Statistics) {
    const NAME: &str = "timber_kafka_consumer_lag";
    const HELP: &str = "Records in a partition not yet committed by this consumer group member.";
    for (topic, t) in &statistics.topics {
        for (partition, p) in &t.partitions {
            if *partition < 0 {
                // librdkafka's internal "unassigned" partition.
                continue;
            }
            let partition = partition.to_string();
            let labels = [("topic", topic.as_str()), ("partition", partition.as_str())];
            if p.consumer_lag >= 0 {
                gauges.set(NAME, HELP, &labels, p.consumer_lag as f64);
            } else {
                gauges.remove(NAME, &labels);
            }
        }
    }
}

/// `{a="x",b="y"}` with Prometheus escaping (empty for no labels).
fn label_text(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// A sample value in Prometheus's text format.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Extra lines the HTTP layer adds (request counters), already in the text format.
pub type ExtraMetrics<'a> = &'a dyn Fn(&mut String);

/// Renders every metric in Prometheus's text exposition format (version 0.0.4).
pub fn render(
    stats: &Stats,
    info: &timber_runtime::ModelInfo,
    served_as: &str,
    extra: ExtraMetrics,
) -> String {
    let mut out = String::with_capacity(4096);
    let (scored, failed) = stats.totals();
    let m = &stats.metrics;
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(&mut out, "timber_rows_scored_total", "Rows scored.", scored);
    counter(
        &mut out,
        "timber_row_errors_total",
        "Rows that could not be scored (each got an error result).",
        failed,
    );
    counter(
        &mut out,
        "timber_batches_total",
        "Batches scored (a socket read's lines, a Kafka poll, an HTTP request).",
        m.batches(),
    );
    out.push_str(
        "# HELP timber_score_seconds Time to decode, score and encode one batch.\n\
         # TYPE timber_score_seconds histogram\n",
    );
    let mut cumulative = 0u64;
    for (le, count) in LATENCY_BUCKETS.iter().zip(&m.latency.buckets) {
        cumulative += count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "timber_score_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let count = m.latency.count.load(Ordering::Relaxed);
    let _ = writeln!(out, "timber_score_seconds_bucket{{le=\"+Inf\"}} {count}");
    let sum = m.latency.sum_ns.load(Ordering::Relaxed) as f64 * 1e-9;
    let _ = writeln!(out, "timber_score_seconds_sum {}", number(sum));
    let _ = writeln!(out, "timber_score_seconds_count {count}");
    m.gauges.render(&mut out);
    extra(&mut out);
    let started = m
        .started
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let _ = writeln!(
        out,
        "# HELP timber_start_time_seconds When the scorer started (Unix time).\n\
         # TYPE timber_start_time_seconds gauge\ntimber_start_time_seconds {}",
        number(started)
    );
    let (trees, nodes, depth, features, outputs) = (
        info.num_trees.to_string(),
        info.num_nodes.to_string(),
        info.max_depth.to_string(),
        info.num_features().to_string(),
        info.num_outputs.to_string(),
    );
    let labels = label_text(&[
        ("name", served_as),
        ("type", &info.name),
        ("sha256", &info.source_sha256),
        ("format", &info.format),
        ("objective", &info.objective),
        ("trees", &trees),
        ("nodes", &nodes),
        ("max_depth", &depth),
        ("features", &features),
        ("outputs", &outputs),
        ("precision", &info.precision),
        ("timber_version", &info.timber_version),
    ]);
    let _ = writeln!(
        out,
        "# HELP timber_model_info The model being served (labels), always 1.\n\
         # TYPE timber_model_info gauge\ntimber_model_info{labels} 1"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_buckets_are_monotonic_and_bound_their_values() {
        let mut last = 0;
        for ns in [
            1u64,
            2,
            7,
            8,
            9,
            15,
            16,
            100,
            1_000,
            123_456,
            10_000_000_000,
        ] {
            let b = fine_bucket(ns);
            assert!(b >= last, "{ns}");
            last = b;
            let upper = fine_upper(b);
            assert!(upper >= ns as f64 * 1e-9, "{ns}: upper {upper}");
            assert!(upper <= ns as f64 * 1e-9 * 1.26, "{ns}: upper {upper}");
        }
    }

    #[test]
    fn quantiles_come_from_the_window() {
        let m = Metrics::default();
        for _ in 0..90 {
            m.batch(Duration::from_micros(10));
        }
        let before = m.latency_snapshot();
        for _ in 0..99 {
            m.batch(Duration::from_millis(1));
        }
        m.batch(Duration::from_millis(100));
        let now = m.latency_snapshot();
        let p50 = now.quantile_since(&before, 0.5).unwrap();
        assert!((1e-3..1.1e-3).contains(&p50), "{p50}");
        let p999 = now.quantile_since(&before, 0.999).unwrap();
        assert!((0.1..0.11).contains(&p999), "{p999}");
        assert_eq!(now.count_since(&before), 100);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            label_text(&[("a", "x\"y\\z\n"), ("b", "")]),
            "{a=\"x\\\"y\\\\z\\n\",b=\"\"}"
        );
    }

    #[test]
    fn latest_rows_get_sequence_keys_and_a_bounded_window() {
        let m = Metrics::default();
        let mut s = Sample::new(1, false);
        s.skip(10);
        s.row::<f32>(None, &[0.5]);
        s.row::<f32>(Some("k".into()), &[0.25]);
        s.error(None, "bad");
        m.commit(s);
        let (latest, values, margins) = m.recent();
        assert!(!margins);
        let keys: Vec<&str> = latest.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["#11", "k", "#13"]);
        assert_eq!(values, vec![vec![0.5, 0.25]]);
        for _ in 0..10 {
            let mut s = Sample::new(1, false);
            for i in 0..1000 {
                s.row::<f64>(None, &[f64::from(i)]);
            }
            m.commit(s);
        }
        let (latest, values, _) = m.recent();
        assert_eq!(latest.len(), LATEST_ROWS);
        assert_eq!(latest.last().unwrap().key, "#10013");
        assert_eq!(values[0].len(), HISTOGRAM_WINDOW);
    }
}
