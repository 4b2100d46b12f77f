//! A real browser for the live-page test and the screenshot in `docs/`: Debian's headless
//! `chromium`, driven through `chromedriver` (package `chromium-driver`) over the W3C
//! WebDriver protocol, which is JSON over HTTP, so the minimal client of [`crate::http`]
//! is all it takes.

use crate::http::request;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `chromedriver`, killed on drop.
pub struct Driver {
    child: Child,
    addr: String,
}

/// Where the browser and its driver are: `$TIMBER_CHROMEDRIVER` / `$TIMBER_CHROMIUM`, else
/// the first of Debian's names found on `PATH`.
fn find(var: &str, names: &[&str]) -> Option<String> {
    if let Ok(path) = std::env::var(var) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

impl Driver {
    /// Starts `chromedriver` on a free port, or says why it cannot (`Err`: not installed).
    pub fn start() -> Result<Driver, String> {
        let driver = find("TIMBER_CHROMEDRIVER", &["chromedriver"])
            .ok_or("no chromedriver on PATH (Debian package chromium-driver)")?;
        find("TIMBER_CHROMIUM", &["chromium", "chromium-browser"])
            .ok_or("no chromium on PATH (Debian package chromium)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {driver}: {e}"))?;
        let mut me = Driver {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = request(&me.addr, "GET", "/status", &[], b"") {
                if r.status == 200 {
                    return Ok(me);
                }
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(format!("{driver} exited at start ({status})"));
            }
            if Instant::now() > deadline {
                return Err(format!("{driver} did not answer on {} in 30 s", me.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new headless browser window of `width` x `height` CSS pixels.
    pub fn session(&self, width: u32, height: u32) -> Session<'_> {
        let mut options = json!({
            "args": [
                "--headless=new",
                // Root in a container has no user namespace for the sandbox.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                format!("--window-size={width},{height}"),
            ]
        });
        if let Some(binary) = find("TIMBER_CHROMIUM", &["chromium", "chromium-browser"]) {
            options["binary"] = Value::String(binary);
        }
        let caps = json!({
            "capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        });
        let v = call(&self.addr, "POST", "/session", Some(&caps));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        Session { driver: self, id }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver command; returns its `value`, panics with the driver's message on error.
fn call(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let headers: &[(&str, &str)] = match method {
        "POST" => &[("Content-Type", "application/json")],
        _ => &[],
    };
    let r = request(addr, method, path, headers, body.as_bytes())
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
    let v: Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: not JSON ({e}): {}", r.text()));
    assert_eq!(r.status, 200, "WebDriver {method} {path}: {v}");
    v["value"].clone()
}

/// A browser window, closed on drop.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        call(
            &self.driver.addr,
            method,
            &format!("/session/{}{path}", self.id),
            body,
        )
    }

    /// Loads `url` (waits for the document to load).
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Evaluates `script` every 50 ms until it returns `true`; panics after `timeout` with
    /// `what` and the value of `show` then.
    pub fn wait_until(&self, script: &str, timeout: Duration, what: &str, show: &str) {
        let deadline = Instant::now() + timeout;
        while self.eval(script) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "{what} after {timeout:?}; the page shows {}",
                self.eval(show)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the window as it is.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.call("GET", "/screenshot", None);
        let text = v.as_str().unwrap_or_else(|| panic!("no screenshot in {v}"));
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = request(
            &self.driver.addr,
            "DELETE",
            &format!("/session/{}", self.id),
            &[],
            b"",
        );
    }
}
