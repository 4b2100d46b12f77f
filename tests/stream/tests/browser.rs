//! The live page in a real browser: Debian's headless chromium (driven by chromedriver over
//! WebDriver) opens the page of `serve socket --http` and of `serve http`, rows are sent to
//! the scorer, and the page's counters, error count and table of latest predictions change
//! with no reload (a marker set in the page's JavaScript survives, and the page was
//! navigated to once).
//!
//! Without chromium and chromedriver the test says so and passes, unless
//! `TIMBER_REQUIRE_BROWSER` is set (`scripts/test.sh` installs both and sets it), when it
//! fails. `TIMBER_SCREENSHOT=FILE.png` also saves a screenshot of the page at the end.

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;
use timber_stream_tests::http::post;
use timber_stream_tests::webdriver::{Driver, Session};

const T: Duration = Duration::from_secs(60);

/// A browser driver, or `None` (test skipped) when none is installed and none is required.
fn driver() -> Option<Driver> {
    match Driver::start() {
        Ok(d) => Some(d),
        Err(why) if std::env::var_os("TIMBER_REQUIRE_BROWSER").is_none() => {
            eprintln!("SKIPPED (set TIMBER_REQUIRE_BROWSER to fail instead): {why}");
            None
        }
        Err(why) => panic!("TIMBER_REQUIRE_BROWSER is set, but: {why}"),
    }
}

/// What the page shows: its counters, the keys in its table, its snapshot count, and
/// whether it is still the page first loaded.
const STATE: &str = r##"
const digits = (id) => Number(document.getElementById(id).textContent.replace(/[^0-9]/g, "") || "0");
return {
  scored: digits("kpi-scored"),
  errors: digits("kpi-errors"),
  keys: Array.from(document.querySelectorAll("#latest tbody td.key")).map((td) => td.textContent),
  errorRows: document.querySelectorAll("#latest tbody tr.err").length,
  updates: Number(document.body.dataset.updates),
  status: document.getElementById("status-text").textContent,
  marker: window.timberMarker || null,
  navigations: performance.getEntriesByType("navigation").length,
  model: document.getElementById("model-name").textContent,
};"##;

/// `true` once the page shows `scored` rows and `errors` errors.
fn shows(scored: usize, errors: usize) -> String {
    format!(
        "const d = (id) => Number(document.getElementById(id).textContent.replace(/[^0-9]/g, '') || '0'); \
         return d('kpi-scored') === {scored} && d('kpi-errors') === {errors};"
    )
}

/// Opens the page at `http` and checks it is live and empty; marks it, so that a reload
/// would show.
fn open(session: &Session<'_>, http: &str) {
    session.goto(&format!("http://{http}/"));
    session.wait_until(
        "return Number(document.body.dataset.updates) > 0",
        T,
        "no snapshot reached the page",
        STATE.trim(),
    );
    let state = session.eval(STATE);
    assert_eq!(state["scored"], 0, "{state}");
    assert_eq!(state["keys"], Value::Array(vec![]), "{state}");
    assert_eq!(state["status"], "live", "{state}");
    session.eval("window.timberMarker = 'the page first loaded'; return null;");
}

/// Checks the page after rows arrived: still the same page, the counters and `key` shown
/// (and an error row in the table when `error_row`).
fn check_live(session: &Session<'_>, scored: usize, errors: usize, key: &str, error_row: bool) {
    session.wait_until(
        &shows(scored, errors),
        T,
        &format!("the page did not come to {scored} rows and {errors} errors"),
        STATE.trim(),
    );
    session.wait_until(
        &format!(
            "return Array.from(document.querySelectorAll('#latest tbody td.key')).some((td) => td.textContent === {key:?});"
        ),
        T,
        &format!("no row keyed {key} in the table"),
        STATE.trim(),
    );
    let state = session.eval(STATE);
    assert_eq!(
        state["marker"], "the page first loaded",
        "reloaded: {state}"
    );
    assert_eq!(state["navigations"], 1, "{state}");
    assert!(state["updates"].as_u64().unwrap() >= 2, "{state}");
    if error_row {
        assert!(state["errorRows"].as_u64().unwrap() >= 1, "{state}");
    }
}

/// Sends JSON rows keyed `{prefix}-N` over the socket (and one bad row when `bad`); reads
/// every answer.
fn send_socket(addr: &str, prefix: &str, n: usize, bad: bool) {
    let cells = rows("binary_logistic", "input.csv");
    let names = header("binary_logistic", "input.csv");
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut sent = 0;
    for i in 0..n {
        let line = &cells[i % cells.len()];
        writeln!(
            writer,
            "{}",
            json_row(&format!("{prefix}-{i}"), &names, line)
        )
        .unwrap();
        sent += 1;
    }
    if bad {
        writeln!(writer, "{{\"id\":\"{prefix}-bad\",\"f0\":\"x\"}}").unwrap();
        sent += 1;
    }
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reader = BufReader::new(stream);
    for _ in 0..sent {
        let mut l = String::new();
        assert!(reader.read_line(&mut l).unwrap() > 0, "the socket closed");
    }
}

#[test]
fn the_live_page_of_serve_socket_updates_without_a_reload() {
    let Some(driver) = driver() else { return };
    let (mut scorer, socket, http) = socket_with_page("binary", &["--format", "json"]);
    let session = driver.session(1280, 1400);
    open(&session, &http);

    send_socket(&socket, "order", 250, true);
    check_live(&session, 250, 1, "order-249", true);
    // And again: the page keeps following.
    send_socket(&socket, "refund", 40, false);
    check_live(&session, 290, 1, "refund-39", false);
    let state = session.eval(STATE);
    assert!(
        state["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k != "order-0"),
        "the table keeps only the latest rows: {state}"
    );
    if let Some(path) = std::env::var_os("TIMBER_SCREENSHOT") {
        std::fs::write(&path, session.screenshot()).unwrap();
    }
    drop(session);
    scorer.signal("TERM");
    assert!(scorer.wait(T).success(), "{}", scorer.log());
}

#[test]
fn the_live_page_of_serve_http_updates_without_a_reload() {
    let Some(driver) = driver() else { return };
    let mut scorer = Scorer::start(
        scorer_bin("lgb-multi"),
        &[
            "serve",
            "http",
            "--listen",
            "127.0.0.1:0",
            "--model-name",
            "fraud",
        ],
    );
    let addr = scorer.listening_addr();
    let session = driver.session(1280, 1400);
    open(&session, &addr);
    assert_eq!(session.eval(STATE)["model"], "fraud");

    let cells = rows("lgb_multiclass", "input.csv");
    let names = header("lgb_multiclass", "input.csv");
    let body: String = cells
        .iter()
        .take(30)
        .enumerate()
        .map(|(i, line)| json_row(&format!("txn-{i}"), &names, line) + "\n")
        .collect();
    let body = format!("{body}{{\"id\":\"txn-bad\",\"nope\":1}}\n");
    let r = post(&addr, "/predict", "application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    check_live(&session, 30, 1, "txn-29", true);
    drop(session);
    scorer.signal("TERM");
    assert!(scorer.wait(T).success(), "{}", scorer.log());
}
