//! Measures the streaming scorer end to end, with the bundled `binary_logistic` model:
//! rows/s through `serve socket` (clients pipelining rows) and through `serve kafka` (input
//! topic to output topic, against a real Tansu broker), and the share of that time the
//! model itself spends scoring (the same rows scored in this process, timed alone).
//!
//! ```text
//! stream-bench socket --scorer PATH [--rows N] [--connections C] [--sink URL]...
//! stream-bench kafka  --scorer PATH [--rows N] [--partitions P] [--sink URL]...
//! stream-bench produce --brokers LIST --topic T --input FILE [--skip-header]
//! stream-bench consume --brokers LIST --topic T --count N
//! stream-bench socket-rr --scorer PATH --batch B --connections C --seconds S
//! stream-bench infer-body --rows N
//! stream-bench feed --addr ADDR --seconds S
//! stream-bench screenshot --url URL --out FILE.png
//! ```
//!
//! `socket-rr` is the socket's side of `scripts/http-bench.sh`: each connection sends a
//! request of B rows and waits for its B answers before the next, as an HTTP client does,
//! and requests/s, rows/s and latency percentiles are reported. `infer-body` prints an
//! Open Inference Protocol request of N fixture rows (the body `wrk` posts). `feed` sends
//! keyed JSON rows to a `serve socket --format json` at a rate that varies, with a few bad
//! rows, to show the live page under load (`scripts/live-page-screenshot.sh`).
//!
//! `produce` and `consume` are small Kafka clients for trying `serve kafka` by hand: one
//! record per line (keyed `line-N`), and `KEY<TAB>VALUE` per record read.
//!
//! `--scorer` is a scorer binary over `models/binary_logistic/model.json` (the
//! `scorer-binary` of this crate, or a crate `timber compile` wrote for that model).
//! `scripts/stream-bench.sh` builds everything in release and runs both.

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, Subcommand};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};
use timber_runtime::Model;
use timber_stream_tests::harness::{json_row, rows, serve_kafka_args, Scorer};
use timber_stream_tests::kafka::{batching_producer, consume, produce, Broker};
use timber_stream_tests::BinaryLogistic;

#[derive(Parser)]
#[command(about = "Rows/s through the streaming scorer, and the share spent scoring")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// `serve socket`: clients pipeline rows over TCP.
    Socket {
        /// Scorer binary for models/binary_logistic.
        #[arg(long)]
        scorer: String,
        /// Rows sent in all.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Concurrent connections, each sending its share of the rows.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Also write every row to this sink (the scorer's `--sink`; repeatable).
        #[arg(long)]
        sink: Vec<String>,
    },
    /// `serve kafka`: rows produced to a topic, predictions consumed from another.
    Kafka {
        /// Scorer binary for models/binary_logistic.
        #[arg(long)]
        scorer: String,
        /// Records produced.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Partitions of the input and output topics.
        #[arg(long, default_value_t = 3)]
        partitions: u32,
        /// Also write every row to this sink (the scorer's `--sink`; repeatable).
        #[arg(long)]
        sink: Vec<String>,
    },
    /// Produce each line of a file as one record, keyed `line-N`.
    Produce {
        /// Bootstrap brokers.
        #[arg(long)]
        brokers: String,
        /// Topic to write.
        #[arg(long)]
        topic: String,
        /// The file; one record per line.
        #[arg(long)]
        input: std::path::PathBuf,
        /// Leave out the first line (a CSV header).
        #[arg(long)]
        skip_header: bool,
    },
    /// Print `KEY<TAB>VALUE` for records of a topic (from its start) until `--count` keys.
    Consume {
        /// Bootstrap brokers.
        #[arg(long)]
        brokers: String,
        /// Topic to read.
        #[arg(long)]
        topic: String,
        /// Stop after this many distinct keys (or 60 s).
        #[arg(long)]
        count: usize,
    },
    /// `serve socket` request/response: requests of `--batch` rows, one at a time per
    /// connection.
    SocketRr {
        /// Scorer binary for models/binary_logistic.
        #[arg(long)]
        scorer: String,
        /// Rows per request.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// How long to send requests.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Print an Open Inference Protocol (KServe v2) request of `--rows` fixture rows (FP32).
    InferBody {
        /// Rows in the request.
        #[arg(long, default_value_t = 1)]
        rows: usize,
    },
    /// Send keyed JSON rows (a few bad) to a `serve socket --format json` for `--seconds`,
    /// at a rate that rises and falls around `--rate` rows/s.
    Feed {
        /// The scorer's socket.
        #[arg(long)]
        addr: String,
        /// How long to send.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Mean rows per second.
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
    },
    /// Save a PNG of the live page at `--url` (headless chromium through chromedriver),
    /// once it has received `--updates` snapshots.
    Screenshot {
        /// The page.
        #[arg(long)]
        url: String,
        /// Where to write the PNG.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Window width, CSS pixels.
        #[arg(long, default_value_t = 1280)]
        width: u32,
        /// Window height, CSS pixels.
        #[arg(long, default_value_t = 1240)]
        height: u32,
        /// Live updates to wait for first.
        #[arg(long, default_value_t = 3)]
        updates: u32,
    },
}

fn main() -> Result<()> {
    match Cli::parse().mode {
        Mode::Socket {
            scorer,
            rows,
            connections,
            sink,
        } => socket(&scorer, rows, connections.max(1), &sink),
        Mode::Kafka {
            scorer,
            rows,
            partitions,
            sink,
        } => kafka(&scorer, rows, partitions, &sink),
        Mode::Produce {
            brokers,
            topic,
            input,
            skip_header,
        } => {
            let text = std::fs::read_to_string(&input)
                .with_context(|| format!("cannot read {}", input.display()))?;
            let lines: Vec<&str> = text.lines().skip(usize::from(skip_header)).collect();
            let keys: Vec<String> = (1..=lines.len()).map(|i| format!("line-{i}")).collect();
            let p = batching_producer(&brokers);
            produce(
                &p,
                &topic,
                keys.iter().map(String::as_str).zip(lines.iter().copied()),
            );
            eprintln!("produced {} records to {topic}", lines.len());
            Ok(())
        }
        Mode::Consume {
            brokers,
            topic,
            count,
        } => {
            let got = consume(&brokers, &topic, count, Duration::from_secs(60));
            let mut out = std::io::stdout().lock();
            for (key, records) in &got {
                for r in records {
                    if let Err(e) = writeln!(out, "{key}\t{}", r.value) {
                        // A closed pipe (`| head`) is the reader's choice, not an error.
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            return Ok(());
                        }
                        return Err(e.into());
                    }
                }
            }
            ensure!(
                got.len() >= count,
                "only {} of {count} keys arrived",
                got.len()
            );
            Ok(())
        }
        Mode::SocketRr {
            scorer,
            batch,
            connections,
            seconds,
        } => socket_rr(&scorer, batch.max(1), connections.max(1), seconds),
        Mode::InferBody { rows } => {
            println!("{}", infer_body(&lines(rows)));
            Ok(())
        }
        Mode::Feed {
            addr,
            seconds,
            rate,
        } => feed(&addr, seconds, rate),
        Mode::Screenshot {
            url,
            out,
            width,
            height,
            updates,
        } => {
            let driver =
                timber_stream_tests::webdriver::Driver::start().map_err(|e| anyhow::anyhow!(e))?;
            let session = driver.session(width, height);
            session.goto(&url);
            session.wait_until(
                &format!("return Number(document.body.dataset.updates) >= {updates}"),
                Duration::from_secs(60),
                "the page got no live updates",
                "return document.body.dataset.updates",
            );
            std::fs::write(&out, session.screenshot())
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// An inference request of `lines` (CSV) as FP32 data: each value rounded to f32 as a
/// client holding f32 arrays sends it, missing values `null`.
fn infer_body(lines: &[String]) -> String {
    let width = lines.first().map_or(0, |l| l.split(',').count());
    let data: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            l.split(',').map(|c| match c.parse::<f64>() {
                Ok(v) if v.is_finite() => format!("{}", v as f32),
                _ => "null".to_string(),
            })
        })
        .collect();
    format!(
        "{{\"inputs\":[{{\"name\":\"input\",\"shape\":[{},{width}],\"datatype\":\"FP32\",\"data\":[{}]}}]}}",
        lines.len(),
        data.join(",")
    )
}

/// The `q` quantile of sorted `v`.
fn quantile(v: &[Duration], q: f64) -> Duration {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Starts `serve socket` (no periodic stats) on a free port with `extra` arguments; returns
/// it and its address.
fn socket_server(scorer: &str, extra: &[String]) -> (Scorer, String) {
    let mut args: Vec<String> = [
        "serve",
        "socket",
        "--listen",
        "127.0.0.1:0",
        "--stats-interval",
        "0",
    ]
    .map(String::from)
    .to_vec();
    args.extend_from_slice(extra);
    let mut server = Scorer::start(scorer, &args);
    let addr = server.listening_addr();
    (server, addr)
}

fn socket_rr(scorer: &str, batch: usize, connections: usize, seconds: f64) -> Result<()> {
    let payload: Vec<u8> = lines(batch)
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let (mut server, addr) = socket_server(scorer, &[]);
    let run_for = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|_| {
            let (addr, payload) = (addr.clone(), payload.clone());
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let stream = TcpStream::connect(&addr).context("connect")?;
                stream.set_nodelay(true)?;
                let mut writer = stream.try_clone()?;
                let mut reader = BufReader::with_capacity(1 << 16, stream);
                let (mut took, mut line) = (Vec::new(), String::new());
                while start.elapsed() < run_for {
                    let sent = Instant::now();
                    writer.write_all(&payload)?;
                    for _ in 0..batch {
                        line.clear();
                        ensure!(reader.read_line(&mut line)? > 0, "the scorer closed");
                        ensure!(!line.starts_with("error"), "scorer answered {line}");
                    }
                    took.push(sent.elapsed());
                }
                Ok(took)
            })
        })
        .collect();
    let mut took = Vec::new();
    for h in handles {
        took.extend(h.join().map_err(|_| anyhow::anyhow!("client panicked"))??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    server.signal("TERM");
    server.wait(Duration::from_secs(30));
    ensure!(!took.is_empty(), "no request finished");
    took.sort();
    let requests = took.len() as f64 / elapsed;
    // One line a script can parse: requests/s rows/s p50_ms p99_ms.
    println!(
        "socket-rr batch={batch} connections={connections}: {requests:.1} requests/s, {:.0} rows/s, p50 {:.3} ms, p99 {:.3} ms",
        requests * batch as f64,
        quantile(&took, 0.5).as_secs_f64() * 1e3,
        quantile(&took, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}

fn feed(addr: &str, seconds: f64, rate: f64) -> Result<()> {
    let base = rows("binary_logistic", "input.csv");
    let names = timber_stream_tests::harness::header("binary_logistic", "input.csv");
    let stream = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
    let mut writer = stream.try_clone()?;
    // Answers are read and dropped so the scorer never waits on this client.
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stream);
        let mut sink = Vec::new();
        while r.read_until(b'\n', &mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    let start = Instant::now();
    let (mut sent, mut tick) = (0u64, 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        let t = start.elapsed().as_secs_f64();
        // A daily pattern in a minute: the rate rises and falls, with bursts.
        let now = rate * (1.0 + 0.6 * (t / 9.0).sin() + 0.25 * (t / 2.3).sin()).max(0.1);
        let per_tick = (now / 20.0).round().max(1.0) as u64;
        let mut out = String::new();
        for _ in 0..per_tick {
            let i = sent as usize;
            if sent % 997 == 13 {
                out.push_str(&format!("{{\"id\":\"order-{i}\",\"f0\":\"n/a\"}}\n"));
            } else {
                let line = &base[i % base.len()];
                out.push_str(&json_row(&format!("order-{i}"), &names, line));
                out.push('\n');
            }
            sent += 1;
        }
        writer.write_all(out.as_bytes())?;
        tick += 1;
        let next = Duration::from_millis(50 * tick);
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    writer.shutdown(Shutdown::Write)?;
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))?;
    eprintln!("fed {sent} rows in {seconds} s");
    Ok(())
}

/// The fixture rows, repeated to `n` lines.
fn lines(n: usize) -> Vec<String> {
    let base = rows("binary_logistic", "input.csv");
    (0..n).map(|i| base[i % base.len()].clone()).collect()
}

/// Seconds the model alone takes to score `lines` (decoded up front, one row at a time,
/// as the scorer does).
fn scoring_seconds(lines: &[String]) -> f64 {
    let model = BinaryLogistic;
    let decoded: Vec<Vec<f32>> = lines
        .iter()
        .map(|l| {
            l.split(',')
                .map(|c| c.parse::<f64>().map_or(f32::NAN, |v| v as f32))
                .collect()
        })
        .collect();
    let mut out = [0f32; 1];
    let mut sum = 0f64;
    let start = Instant::now();
    for row in &decoded {
        model.predict(std::hint::black_box(row), &mut out);
        sum += f64::from(out[0]);
    }
    std::hint::black_box(sum);
    start.elapsed().as_secs_f64()
}

fn report(what: &str, rows: usize, seconds: f64, scoring: f64) {
    println!(
        "{what}: {rows} rows in {seconds:.3} s = {:.0} rows/s end to end; \
         scoring alone {scoring:.3} s = {:.1}% of the time",
        rows as f64 / seconds,
        100.0 * scoring / seconds
    );
}

/// The scorer's `--sink` arguments.
fn sink_args(sinks: &[String]) -> Vec<String> {
    sinks
        .iter()
        .flat_map(|s| ["--sink".to_string(), s.clone()])
        .collect()
}

/// With sinks: the time until the scorer, stopped after the last answer, exited with every
/// row written (a stopping scorer writes what its sinks still wait for).
fn report_sinks(sinks: &[String], rows: usize, seconds: f64) {
    if !sinks.is_empty() {
        println!(
            "  with every row in {}: {seconds:.3} s = {:.0} rows/s",
            sinks.join(" and "),
            rows as f64 / seconds
        );
    }
}

/// Stops a scorer with SIGTERM; fails unless it exits cleanly within 60 s.
fn stop(scorer: &mut Scorer) -> Result<()> {
    scorer.signal("TERM");
    ensure!(
        scorer.wait(Duration::from_secs(60)).success(),
        "the scorer failed: {}",
        scorer.log()
    );
    Ok(())
}

fn socket(scorer: &str, n: usize, connections: usize, sinks: &[String]) -> Result<()> {
    let all = lines(n);
    let (mut server, addr) = socket_server(scorer, &sink_args(sinks));
    let per = n.div_ceil(connections);
    let start = Instant::now();
    let handles: Vec<_> = all
        .chunks(per)
        .map(|chunk| {
            let payload: Vec<u8> = chunk
                .iter()
                .flat_map(|l| format!("{l}\n").into_bytes())
                .collect();
            let (addr, expect) = (addr.clone(), chunk.len());
            std::thread::spawn(move || -> Result<usize> {
                let stream = TcpStream::connect(&addr).context("connect")?;
                let mut writer = stream.try_clone()?;
                let sender = std::thread::spawn(move || -> std::io::Result<()> {
                    writer.write_all(&payload)?;
                    writer.shutdown(Shutdown::Write)
                });
                let mut reader = BufReader::with_capacity(1 << 16, stream);
                let (mut got, mut line) = (0usize, String::new());
                while reader.read_line(&mut line)? > 0 {
                    ensure!(!line.starts_with("error"), "scorer answered {line}");
                    got += 1;
                    line.clear();
                }
                sender
                    .join()
                    .map_err(|_| anyhow::anyhow!("sender panicked"))??;
                ensure!(got == expect, "{got} answers for {expect} rows");
                Ok(got)
            })
        })
        .collect();
    let mut answered = 0;
    for h in handles {
        answered += h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
    }
    let seconds = start.elapsed().as_secs_f64();
    stop(&mut server)?;
    let stopped = start.elapsed().as_secs_f64();
    let what = format!("socket ({connections} pipelined connection(s))");
    report(&what, answered, seconds, scoring_seconds(&all));
    report_sinks(sinks, answered, stopped);
    Ok(())
}

fn kafka(scorer: &str, n: usize, partitions: u32, sinks: &[String]) -> Result<()> {
    let all = lines(n);
    let keys: Vec<String> = (0..n).map(|i| format!("row-{i}")).collect();
    let broker = Broker::start();
    broker.create_topic("in", partitions);
    broker.create_topic("out", partitions);
    let addr = broker.addr();
    let mut extra = vec!["--stats-interval".to_string(), "0".to_string()];
    extra.extend(sink_args(sinks));
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut member = Scorer::start(scorer, &serve_kafka_args(&addr, "bench", &extra));
    member.wait_for_log("partitions assigned: in[", Duration::from_secs(60));
    let start = Instant::now();
    let feeder = {
        let (addr, all, keys) = (addr.clone(), all.clone(), keys.clone());
        std::thread::spawn(move || {
            let p = batching_producer(&addr);
            produce(
                &p,
                "in",
                keys.iter()
                    .map(String::as_str)
                    .zip(all.iter().map(String::as_str)),
            );
        })
    };
    let out = consume(&addr, "out", n, Duration::from_secs(600));
    let seconds = start.elapsed().as_secs_f64();
    feeder
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))?;
    stop(&mut member)?;
    let stopped = start.elapsed().as_secs_f64();
    if out.len() < n {
        bail!("only {} of {n} predictions arrived", out.len());
    }
    let what = format!("kafka ({partitions} partitions, produce -> score -> consume)");
    report(&what, n, seconds, scoring_seconds(&all));
    report_sinks(sinks, n, stopped);
    Ok(())
}
