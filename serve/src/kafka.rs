//! `serve kafka`: a member of a Kafka consumer group that scores every record of the input
//! topic and produces the result to the output topic, under the input's key and headers.
//!
//! Delivery is at-least-once and nothing is lost: records are taken in batches, each batch
//! is scored and handed to the producer at once, and the input offsets of a batch are
//! stored and committed only after the broker acknowledged every result (or dead letter)
//! of it. A result the broker refuses is sent again until it is accepted. Before the group
//! takes partitions away (rebalance), and on SIGTERM, the finished offsets are committed
//! synchronously. A record that cannot be decoded goes to the dead-letter topic (its
//! payload, key and headers unchanged, plus a `timber-error` header), or, without one, an
//! error result goes to the output topic; either way its offset is committed like any other.

use crate::codec::Codec;
use crate::metrics::Sample;
use crate::stream::{Shutdown, Stats, StreamArgs};
use anyhow::{bail, Context, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timber_runtime::Model;
use tracing::{debug, info, warn};

/// The header a dead letter carries: why its record could not be scored.
pub const ERROR_HEADER: &str = "timber-error";

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
) -> Result<()> {
    // librdkafka's calls block: the scoring loop gets a thread of its own.
    tokio::task::spawn_blocking(move || {
        Member::connect(&args, stats.clone())?.run(&codec, &args, &shutdown, &stats)
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

/// Why a record failed, for the live page: the dead letter's error header, or the error
/// result sent in its place.
fn failure_text(out: &Outgoing) -> String {
    let header = out.headers.as_ref().and_then(|h| {
        h.iter()
            .find(|header| header.key == ERROR_HEADER)
            .and_then(|header| header.value)
    });
    String::from_utf8_lossy(header.unwrap_or(&out.payload)).into_owned()
}

/// Collects the broker's acknowledgements; the opaque is the record's index in its batch.
#[derive(Default)]
struct Acks(Mutex<Vec<(usize, Option<String>)>>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let error = result.as_ref().err().map(|(e, _)| e.to_string());
        if let Ok(mut acks) = self.0.lock() {
            acks.push((index, error));
        }
    }
}

/// One result waiting for the broker's acknowledgement.
struct Outgoing {
    topic: String,
    key: Option<Vec<u8>>,
    headers: Option<OwnedHeaders>,
    payload: Vec<u8>,
    delivered: bool,
}

/// This process's membership of the group: its consumer and producer.
struct Member {
    consumer: BaseConsumer<GroupContext>,
    producer: BaseProducer<Acks>,
    producer_config: ClientConfig,
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
        Ok(Member {
            consumer,
            producer,
            producer_config,
        })
    }

    fn run<M: Model>(
        mut self,
        codec: &Codec<'_, M>,
        args: &KafkaArgs,
        shutdown: &Shutdown,
        stats: &Stats,
    ) -> Result<()> {
        let mut scratch = codec.scratch();
        let mut batch: Vec<Outgoing> = Vec::new();
        let mut done: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let max = args.batch_size.max(1);
        while !shutdown.is_set() {
            batch.clear();
            done.clear();
            let mut wait = Duration::from_millis(100);
            let (mut scored, mut failed) = (0, 0);
            let mut scoring = Duration::ZERO;
            let mut sample = Sample::for_codec(codec);
            while batch.len() < max {
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
                let out = self.score(&message, codec, &mut scratch, args);
                scoring += started.elapsed();
                let key = message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned());
                match out.1 {
                    true => {
                        scored += 1;
                        sample.scratch_row(key, &scratch);
                    }
                    false => {
                        failed += 1;
                        sample.error(key, &failure_text(&out.0));
                    }
                }
                batch.push(out.0);
            }
            if batch.is_empty() {
                continue;
            }
            self.deliver(&mut batch, shutdown)?;
            stats.record_batch(scored, failed, scoring);
            stats.metrics.commit(sample);
            self.store(&done);
            commit(&self.consumer, CommitMode::Async);
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

    /// Scores one record; returns what to produce and whether it was scored.
    fn score<M: Model>(
        &self,
        message: &BorrowedMessage<'_>,
        codec: &Codec<'_, M>,
        scratch: &mut crate::codec::Scratch<M>,
        args: &KafkaArgs,
    ) -> (Outgoing, bool) {
        let mut headers = message.headers().map(|h| {
            h.iter().fold(OwnedHeaders::new(), |acc, header| {
                acc.insert(Header {
                    key: header.key,
                    value: header.value,
                })
            })
        });
        let key = message.key().map(<[u8]>::to_vec);
        let payload = message.payload().unwrap_or_default();
        let mut result = Vec::with_capacity(32);
        let outcome = match message.payload() {
            Some(_) => codec.score(
                payload.strip_suffix(b"\n").unwrap_or(payload),
                scratch,
                &mut result,
            ),
            None => Err(crate::codec::RowFailure {
                id: None,
                reason: "the record has no value".to_string(),
            }),
        };
        let (topic, payload, ok) = match outcome {
            Ok(()) => (args.output_topic.clone(), result, true),
            Err(failure) => {
                debug!(
                    "{}[{}]@{}: {}",
                    message.topic(),
                    message.partition(),
                    message.offset(),
                    failure.reason
                );
                match &args.dead_letter_topic {
                    Some(dead) => {
                        let with_error = headers.take().unwrap_or_default().insert(Header {
                            key: ERROR_HEADER,
                            value: Some(failure.reason.as_bytes()),
                        });
                        headers = Some(with_error);
                        (dead.clone(), payload.to_vec(), false)
                    }
                    None => {
                        codec.write_failure(&failure, &mut result);
                        (args.output_topic.clone(), result, false)
                    }
                }
            }
        };
        let outgoing = Outgoing {
            topic,
            key,
            headers,
            payload,
            delivered: false,
        };
        (outgoing, ok)
    }

    /// Sends every undelivered record of `batch` and waits until the broker has taken all
    /// of them, sending refused ones again.
    fn deliver(&mut self, batch: &mut [Outgoing], shutdown: &Shutdown) -> Result<()> {
        let mut stop_deadline: Option<Instant> = None;
        let mut refusing_since: Option<Instant> = None;
        let mut attempt = 0u32;
        loop {
            let mut in_flight = 0usize;
            for (index, out) in batch.iter().enumerate().filter(|(_, o)| !o.delivered) {
                self.send(index, out);
                in_flight += 1;
            }
            if in_flight == 0 {
                return Ok(());
            }
            let mut refused = 0usize;
            while in_flight > 0 {
                self.producer.poll(Duration::from_millis(100));
                let acks = match self.producer.context().0.lock() {
                    Ok(mut acks) => std::mem::take(&mut *acks),
                    Err(_) => bail!("the delivery report lock is poisoned"),
                };
                for (index, error) in acks {
                    in_flight -= 1;
                    match (error, batch.get_mut(index)) {
                        (None, Some(out)) => out.delivered = true,
                        (Some(e), _) => {
                            refused += 1;
                            if refused == 1 {
                                warn!("the broker did not take a result ({e}); sending it again");
                            }
                        }
                        (None, None) => {}
                    }
                }
            }
            if refused == 0 {
                return Ok(());
            }
            if shutdown.is_set() {
                let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + STOP_GRACE);
                if Instant::now() > deadline {
                    bail!(
                        "stopped with {refused} results the broker would not take; their input \
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
                        .map(|mut acks| acks.push((index, Some(e.to_string()))))
                        .unwrap_or(());
                    return;
                }
            }
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
