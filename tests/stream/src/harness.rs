//! Running a scorer process and reading fixture rows and expected results: shared by the
//! stream tests and the `stream-bench` tool.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `models/` of the workspace.
pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// The data rows of a fixture's CSV file (header dropped), as text lines.
pub fn rows(fixture: &str, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(models_dir().join(fixture).join(file)).unwrap();
    text.lines().skip(1).map(str::to_string).collect()
}

/// The header of a fixture's CSV file.
pub fn header(fixture: &str, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(models_dir().join(fixture).join(file)).unwrap();
    let first = text.lines().next().unwrap_or_default();
    first.split(',').map(str::to_string).collect()
}

/// Reference outputs written by the training library (one row of floats per line).
pub fn expected(fixture: &str, file: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(models_dir().join(fixture).join(file)).unwrap();
    text.lines().map(parse_floats).collect()
}

/// Parses a comma-separated line of floats.
pub fn parse_floats(line: &str) -> Vec<f32> {
    line.split(',')
        .map(|v| {
            v.trim()
                .parse::<f32>()
                .unwrap_or_else(|e| panic!("`{v}` in `{line}`: {e}"))
        })
        .collect()
}

/// Asserts two results are the same bits.
pub fn assert_bits(what: &str, got: &[f32], want: &[f32]) {
    let g: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
    let w: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
    assert_eq!(g, w, "{what}: got {got:?}, want {want:?}");
}

/// A running scorer process; its standard error is collected as it arrives. Killed on drop.
pub struct Scorer {
    /// The process.
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl Scorer {
    /// Starts `bin` with `args`, standard output piped, logging at `info`
    /// (or `$TIMBER_TEST_LOG`).
    pub fn start<S: AsRef<str>>(bin: &str, args: &[S]) -> Scorer {
        let filter = std::env::var("TIMBER_TEST_LOG").unwrap_or_else(|_| "info".into());
        Self::start_logged(bin, args, &filter)
    }

    /// Starts `bin` with `args` and the `RUST_LOG` filter `filter`.
    pub fn start_logged<S: AsRef<str>>(bin: &str, args: &[S], filter: &str) -> Scorer {
        let mut child = Command::new(bin)
            .args(args.iter().map(AsRef::as_ref))
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(&mut stderr);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Scorer { child, log }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Fails, showing the log, unless the log contains `needle` now.
    pub fn assert_logged(&self, needle: &str) {
        let log = self.log();
        assert!(log.contains(needle), "no `{needle}` in the log:\n{log}");
    }

    /// Waits until the log contains `needle`; returns the first line containing it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        self.poll(timeout, &format!("no `{needle}` in the log"), |s| {
            if let Some(line) = s.log().lines().find(|l| l.contains(needle)) {
                return Some(line.to_string());
            }
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!(
                    "scorer exited ({status}) before logging `{needle}`:\n{}",
                    s.log()
                );
            }
            None
        })
    }

    /// Calls `f` every 20 ms until it returns something, failing with `what` and the log
    /// after `timeout`.
    fn poll<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&mut Self) -> Option<T>,
    ) -> T {
        poll(timeout, Duration::from_millis(20), || f(self))
            .unwrap_or_else(|| panic!("{what} after {timeout:?}:\n{}", self.log()))
    }

    /// The address a `--listen ...:0` server logged.
    pub fn listening_addr(&mut self) -> String {
        let line = self.wait_for_log("listening on ", Duration::from_secs(30));
        let at = line.find("listening on ").unwrap() + "listening on ".len();
        line[at..].trim().to_string()
    }

    /// The address (`host:port`) of the metrics and live page a scorer started with
    /// `--http` logged, waiting up to `timeout` for it.
    pub fn http_addr(&mut self, timeout: Duration) -> String {
        let line = self.wait_for_log("metrics and live page at http://", timeout);
        line.split("http://")
            .nth(1)
            .unwrap()
            .trim()
            .trim_end_matches('/')
            .to_string()
    }

    /// Sends a signal (`TERM`, `KILL`, `INT`) to the process.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        self.poll(timeout, "scorer still running", |s| {
            s.child.try_wait().unwrap()
        })
    }

    /// The most memory the process has had resident so far (`VmHWM`, Linux), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("no /proc/PID/status (Linux only)");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("no VmHWM in /proc/PID/status");
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in kB");
        kib * 1024
    }

    /// Collects standard output line by line on a thread, as it arrives.
    pub fn stdout_lines(&mut self) -> Arc<Mutex<Vec<String>>> {
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let out = self.child.stdout.take().expect("stdout already taken");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        lines
    }

    /// Reads all of standard output (after the process exited or closed it).
    pub fn stdout(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut s).unwrap();
        }
        s
    }
}

impl Drop for Scorer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CSV row as a JSON object by feature name (`null` for an empty cell), after an `"id"`.
pub fn json_row(id: &str, names: &[String], line: &str) -> String {
    let fields: Vec<String> = names
        .iter()
        .zip(line.split(','))
        .map(|(name, v)| format!("\"{name}\":{}", if v.is_empty() { "null" } else { v }))
        .collect();
    format!("{{\"id\":\"{id}\",{}}}", fields.join(","))
}

/// The output of a program that must succeed: fails with `what`, its standard output and
/// its standard error when it could not run or exited with an error.
pub fn check(what: &str, out: std::io::Result<Output>) -> Output {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Calls `attempt` every `every` until it returns something; `None` when `timeout` has
/// passed without (after one last attempt).
pub fn poll<T>(
    timeout: Duration,
    every: Duration,
    mut attempt: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = attempt() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Kills the process, if there is one, and reaps it.
pub fn kill(child: Option<Child>) {
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `serve kafka` arguments: topic `in` to topic `out` as a member of `group`, fetches that
/// wait at most 10 ms (Tansu waits inside every fetch), then `extra`.
pub fn serve_kafka_args(brokers: &str, group: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "serve",
        "kafka",
        "--brokers",
        brokers,
        "--input-topic",
        "in",
        "--output-topic",
        "out",
        "--group",
        group,
        "-X",
        "consumer.fetch.wait.max.ms=10",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}
