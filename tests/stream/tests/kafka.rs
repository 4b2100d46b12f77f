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
use timber_stream_tests::kafka::{self, consume, producer, Broker, Got};

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

#[test]
fn every_row_scored_under_its_key_and_bad_rows_dead_lettered() {
    with_deadline(|| {
        let broker = Broker::start();
        topics(&broker, 3);
        let rows = input_rows(3, 50);
        produce(&producer(&broker.addr()), "in", &rows);
        let mut s = scorer(&broker.addr(), "g1", &[]);
        let out = consume(&broker.addr(), "out", good(&rows), Duration::from_secs(90));
        let dead = consume(
            &broker.addr(),
            "dead",
            rows.len() - good(&rows),
            Duration::from_secs(30),
        );
        check_results(&rows, &out, &dead);
        s.signal("TERM");
        let status = s.wait(Duration::from_secs(60));
        assert!(status.success(), "{status}\n{}", s.log());
        assert!(s.log().contains("leaving the group"), "{}", s.log());
    });
}

#[test]
fn without_a_dead_letter_topic_errors_go_to_the_output_topic() {
    with_deadline(|| {
        let broker = Broker::start();
        topics(&broker, 1);
        let rows = input_rows(1, 20);
        produce(&producer(&broker.addr()), "in", &rows);
        let args = serve_kafka_args(&broker.addr(), "g", &["--format", "csv"]);
        let _s = Scorer::start(scorer_bin("binary"), &args);
        let out = consume(&broker.addr(), "out", rows.len(), Duration::from_secs(90));
        assert_eq!(out.len(), rows.len());
        for row in rows.iter().filter(|r| r.expected.is_none()) {
            assert_eq!(out[&row.key][0].value, "error: expected 8 columns, found 4");
        }
    });
}

#[test]
fn a_restarted_scorer_resumes_from_the_committed_offset() {
    with_deadline(|| {
        let broker = Broker::start();
        topics(&broker, 3);
        let rows = input_rows(2, 0);
        let (first, second) = rows.split_at(rows.len() / 2);
        let p = producer(&broker.addr());
        produce(&p, "in", first);
        let mut s = scorer(&broker.addr(), "resume", &[]);
        let out = consume(&broker.addr(), "out", first.len(), Duration::from_secs(90));
        assert_eq!(out.len(), first.len());
        s.signal("TERM");
        assert!(s.wait(Duration::from_secs(60)).success(), "{}", s.log());

        produce(&p, "in", second);
        let _s2 = scorer(&broker.addr(), "resume", &[]);
        let out = consume(&broker.addr(), "out", rows.len(), Duration::from_secs(90));
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
        let broker = Broker::start();
        topics(&broker, 4);
        let addr = broker.addr();
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
        survivor.signal("TERM");
        assert!(
            survivor.wait(Duration::from_secs(60)).success(),
            "{}",
            survivor.log()
        );
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
        topics(&broker, 3);
        let addr = broker.addr();
        let reconnect = ["-X", "reconnect.backoff.max.ms=500"];
        let mut s = scorer(&addr, "outage", &reconnect);
        s.wait_for_log("partitions assigned: in[", Duration::from_secs(60));
        let rows = input_rows(6, 40);
        let (early, late) = rows.split_at(rows.len() / 2);
        produce(&producer(&addr), "in", early);
        // Down while the scorer is busy with the first half.
        let cut = broker.cut.as_ref().unwrap();
        cut.cut();
        std::thread::sleep(Duration::from_secs(5));
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "the scorer died with the broker:\n{}",
            s.log()
        );
        cut.restore();
        produce(&producer(&addr), "in", late);
        let out = consume(&addr, "out", good(&rows), Duration::from_secs(90));
        let dead = consume(
            &addr,
            "dead",
            rows.len() - good(&rows),
            Duration::from_secs(30),
        );
        if out.len() < good(&rows) {
            eprintln!("scorer log:\n{}", s.log());
        }
        check_results(&rows, &out, &dead);
        assert!(
            s.log().contains("AllBrokersDown") || s.log().contains("Disconnected"),
            "the outage was seen:\n{}",
            s.log()
        );
        s.signal("TERM");
        assert!(s.wait(Duration::from_secs(60)).success(), "{}", s.log());
    });
}
