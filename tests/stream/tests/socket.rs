//! `serve socket` over real TCP: the compiled fixture models answer every line, in order,
//! bit for bit as XGBoost scored them; bad and oversized lines get error lines and the
//! connection lives on; many clients at once; connection limits, idle timeout, SIGTERM;
//! client mode against a listening line source (and the real OpenBSD `nc -lk`); and the
//! hardening: peers that never read, clients that never stop sending, memory bounds on
//! partial lines and on wide models.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timber_runtime::Model;

const T: Duration = Duration::from_secs(60);

fn server(model: &str, extra: &[&str]) -> (Scorer, String) {
    start_listening(
        model,
        &["serve", "socket", "--listen", "127.0.0.1:0"],
        extra,
    )
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s
}

/// Sends `lines` (from another thread, so nothing waits on the other side) and reads one
/// response line per input line.
fn exchange(addr: &str, lines: &[String]) -> Vec<String> {
    let stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let payload: Vec<u8> = lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let sender = std::thread::spawn(move || {
        writer.write_all(&payload).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut reader = BufReader::new(stream);
    let mut out = Vec::with_capacity(lines.len());
    for i in 0..lines.len() {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "connection closed after {i} of {} responses",
            lines.len()
        );
        out.push(line.trim_end_matches('\n').to_string());
    }
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "more responses than lines");
    sender.join().unwrap();
    out
}

/// Starts `n` clients at once, each sending `lines` on a connection of its own and reading
/// every answer ([`exchange`]).
fn start_clients(
    addr: &str,
    lines: &[String],
    n: usize,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..n)
        .map(|_| {
            let (addr, lines) = (addr.to_string(), lines.to_vec());
            std::thread::spawn(move || exchange(&addr, &lines))
        })
        .collect()
}

/// Joins `clients` and asserts each got `lines` answers, every one the prediction of the
/// all-missing row: what each `{}` line gets from the wide model, which is the binary
/// classifier.
fn assert_all_missing_answers(clients: Vec<std::thread::JoinHandle<Vec<String>>>, lines: usize) {
    let mut want = [0.0f32];
    timber_stream_tests::BinaryLogistic.predict(&[f32::NAN; 8], &mut want);
    for client in clients {
        let got = client.join().unwrap();
        assert_eq!(got.len(), lines);
        for line in &got {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_bits(line, &json_floats(&v, "prediction"), &want);
        }
    }
}

/// Asserts the scorer's peak resident memory is under `limit_mib` MiB (`what`: the load).
fn assert_peak_rss(scorer: &Scorer, limit_mib: u64, what: &str) {
    let peak = scorer.peak_rss();
    eprintln!("peak RSS of the scorer: {} MiB", peak >> 20);
    assert!(peak < limit_mib << 20, "peak RSS {} MiB {what}", peak >> 20);
}

fn assert_predictions(fixture: &str, expected_file: &str, got: &[String], offset: usize) {
    let want = expected(fixture, expected_file);
    for (i, line) in got.iter().enumerate() {
        let w = &want[(i + offset) % want.len()];
        assert_bits(&format!("response {i} ({line})"), &parse_floats(line), w);
    }
}

#[test]
fn csv_rows_are_answered_in_order_bit_for_bit() {
    let (_s, addr) = server("binary", &[]);
    let rows = rows("binary_logistic", "input.csv");
    let got = exchange(&addr, &rows);
    assert_eq!(got.len(), rows.len());
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
}

#[test]
fn margins_and_multi_class_outputs_are_bit_exact() {
    let rows = rows("multi_softprob", "input.csv");
    let (_s, addr) = server("multi", &[]);
    assert_predictions("multi_softprob", "expected.csv", &exchange(&addr, &rows), 0);
    let (_m, addr) = server("multi", &["--margin"]);
    assert_predictions(
        "multi_softprob",
        "expected_margin.csv",
        &exchange(&addr, &rows),
        0,
    );
}

#[test]
fn a_pipelined_100k_rows_are_all_answered_in_order() {
    let (scorer, addr) = server("binary", &["--stats-interval", "0.2"]);
    let rows = rows("binary_logistic", "input.csv");
    let many: Vec<String> = (0..100_000).map(|i| rows[i % rows.len()].clone()).collect();
    let got = exchange(&addr, &many);
    assert_eq!(got.len(), 100_000);
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
    // The periodic log line reports what was scored.
    std::thread::sleep(Duration::from_millis(500));
    scorer.assert_logged("rows scored: 100000, errors: 0");
}

#[test]
fn bad_lines_get_error_lines_and_the_connection_lives_on() {
    let (_s, addr) = server("binary", &[]);
    let good = rows("binary_logistic", "input.csv");
    let lines = vec![
        good[0].clone(),
        "1,2,3".to_string(), // too few columns
        good[1].clone(),
        "a,b,c,d,e,f,g,h".to_string(),   // not numbers
        String::new(),                   // an empty line
        "1,2,3,4,5,6,7,inf".to_string(), // not finite
        good[2].clone(),
        "\"1\",\"2\",3,4,5,6,7,\"8\"".to_string(), // quoted cells are fine
        r#"{"f0": 1, "f1": 2, "f2": 3}"#.to_string(), // JSON sent to a CSV socket
    ];
    let got = exchange(&addr, &lines);
    assert_predictions("binary_logistic", "expected.csv", &got[..1], 0);
    assert_eq!(got[1], "error: expected 8 columns, found 3");
    assert_predictions("binary_logistic", "expected.csv", &got[2..3], 1);
    assert_eq!(got[3], "error: column 1 (f0): `a` is not a number");
    assert_eq!(got[4], "error: empty line");
    assert_eq!(
        got[8],
        "error: expected 8 columns, found 3; the line looks like JSON, which `--format json` reads"
    );
    assert!(
        got[5].starts_with("error: column 8 (f7): `inf` is not a finite number"),
        "{}",
        got[5]
    );
    assert_predictions("binary_logistic", "expected.csv", &got[6..7], 2);
    assert!(!got[7].starts_with("error"), "{}", got[7]);
}

#[test]
fn invalid_utf8_gets_an_error_line() {
    let (_s, addr) = server("binary", &[]);
    let mut stream = connect(&addr);
    stream.write_all(b"1,2,\xff,4,5,6,7,8\n").unwrap();
    stream
        .write_all(format!("{}\n", rows("binary_logistic", "input.csv")[0]).as_bytes())
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "error: column 3: not UTF-8", "{text}");
    assert_bits(
        "good row",
        &parse_floats(lines[1]),
        &expected("binary_logistic", "expected.csv")[0],
    );
}

#[test]
fn an_oversized_line_gets_an_error_and_the_next_line_is_scored() {
    let (_s, addr) = server("binary", &["--max-line-bytes", "200"]);
    let good = rows("binary_logistic", "input.csv");
    let long = format!("{},{}", good[0], "9".repeat(100_000));
    let lines = vec![good[0].clone(), long, good[1].clone()];
    let got = exchange(&addr, &lines);
    assert_predictions("binary_logistic", "expected.csv", &got[..1], 0);
    assert_eq!(got[1], "error: line longer than 200 bytes");
    assert_predictions("binary_logistic", "expected.csv", &got[2..], 1);
}

#[test]
fn the_last_line_without_a_newline_is_scored() {
    let (_s, addr) = server("binary", &[]);
    let mut stream = connect(&addr);
    let good = rows("binary_logistic", "input.csv");
    stream
        .write_all(format!("{}\n{}", good[0], good[1]).as_bytes())
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let got: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(got.len(), 2, "{text}");
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
}

#[test]
fn json_objects_by_name_arrays_ids_and_errors() {
    let (_s, addr) = server("categorical", &["--format", "json", "--margin"]);
    let header = header("categorical_small", "input_names.csv");
    let named = rows("categorical_small", "input_names.csv");
    let want = expected("categorical_small", "expected_names.csv");
    let want_margin = expected("categorical_small", "expected_names_margin.csv");
    // Objects keyed by name (string labels for categories, missing cells absent or null),
    // each with an id; then error cases.
    let mut lines = Vec::new();
    for (i, row) in named.iter().enumerate() {
        let mut obj = serde_json::Map::new();
        obj.insert("id".into(), serde_json::json!(format!("r{i}")));
        for (j, (name, cell)) in header.iter().zip(row.split(',')).enumerate() {
            let value = if cell.is_empty() {
                if j % 2 == 0 {
                    continue;
                } else {
                    serde_json::Value::Null
                }
            } else if let Ok(v) = cell.parse::<f64>() {
                serde_json::json!(v)
            } else {
                serde_json::json!(cell)
            };
            obj.insert(name.clone(), value);
        }
        lines.push(serde_json::Value::Object(obj).to_string());
    }
    let n = lines.len();
    lines.push(r#"{"id": 7, "x0": 1, "bogus": 2}"#.to_string());
    lines.push(r#"{"x0": true}"#.to_string());
    lines.push(r#"[1, 2]"#.to_string());
    lines.push(r#"{"x0": 1,"#.to_string());
    lines.push(r#"{"color": "mauve"}"#.to_string());
    let got = exchange(&addr, &lines);
    for (i, line) in got[..n].iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], serde_json::json!(format!("r{i}")), "{line}");
        assert_bits(
            &format!("prediction {i}"),
            &json_floats(&v, "prediction"),
            &want[i],
        );
        assert_bits(
            &format!("margin {i}"),
            &json_floats(&v, "margin"),
            &want_margin[i],
        );
    }
    let err = |i: usize| -> serde_json::Value { serde_json::from_str(&got[n + i]).unwrap() };
    assert_eq!(err(0)["id"], serde_json::json!(7));
    assert!(
        err(0)["error"]
            .as_str()
            .unwrap()
            .contains("`bogus` is not a feature"),
        "{}",
        got[n]
    );
    assert!(
        err(1)["error"]
            .as_str()
            .unwrap()
            .contains("field `x0`: expected a number"),
        "{}",
        got[n + 1]
    );
    assert!(
        err(2)["error"]
            .as_str()
            .unwrap()
            .contains("expected an array of 6 values, found 2"),
        "{}",
        got[n + 2]
    );
    assert!(
        err(3)["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON"),
        "{}",
        got[n + 3]
    );
    assert!(
        err(4)["error"].as_str().unwrap().contains("field `color`"),
        "{}",
        got[n + 4]
    );
}

#[test]
fn json_ignore_unknown_skips_unknown_fields() {
    let (_s, addr) = server("binary", &["--format", "json", "--ignore-unknown"]);
    let good = rows("binary_logistic", "input.csv");
    let cells: Vec<&str> = good[0].split(',').collect();
    let mut obj = serde_json::Map::new();
    for (i, c) in cells.iter().enumerate() {
        if !c.is_empty() {
            obj.insert(
                format!("f{i}"),
                serde_json::json!(c.parse::<f64>().unwrap()),
            );
        }
    }
    obj.insert("extra".into(), serde_json::json!("whatever"));
    let array: Vec<serde_json::Value> = cells
        .iter()
        .map(|c| {
            c.parse::<f64>()
                .map_or(serde_json::Value::Null, |v| serde_json::json!(v))
        })
        .collect();
    let lines = vec![
        serde_json::Value::Object(obj).to_string(),
        serde_json::Value::Array(array).to_string(),
    ];
    let got = exchange(&addr, &lines);
    let want = &expected("binary_logistic", "expected.csv")[0];
    for line in got {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(v.get("id").is_none(), "{line}");
        let p: Vec<f32> = v["prediction"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_bits(&line, &p, want);
    }
}

#[test]
fn many_clients_at_once_each_get_their_own_answers() {
    let (_s, addr) = server("binary", &[]);
    let rows = rows("binary_logistic", "input.csv");
    on_threads(16, |c| {
        // Each client starts at a different row, so answers cannot be mixed up.
        let mine: Vec<String> = (0..2000)
            .map(|i| rows[(i + c * 7) % rows.len()].clone())
            .collect();
        let got = exchange(&addr, &mine);
        assert_predictions("binary_logistic", "expected.csv", &got, c * 7);
    });
}

#[test]
fn connections_over_the_limit_are_refused_with_an_error_line() {
    let (_s, addr) = server("binary", &["--max-connections", "2"]);
    let first = connect(&addr);
    let second = connect(&addr);
    // Make sure both were accepted before the third arrives.
    let good = format!("{}\n", rows("binary_logistic", "input.csv")[0]);
    for mut s in [&first, &second] {
        s.write_all(good.as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        assert!(!line.starts_with("error"), "{line}");
    }
    let mut third = connect(&addr);
    let mut text = String::new();
    third.read_to_string(&mut text).unwrap();
    assert_eq!(text, "error: too many connections, try again later\n");
    drop(first);
    // A slot frees up once a connection closes.
    std::thread::sleep(Duration::from_millis(300));
    let got = exchange(&addr, &rows("binary_logistic", "input.csv")[..3]);
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
}

#[test]
fn an_idle_connection_is_closed() {
    let (_s, addr) = server("binary", &["--idle-timeout", "0.5"]);
    let mut stream = connect(&addr);
    let start = std::time::Instant::now();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).unwrap();
    assert!(buf.is_empty());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "closed after {:?}",
        start.elapsed()
    );
}

#[test]
fn sigterm_answers_what_was_received_then_exits_zero() {
    let (mut scorer, addr) = server("binary", &[]);
    let rows = rows("binary_logistic", "input.csv");
    let stream = connect(&addr);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    // Everything is written (and so received by the server's socket) before the signal.
    let payload: String = rows.iter().map(|r| format!("{r}\n")).collect();
    writer.write_all(payload.as_bytes()).unwrap();
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    scorer.signal("TERM");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let mut got = vec![first.trim_end().to_string()];
    got.extend(rest.lines().map(str::to_string));
    assert_eq!(got.len(), rows.len(), "every received line is answered");
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
    let status = scorer.wait(T);
    assert!(status.success(), "exit status {status}:\n{}", scorer.log());
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still accepting after SIGTERM"
    );
}

#[test]
fn client_mode_scores_a_listening_line_source() {
    let source = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = source.local_addr().unwrap().to_string();
    let rows = rows("binary_logistic", "input.csv");
    let mut scorer = Scorer::start(
        scorer_bin("binary"),
        &["serve", "socket", "--connect", &addr],
    );
    let (mut conn, _) = source.accept().unwrap();
    for chunk in rows.chunks(50) {
        let text: String = chunk.iter().map(|r| format!("{r}\n")).collect();
        conn.write_all(text.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(conn);
    let status = scorer.wait(T);
    assert!(status.success(), "{}", scorer.log());
    let out = scorer.stdout();
    let got: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(got.len(), rows.len());
    assert_predictions("binary_logistic", "expected.csv", &got, 0);
}

#[test]
fn client_mode_waits_for_a_source_that_starts_late() {
    // Reserve a port, free it, start the scorer, then start the source on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut scorer = Scorer::start(
        scorer_bin("binary"),
        &[
            "serve",
            "socket",
            "--connect",
            &addr,
            "--connect-timeout",
            "30",
        ],
    );
    std::thread::sleep(Duration::from_millis(400));
    let source = TcpListener::bind(&addr).unwrap();
    let (mut conn, _) = source.accept().unwrap();
    conn.write_all(format!("{}\n", rows("binary_logistic", "input.csv")[0]).as_bytes())
        .unwrap();
    drop(conn);
    assert!(scorer.wait(T).success(), "{}", scorer.log());
    let out = scorer.stdout();
    assert_predictions(
        "binary_logistic",
        "expected.csv",
        &[out.trim().to_string()],
        0,
    );
}

#[test]
fn serve_socket_without_a_mode_names_both_modes() {
    let out = Command::new(scorer_bin("binary"))
        .args(["serve", "socket"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--listen") && stderr.contains("--connect"),
        "{stderr}"
    );
}

/// A process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `lines` holds `want` lines, the scorer exits, or `timeout` passes; returns
/// how many it holds.
fn wait_for_lines(
    scorer: &mut Scorer,
    lines: &Mutex<Vec<String>>,
    want: usize,
    timeout: Duration,
) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let n = lines.lock().unwrap().len();
        if n >= want || Instant::now() > deadline || scorer.child.try_wait().unwrap().is_some() {
            // A last look: output may still have been arriving.
            std::thread::sleep(Duration::from_millis(200));
            return lines.lock().unwrap().len();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn client_mode_scores_every_row_of_an_openbsd_nc_lk_source() {
    // `nc -lk PORT < rows.csv` stops sending once it sees the scorer's FIN; the scorer used
    // to send one at once (it dropped its write half) and so got a few hundred rows, then
    // exited 0 as if the stream had ended.
    let help = Command::new("nc.openbsd")
        .arg("-h")
        .output()
        .expect("`nc.openbsd` is missing: install Debian's netcat-openbsd (scripts/test.sh does)");
    assert!(
        String::from_utf8_lossy(&help.stderr).contains("OpenBSD netcat"),
        "`nc.openbsd -h` does not say OpenBSD netcat"
    );
    let rows = rows("binary_logistic", "input.csv");
    let many: Vec<String> = (0..20_000).map(|i| rows[i % rows.len()].clone()).collect();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("socket-nc");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rows.csv");
    std::fs::write(
        &file,
        many.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();
    let port = timber_stream_tests::kafka::free_port().to_string();
    let _nc = Killed(
        Command::new("nc.openbsd")
            .args(["-lk", "127.0.0.1", &port])
            .stdin(std::fs::File::open(&file).unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr = format!("127.0.0.1:{port}");
    let mut scorer = Scorer::start(
        scorer_bin("binary"),
        &["serve", "socket", "--connect", &addr],
    );
    let out = scorer.stdout_lines();
    let got = wait_for_lines(&mut scorer, &out, many.len(), T);
    assert_eq!(
        got,
        many.len(),
        "rows answered of those nc sent; scorer log:\n{}",
        scorer.log()
    );
    // nc keeps the connection open (without -N it never closes it): stop the scorer.
    scorer.signal("TERM");
    let status = scorer.wait(T);
    assert!(status.success(), "{status}\n{}", scorer.log());
    let out = out.lock().unwrap();
    assert_eq!(out.len(), many.len(), "no more answers than rows");
    assert_predictions("binary_logistic", "expected.csv", &out, 0);
}

/// Writes `rows` over and over to `stream` until a write fails or `stop` is set; returns
/// the thread.
fn flood(mut stream: TcpStream, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let rows = rows("binary_logistic", "input.csv");
    let chunk: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    })
}

#[test]
fn a_peer_that_never_reads_is_dropped_after_the_write_timeout_and_frees_its_slot() {
    let (scorer, addr) = server(
        "binary",
        &["--max-connections", "1", "--write-timeout", "1"],
    );
    // The only slot goes to a peer that sends rows and never reads an answer: the server's
    // writes to it fill the socket buffers and then make no progress.
    let stuck = connect(&addr);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = flood(stuck.try_clone().unwrap(), stop.clone());
    let good = format!("{}\n", rows("binary_logistic", "input.csv")[0]);
    let deadline = Instant::now() + T;
    loop {
        let mut probe = connect(&addr);
        // A refused probe may be closed before it has written.
        let _ = probe.write_all(good.as_bytes());
        let _ = probe.shutdown(Shutdown::Write);
        let mut text = String::new();
        let _ = probe.read_to_string(&mut text);
        if text != "error: too many connections, try again later\n" {
            assert_predictions(
                "binary_logistic",
                "expected.csv",
                &[text.trim().to_string()],
                0,
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the peer that never reads still holds the only slot after {T:?}:\n{}",
            scorer.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        scorer.log().contains("stopped reading"),
        "the drop is logged:\n{}",
        scorer.log()
    );
    stop.store(true, Ordering::SeqCst);
    drop(stuck);
    sender.join().unwrap();
}

#[test]
fn sigterm_stops_the_server_by_the_drain_deadline_despite_a_peer_that_never_reads() {
    // No write timeout at all: only the drain deadline can end the blocked write.
    let (mut scorer, addr) = server("binary", &["--write-timeout", "0", "--drain-timeout", "1"]);
    let stuck = connect(&addr);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = flood(stuck.try_clone().unwrap(), stop.clone());
    // Long enough for the answers to fill the socket buffers on a loaded machine.
    std::thread::sleep(Duration::from_secs(3));
    scorer.signal("TERM");
    let status = scorer.wait(T);
    assert!(status.success(), "{status}\n{}", scorer.log());
    stop.store(true, Ordering::SeqCst);
    drop(stuck);
    sender.join().unwrap();
}

#[test]
fn sigterm_takes_effect_while_a_client_keeps_sending() {
    // The server used to keep reading (and answering) for as long as the client sent.
    let (mut scorer, addr) = server("binary", &["--drain-timeout", "2"]);
    let stream = connect(&addr);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = flood(stream.try_clone().unwrap(), stop.clone());
    let answers: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = answers.clone();
    let reader = std::thread::spawn(move || {
        // Until the server closes (EOF, or a reset as it closes with unread rows).
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    let deadline = Instant::now() + T;
    while answers.lock().unwrap().len() < 5_000 {
        assert!(Instant::now() < deadline, "no answers:\n{}", scorer.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    scorer.signal("TERM");
    // Without a drain deadline this never returns: the client never stops sending.
    let status = scorer.wait(T);
    assert!(status.success(), "{status}\n{}", scorer.log());
    reader.join().unwrap();
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    // Every answer it did give is right and in order.
    let answers = answers.lock().unwrap();
    assert!(answers.len() >= 5_000);
    assert_predictions("binary_logistic", "expected.csv", &answers, 0);
}

#[test]
fn partial_lines_across_many_connections_stay_within_the_buffer_budget() {
    // 150 connections each hold a 1 MB line without its newline: 150 MB held before the
    // budget, 8 MiB (beyond 128 KiB per connection) with it.
    let (scorer, addr) = server(
        "binary",
        &["--max-buffered-bytes", "8388608", "--stats-interval", "0"],
    );
    let good = rows("binary_logistic", "input.csv");
    let padding = " ".repeat(1_000_000);
    let mut streams: Vec<TcpStream> = (0..150).map(|_| connect(&addr)).collect();
    for s in &mut streams {
        s.write_all(padding.as_bytes()).unwrap();
    }
    // The server reads what it can; whatever it holds now is the most it ever holds.
    std::thread::sleep(Duration::from_secs(2));
    for (i, s) in streams.iter_mut().enumerate() {
        // The padded line is a valid row (cells are trimmed) when its bytes were kept.
        let rest = format!("{}\n{}\n", good[i % good.len()], good[(i + 1) % good.len()]);
        s.write_all(rest.as_bytes()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
    }
    let want = expected("binary_logistic", "expected.csv");
    let (mut kept, mut dropped) = (0, 0);
    for (i, s) in streams.into_iter().enumerate() {
        let mut text = String::new();
        BufReader::new(s).read_to_string(&mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "connection {i}: {text}");
        if lines[0].starts_with("error:") {
            assert_eq!(
                lines[0],
                "error: line dropped: the server's buffer for partial lines \
                 (--max-buffered-bytes) is full; send it again later"
            );
            dropped += 1;
        } else {
            assert_bits("kept line", &parse_floats(lines[0]), &want[i % want.len()]);
            kept += 1;
        }
        // The connection lives on: the next line is scored.
        assert_bits(
            "next line",
            &parse_floats(lines[1]),
            &want[(i + 1) % want.len()],
        );
    }
    assert_peak_rss(
        &scorer,
        100,
        "for 150 partial lines of 1 MB under an 8 MiB budget",
    );
    assert!(dropped > 0, "the budget never bit ({kept} lines kept)");
}

#[test]
fn a_burst_of_empty_json_rows_on_a_wide_model_is_answered_in_bounded_memory() {
    // 20,000 features: each `{}` line (3 bytes) decodes to an 80 KB row. Three bursts of
    // 8,000 such lines at once used to be decoded as three batches of 640 MB each.
    let (scorer, addr) = server("wide", &["--format", "json", "--stats-interval", "0"]);
    let lines: Vec<String> = vec!["{}".to_string(); 8_000];
    let clients = start_clients(&addr, &lines, 3);
    assert_all_missing_answers(clients, lines.len());
    assert_peak_rss(
        &scorer,
        400,
        "answering 24,000 rows of a 20,000-feature model",
    );
}

#[test]
fn connections_waiting_for_the_scoring_budget_hold_no_decoded_rows() {
    // `--max-scoring-bytes` bounds decoded rows across connections only if a connection
    // takes its room before it decodes. Connections used to decode a batch first (8 MiB of
    // this 20,000-feature model's rows each) and then wait for room holding it.
    let (scorer, addr) = server(
        "wide",
        &[
            "--format",
            "json",
            "--stats-interval",
            "0",
            "--write-timeout",
            "0",
            // Less than two wide rows: one row in flight takes most of the budget.
            "--max-scoring-bytes",
            "100000",
        ],
    );
    // A peer whose results are large (each repeats a 60 KB id) and that never reads: once
    // the socket buffers are full its write waits, holding the room of its batch.
    let stuck = connect(&addr);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (mut stream, stop) = (stuck.try_clone().unwrap(), stop.clone());
        let line = format!("{{\"id\":\"{}\"}}\n", "i".repeat(60_000));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if stream.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    // Meanwhile 60 connections send 200 rows each and wait for room.
    let lines: Vec<String> = vec!["{}".to_string(); 200];
    let clients = start_clients(&addr, &lines, 60);
    std::thread::sleep(Duration::from_secs(3));
    // Closing the stuck peer gives its room back: every waiting connection is answered.
    stop.store(true, Ordering::SeqCst);
    stuck.shutdown(Shutdown::Both).unwrap();
    sender.join().unwrap();
    drop(stuck);
    assert_all_missing_answers(clients, lines.len());
    assert_peak_rss(
        &scorer,
        200,
        "with 60 connections waiting for a 100 kB scoring budget",
    );
}
