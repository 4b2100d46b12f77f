//! `--sink`: every scored row lands in SQLite, PostgreSQL, MariaDB and the data lake's CSV,
//! JSON-lines and Parquet files with the bits the scorer printed; the lake's files are read
//! by an independent reader (pyarrow, `scripts/sinks-venv.sh`); bad URLs and unreachable
//! servers stop a scorer at start-up; a sink that stays down stops `predict` at its deadline;
//! `serve kafka` whose database goes down mid-stream loses nothing and commits nothing
//! early; a scorer killed mid-stream and restarted leaves every row in the table at least
//! once; `serve http` writes the rows of every request (CSV, JSON lines, the inference
//! protocol, with and without margins) and, with its database down, holds requests, answers
//! 503 after `--sink-wait` with nothing written, and loses nothing it answered. The servers
//! are Debian's (`scripts/sql-servers.sh install`), started per test.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use timber_stream_tests::http;
use timber_stream_tests::kafka::{self as broker, Broker};
use timber_stream_tests::sql::{MariaDb, PgServer};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("timber-sinks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture_input(fixture: &str) -> PathBuf {
    models_dir().join(fixture).join("input.csv")
}

fn predict(model: &str, input: &Path, extra: &[&str]) -> Output {
    Command::new(scorer_bin(model))
        .args(["predict", "--input", input.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

/// The printed results of a `predict` run, keyed as the sinks key them (the line number:
/// the header is line 1, so row N is line N + 1).
fn printed(out: &Output) -> BTreeMap<String, Vec<f32>> {
    assert!(
        out.status.success(),
        "predict failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .enumerate()
        .map(|(i, l)| ((i + 2).to_string(), parse_floats(l)))
        .collect()
}

/// One row read back from a sink.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    values: Vec<Option<f32>>,
    partition: Option<i32>,
    offset: Option<i64>,
    error: Option<String>,
}

/// Every row of `table` in the database at `url`, keyed (duplicates kept in order).
fn read_table(url: &str, table: &str, width: usize) -> Vec<(String, Stored)> {
    try_read_table(url, table, width).unwrap_or_else(|e| panic!("reading {table} at {url}: {e}"))
}

/// [`read_table`], or why the table cannot be read (not there yet, server down).
fn try_read_table(
    url: &str,
    table: &str,
    width: usize,
) -> Result<Vec<(String, Stored)>, sqlx::Error> {
    let columns: Vec<String> = if width == 1 {
        vec!["prediction".into()]
    } else {
        (0..width).map(|i| format!("prediction_{i}")).collect()
    };
    let key = if url.starts_with("mysql") {
        "`key`"
    } else {
        "\"key\""
    };
    let sql = format!(
        "SELECT {key}, source_partition, source_offset, {}, error FROM {table}",
        columns.join(", ")
    );
    macro_rules! rows {
        ($pool:expr) => {{
            use sqlx::Row;
            let pool = $pool;
            let rows = sqlx::query(&sql).fetch_all(&pool).await;
            pool.close().await;
            Ok(rows?
                .iter()
                .map(|r| {
                    let stored = Stored {
                        partition: r.get(1),
                        offset: r.get(2),
                        values: (0..width).map(|i| r.get::<Option<f32>, _>(3 + i)).collect(),
                        error: r.get(3 + width),
                    };
                    (r.get::<String, _>(0), stored)
                })
                .collect())
        }};
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            rows!(sqlx::SqlitePool::connect_with(options).await?)
        } else if url.starts_with("postgres") {
            rows!(sqlx::PgPool::connect(url).await?)
        } else {
            rows!(sqlx::MySqlPool::connect(url).await?)
        }
    })
}

/// Asserts every printed row is in `stored` exactly once with the same bits.
fn assert_all_rows(what: &str, printed: &BTreeMap<String, Vec<f32>>, stored: &[(String, Stored)]) {
    let mut by_key: BTreeMap<&str, Vec<&Stored>> = BTreeMap::new();
    for (k, s) in stored {
        by_key.entry(k).or_default().push(s);
    }
    assert_eq!(by_key.len(), printed.len(), "{what}: rows stored");
    assert_eq!(stored.len(), printed.len(), "{what}: no row twice");
    for (key, want) in printed {
        let got = by_key
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{what}: no row {key}"));
        let values: Vec<f32> = got[0]
            .values
            .iter()
            .map(|v| v.unwrap_or_else(|| panic!("{what}: row {key} has a NULL")))
            .collect();
        assert_bits(&format!("{what}: row {key}"), &values, want);
        assert_eq!(got[0].error, None, "{what}: row {key}");
    }
}

/// Reads every file of a lake directory with pyarrow; returns (key, values) per row, the
/// values as pyarrow read them (float32 columns for an f32 model).
fn read_lake(dir: &Path, format: &str, width: usize) -> Vec<(String, Vec<f32>)> {
    let python = check(
        "scripts/sinks-venv.sh",
        Command::new(models_dir().join("../scripts/sinks-venv.sh")).output(),
    );
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let script = r#"
import sys, os, struct
import pyarrow as pa, pyarrow.csv as pcsv, pyarrow.json as pjson, pyarrow.parquet as pq
d, fmt, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
cols = ["prediction"] if width == 1 else [f"prediction_{i}" for i in range(width)]
for name in sorted(os.listdir(d)):
    if name.startswith("."):
        sys.exit(f"a temporary file is left: {name}")
    path = os.path.join(d, name)
    types = {c: pa.float32() for c in cols}
    types["key"] = pa.string()
    if fmt == "csv":
        t = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=types))
    elif fmt == "jsonl":
        schema = pa.schema([(c, types[c]) for c in ["key"] + cols])
        t = pjson.read_json(path, parse_options=pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    else:
        t = pq.read_table(path)
    for c in cols:
        assert t.schema.field(c).type == pa.float32(), (name, c, t.schema.field(c).type)
    keys = t.column("key").to_pylist()
    values = [t.column(c).to_pylist() for c in cols]
    for i, k in enumerate(keys):
        bits = [struct.unpack("<I", struct.pack("<f", v[i]))[0] for v in values]
        print(k, ",".join(str(b) for b in bits))
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            dir.to_str().unwrap(),
            format,
            &width.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow could not read the {format} lake: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, bits) = l.split_once(' ').unwrap();
            let values = bits
                .split(',')
                .map(|b| f32::from_bits(b.parse().unwrap()))
                .collect();
            (k.to_string(), values)
        })
        .collect()
}

fn assert_lake(what: &str, printed: &BTreeMap<String, Vec<f32>>, rows: &[(String, Vec<f32>)]) {
    assert_eq!(rows.len(), printed.len(), "{what}: rows in the files");
    let got: BTreeMap<&str, &Vec<f32>> = rows.iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert_eq!(got.len(), printed.len(), "{what}: no row twice");
    for (key, want) in printed {
        let values = got
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{what}: no row {key}"));
        assert_bits(&format!("{what}: row {key}"), values, want);
    }
}

#[test]
fn predict_writes_every_row_bit_exact_to_sqlite_and_every_lake_format() {
    for (model, fixture) in [("binary", "binary_logistic"), ("multi", "multi_softprob")] {
        let width = expected(fixture, "expected.csv")[0].len();
        let dir = scratch(&format!("local-{model}"));
        let db = format!("sqlite://{}", dir.join("p.db").display());
        let lake = |f: &str| format!("file://{}?format={f}&rows=37", dir.join(f).display());
        let out = predict(
            model,
            &fixture_input(fixture),
            &[
                "--sink",
                &format!("{db}?batch=50"),
                "--sink",
                &lake("csv"),
                "--sink",
                &lake("jsonl"),
                "--sink",
                &lake("parquet"),
            ],
        );
        let printed = printed(&out);
        // The scorer's own output is the training library's, bit for bit.
        let want = expected(fixture, "expected.csv");
        for (i, w) in want.iter().enumerate() {
            assert_bits(
                &format!("{model} row {i}"),
                &printed[&(i + 2).to_string()],
                w,
            );
        }
        assert_all_rows(
            &format!("{model} sqlite"),
            &printed,
            &read_table(&db, "predictions", width),
        );
        for format in ["csv", "jsonl", "parquet"] {
            let rows = read_lake(&dir.join(format), format, width);
            assert_lake(&format!("{model} {format}"), &printed, &rows);
            // rows=37: one file per 37 rows at most.
            let files = std::fs::read_dir(dir.join(format)).unwrap().count();
            assert_eq!(files, printed.len().div_ceil(37), "{model} {format} files");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn predict_writes_every_row_bit_exact_to_postgres_and_mariadb() {
    let pg = PgServer::start();
    let my = MariaDb::start();
    for (model, fixture) in [("binary", "binary_logistic"), ("multi", "multi_softprob")] {
        let width = expected(fixture, "expected.csv")[0].len();
        let table = format!("p_{model}");
        let urls = [
            format!("{}?table={table}&batch=64", pg.url()),
            format!("{}?table={table}&batch=64", my.url()),
        ];
        let out = predict(
            model,
            &fixture_input(fixture),
            &["--sink", &urls[0], "--sink", &urls[1]],
        );
        let printed = printed(&out);
        assert_all_rows(
            &format!("{model} postgres"),
            &printed,
            &read_table(&pg.url(), &table, width),
        );
        assert_all_rows(
            &format!("{model} mariadb"),
            &printed,
            &read_table(&my.url(), &table, width),
        );

        // upsert=true: scoring the file again replaces every row instead of adding one.
        let upsert: Vec<String> = urls
            .iter()
            .map(|u| u.replace("batch=64", "batch=64&upsert=true"))
            .collect();
        for url in &upsert {
            let table = format!("u_{model}");
            let url = url.replace(&format!("table=p_{model}"), &format!("table={table}"));
            for _ in 0..2 {
                printed_ok(&predict(model, &fixture_input(fixture), &["--sink", &url]));
            }
            let base = url.split('?').next().unwrap();
            assert_all_rows(
                &format!("{model} upsert {base}"),
                &printed,
                &read_table(base, &table, width),
            );
        }
    }
}

fn printed_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_urls_and_unreachable_servers_fail_at_start_up_naming_the_sink() {
    let input = fixture_input("binary_logistic");
    let closed = broker::free_port();
    for (url, why) in [
        ("nosuch://x", "unknown kind of sink `nosuch://`"),
        (
            "sqlite://p.db?batch=none",
            "batch=`none` is not a positive number",
        ),
        ("file:///tmp/x?format=orc", "csv, jsonl or parquet"),
        (
            &format!("postgres://u:secret@127.0.0.1:{closed}/db") as &str,
            "cannot connect",
        ),
        (
            &format!("mysql://u:secret@127.0.0.1:{closed}/db"),
            "cannot connect",
        ),
        ("sqlite:///nonexistent-dir/x/p.db", "cannot connect"),
        (
            "file:///proc/timber-lake",
            "cannot create /proc/timber-lake",
        ),
    ] {
        let start = Instant::now();
        let out = predict("binary", &input, &["--sink", url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: succeeded");
        assert!(stderr.contains(why), "{url}: {stderr}");
        assert!(
            !stderr.contains("secret"),
            "{url}: the password is shown: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{url}: scored before the sink was open"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{url}: slow to fail"
        );
    }
}

#[test]
fn predict_gives_up_at_the_sink_deadline_with_an_error_naming_the_sink() {
    let pg = PgServer::start();
    let url = format!("{}?batch=1&age=0.05", pg.url());
    let mut child = Command::new(scorer_bin("binary"))
        .args(["predict", "--input", "-", "--no-header", "--sink", &url])
        .args(["--sink-deadline", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rows = rows("binary_logistic", "input.csv");
    let mut stdin = child.stdin.take().unwrap();
    // Wait until the sink is open (the table created), then take the database away.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains("writing rows to sink") {
        let before = log.len();
        std::io::BufRead::read_line(&mut stderr, &mut log).unwrap();
        assert!(log.len() > before, "predict stopped: {log}");
    }
    assert!(
        try_read_table(&pg.url(), "predictions", 1).is_ok(),
        "no table"
    );
    pg.stop();
    for row in &rows {
        if writeln!(stdin, "{row}").is_err() {
            break;
        }
    }
    drop(stdin);
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    let stderr = log;
    assert!(
        !out.status.success(),
        "predict succeeded with its sink down"
    );
    assert!(
        stderr.contains(&format!(
            "sink postgres://postgres:***@127.0.0.1:{}/timber",
            pg.port
        )) && stderr.contains("--sink-deadline"),
        "{stderr}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

/// The committed offset of every partition of `in` for `group` (-1 for none).
fn committed(addr: &str, group: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition("in", p);
    }
    let got = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .unwrap();
    (0..partitions)
        .map(|p| match got.find_partition("in", p).map(|e| e.offset()) {
            Some(rdkafka::Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

/// Asserts every offset below each partition's committed offset has its row in `stored`:
/// nothing was committed that the sink did not hold.
fn assert_nothing_committed_early(committed: &[i64], stored: &[(String, Stored)]) {
    let held: std::collections::BTreeSet<(i32, i64)> = stored
        .iter()
        .map(|(_, s)| (s.partition.unwrap(), s.offset.unwrap()))
        .collect();
    for (p, &c) in committed.iter().enumerate() {
        for o in 0..c.max(0) {
            assert!(
                held.contains(&(p as i32, o)),
                "offset {o} of partition {p} committed (up to {c}) but not in the table"
            );
        }
    }
}

/// Expected predictions by key.
type Expected = BTreeMap<String, Vec<f32>>;

/// Keyed fixture rows `row-N` and their expected predictions.
fn keyed_rows(repeat: usize) -> (Vec<(String, String)>, Expected) {
    let rows = rows("binary_logistic", "input.csv");
    let want = expected("binary_logistic", "expected.csv");
    let mut records = Vec::new();
    let mut expected = BTreeMap::new();
    for i in 0..rows.len() * repeat {
        records.push((format!("row-{i}"), rows[i % rows.len()].clone()));
        expected.insert(format!("row-{i}"), want[i % rows.len()].clone());
    }
    (records, expected)
}

fn produce(addr: &str, records: &[(String, String)]) {
    broker::produce(
        &broker::producer(addr),
        "in",
        records.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
}

/// Waits until `table` holds `want` distinct keys; returns its rows.
fn wait_for_rows(url: &str, want: usize, timeout: Duration) -> Vec<(String, Stored)> {
    let mut stored = 0;
    poll(timeout, Duration::from_millis(200), || {
        let rows = try_read_table(url, "predictions", 1).unwrap_or_default();
        let keys: std::collections::BTreeSet<&String> = rows.iter().map(|(k, _)| k).collect();
        stored = keys.len();
        (stored >= want).then_some(rows)
    })
    .unwrap_or_else(|| panic!("{stored} of {want} rows in the table after {timeout:?}"))
}

/// Every expected key is stored at least once, every copy with the expected bits.
fn assert_at_least_once(want: &BTreeMap<String, Vec<f32>>, stored: &[(String, Stored)]) {
    let mut seen = std::collections::BTreeSet::new();
    for (key, s) in stored {
        let w = want
            .get(key)
            .unwrap_or_else(|| panic!("unexpected key {key}"));
        let values: Vec<f32> = s.values.iter().map(|v| v.unwrap()).collect();
        assert_bits(key, &values, w);
        seen.insert(key.clone());
    }
    assert_eq!(seen.len(), want.len(), "rows missing from the table");
}

#[test]
fn serve_kafka_with_its_database_down_mid_stream_loses_nothing_and_commits_nothing_early() {
    kafka_with_database_down("sql", &[], Duration::from_secs(3));
}

/// The database stays down for twice the consumer's `max.poll.interval.ms` while the scorer,
/// its sink behind, polls nothing: whether librdkafka drops the consumer from its group or
/// not, every row lands at least once and nothing is committed before it is written.
#[test]
fn serve_kafka_stalled_past_max_poll_interval_loses_nothing() {
    kafka_with_database_down(
        "stalled",
        &[
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "max.poll.interval.ms=6000",
        ],
        Duration::from_secs(12),
    );
}

/// Scores half the rows into PostgreSQL, stops the database, produces the rest and keeps it
/// down for `down` after the scorer's first failed write; what is committed meanwhile must be
/// in the table, and once the database is back every row lands and a clean stop commits all.
fn kafka_with_database_down(group: &str, settings: &[&str], down: Duration) {
    let pg = PgServer::start();
    let kafka = Broker::start();
    kafka.create_topic("in", 2);
    kafka.create_topic("out", 2);
    let (records, want) = keyed_rows(4);
    let (first, second) = records.split_at(records.len() / 2);
    produce(&kafka.addr(), first);
    let sink = format!("{}?batch=100&age=0.1", pg.url());
    let mut extra = vec!["--batch-size", "50", "--sink", &sink];
    extra.extend_from_slice(settings);
    let mut scorer = Scorer::start(
        scorer_bin("binary"),
        &serve_kafka_args(&kafka.addr(), group, &extra),
    );
    wait_for_rows(&pg.url(), first.len(), Duration::from_secs(90));
    pg.stop();
    produce(&kafka.addr(), second);
    // The scorer keeps trying; meanwhile nothing it commits may be missing from the table.
    scorer.wait_for_log("rows not written, trying again", Duration::from_secs(60));
    std::thread::sleep(down);
    let during = committed(&kafka.addr(), group, 2);
    pg.resume();
    let stored = wait_for_rows(&pg.url(), records.len(), Duration::from_secs(90));
    assert_nothing_committed_early(&during, &stored);
    assert_at_least_once(&want, &stored);
    stop_cleanly(&mut scorer, 60);
    let after = committed(&kafka.addr(), group, 2);
    let stored = read_table(&pg.url(), "predictions", 1);
    assert_nothing_committed_early(&after, &stored);
    assert_eq!(
        after.iter().sum::<i64>(),
        records.len() as i64,
        "a clean stop commits everything written"
    );
}

#[test]
fn a_scorer_killed_mid_stream_and_restarted_leaves_every_row_at_least_once() {
    let dir = scratch("killed");
    let db = format!("sqlite://{}", dir.join("k.db").display());
    let kafka = Broker::start();
    kafka.create_topic("in", 3);
    kafka.create_topic("out", 3);
    let (records, want) = keyed_rows(20);
    produce(&kafka.addr(), &records);
    let sink = format!("{db}?batch=200&age=0.2");
    let args = serve_kafka_args(
        &kafka.addr(),
        "killed",
        &["--batch-size", "100", "--sink", &sink],
    );
    let scorer = Scorer::start(scorer_bin("binary"), &args);
    // Kill it once some, not all, rows are in.
    poll(Duration::from_secs(90), Duration::from_millis(20), || {
        let n = try_read_table(&db, "predictions", 1).map_or(0, |r| r.len());
        assert!(
            n < records.len(),
            "every row scored before the kill; make the input larger"
        );
        (n > 0).then_some(())
    })
    .expect("no rows in the table");
    scorer.signal("KILL");
    drop(scorer);
    let mut again = Scorer::start(scorer_bin("binary"), &args);
    let stored = wait_for_rows(&db, records.len(), Duration::from_secs(120));
    assert_at_least_once(&want, &stored);
    stop_cleanly(&mut again, 60);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_socket_writes_every_row_to_its_sink() {
    let dir = scratch("socket");
    let db = format!("sqlite://{}", dir.join("s.db").display());
    let mut scorer = Scorer::start(
        scorer_bin("binary"),
        &["serve", "socket", "--listen", "127.0.0.1:0", "--sink", &db],
    );
    let addr = scorer.listening_addr();
    let rows = rows("binary_logistic", "input.csv");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    for r in &rows {
        writeln!(stream, "{r}").unwrap();
    }
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answers = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answers).unwrap();
    stop_cleanly(&mut scorer, 30);
    // Rows without an "id" are numbered in the order the server read them.
    let printed: BTreeMap<String, Vec<f32>> = answers
        .lines()
        .enumerate()
        .map(|(i, l)| ((i + 1).to_string(), parse_floats(l)))
        .collect();
    assert_eq!(printed.len(), rows.len());
    assert_all_rows(
        "socket sqlite",
        &printed,
        &read_table(&db, "predictions", 1),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An inference request for `rows` (CSV cells) as FP64 (the CSV text itself; the server
/// rounds to the model's f32 as numpy's `astype` does), with `extra` fields before `inputs`.
fn infer_request(rows: &[String], extra: &str) -> String {
    let data: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<&str> = r
                .split(',')
                .map(|c| if c.is_empty() { "null" } else { c })
                .collect();
            format!("[{}]", cells.join(","))
        })
        .collect();
    let nf = rows[0].split(',').count();
    format!(
        "{{{extra}\"inputs\":[{{\"name\":\"input\",\"shape\":[{},{nf}],\"datatype\":\"FP64\",\"data\":[{}]}}]}}",
        rows.len(),
        data.join(",")
    )
}

/// The `data` of an inference response's only output, as f32 rows of `width`.
fn infer_data(response: &http::Response, width: usize) -> Vec<Vec<f32>> {
    assert_eq!(response.status, 200, "{}", response.text());
    let json = response.json();
    let data: Vec<f32> = json["outputs"][0]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {json}"))
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    data.chunks(width).map(<[f32]>::to_vec).collect()
}

/// A JSON-lines body of `rows` as objects by feature name, each with its `"id"`.
fn ndjson_rows(names: &[String], rows: &[String], ids: impl Fn(usize) -> String) -> String {
    let mut body = String::new();
    for (i, r) in rows.iter().enumerate() {
        let mut object = serde_json::Map::new();
        object.insert("id".into(), ids(i).into());
        for (name, cell) in names.iter().zip(r.split(',')) {
            if !cell.is_empty() {
                let number: serde_json::Number = cell.parse().unwrap();
                object.insert(name.clone(), number.into());
            }
        }
        body.push_str(&serde_json::Value::Object(object).to_string());
        body.push('\n');
    }
    body
}

/// Stops `scorer` with SIGTERM; it must exit 0 within `seconds`.
fn stop_cleanly(scorer: &mut Scorer, seconds: u64) {
    scorer.signal("TERM");
    let status = scorer.wait(Duration::from_secs(seconds));
    assert!(status.success(), "{status}: {}", scorer.log());
}

/// `serve http` of `model` (named `churn` in URLs) on a free port with `extra` arguments.
fn serve_http(model: &str, extra: &[&str]) -> (Scorer, String) {
    let mut args: Vec<&str> = "serve http --listen 127.0.0.1:0 --model-name churn"
        .split(' ')
        .collect();
    args.extend_from_slice(extra);
    let mut scorer = Scorer::start(scorer_bin(model), &args);
    let addr = scorer.listening_addr();
    (scorer, addr)
}

#[test]
fn serve_http_writes_every_row_of_every_request_bit_exact_to_sqlite_and_postgres() {
    let pg = PgServer::start();
    for (model, fixture) in [("binary", "binary_logistic"), ("multi", "multi_softprob")] {
        let dir = scratch(&format!("http-{model}"));
        let db = format!("sqlite://{}", dir.join("h.db").display());
        let table = format!("h_{model}");
        let pg_sink = format!("{}?table={table}&batch=64", pg.url());
        let sqlite_sink = format!("{db}?batch=50");
        let (mut scorer, addr) = serve_http(model, &["--sink", &sqlite_sink, "--sink", &pg_sink]);
        let rows = rows(fixture, "input.csv");
        let names = header(fixture, "input.csv");
        let want = expected(fixture, "expected.csv");
        let want_margin = expected(fixture, "expected_margin.csv");
        let width = want[0].len();
        // What every sink must hold: key -> the reference predictions. Rows without an id
        // are numbered in the order the server scored them (one request at a time here).
        let mut stored_want: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        let mut numbered = 0usize;
        let chunks: Vec<(usize, &[String])> = rows
            .chunks(60)
            .enumerate()
            .map(|(c, r)| (c * 60, r))
            .collect();
        for (c, &(start, chunk)) in chunks.iter().enumerate() {
            let at = |i: usize| start + i;
            let what = format!("{model} request {c}");
            match c {
                // CSV rows, answered with predictions or (?margin=true) margins: the sinks
                // get the predictions either way.
                0 | 1 => {
                    let path = if c == 0 {
                        "/predict"
                    } else {
                        "/predict?margin=true"
                    };
                    let body = chunk.join("\n");
                    let answer = http::post(&addr, path, "text/csv", body.as_bytes());
                    assert_eq!(answer.status, 200, "{what}: {}", answer.text());
                    let reference = if c == 0 { &want } else { &want_margin };
                    let lines: Vec<String> = answer.text().lines().map(str::to_string).collect();
                    assert_eq!(lines.len(), chunk.len(), "{what}");
                    for (i, line) in lines.iter().enumerate() {
                        assert_bits(&what, &parse_floats(line), &reference[at(i)]);
                        stored_want.insert((numbered + i + 1).to_string(), want[at(i)].clone());
                    }
                    numbered += chunk.len();
                }
                // JSON lines by feature name with ids, and one row that fails (stored with
                // its reason, checked below).
                2 => {
                    let mut body = ndjson_rows(&names, chunk, |i| format!("j-{}", at(i)));
                    body.push_str("{\"id\":\"bad\",\"f0\":\"x\"}\n");
                    let answer =
                        http::post(&addr, "/predict", "application/x-ndjson", body.as_bytes());
                    assert_eq!(answer.status, 200, "{what}: {}", answer.text());
                    assert_eq!(answer.header("timber-row-errors"), Some("1"), "{what}");
                    for (i, line) in answer.text().lines().take(chunk.len()).enumerate() {
                        let result: serde_json::Value = serde_json::from_str(line).unwrap();
                        assert_bits(&what, &json_floats(&result, "prediction"), &want[at(i)]);
                        stored_want.insert(format!("j-{}", at(i)), want[at(i)].clone());
                    }
                    numbered += chunk.len() + 1;
                }
                // The inference protocol: with a request id (keys `ID[ROW]`), margins only
                // (the sinks still get predictions), and without an id (numbered).
                3..=5 => {
                    let (extra, reference) = match c {
                        3 => (format!("\"id\":\"req-{c}\","), &want),
                        4 => (
                            format!("\"id\":\"req-{c}\",\"parameters\":{{\"margin\":true}},"),
                            &want_margin,
                        ),
                        _ => (String::new(), &want),
                    };
                    let path = "/v2/models/churn/infer";
                    let body = infer_request(chunk, &extra);
                    let answer = http::post(&addr, path, "application/json", body.as_bytes());
                    for (i, got) in infer_data(&answer, width).iter().enumerate() {
                        assert_bits(&what, got, &reference[at(i)]);
                        let key = if extra.is_empty() {
                            (numbered + i + 1).to_string()
                        } else {
                            format!("req-{c}[{i}]")
                        };
                        stored_want.insert(key, want[at(i)].clone());
                    }
                    if extra.is_empty() {
                        numbered += chunk.len();
                    }
                }
                _ => unreachable!("six chunks of 60 rows"),
            }
        }
        assert_eq!(stored_want.len(), rows.len());
        // A clean stop writes everything the sinks still hold.
        stop_cleanly(&mut scorer, 60);
        for (url, table) in [(db.as_str(), "predictions"), (&pg.url(), &table)] {
            let mut stored = read_table(url, table, width);
            let bad = stored.iter().position(|(k, _)| k == "bad");
            let (_, bad) = stored.remove(bad.unwrap_or_else(|| panic!("{url}: no failed row")));
            assert!(bad.values.iter().all(Option::is_none), "{url}: {bad:?}");
            let reason = bad.error.unwrap_or_default();
            assert!(reason.contains("`x` is not a number"), "{url}: {reason}");
            assert_all_rows(&format!("{model} http {url}"), &stored_want, &stored);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn serve_http_with_its_database_down_holds_requests_then_answers_503_and_loses_nothing() {
    let pg = PgServer::start();
    let sink = format!("{}?batch=20&age=0.05", pg.url());
    let (mut scorer, addr) = serve_http("binary", &["--sink", &sink, "--sink-wait", "3"]);
    let rows = rows("binary_logistic", "input.csv");
    let want = expected("binary_logistic", "expected.csv");
    let path = "/v2/models/churn/infer";
    // Every attempt has its own id; the keys of the attempts answered 200 must all be in
    // the table, those answered 503 must not.
    let mut answered: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    let mut attempt = 0usize;
    let mut send = |chunk: usize| -> (u16, Duration, String) {
        attempt += 1;
        let id = format!("a{attempt}");
        let start = chunk * 20 % rows.len();
        let part = &rows[start..start + 20];
        let body = infer_request(part, &format!("\"id\":\"{id}\","));
        let began = Instant::now();
        let answer = http::post(&addr, path, "application/json", body.as_bytes());
        let took = began.elapsed();
        match answer.status {
            200 => {
                for (i, got) in infer_data(&answer, 1).iter().enumerate() {
                    assert_bits(&id, got, &want[start + i]);
                    answered.insert(format!("{id}[{i}]"), want[start + i].clone());
                }
            }
            503 => {
                assert_eq!(answer.header("retry-after"), Some("1"), "{id}");
                refused.extend((0..20).map(|i| format!("{id}[{i}]")));
            }
            other => panic!("{id}: {other} {}", answer.text()),
        }
        (answer.status, took, answer.text())
    };
    for chunk in 0..3 {
        assert_eq!(send(chunk).0, 200);
    }
    wait_for_rows(&pg.url(), 60, Duration::from_secs(60));
    pg.stop();
    // The sinks take what their queue holds, then the requests wait: held for
    // --sink-wait, then 503 with nothing written.
    let mut chunk = 3;
    let (took, message) = loop {
        let (status, took, text) = send(chunk);
        chunk += 1;
        if status == 503 {
            break (took, text);
        }
        assert!(
            took < Duration::from_secs(2),
            "a request answered 200 after {took:?} with the database down"
        );
        assert!(chunk < 40, "no request was held with the database down");
    };
    assert!(
        took >= Duration::from_millis(2900),
        "answered 503 after {took:?}, before --sink-wait"
    );
    assert!(message.contains("--sink-wait"), "{message}");
    scorer.wait_for_log("rows not written, trying again", Duration::from_secs(30));
    pg.resume();
    // A client retries a 503 (Retry-After): once the database is back, the queue drains and
    // requests are taken again.
    poll(Duration::from_secs(60), Duration::from_millis(500), || {
        (send(chunk).0 == 200).then_some(())
    })
    .expect("still 503 a minute after the database came back");
    for more in 1..4 {
        assert_eq!(send(chunk + more).0, 200);
    }
    stop_cleanly(&mut scorer, 60);
    let stored = read_table(&pg.url(), "predictions", 1);
    assert_all_rows("http, database down mid-stream", &answered, &stored);
    for key in &refused {
        assert!(
            !stored.iter().any(|(k, _)| k == key),
            "{key} was answered 503 but written"
        );
    }
}
