//! `serve kafka`: a member of a Kafka consumer group that scores every record of the input
//! topic and produces the result to the output topic, under the input's key and headers.
//!
//! Delivery is at-least-once and nothing is lost: records are taken in batches (at most
//! `--batch-size` records and `--max-batch-bytes` of inputs and results), each batch is
//! scored and handed to the producer at once, and the input offsets of a batch are stored
//! and committed only after the broker acknowledged every result (or dead letter) of it.
//! Before the group takes partitions away (rebalance), and on SIGTERM, the finished offsets
//! are committed synchronously.
//!
//! A record that cannot be decoded goes to the dead-letter topic, or, without one, an error
//! result goes to the output topic; either way its offset is committed like any other. A
//! dead letter carries the input's key, headers and payload, plus `timber-error` (why),
//! `timber-source-topic`, `timber-source-partition` and `timber-source-offset` headers.
//!
//! A refusal by the broker is either transient (the broker is down, a leader moves, a
//! timeout: the record is sent again until it is taken) or permanent for that record (too
//! large, invalid, refused by a policy: sending it again cannot help). A permanently refused
//! result is logged, counted as an error, and dead-lettered (or replaced by an error
//! result); a dead letter that is too large is sent again with as much of the payload as
//! fits (`timber-payload-truncated: kept K of N bytes`), and, if even its headers do not fit,
//! with only the `timber-*` headers. A record that cannot be delivered in any form is logged
//! and given up, so one record never stalls its partition.
//!
//! With `--sink`, every record's row (the scored values, or the reason it failed) also goes
//! to the sinks, and a batch's offsets are stored only once every sink has it durably as
//! well ([`Sinks::confirmed`]): while a sink is down the scorer stops taking records and
//! commits nothing beyond what the sinks hold.

use crate::codec::Codec;
use crate::metrics::Sample;
use crate::metrics::Stats;
use crate::sink::{SinkRow, Sinks};
use crate::stream::{Shutdown, StreamArgs};
use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timber_runtime::Model;
use tracing::{debug, info, warn};

/// The header a dead letter carries: why its record could not be scored.
pub const ERROR_HEADER: &str = "timber-error";
/// The header a dead letter carries: the input record's topic.
pub const SOURCE_TOPIC_HEADER: &str = "timber-source-topic";
/// The header a dead letter carries: the input record's partition.
pub const SOURCE_PARTITION_HEADER: &str = "timber-source-partition";
/// The header a dead letter carries: the input record's offset.
pub const SOURCE_OFFSET_HEADER: &str = "timber-source-offset";
/// The header a dead letter carries when its payload was cut to fit: `kept K of N bytes`.
pub const TRUNCATED_HEADER: &str = "timber-payload-truncated";

/// librdkafka's default `message.max.bytes`, the largest record a producer sends.
const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// Room left in a record for what is not key, headers or payload (lengths, attributes).
const RECORD_OVERHEAD: usize = 512;

/// How long a stopping scorer keeps trying to deliver results the broker has not taken.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// After the broker has refused results for this long, the producer is replaced by a new
/// one: an idempotent producer can be left in a state it never leaves (librdkafka's fatal
/// errors, or a broker that lost its producer ids in a restart).
const PRODUCER_RESET_AFTER: Duration = Duration::from_secs(10);

/// Arguments of `serve kafka`.
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Bootstrap brokers, `host:port[,host:port…]`.
    #[arg(long)]
    pub brokers: String,
    /// Topic the rows are read from.
    #[arg(long)]
    pub input_topic: String,
    /// Topic the results are written to (same key and headers as the input record).
    #[arg(long)]
    pub output_topic: String,
    /// Consumer group: scorers in one group split the input partitions between them.
    #[arg(long)]
    pub group: String,
    /// Where records that cannot be decoded go (with a `timber-error` header). Without it,
    /// an error result goes to the output topic.
    #[arg(long)]
    pub dead_letter_topic: Option<String>,
    /// Most records scored per batch (one produce round and one commit per batch).
    #[arg(long, default_value_t = 10_000)]
    pub batch_size: usize,
    /// Most bytes of input records and results held per batch; a batch ends early when
    /// its records reach it.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_batch_bytes: usize,
    /// A librdkafka setting for the consumer and the producer, e.g. `-X security.protocol=ssl`;
    /// `consumer.KEY=VALUE` or `producer.KEY=VALUE` sets it for one of them only.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stream: StreamArgs,
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Runs the consumer-group member until SIGTERM/SIGINT.
pub async fn run<M: Model + 'static>(
    codec: Arc<Codec<'static, M>>,
    args: KafkaArgs,
    shutdown: Shutdown,
    stats: Arc<Stats>,
    sinks: Sinks,
) -> Result<()> {
    // librdkafka's calls block: the scoring loop gets a thread of its own.
    tokio::task::spawn_blocking(move || {
        Member::connect(&args, stats.clone())?.run(&codec, &args, &shutdown, &stats, sinks)
    })
    .await
    .context("the Kafka worker stopped abnormally")?
}

/// Logs librdkafka's messages through `tracing`, commits before partitions go, and turns
/// librdkafka's statistics into the consumer-lag gauges of `/metrics`.
struct GroupContext {
    stats: Arc<Stats>,
}

impl ClientContext for GroupContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac}: {log_message}")
            }
            L::Warning => warn!(target: "librdkafka", "{fac}: {log_message}"),
            L::Notice | L::Info => info!(target: "librdkafka", "{fac}: {log_message}"),
            L::Debug => debug!(target: "librdkafka", "{fac}: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        warn!(target: "librdkafka", "{error}: {reason}");
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        crate::metrics::kafka_lag(&self.stats.metrics.gauges, &statistics);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            info!("partitions revoked: {}", describe(partitions));
            // Every stored offset belongs to a delivered batch: commit it while we still can.
            commit(consumer, CommitMode::Sync);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            info!("partitions assigned: {}", describe(partitions));
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => warn!("offset commit failed (the next commit covers it): {e}"),
        }
    }
}

fn describe(partitions: &TopicPartitionList) -> String {
    let list: Vec<String> = partitions
        .elements()
        .iter()
        .map(|e| format!("{}[{}]", e.topic(), e.partition()))
        .collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

fn commit(consumer: &BaseConsumer<GroupContext>, mode: CommitMode) {
    match consumer.commit_consumer_state(mode) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => warn!("offset commit failed: {e}"),
    }
}

/// Why a record failed, for the live page: the dead letter's reason, or the error result
/// sent in its place.
fn failure_text(out: &Outgoing) -> String {
    match &out.kind {
        Kind::DeadLetter { reason, .. } => reason.clone(),
        _ => String::from_utf8_lossy(&out.payload).trim_end().to_string(),
    }
}

/// Collects the broker's acknowledgements; the opaque is the record's index in its batch.
#[derive(Default)]
struct Acks(Mutex<Vec<(usize, Option<KafkaError>)>>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let error = result.as_ref().err().map(|(e, _)| e.clone());
        if let Ok(mut acks) = self.0.lock() {
            acks.push((index, error));
        }
    }
}

/// Whether the broker (or the producer itself) refused a record for good: sending the same
/// record again cannot succeed.
fn is_permanent(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        error.rdkafka_error_code(),
        Some(
            C::MessageSizeTooLarge
                | C::MessageBatchTooLarge
                | C::InvalidMessageSize
                | C::InvalidMessage
                | C::InvalidRecord
                | C::InvalidTimestamp
                | C::UnsupportedForMessageFormat
                | C::PolicyViolation
                | C::BadMessage
        )
    )
}

/// Whether a refusal was for the record's size.
fn is_too_large(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        error.rdkafka_error_code(),
        Some(C::MessageSizeTooLarge | C::MessageBatchTooLarge | C::InvalidMessageSize)
    )
}

/// The input record a result or dead letter answers.
#[derive(Default)]
struct Source {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    headers: Option<OwnedHeaders>,
    payload: Vec<u8>,
}

impl Source {
    fn position(&self) -> String {
        format!("{}[{}]@{}", self.topic, self.partition, self.offset)
    }
}

/// What an [`Outgoing`] record is.
enum Kind {
    /// A result, to the output topic.
    Result,
    /// An error result, to the output topic (no dead-letter topic).
    ErrorResult,
    /// A dead letter: `reason`, with at most `room` bytes of the input payload (and, when
    /// `bare`, none of the input's key and headers).
    DeadLetter {
        reason: String,
        room: usize,
        bare: bool,
    },
}

/// Where an [`Outgoing`] record stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Delivered,
    /// Refused in every form: logged and given up.
    Abandoned,
}

/// One record waiting for the broker's acknowledgement.
struct Outgoing {
    topic: String,
    key: Option<Vec<u8>>,
    headers: Option<OwnedHeaders>,
    payload: Vec<u8>,
    kind: Kind,
    state: State,
    source: Source,
}

/// Copies `headers` (a record's headers are borrowed from the consumer).
fn copy_headers<H: Headers>(headers: &H) -> OwnedHeaders {
    headers.iter().fold(OwnedHeaders::new(), |acc, header| {
        acc.insert(Header {
            key: header.key,
            value: header.value,
        })
    })
}

fn headers_len(headers: Option<&OwnedHeaders>) -> usize {
    headers.map_or(0, |h| {
        h.iter()
            .map(|x| x.key.len() + x.value.map_or(0, <[u8]>::len) + 16)
            .sum()
    })
}

impl Outgoing {
    /// A dead letter for `source`: its key, headers and as much of its payload as `room`
    /// allows (`bare`: no key or input headers at all), with the `timber-*` headers.
    fn dead_letter(topic: &str, source: Source, reason: String, room: usize, bare: bool) -> Self {
        let mut out = Outgoing {
            topic: topic.to_string(),
            key: None,
            headers: None,
            payload: Vec::new(),
            kind: Kind::DeadLetter { reason, room, bare },
            state: State::Pending,
            source,
        };
        out.build_dead_letter();
        out
    }

    /// Fills key, headers and payload from the source, as the dead letter's `kind` says.
    fn build_dead_letter(&mut self) {
        let Kind::DeadLetter { reason, room, bare } = &self.kind else {
            return;
        };
        let source = &self.source;
        let base = match (&source.headers, bare) {
            (Some(h), false) => h.clone(),
            _ => OwnedHeaders::new(),
        };
        let (partition, offset) = (source.partition.to_string(), source.offset.to_string());
        let mut headers = base
            .insert(Header {
                key: ERROR_HEADER,
                value: Some(reason.as_bytes()),
            })
            .insert(Header {
                key: SOURCE_TOPIC_HEADER,
                value: Some(source.topic.as_bytes()),
            })
            .insert(Header {
                key: SOURCE_PARTITION_HEADER,
                value: Some(partition.as_bytes()),
            })
            .insert(Header {
                key: SOURCE_OFFSET_HEADER,
                value: Some(offset.as_bytes()),
            });
        let key = if *bare { None } else { source.key.clone() };
        let fixed =
            RECORD_OVERHEAD + key.as_ref().map_or(0, Vec::len) + headers_len(Some(&headers));
        let room = room.saturating_sub(fixed);
        let kept = source.payload.len().min(room);
        if kept < source.payload.len() {
            let note = format!("kept {kept} of {} bytes", source.payload.len());
            headers = headers.insert(Header {
                key: TRUNCATED_HEADER,
                value: Some(note.as_bytes()),
            });
        }
        self.key = key;
        self.headers = Some(headers);
        self.payload = source.payload[..kept].to_vec();
    }

    fn bytes(&self) -> usize {
        self.payload.len() + self.source.payload.len() + headers_len(self.headers.as_ref())
    }
}

/// The next offset to read per (topic, partition): what a delivered batch stores.
type Offsets = BTreeMap<(String, i32), i64>;

/// This process's membership of the group: its consumer and producer.
struct Member {
    consumer: BaseConsumer<GroupContext>,
    producer: BaseProducer<Acks>,
    producer_config: ClientConfig,
    /// The producer's `message.max.bytes`: dead letters are cut to fit it.
    message_max_bytes: usize,
}

fn create_producer(config: &ClientConfig) -> Result<BaseProducer<Acks>> {
    config
        .create_with_context(Acks::default())
        .context("cannot create the Kafka producer (check the -X settings)")
}

impl Member {
    fn connect(args: &KafkaArgs, stats: Arc<Stats>) -> Result<Self> {
        let mut consumer_config = ClientConfig::new();
        consumer_config
            .set("bootstrap.servers", &args.brokers)
            .set("group.id", &args.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // Incremental rebalancing: members keep scoring the partitions they keep while
            // others move (and Tansu, the test broker, reassigns a dead member's partitions
            // correctly only with this protocol).
            .set("partition.assignment.strategy", "cooperative-sticky");
        if args.stream.http.is_some() {
            // Consumer lag for `/metrics` comes from librdkafka's statistics.
            consumer_config.set("statistics.interval.ms", "5000");
        }
        let mut producer_config = ClientConfig::new();
        producer_config
            .set("bootstrap.servers", &args.brokers)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5");
        for (key, value) in &args.settings {
            if let Some(k) = key.strip_prefix("consumer.") {
                consumer_config.set(k, value);
            } else if let Some(k) = key.strip_prefix("producer.") {
                producer_config.set(k, value);
            } else {
                consumer_config.set(key, value);
                producer_config.set(key, value);
            }
        }
        let consumer: BaseConsumer<GroupContext> = consumer_config
            .create_with_context(GroupContext { stats })
            .context("cannot create the Kafka consumer (check the -X settings)")?;
        let producer = create_producer(&producer_config)?;
        consumer
            .subscribe(&[&args.input_topic])
            .with_context(|| format!("cannot subscribe to {}", args.input_topic))?;
        info!(
            "consuming {} as group {} from {}; results to {}{}",
            args.input_topic,
            args.group,
            args.brokers,
            args.output_topic,
            args.dead_letter_topic
                .as_deref()
                .map(|t| format!(", dead letters to {t}"))
                .unwrap_or_default()
        );
        let message_max_bytes = producer_config
            .get("message.max.bytes")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);
        Ok(Member {
            consumer,
            producer,
            producer_config,
            message_max_bytes,
        })
    }

    fn run<M: Model>(
        mut self,
        codec: &Codec<'_, M>,
        args: &KafkaArgs,
        shutdown: &Shutdown,
        stats: &Stats,
        mut sinks: Sinks,
    ) -> Result<()> {
        let mut scratch = codec.scratch();
        // Delivered batches whose rows the sinks have not all confirmed: (batch number,
        // the offsets to store once they have).
        let mut unconfirmed: VecDeque<(u64, Offsets)> = VecDeque::new();
        let mut sink_rows: Vec<SinkRow> = Vec::new();
        let mut batch: Vec<Outgoing> = Vec::new();
        let mut done: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let max = args.batch_size.max(1);
        // The error result a refused result becomes when there is no dead-letter topic.
        let error_result = |reason: &str| {
            let mut text = Vec::new();
            codec.write_failure(
                &crate::codec::RowFailure {
                    id: None,
                    reason: reason.to_string(),
                },
                &mut text,
            );
            text
        };
        while !shutdown.is_set() {
            batch.clear();
            done.clear();
            let mut wait = Duration::from_millis(100);
            let (mut scored, mut failed) = (0, 0);
            let mut scoring = Duration::ZERO;
            let mut sample = Sample::for_codec(codec);
            let mut held = 0usize;
            while batch.len() < max && held < args.max_batch_bytes {
                let message = match self.consumer.poll(wait) {
                    None => break,
                    Some(Err(e)) => {
                        warn!("consumer: {e}");
                        break;
                    }
                    Some(Ok(m)) => m,
                };
                wait = Duration::ZERO;
                let position = (message.topic().to_string(), message.partition());
                done.insert(position, message.offset() + 1);
                let started = Instant::now();
                let out = self.score(
                    &message,
                    codec,
                    &mut scratch,
                    args,
                    &mut sink_rows,
                    sinks.is_active(),
                );
                scoring += started.elapsed();
                let key = message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned());
                match out.kind {
                    Kind::Result => {
                        scored += 1;
                        sample.scratch_row(key, &scratch);
                    }
                    _ => {
                        failed += 1;
                        sample.error(key, &failure_text(&out));
                    }
                }
                held += out.bytes();
                batch.push(out);
            }
            if batch.is_empty() {
                self.store_confirmed(&mut unconfirmed, &sinks);
                continue;
            }
            let refused = self.deliver(&mut batch, args, shutdown, &error_result)?;
            stats.record_batch(scored - refused, failed + refused, scoring);
            stats.metrics.commit(sample);
            if sinks.is_active() {
                for (out, row) in batch.iter().zip(sink_rows.iter_mut()) {
                    (row.partition, row.offset) =
                        (Some(out.source.partition), Some(out.source.offset));
                }
                let number = sinks.send(std::mem::take(&mut sink_rows))?;
                unconfirmed.push_back((number, std::mem::take(&mut done)));
                self.store_confirmed(&mut unconfirmed, &sinks);
            } else {
                self.store(&done);
                commit(&self.consumer, CommitMode::Async);
            }
        }
        if sinks.is_active() {
            info!("stopping: writing the rows the sinks still wait for");
            match sinks.finish(Some(STOP_GRACE)) {
                Ok(()) => {
                    for (_, done) in unconfirmed.drain(..) {
                        self.store(&done);
                    }
                }
                Err(e) => warn!(
                    "{}; the offsets of those rows are not committed, so the group scores \
                     them again",
                    crate::error_message(&e)
                ),
            }
        }
        info!("stopping: committing offsets and leaving the group");
        commit(&self.consumer, CommitMode::Sync);
        if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
            warn!("producer flush: {e}");
        }
        self.consumer.unsubscribe();
        let (scored, failed) = stats.totals();
        info!("done: {scored} rows scored, {failed} errors");
        Ok(())
    }

    /// Scores one record; returns what to produce.
    fn score<M: Model>(
        &self,
        message: &BorrowedMessage<'_>,
        codec: &Codec<'_, M>,
        scratch: &mut crate::codec::Scratch<M>,
        args: &KafkaArgs,
        sink_rows: &mut Vec<SinkRow>,
        to_sinks: bool,
    ) -> Outgoing {
        let source = Source {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            headers: message.headers().map(copy_headers),
            payload: message.payload().unwrap_or_default().to_vec(),
        };
        let mut result = Vec::with_capacity(32);
        let outcome = match message.payload() {
            Some(payload) => codec.score_id(
                payload.strip_suffix(b"\n").unwrap_or(payload),
                scratch,
                &mut result,
            ),
            None => Err(crate::codec::RowFailure {
                id: None,
                reason: "the record has no value".to_string(),
            }),
        };
        if to_sinks {
            // The Kafka key, else the JSON "id", else the record's position.
            let key = match &source.key {
                Some(k) => String::from_utf8_lossy(k).into_owned(),
                None => {
                    let id = match &outcome {
                        Ok(id) => id.as_ref(),
                        Err(f) => f.id.as_ref(),
                    };
                    crate::sink::row_key(id, || source.position())
                }
            };
            let now = crate::sink::now_micros();
            sink_rows.push(match &outcome {
                Ok(_) => SinkRow::scored(key, now, codec.printed(scratch)),
                Err(f) => SinkRow::failed(key, now, &f.reason),
            });
        }
        let (payload, kind) = match outcome {
            Ok(_) => (result, Kind::Result),
            Err(failure) => {
                debug!("{}: {}", source.position(), failure.reason);
                match &args.dead_letter_topic {
                    Some(dead) => {
                        return Outgoing::dead_letter(
                            dead,
                            source,
                            failure.reason,
                            self.message_max_bytes,
                            false,
                        )
                    }
                    None => {
                        codec.write_failure(&failure, &mut result);
                        (result, Kind::ErrorResult)
                    }
                }
            }
        };
        Outgoing {
            topic: args.output_topic.clone(),
            key: source.key.clone(),
            headers: source.headers.clone(),
            payload,
            kind,
            state: State::Pending,
            source,
        }
    }

    /// Sends every pending record of `batch` and waits until the broker has taken all of
    /// them: a transient refusal is sent again; a permanent one is handled by
    /// [`Member::refused_for_good`]. Returns how many results became errors.
    fn deliver(
        &mut self,
        batch: &mut [Outgoing],
        args: &KafkaArgs,
        shutdown: &Shutdown,
        error_result: &dyn Fn(&str) -> Vec<u8>,
    ) -> Result<u64> {
        let mut stop_deadline: Option<Instant> = None;
        let mut refusing_since: Option<Instant> = None;
        let mut attempt = 0u32;
        let mut became_errors = 0u64;
        loop {
            let mut in_flight = 0usize;
            for (index, out) in batch
                .iter()
                .enumerate()
                .filter(|(_, o)| o.state == State::Pending)
            {
                self.send(index, out);
                in_flight += 1;
            }
            if in_flight == 0 {
                return Ok(became_errors);
            }
            let (mut transient, mut permanent) = (0usize, 0usize);
            while in_flight > 0 {
                self.producer.poll(Duration::from_millis(100));
                let acks = match self.producer.context().0.lock() {
                    Ok(mut acks) => std::mem::take(&mut *acks),
                    Err(_) => bail!("the delivery report lock is poisoned"),
                };
                for (index, error) in acks {
                    in_flight -= 1;
                    let Some(out) = batch.get_mut(index) else {
                        continue;
                    };
                    match error {
                        None => out.state = State::Delivered,
                        Some(e) if is_permanent(&e) => {
                            permanent += 1;
                            if self.refused_for_good(out, &e, args, error_result) {
                                became_errors += 1;
                            }
                        }
                        Some(e) => {
                            transient += 1;
                            if transient == 1 {
                                warn!("the broker did not take a result ({e}); sending it again");
                            }
                        }
                    }
                }
            }
            if transient == 0 {
                // Everything was taken, or refused for good and rebuilt: send those at once.
                if permanent == 0 {
                    return Ok(became_errors);
                }
                continue;
            }
            if shutdown.is_set() {
                let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + STOP_GRACE);
                if Instant::now() > deadline {
                    bail!(
                        "stopped with {transient} results the broker would not take; their input \
                         offsets were not committed, so the group scores those records again"
                    );
                }
            }
            let since = *refusing_since.get_or_insert_with(Instant::now);
            let fatal = self.producer.client().fatal_error();
            if fatal.is_some() || since.elapsed() > PRODUCER_RESET_AFTER {
                warn!(
                    "replacing the producer ({})",
                    fatal.map_or("refused for too long".to_string(), |(code, why)| {
                        format!("fatal error {code}: {why}")
                    })
                );
                // Dropping the old producer purges what it still holds; those results are
                // sent again by the new one.
                self.producer = create_producer(&self.producer_config)?;
                refusing_since = None;
                attempt = 0;
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt.min(10))));
        }
    }

    /// Handles a record the broker refused for good: a result becomes a dead letter (or an
    /// error result); a dead letter that is too large is cut smaller, down to its `timber-*`
    /// headers; anything else is logged and given up. Returns whether a result became an
    /// error.
    fn refused_for_good(
        &self,
        out: &mut Outgoing,
        error: &KafkaError,
        args: &KafkaArgs,
        error_result: &dyn Fn(&str) -> Vec<u8>,
    ) -> bool {
        let at = out.source.position();
        match &mut out.kind {
            Kind::Result => {
                let reason = format!("the broker refused the result for good: {error}");
                warn!("{at}: {reason}");
                match &args.dead_letter_topic {
                    Some(dead) => {
                        let source = std::mem::take(&mut out.source);
                        *out = Outgoing::dead_letter(
                            dead,
                            source,
                            reason,
                            self.message_max_bytes,
                            false,
                        );
                    }
                    None => {
                        out.payload = error_result(&reason);
                        out.kind = Kind::ErrorResult;
                    }
                }
                true
            }
            Kind::DeadLetter { room, bare, .. }
                if is_too_large(error) && (!out.payload.is_empty() || !*bare) =>
            {
                if out.payload.is_empty() {
                    warn!("{at}: the dead letter is too large even without its payload ({error}); sending it with only its timber-* headers");
                    *bare = true;
                } else {
                    // The topic's limit is below the producer's: halve until it fits.
                    *room = (*room).min(out.payload.len() + RECORD_OVERHEAD) / 2;
                    debug!("{at}: dead letter too large ({error}); cutting it to {room} bytes");
                }
                out.build_dead_letter();
                false
            }
            Kind::DeadLetter { .. } | Kind::ErrorResult => {
                tracing::error!(
                    "{at}: the broker refused every form of this record's {} ({error}); giving it up",
                    if matches!(out.kind, Kind::ErrorResult) { "error result" } else { "dead letter" }
                );
                out.state = State::Abandoned;
                false
            }
        }
    }

    fn send(&self, index: usize, out: &Outgoing) {
        loop {
            let mut record = BaseRecord::with_opaque_to(&out.topic, index).payload(&out.payload);
            if let Some(key) = &out.key {
                record = record.key(key);
            }
            if let Some(headers) = &out.headers {
                record = record.headers(headers.clone());
            }
            match self.producer.send(record) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => {
                    // Not retryable by waiting (e.g. too large): report it like a refusal.
                    self.producer
                        .context()
                        .0
                        .lock()
                        .map(|mut acks| acks.push((index, Some(e))))
                        .unwrap_or(());
                    return;
                }
            }
        }
    }

    /// Stores (and commits) the offsets of the delivered batches every sink has confirmed.
    fn store_confirmed(&self, unconfirmed: &mut VecDeque<(u64, Offsets)>, sinks: &Sinks) {
        let confirmed = sinks.confirmed();
        let mut stored = false;
        while unconfirmed.front().is_some_and(|(n, _)| *n <= confirmed) {
            if let Some((_, done)) = unconfirmed.pop_front() {
                self.store(&done);
                stored = true;
            }
        }
        if stored {
            commit(&self.consumer, CommitMode::Async);
        }
    }

    /// Stores the next offset to read for every partition of a delivered batch.
    fn store(&self, done: &BTreeMap<(String, i32), i64>) {
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in done {
            if let Err(e) = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next)) {
                warn!("{topic}[{partition}]: {e}");
            }
        }
        if let Err(e) = self.consumer.store_offsets(&offsets) {
            // A partition revoked while its batch was out: its new owner re-reads the batch.
            info!("offsets not stored ({e}); the partition's new owner scores those records again");
        }
    }
}
