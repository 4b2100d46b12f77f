//! `serve http` and `--http` over real HTTP with the compiled fixture models: the Open
//! Inference Protocol (KServe v2) bit for bit against the training libraries' predictions
//! (XGBoost f32 and LightGBM f64 models, single and multi-output, margins), plain CSV /
//! NDJSON / JSON rows (the socket's results byte for byte), malformed and oversized bodies,
//! wrong shapes and datatypes, concurrent clients and the concurrency limit, `/metrics`,
//! the live page's feed, and the metrics server of `serve socket` and `serve kafka`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use timber_stream_tests::http::{get, post, request, Response};

const T: Duration = Duration::from_secs(60);
const JSON: &str = "application/json";

fn server(model: &str, extra: &[&str]) -> (Scorer, String) {
    let args = [
        "serve",
        "http",
        "--listen",
        "127.0.0.1:0",
        "--model-name",
        "churn",
    ];
    start_listening(model, &args, extra)
}

/// A fixture's input rows as cells (empty = missing).
fn cells(fixture: &str) -> Vec<Vec<String>> {
    rows(fixture, "input.csv")
        .iter()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Reference outputs as f64 (LightGBM writes `repr(float64)`).
fn expected64(fixture: &str, file: &str) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(models_dir().join(fixture).join(file)).unwrap();
    text.lines()
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect()
}

/// The JSON number of one cell in the request's datatype: the CSV text itself for FP64;
/// for FP32 the value rounded to f32 client-side (as numpy's `astype(float32)`), written
/// in its shortest f32 form.
fn number(cell: &str, datatype: &str) -> String {
    if cell.is_empty() {
        return "null".into();
    }
    match datatype {
        "FP32" => format!("{}", cell.parse::<f64>().unwrap() as f32),
        _ => cell.to_string(),
    }
}

/// An inference request body for `rows`, nested `[[…],[…]]` data.
fn infer_body(rows: &[Vec<String>], datatype: &str, extra: &str) -> String {
    let nf = rows.first().map_or(0, Vec::len);
    let data: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Vec<String> = r.iter().map(|c| number(c, datatype)).collect();
            format!("[{}]", v.join(","))
        })
        .collect();
    format!(
        "{{{extra}\"inputs\":[{{\"name\":\"input\",\"shape\":[{},{nf}],\"datatype\":\"{datatype}\",\"data\":[{}]}}]}}",
        rows.len(),
        data.join(",")
    )
}

fn infer(addr: &str, body: &str) -> Response {
    post(addr, "/v2/models/churn/infer", JSON, body.as_bytes())
}

/// The number texts of an output's data (kept as text: parsing them as JSON numbers
/// through f64 would hide f32 formatting).
fn data_texts(response: &Response, output: usize) -> Vec<String> {
    let v = response.json();
    v["outputs"][output]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {v}"))
        .iter()
        .map(|x| x.to_string())
        .collect()
}

/// Asserts an f32 output equals the reference bit for bit, each number parsed as f32.
fn assert_f32_output(response: &Response, output: usize, want: &[Vec<f32>], what: &str) {
    let texts = data_texts(response, output);
    let width = want[0].len();
    assert_eq!(texts.len(), want.len() * width, "{what}: values");
    for (i, row) in texts.chunks(width).enumerate() {
        let got: Vec<f32> = row.iter().map(|t| t.parse::<f32>().unwrap()).collect();
        assert_bits(&format!("{what} row {i}"), &got, &want[i]);
    }
}

/// The model metadata declares one input tensor `input` of `features` columns and one output
/// `prediction` of `outputs` columns, both of `datatype`, over any number of rows.
fn assert_tensors(meta: &Value, datatype: &str, features: i64, outputs: i64) {
    assert_eq!(
        meta["inputs"],
        json!([{"name": "input", "datatype": datatype, "shape": [-1, features]}])
    );
    assert_eq!(
        meta["outputs"],
        json!([{"name": "prediction", "datatype": datatype, "shape": [-1, outputs]}])
    );
}

fn assert_error(response: &Response, status: u16, needle: &str) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    let v = response.json();
    let message = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {v}"));
    assert!(message.contains(needle), "`{message}` lacks `{needle}`");
}

#[test]
fn health_and_metadata_follow_the_protocol() {
    let (_s, addr) = server("binary", &[]);
    let live = get(&addr, "/v2/health/live");
    assert_eq!(live.status, 200);
    assert_eq!(get(&addr, "/v2/health/ready").status, 200);
    assert_eq!(get(&addr, "/v2/models/churn/ready").json()["ready"], true);
    let server_meta = get(&addr, "/v2").json();
    assert_eq!(server_meta["name"], "timber");
    let meta = get(&addr, "/v2/models/churn");
    assert_eq!(meta.status, 200);
    let meta = meta.json();
    assert_eq!(meta["name"], "churn");
    assert_tensors(&meta, "FP32", 8, 1);
    assert_error(&get(&addr, "/v2/models/other"), 404, "serves `churn`");
    assert_error(&get(&addr, "/v2/nothing"), 404, "no such endpoint");
    assert_error(
        &request(&addr, "GET", "/v2/models/churn/infer", &[], b"").unwrap(),
        405,
        "method",
    );

    let (_s, addr) = server("lgb-multi", &[]);
    let meta = get(&addr, "/v2/models/churn").json();
    assert_tensors(&meta, "FP64", 6, 5);
}

#[test]
fn infer_is_bit_exact_for_f32_models_in_fp32_and_fp64() {
    let (_s, addr) = server("binary", &[]);
    let rows = cells("binary_logistic");
    let want = expected("binary_logistic", "expected.csv");
    for datatype in ["FP32", "FP64"] {
        let response = infer(&addr, &infer_body(&rows, datatype, "\"id\":\"r1\","));
        assert_eq!(response.status, 200, "{}", response.text());
        let v = response.json();
        assert_eq!(v["model_name"], "churn");
        assert_eq!(v["id"], "r1");
        let out = &v["outputs"][0];
        assert_eq!(out["name"], "prediction");
        assert_eq!(out["datatype"], "FP32");
        assert_eq!(out["shape"], json!([rows.len(), 1]));
        assert_f32_output(&response, 0, &want, datatype);
    }
    // Flat data is the same tensor as nested data.
    let flat = infer_body(&rows[..3], "FP32", "").replace("],[", ",");
    let flat = flat
        .replacen("\"data\":[[", "\"data\":[", 1)
        .replace("]]}", "]}");
    let response = infer(&addr, &flat);
    assert_f32_output(&response, 0, &want[..3], "flat");
}

#[test]
fn infer_margins_and_multi_output_are_bit_exact() {
    let (_s, addr) = server("multi", &[]);
    let rows = cells("multi_softprob");
    let response = infer(&addr, &infer_body(&rows, "FP32", ""));
    assert_eq!(
        response.json()["outputs"][0]["shape"],
        json!([rows.len(), 4])
    );
    assert_f32_output(
        &response,
        0,
        &expected("multi_softprob", "expected.csv"),
        "probs",
    );
    let margins = expected("multi_softprob", "expected_margin.csv");
    let response = infer(
        &addr,
        &infer_body(&rows, "FP32", "\"parameters\":{\"margin\":true},"),
    );
    assert_eq!(response.json()["outputs"][0]["name"], "margin");
    assert_f32_output(&response, 0, &margins, "margins");
    // Both outputs, by name, in the order asked.
    let both = infer_body(&rows, "FP32", "").replacen(
        '{',
        "{\"outputs\":[{\"name\":\"margin\"},{\"name\":\"prediction\"}],",
        1,
    );
    let response = infer(&addr, &both);
    assert_f32_output(&response, 0, &margins, "margins first");
    assert_f32_output(
        &response,
        1,
        &expected("multi_softprob", "expected.csv"),
        "then predictions",
    );
}

#[test]
fn infer_is_bit_exact_for_an_f64_model() {
    let (_s, addr) = server("lgb-multi", &[]);
    let rows = cells("lgb_multiclass");
    for (file, extra) in [
        ("expected.csv", ""),
        ("expected_margin.csv", "\"parameters\":{\"margin\":true},"),
    ] {
        let want = expected64("lgb_multiclass", file);
        let response = infer(&addr, &infer_body(&rows, "FP64", extra));
        assert_eq!(response.status, 200, "{}", response.text());
        let v = response.json();
        assert_eq!(v["outputs"][0]["datatype"], "FP64");
        assert_eq!(v["outputs"][0]["shape"], json!([rows.len(), 5]));
        let texts = data_texts(&response, 0);
        assert_eq!(texts.len(), want.len() * 5);
        for (i, (got, want)) in texts.chunks(5).zip(&want).enumerate() {
            let got: Vec<u64> = got
                .iter()
                .map(|t| t.parse::<f64>().unwrap().to_bits())
                .collect();
            let want: Vec<u64> = want.iter().map(|w| w.to_bits()).collect();
            assert_eq!(got, want, "{file} row {i}");
        }
    }
}

#[test]
fn malformed_requests_get_protocol_errors() {
    let (_s, addr) = server("binary", &[]);
    let rows = cells("binary_logistic");
    let good = infer_body(&rows[..2], "FP32", "");
    let shape = |to: &str| good.replace("\"shape\":[2,8]", to);
    // (case, body, what the error says)
    let cases = [
        (
            "cut short",
            "{\"inputs\": [".to_string(),
            "not an inference request",
        ),
        ("an array", "[1, 2]".to_string(), "not an inference request"),
        (
            "no tensor",
            "{\"inputs\": []}".to_string(),
            "expected one input tensor",
        ),
        ("7 columns", shape("\"shape\":[2,7]"), "takes [rows, 8]"),
        ("one dimension", shape("\"shape\":[16]"), "takes [rows, 8]"),
        (
            "shape over data",
            shape("\"shape\":[3,8]"),
            "24 values) but 16 values",
        ),
        ("INT64", good.replace("FP32", "INT64"), "datatype INT64"),
        (
            "unknown input",
            good.replace("\"name\":\"input\"", "\"name\":\"x\""),
            "unknown input `x`",
        ),
        (
            "a string",
            good.replacen("[[", "[[\"a\",", 1),
            "found a string",
        ),
        (
            "beyond f32",
            good.replacen("[[", "[[1e39,", 1),
            "not a finite FP32",
        ),
        (
            "margin not a bool",
            infer_body(&rows[..1], "FP32", "\"parameters\":{\"margin\":\"yes\"},"),
            "parameter `margin`",
        ),
        (
            "unknown output",
            infer_body(&rows[..1], "FP32", "\"outputs\":[{\"name\":\"proba\"}],"),
            "unknown output `proba`",
        ),
    ];
    for (case, body, needle) in &cases {
        // Names the case in the test's output when an assertion below fails.
        eprintln!("case: {case}");
        assert_error(&infer(&addr, body), 400, needle);
    }
    assert_error(
        &post(&addr, "/v2/models/nope/infer", JSON, good.as_bytes()),
        404,
        "no model `nope`",
    );
    // Zero rows is a valid, empty tensor.
    let empty = infer(
        &addr,
        "{\"inputs\":[{\"name\":\"input\",\"shape\":[0,8],\"datatype\":\"FP32\",\"data\":[]}]}",
    );
    assert_eq!(empty.json()["outputs"][0]["shape"], json!([0, 1]));
    // The server is still fine.
    assert_eq!(infer(&addr, &good).status, 200);
}

#[test]
fn oversized_bodies_and_too_many_rows_get_413() {
    let (_s, addr) = server("binary", &["--max-body-bytes", "4096", "--max-rows", "10"]);
    let rows = cells("binary_logistic");
    let big = infer_body(&rows[..100], "FP64", "");
    assert!(big.len() > 4096);
    assert_error(&infer(&addr, &big), 413, "--max-body-bytes");
    // A lying or absent Content-Length does not get past the limit either (chunked body).
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let response = request(
        &addr,
        "POST",
        "/v2/models/churn/infer",
        &[
            ("Content-Type", JSON),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "0"),
        ],
        chunked.as_bytes(),
    );
    // hyper refuses a request with both headers outright; either way, not scored.
    if let Ok(r) = response {
        assert!(r.status == 413 || r.status == 400, "{}", r.status);
    }
    assert_error(
        &infer(&addr, &infer_body(&rows[..11], "FP32", "")),
        413,
        "--max-rows",
    );
    let csv: String = rows[..11].iter().map(|r| r.join(",") + "\n").collect();
    let r = post(&addr, "/predict", "text/csv", csv.as_bytes());
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("--max-rows"), "{}", r.text());
    let ok: String = rows[..10].iter().map(|r| r.join(",") + "\n").collect();
    assert_eq!(
        post(&addr, "/predict", "text/csv", ok.as_bytes()).status,
        200
    );
}

/// What `serve socket` answers for `lines`.
fn socket_answers(model: &str, extra: &[&str], lines: &[String]) -> String {
    let mut args = vec!["serve", "socket", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut scorer = Scorer::start(scorer_bin(model), &args);
    let addr = scorer.listening_addr();
    let stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let payload: String = lines.iter().map(|l| format!("{l}\n")).collect();
    writer.write_all(payload.as_bytes()).unwrap();
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    let mut reader = BufReader::new(stream);
    for _ in lines {
        reader.read_line(&mut out).unwrap();
    }
    out
}

#[test]
fn csv_rows_get_the_socket_results_with_errors_in_place() {
    let (_s, addr) = server("binary", &[]);
    let mut lines = rows("binary_logistic", "input.csv");
    lines.insert(5, "1,2,3".into());
    lines.insert(9, "x,2,3,4,5,6,7,8".into());
    let socket = socket_answers("binary", &[], &lines);
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let r = post(&addr, "/predict", "text/csv", body.as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("timber-row-errors"), Some("2"));
    assert_eq!(r.text(), socket, "no header: the socket's answers");
    let got: Vec<&str> = socket.lines().collect();
    assert!(
        got[5].starts_with("error: expected 8 columns, found 3"),
        "{}",
        got[5]
    );
    assert!(got[9].starts_with("error: column 1 (f0)"), "{}", got[9]);
    let good: Vec<String> = got
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5 && *i != 9)
        .map(|(_, l)| l.to_string())
        .collect();
    let want = expected("binary_logistic", "expected.csv");
    for (i, line) in good.iter().enumerate() {
        assert_bits(&format!("row {i}"), &parse_floats(line), &want[i]);
    }

    // With a header naming the features, in another order, and an extra column: by name.
    let header = header("binary_logistic", "input.csv");
    let order: Vec<usize> = (0..8).rev().collect();
    let mut csv = String::from("extra,");
    csv += &order
        .iter()
        .map(|&i| header[i].as_str())
        .collect::<Vec<_>>()
        .join(",");
    csv.push_str("\r\n");
    for row in cells("binary_logistic").iter().take(50) {
        csv += &format!(
            "zz,{}\r\n",
            order
                .iter()
                .map(|&i| row[i].as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let r = post(&addr, "/predict", "text/csv", csv.as_bytes());
    let got: Vec<&str> = r
        .body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    assert_eq!(got.len(), 50, "{}", r.text());
    for (i, line) in got.iter().enumerate() {
        assert_bits(&format!("by name, row {i}"), &parse_floats(line), &want[i]);
    }
    // Margins by query; header=present forces a (positional) header.
    let body = format!("a,b,c,d,e,f,g,h\n{}\n", lines[0]);
    let r = post(
        &addr,
        "/predict?margin=true",
        "text/csv; header=present",
        body.as_bytes(),
    );
    let margin = expected("binary_logistic", "expected_margin.csv");
    assert_bits("margin", &parse_floats(r.text().trim()), &margin[0]);
    let r = post(&addr, "/predict", "text/plain", b"1,2");
    assert_eq!(r.status, 415, "{}", r.text());
}

#[test]
fn ndjson_and_json_rows_keep_their_ids() {
    let (_s, addr) = server("multi", &[]);
    let header = header("multi_softprob", "input.csv");
    let rows = cells("multi_softprob");
    let want = expected("multi_softprob", "expected.csv");
    let objects: Vec<String> = rows
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, r)| {
            let fields: Vec<String> = header
                .iter()
                .zip(r)
                .filter(|(_, c)| !c.is_empty())
                .map(|(h, c)| format!("\"{h}\":{c}"))
                .collect();
            format!("{{\"id\":\"row-{i}\",{}}}", fields.join(","))
        })
        .collect();
    let mut ndjson = objects.join("\n");
    ndjson.push_str("\n{\"id\":\"bad\",\"nope\":1}\n\n");
    let socket = socket_answers(
        "multi",
        &["--format", "json"],
        &ndjson
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    let r = post(&addr, "/predict", "application/x-ndjson", ndjson.as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), socket, "the socket's JSON results");
    let results: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 41);
    for (i, v) in results[..40].iter().enumerate() {
        assert_eq!(v["id"], format!("row-{i}"));
        assert_bits(&format!("row {i}"), &json_floats(v, "prediction"), &want[i]);
    }
    assert_eq!(results[40]["id"], "bad");
    assert!(results[40]["error"]
        .as_str()
        .unwrap()
        .contains("`nope` is not a feature"));

    // A JSON array of rows: an array of results; one row: one result.
    let array = format!("[{}]", objects[..3].join(","));
    let r = post(&addr, "/predict?margin=1", JSON, array.as_bytes());
    let v = r.json();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[2]["id"], "row-2");
    let margin = expected("multi_softprob", "expected_margin.csv");
    assert_bits("margin", &json_floats(&v[2], "margin"), &margin[2]);
    let one = post(&addr, "/predict", JSON, objects[7].as_bytes()).json();
    assert_eq!(one["id"], "row-7");
    let positional = format!(
        "[{}]",
        rows[4]
            .iter()
            .map(|c| if c.is_empty() {
                "null".to_string()
            } else {
                c.clone()
            })
            .collect::<Vec<_>>()
            .join(",")
    );
    let one = post(&addr, "/predict", JSON, positional.as_bytes()).json();
    assert_bits("array row", &json_floats(&one, "prediction"), &want[4]);
    let r = post(&addr, "/predict", JSON, b"[1, {");
    assert_error(&r, 400, "not valid JSON");
}

#[test]
fn concurrent_clients_get_their_own_answers() {
    let (_s, addr) = server("binary", &[]);
    let rows = cells("binary_logistic");
    let want = expected("binary_logistic", "expected.csv");
    on_threads(8, |t| {
        for k in 0..15 {
            let start = (t * 37 + k * 11) % rows.len();
            let n = 1 + (t * 13 + k * 7) % (rows.len() - start);
            let response = infer(&addr, &infer_body(&rows[start..start + n], "FP32", ""));
            assert_eq!(response.status, 200, "{}", response.text());
            assert_f32_output(&response, 0, &want[start..start + n], "concurrent");
        }
    });
}

#[test]
fn requests_beyond_the_concurrency_limit_get_429() {
    let (_s, addr) = server("binary", &["--max-concurrent", "1"]);
    let rows = cells("binary_logistic");
    let mut many = Vec::new();
    while many.len() < 60_000 {
        many.extend_from_slice(&rows);
    }
    let body = infer_body(&many, "FP64", "");
    let statuses: Vec<(u16, Option<String>, String)> = (0..6)
        .map(|_| {
            let (addr, body) = (addr.clone(), body.clone());
            std::thread::spawn(move || {
                let r = infer(&addr, &body);
                (
                    r.status,
                    r.header("retry-after").map(str::to_string),
                    r.text(),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let ok = statuses.iter().filter(|s| s.0 == 200).count();
    let busy: Vec<_> = statuses.iter().filter(|s| s.0 == 429).collect();
    assert!(ok >= 1, "{statuses:?}");
    assert!(!busy.is_empty(), "6 large requests at once, none refused");
    assert_eq!(ok + busy.len(), 6);
    for b in busy {
        assert_eq!(b.1.as_deref(), Some("1"), "Retry-After");
        assert!(b.2.contains("--max-concurrent"), "{}", b.2);
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in\n{text}"))
}

#[test]
fn metrics_count_rows_errors_batches_and_latency() {
    let (_s, addr) = server("binary", &[]);
    let rows = cells("binary_logistic");
    assert_eq!(
        infer(&addr, &infer_body(&rows[..100], "FP32", "")).status,
        200
    );
    let body = "1,2,3\n".to_string() + &rows[0].join(",") + "\n";
    assert_eq!(
        post(&addr, "/predict", "text/csv", body.as_bytes()).status,
        200
    );
    assert_eq!(infer(&addr, "{").status, 400);
    let m = get(&addr, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = m.text();
    assert_eq!(metric(&text, "timber_rows_scored_total"), 101.0);
    assert_eq!(metric(&text, "timber_row_errors_total"), 1.0);
    assert_eq!(metric(&text, "timber_batches_total"), 2.0);
    assert_eq!(metric(&text, "timber_score_seconds_count"), 2.0);
    assert_eq!(
        metric(&text, "timber_score_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
    assert!(metric(&text, "timber_score_seconds_sum") > 0.0);
    assert_eq!(
        metric(
            &text,
            "timber_http_requests_total{route=\"infer\",code=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "timber_http_requests_total{route=\"infer\",code=\"400\"}"
        ),
        1.0
    );
    let sha = std::process::Command::new("sha256sum")
        .arg(models_dir().join("binary_logistic/model.json"))
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split(' ')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let info = text
        .lines()
        .find(|l| l.starts_with("timber_model_info{"))
        .unwrap();
    assert!(info.contains("name=\"churn\""), "{info}");
    assert!(info.contains("trees=\"20\""), "{info}");
    if !sha.is_empty() {
        assert!(info.contains(&format!("sha256=\"{sha}\"")), "{info}");
    }
    assert!(info.ends_with(" 1"), "{info}");
    // Every sample line is `name{labels} value` with a number.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

/// Polls `/snapshot` until `ok` accepts it.
fn wait_snapshot(addr: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + T;
    loop {
        let v = get(addr, "/snapshot").json();
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_live_feed_streams_snapshots() {
    let (_s, addr) = server("binary", &[]);
    // /events: a Server-Sent Events stream whose first event is a snapshot.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    write!(stream, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut seen = String::new();
    let mut snapshots = 0;
    let started = Instant::now();
    while snapshots < 2 {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "stream closed: {seen}"
        );
        if let Some(data) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data.trim()).unwrap();
            assert_eq!(v["model"]["name"], "churn");
            snapshots += 1;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.contains("event: snapshot"), "{seen}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let rows = cells("binary_logistic");
    let want = expected("binary_logistic", "expected.csv");
    infer(
        &addr,
        &infer_body(&rows[..30], "FP32", "\"id\":\"batch-a\","),
    );
    let v = wait_snapshot(&addr, "30 rows", |v| v["totals"]["scored"] == 30);
    let latest = v["latest"].as_array().unwrap();
    assert_eq!(latest[0]["key"], "batch-a[29]", "newest first");
    assert_eq!(latest[0]["values"][0].as_f64().unwrap() as f32, want[29][0]);
    assert_eq!(v["histograms"]["outputs"][0]["n"], 30);
    let counts: u64 = v["histograms"]["outputs"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counts, 30);
    assert!(v["latency"]["p99"].as_f64().unwrap() > 0.0);
    // The page and its assets are served from the binary.
    let page = get(&addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("page.js"));
    assert!(get(&addr, "/page.js").text().contains("EventSource"));
    assert!(get(&addr, "/page.css").status == 200);
}

#[test]
fn serve_socket_with_http_reports_its_rows() {
    let (mut scorer, socket, http) = socket_with_page("binary", &[]);
    let mut lines = rows("binary_logistic", "input.csv");
    lines.push("bad".into());
    let stream = TcpStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    for l in &lines {
        writeln!(writer, "{l}").unwrap();
    }
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reader = BufReader::new(stream);
    for _ in &lines {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
    }
    let text = get(&http, "/metrics").text();
    assert_eq!(
        metric(&text, "timber_rows_scored_total"),
        (lines.len() - 1) as f64
    );
    assert_eq!(metric(&text, "timber_row_errors_total"), 1.0);
    assert!(metric(&text, "timber_batches_total") >= 1.0);
    assert_eq!(get(&http, "/v2/health/live").status, 200);
    let v = wait_snapshot(&http, "socket rows", |v| {
        v["totals"]["scored"].as_u64() == Some((lines.len() - 1) as u64)
    });
    assert_eq!(v["model"]["mode"], "socket");
    let latest = v["latest"].as_array().unwrap();
    assert!(latest[0]["error"]
        .as_str()
        .unwrap()
        .contains("expected 8 columns"));
    let want = expected("binary_logistic", "expected.csv");
    assert_eq!(
        latest[1]["values"][0].as_f64().unwrap() as f32,
        want[want.len() - 1][0]
    );
    // The scoring endpoints belong to `serve http` only.
    assert_eq!(post(&http, "/predict", "text/csv", b"1").status, 404);
    scorer.signal("TERM");
    assert!(scorer.wait(T).success());
}

#[test]
fn sigterm_stops_serve_http_cleanly() {
    let (mut scorer, addr) = server("binary", &[]);
    let rows = cells("binary_logistic");
    assert_eq!(
        infer(&addr, &infer_body(&rows[..5], "FP32", "")).status,
        200
    );
    scorer.signal("TERM");
    assert!(scorer.wait(T).success(), "{}", scorer.log());
    scorer.assert_logged("done: 5 rows scored, 0 errors");
}

#[test]
fn live_feeds_beyond_the_limit_get_503() {
    let (mut scorer, addr) = server("binary", &[]);
    // 64 pages open at once (MAX_EVENT_STREAMS), each reading its first snapshot.
    let open: Vec<BufReader<TcpStream>> = (0..64)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(T)).unwrap();
            write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            let mut reader = BufReader::new(s);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.contains(" 200 "), "{line}");
            reader
        })
        .collect();
    let refused = get(&addr, "/events");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.text().contains("live pages are open already"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    let text = get(&addr, "/metrics").text();
    assert_eq!(metric(&text, "timber_http_event_streams"), 64.0);
    // A page that leaves makes room.
    drop(open);
    let deadline = Instant::now() + T;
    while metric(&get(&addr, "/metrics").text(), "timber_http_event_streams") > 63.0 {
        assert!(Instant::now() < deadline, "closed feeds were not let go");
        std::thread::sleep(Duration::from_millis(50));
    }
    scorer.signal("TERM");
    assert!(scorer.wait(T).success(), "{}", scorer.log());
}
