//! `serve kafka` against a real Kafka-protocol broker (Tansu, installed by
//! `scripts/kafka-broker.sh install`; each test starts its own on a free port): every good
//! row's prediction arrives bit-exact under its key with its headers, every bad row lands in
//! the dead-letter topic; a restarted scorer resumes from the committed offset; two scorers
//! share a group and one is killed; the broker goes away mid-stream and comes back.
//! Every test runs under a deadline.

mod common;

use common::*;
use rdkafka::producer::BaseProducer;
use std::collections::BTreeMap;
use std::time::Duration;
use timber_stream_tests::kafka::{self, big_producer, consume, producer, Broker, Got, Postgres};

/// The longest any one test may run.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs `test` on a thread and fails if it has not finished within [`DEADLINE`].
fn with_deadline(test: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        test();
        let _ = tx.send(());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(()) => handle.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(_) => panic!("test did not finish within {DEADLINE:?}"),
    }
}

/// One input record: key, value, and a header naming it.
#[derive(Clone)]
struct Row {
    key: String,
    value: String,
    /// Index into the fixture's expected predictions; `None` for a malformed row.
    expected: Option<usize>,
}

/// The fixture rows keyed `row-N`, with malformed rows keyed `bad-N` mixed in.
fn input_rows(repeat: usize, bad_every: usize) -> Vec<Row> {
    let rows = rows("binary_logistic", "input.csv");
    let mut out = Vec::new();
    for i in 0..rows.len() * repeat {
        if bad_every > 0 && i % bad_every == bad_every - 1 {
            out.push(Row {
                key: format!("bad-{i}"),
                value: format!("not,a,row,{i}"),
                expected: None,
            });
        }
        out.push(Row {
            key: format!("row-{i}"),
            value: rows[i % rows.len()].clone(),
            expected: Some(i % rows.len()),
        });
    }
    out
}

/// Produces rows with their keys, and a `trace` header holding the key.
fn produce(producer: &BaseProducer, topic: &str, rows: &[Row]) {
    kafka::produce(
        producer,
        topic,
        rows.iter().map(|r| (r.key.as_str(), r.value.as_str())),
    );
}

/// Asserts every good row has its bit-exact prediction (and its header) in `out`, and
/// every malformed row is in `dead` with an error header.
fn check_results(
    rows: &[Row],
    out: &BTreeMap<String, Vec<Got>>,
    dead: &BTreeMap<String, Vec<Got>>,
) {
    let want = expected("binary_logistic", "expected.csv");
    let mut missing = Vec::new();
    for row in rows {
        match row.expected {
            Some(i) => match out.get(&row.key) {
                None => missing.push(row.key.clone()),
                Some(records) => {
                    for r in records {
                        assert_bits(&row.key, &parse_floats(&r.value), &want[i]);
                        assert_eq!(r.headers.get("trace"), Some(&row.key), "headers kept");
                    }
                }
            },
            None => match dead.get(&row.key) {
                None => missing.push(row.key.clone()),
                Some(records) => {
                    let r = &records[0];
                    assert_eq!(r.value, row.value, "a dead letter carries the input");
                    assert_eq!(r.headers.get("trace"), Some(&row.key));
                    let err = r.headers.get("timber-error").expect("error header");
                    assert!(err.contains("expected 8 columns, found 4"), "{err}");
                }
            },
        }
    }
    assert!(
        missing.is_empty(),
        "{} rows without a result, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        !out.keys().any(|k| k.starts_with("bad-")),
        "a bad row reached the output topic"
    );
}

fn scorer(broker: &str, group: &str, extra: &[&str]) -> Scorer {
    let mut args = vec!["--dead-letter-topic", "dead", "--stats-interval", "1"];
    args.extend_from_slice(extra);
    Scorer::start(
        scorer_bin("binary"),
        &serve_kafka_args(broker, group, &args),
    )
}

fn topics(broker: &Broker, input_partitions: u32) {
    broker.create_topic("in", input_partitions);
    broker.create_topic("out", 3);
    broker.create_topic("dead", 1);
}

fn good(rows: &[Row]) -> usize {
    rows.iter().filter(|r| r.expected.is_some()).count()
}

/// For a test whose broker goes away: [`topics`] on `broker`, and a scorer in `group` that
/// retries the broker at least every 0.5 s, once it has its partitions; and the address.
fn outage_scorer(broker: &Broker, group: &str) -> (String, Scorer) {
    topics(broker, 3);
    let addr = broker.addr();
    let mut s = scorer(&addr, group, &["-X", "reconnect.backoff.max.ms=500"]);
    s.wait_for_log("partitions assigned: in[", Duration::from_secs(60));
    (addr, s)
}

/// A broker of the test's own with [`topics`]; and its address.
fn broker_with_topics(input_partitions: u32) -> (Broker, String) {
    let broker = Broker::start();
    topics(&broker, input_partitions);
    let addr = broker.addr();
    (broker, addr)
}

/// A broker with [`topics`] and `rows` produced to `in`; and its address.
fn broker_fed(input_partitions: u32, rows: &[Row]) -> (Broker, String) {
    let (broker, addr) = broker_with_topics(input_partitions);
    produce(&producer(&addr), "in", rows);
    (broker, addr)
}

/// What the scorer `s` made of `rows`: the output topic once every good row's result is in
/// it (or `wait` passed) and the dead-letter topic once every bad row's letter is (or 30 s
/// passed). Prints the scorer's log when results are missing, for the failure to show why.
fn results(
    addr: &str,
    rows: &[Row],
    s: &Scorer,
    wait: Duration,
) -> (BTreeMap<String, Vec<Got>>, BTreeMap<String, Vec<Got>>) {
    let out = consume(addr, "out", good(rows), wait);
    let dead = consume(
        addr,
        "dead",
        rows.len() - good(rows),
        Duration::from_secs(30),
    );
    if out.len() < good(rows) {
        eprintln!("scorer log:\n{}", s.log());
    }
    (out, dead)
}

/// The output topic once `want` records are in it (or 90 s passed); prints the scorer's log
/// when fewer came, for the failure to show why.
fn consume_out(addr: &str, want: usize, s: &Scorer) -> BTreeMap<String, Vec<Got>> {
    let out = consume(addr, "out", want, Duration::from_secs(90));
    if out.len() < want {
        eprintln!("scorer log:\n{}", s.log());
    }
    out
}

/// Asserts the scorer is still running (while its broker is away).
fn assert_alive(s: &mut Scorer) {
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "the scorer died with the broker:\n{}",
        s.log()
    );
}

/// Asserts the scorer's log holds one of `signs` (`what` says what that shows).
fn assert_logged_any(s: &Scorer, signs: &[&str], what: &str) {
    let log = s.log();
    assert!(
        signs.iter().any(|sign| log.contains(sign)),
        "{what}:\n{log}"
    );
}

/// Stops the scorer with SIGTERM and asserts it exits cleanly within 60 s.
fn stop(s: &mut Scorer) {
    s.signal("TERM");
    let status = s.wait(Duration::from_secs(60));
    assert!(status.success(), "{status}\n{}", s.log());
}

#[test]
fn every_row_scored_under_its_key_and_bad_rows_dead_lettered() {
    with_deadline(|| {
        let rows = input_rows(3, 50);
        let (_broker, addr) = broker_fed(3, &rows);
        let mut s = scorer(&addr, "g1", &[]);
        let (out, dead) = results(&addr, &rows, &s, Duration::from_secs(90));
        check_results(&rows, &out, &dead);
        stop(&mut s);
        s.assert_logged("leaving the group");
    });
}

#[test]
fn without_a_dead_letter_topic_errors_go_to_the_output_topic() {
    with_deadline(|| {
        let rows = input_rows(1, 20);
        let (_broker, addr) = broker_fed(1, &rows);
        let args = serve_kafka_args(&addr, "g", &["--format", "csv"]);
        let _s = Scorer::start(scorer_bin("binary"), &args);
        let out = consume(&addr, "out", rows.len(), Duration::from_secs(90));
        assert_eq!(out.len(), rows.len());
        for row in rows.iter().filter(|r| r.expected.is_none()) {
            assert_eq!(out[&row.key][0].value, "error: expected 8 columns, found 4");
        }
    });
}

#[test]
fn a_restarted_scorer_resumes_from_the_committed_offset() {
    with_deadline(|| {
        let (_broker, addr) = broker_with_topics(3);
        let rows = input_rows(2, 0);
        let (first, second) = rows.split_at(rows.len() / 2);
        let p = producer(&addr);
        produce(&p, "in", first);
        let mut s = scorer(&addr, "resume", &[]);
        let out = consume(&addr, "out", first.len(), Duration::from_secs(90));
        assert_eq!(out.len(), first.len());
        stop(&mut s);

        produce(&p, "in", second);
        let _s2 = scorer(&addr, "resume", &[]);
        let out = consume(&addr, "out", rows.len(), Duration::from_secs(90));
        check_results(&rows, &out, &BTreeMap::new());
        // A clean stop committed everything: the first half was not scored again.
        let again: Vec<&String> = first
            .iter()
            .map(|r| &r.key)
            .filter(|k| out[*k].len() > 1)
            .collect();
        assert!(
            again.is_empty(),
            "{} rows scored twice, e.g. {:?}",
            again.len(),
            again.first()
        );
    });
}

/// Whether a scorer (started with `consumer.debug=cgrp` and librdkafka debug logs) is its
/// group's leader, by the last JoinGroup response it logged.
fn is_group_leader(scorer: &Scorer) -> bool {
    let log = scorer.log();
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("JoinGroup response: GenerationId") && !l.contains("GenerationId -1"))
        .unwrap_or_else(|| panic!("no JoinGroup response logged:\n{log}"));
    last.contains("(me), my MemberId")
}

#[test]
fn two_scorers_share_the_work_and_survive_one_being_killed() {
    with_deadline(|| {
        let (_broker, addr) = broker_with_topics(4);
        let group_args = [
            "-X",
            "consumer.session.timeout.ms=6000",
            "-X",
            "consumer.heartbeat.interval.ms=500",
            // librdkafka's group log, to tell which member leads the group (below).
            "-X",
            "consumer.debug=cgrp",
        ];
        let start = |_| {
            let mut extra = vec!["--dead-letter-topic", "dead", "--stats-interval", "1"];
            extra.extend_from_slice(&group_args);
            let args = serve_kafka_args(&addr, "pair", &extra);
            Scorer::start_logged(scorer_bin("binary"), &args, "info,librdkafka=debug")
        };
        let mut scorers = [start(0), start(1)];
        // Both members hold partitions before any row arrives.
        for s in &mut scorers {
            s.wait_for_log("partitions assigned: in[", Duration::from_secs(60));
        }
        let rows = input_rows(6, 0);
        let (early, late) = rows.split_at(rows.len() / 3);
        let p = producer(&addr);
        produce(&p, "in", early);
        let out = consume(&addr, "out", early.len(), Duration::from_secs(90));
        assert_eq!(out.len(), early.len());
        // Tansu 0.6.0 does not hand a dead leader's role to a survivor (its group stays
        // stuck in the rebalance), which real Kafka does: kill the member that does not lead.
        let victim = if is_group_leader(&scorers[0]) { 1 } else { 0 };
        scorers[victim].signal("KILL");
        scorers[victim].wait(Duration::from_secs(10));
        let survivor = &mut scorers[1 - victim];
        produce(&p, "in", late);
        let out = consume(&addr, "out", rows.len(), Duration::from_secs(120));
        if out.len() < rows.len() {
            eprintln!("survivor's log:\n{}", survivor.log());
        }
        check_results(&rows, &out, &BTreeMap::new());
        stop(survivor);
    });
}

#[test]
fn a_broker_outage_mid_stream_loses_nothing() {
    with_deadline(|| {
        // Tansu's in-memory engine forgets everything when its process stops, and its SQLite
        // engine panics on restart (tansu-storage 0.6.0, service.rs:337); so the outage is
        // made on the network: every connection to the broker is reset and refused for a
        // while, exactly what the scorer sees while a real broker restarts.
        let broker = Broker::start_cuttable();
        let (addr, mut s) = outage_scorer(&broker, "outage");
        let rows = input_rows(6, 40);
        let (early, late) = rows.split_at(rows.len() / 2);
        produce(&producer(&addr), "in", early);
        // Down while the scorer is busy with the first half.
        let cut = broker.cut.as_ref().unwrap();
        cut.cut();
        std::thread::sleep(Duration::from_secs(5));
        assert_alive(&mut s);
        cut.restore();
        produce(&producer(&addr), "in", late);
        let (out, dead) = results(&addr, &rows, &s, Duration::from_secs(90));
        check_results(&rows, &out, &dead);
        assert_logged_any(
            &s,
            &["AllBrokersDown", "Disconnected"],
            "the outage was seen",
        );
        stop(&mut s);
    });
}

#[test]
fn an_oversized_undecodable_record_is_dead_lettered_cut_to_fit_and_the_partition_moves_on() {
    with_deadline(|| {
        // A 1.2 MB record that is no row: its dead letter is larger than the producer's
        // `message.max.bytes` (1 MB). It used to be refused and retried forever: no later
        // row of the partition was answered, nothing committed, SIGTERM exited 1.
        let (_broker, addr) = broker_with_topics(1);
        let rows = input_rows(1, 0);
        let (before, after) = rows.split_at(10);
        let big = "x".repeat(1_200_000);
        produce(&producer(&addr), "in", before);
        kafka::produce(&big_producer(&addr), "in", [("big", big.as_str())]);
        let mut s = scorer(&addr, "oversized", &[]);
        let out = consume(&addr, "out", before.len(), Duration::from_secs(90));
        assert_eq!(out.len(), before.len(), "{}", s.log());
        // Rows that arrive after the big record's batch are answered too.
        produce(&producer(&addr), "in", after);
        let out = consume_out(&addr, rows.len(), &s);
        let dead = consume(&addr, "dead", 1, Duration::from_secs(30));
        check_results(&rows, &out, &BTreeMap::new());
        let letter = &dead.get("big").expect("a dead letter for the big record")[0];
        let h = &letter.headers;
        assert_eq!(
            h.get("trace").map(String::as_str),
            Some("big"),
            "input headers kept"
        );
        assert!(
            h["timber-error"].contains("expected 8 columns, found 1"),
            "{h:?}"
        );
        assert_eq!(h["timber-source-topic"], "in");
        assert_eq!(h["timber-source-partition"], "0");
        assert_eq!(h["timber-source-offset"], "10");
        let kept = letter.value.len();
        assert!(kept > 900_000 && kept < 1_000_000, "kept {kept} bytes");
        assert!(
            big.starts_with(&letter.value),
            "the payload's start is kept"
        );
        assert_eq!(
            h["timber-payload-truncated"],
            format!("kept {kept} of 1200000 bytes")
        );
        stop(&mut s);
    });
}

#[test]
fn a_result_refused_for_good_is_dead_lettered_counted_and_the_partition_moves_on() {
    with_deadline(|| {
        // The producer takes records of at most 2,000 bytes; one JSON row carries a
        // 5,000-byte id, which its result repeats. That result can never be delivered: it
        // is dead-lettered (with the input cut to fit) and counted as an error.
        let (_broker, addr) = broker_with_topics(1);
        let cells = rows("binary_logistic", "input.csv");
        // A JSON object by feature name, with an id.
        let json_row = |i: usize, id: &str| {
            let mut object = serde_json::Map::new();
            object.insert("id".into(), id.into());
            for (j, c) in cells[i].split(',').enumerate() {
                if !c.is_empty() {
                    object.insert(format!("f{j}"), c.parse::<f64>().unwrap().into());
                }
            }
            serde_json::Value::Object(object).to_string()
        };
        let long_id = "i".repeat(5_000);
        let mut records: Vec<(String, String)> = (0..20)
            .map(|i| (format!("row-{i}"), json_row(i, &format!("r{i}"))))
            .collect();
        records.insert(10, ("huge-id".to_string(), json_row(10, &long_id)));
        kafka::produce(
            &big_producer(&addr),
            "in",
            records.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let args = serve_kafka_args(
            &addr,
            "refused",
            &[
                "--format",
                "json",
                "--dead-letter-topic",
                "dead",
                "--stats-interval",
                "0.5",
                "-X",
                "producer.message.max.bytes=2000",
            ],
        );
        let mut s = Scorer::start(scorer_bin("binary"), &args);
        let out = consume(&addr, "out", 20, Duration::from_secs(90));
        let dead = consume(&addr, "dead", 1, Duration::from_secs(30));
        let want = expected("binary_logistic", "expected.csv");
        for (i, want) in want.iter().enumerate().take(20) {
            let got = &out
                .get(&format!("row-{i}"))
                .unwrap_or_else(|| panic!("no result for row-{i}:\n{}", s.log()))[0];
            let v: serde_json::Value = serde_json::from_str(&got.value).unwrap();
            assert_eq!(v["id"], serde_json::json!(format!("r{i}")));
            assert_bits(&got.value, &json_floats(&v, "prediction"), want);
        }
        assert!(
            !out.contains_key("huge-id"),
            "the refused result is not in the output"
        );
        let letter = &dead
            .get("huge-id")
            .expect("a dead letter for the refused result")[0];
        let h = &letter.headers;
        assert!(
            h["timber-error"].contains("the broker refused the result for good"),
            "{h:?}"
        );
        assert_eq!(h["timber-source-offset"], "10");
        assert!(h.contains_key("timber-payload-truncated"), "{h:?}");
        assert!(records[10].1.starts_with(&letter.value));
        s.wait_for_log("rows scored: 20, errors: 1", Duration::from_secs(30));
        stop(&mut s);
    });
}

#[test]
fn a_dead_letter_too_large_without_its_payload_goes_with_its_timber_headers_only() {
    with_deadline(|| {
        // An undecodable record whose key and `trace` header (3,000 bytes each) alone
        // exceed the producer's 2,000-byte limit: cutting the payload cannot make its dead
        // letter fit, so it goes without the input's key and headers, and the partition
        // moves on.
        let (_broker, addr) = broker_with_topics(1);
        let long_key = "k".repeat(3_000);
        kafka::produce(&big_producer(&addr), "in", [(long_key.as_str(), "1,2")]);
        let rows = input_rows(1, 0);
        let rows = &rows[..20];
        produce(&producer(&addr), "in", rows);
        let mut s = scorer(&addr, "bare", &["-X", "producer.message.max.bytes=2000"]);
        let out = consume_out(&addr, rows.len(), &s);
        let dead = consume(&addr, "dead", 1, Duration::from_secs(30));
        if dead.is_empty() {
            eprintln!("scorer log:\n{}", s.log());
        }
        check_results(rows, &out, &BTreeMap::new());
        let letter = &dead
            .get("")
            .unwrap_or_else(|| panic!("no dead letter without a key: {dead:?}"))[0];
        let h = &letter.headers;
        assert!(!h.contains_key("trace"), "{h:?}");
        assert!(
            h["timber-error"].contains("expected 8 columns, found 2"),
            "{h:?}"
        );
        assert_eq!(h["timber-source-topic"], "in");
        assert_eq!(h["timber-source-offset"], "0");
        assert_eq!(letter.value, "1,2");
        stop(&mut s);
    });
}

/// Needs Tansu's PostgreSQL schema, which is published only in Tansu's repository:
/// `scripts/kafka-broker.sh install-postgres` fetches it (pinned by SHA-256) and builds Tansu
/// with its PostgreSQL engine, and `scripts/test.sh` then runs this test; see
/// docs/reliability.md.
#[test]
#[ignore = "needs Tansu's PostgreSQL schema (scripts/kafka-broker.sh install-postgres); scripts/test.sh runs it when present"]
fn a_broker_restarted_mid_stream_loses_nothing() {
    with_deadline(|| {
        // Tansu keeps topics, records and committed offsets in PostgreSQL, so its process
        // can be stopped and started again as a real broker's is.
        let postgres = Postgres::start();
        let mut broker = Broker::start_on(&postgres);
        let (addr, mut s) = outage_scorer(&broker, "restart");
        let rows = input_rows(6, 40);
        // Rows keep arriving, a few at a time, while the broker process is stopped and
        // started again: the scorer is mid-stream whenever the restart comes.
        let feeder = {
            let (addr, rows) = (addr.clone(), rows.clone());
            std::thread::spawn(move || {
                let p = producer(&addr);
                for chunk in rows.chunks(60) {
                    produce(&p, "in", chunk);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        consume(&addr, "out", 200, Duration::from_secs(60));
        broker.restart();
        assert_alive(&mut s);
        feeder.join().unwrap();
        let (out, dead) = results(&addr, &rows, &s, Duration::from_secs(120));
        if out.len() < good(&rows) {
            eprintln!("broker log:\n{}", broker.log());
        }
        check_results(&rows, &out, &dead);
        assert_logged_any(
            &s,
            &["Disconnected", "Connection refused"],
            "the restart was seen",
        );
        stop(&mut s);
    });
}

/// The value of the first sample of `name` in Prometheus text (`name{…} v` or `name v`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn serve_kafka_with_http_reports_rows_errors_keys_and_consumer_lag() {
    with_deadline(|| {
        use timber_stream_tests::http::get;
        let rows = input_rows(1, 40);
        let (_broker, addr) = broker_fed(2, &rows);
        let mut s = scorer(&addr, "gm", &["--http", "127.0.0.1:0"]);
        let http = s.http_addr(Duration::from_secs(30));
        consume(&addr, "out", good(&rows), Duration::from_secs(90));
        let bad = rows.len() - good(&rows);
        // Counters, and the lag gauge once librdkafka's statistics (every 5 s) came in.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let text = loop {
            let text = get(&http, "/metrics").text();
            let scored = metric(&text, "timber_rows_scored_total");
            let lag = metric(&text, "timber_kafka_consumer_lag");
            if scored == Some(good(&rows) as f64) && lag == Some(0.0) {
                break text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "metrics never showed every row and zero lag:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(metric(&text, "timber_row_errors_total"), Some(bad as f64));
        assert!(metric(&text, "timber_batches_total").unwrap() >= 1.0);
        assert!(
            text.contains("timber_kafka_consumer_lag{topic=\"in\",partition=\"0\"}")
                && text.contains("timber_kafka_consumer_lag{topic=\"in\",partition=\"1\"}"),
            "{text}"
        );
        assert!(text.contains("timber_model_info{"), "{text}");
        // The live page's data: the latest rows under their Kafka keys, bad ones with why.
        let snapshot = get(&http, "/snapshot").json();
        assert_eq!(snapshot["model"]["mode"], "kafka");
        let latest = snapshot["latest"].as_array().unwrap();
        assert!(!latest.is_empty());
        for row in latest {
            let key = row["key"].as_str().unwrap();
            match key.starts_with("bad-") {
                true => assert!(
                    row["error"]
                        .as_str()
                        .unwrap()
                        .contains("expected 8 columns, found 4"),
                    "{row}"
                ),
                false => assert!(
                    key.starts_with("row-") && row["values"][0].is_number(),
                    "{row}"
                ),
            }
        }
        stop(&mut s);
    });
}
