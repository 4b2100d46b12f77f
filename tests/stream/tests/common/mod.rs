//! Shared by the stream tests: the scorer binaries, and the harness of the library.
#![allow(dead_code)]

pub use timber_stream_tests::harness::*;

/// The scorer binary over one fixture model.
pub fn scorer_bin(model: &str) -> &'static str {
    match model {
        "binary" => env!("CARGO_BIN_EXE_scorer-binary"),
        "multi" => env!("CARGO_BIN_EXE_scorer-multi"),
        "categorical" => env!("CARGO_BIN_EXE_scorer-categorical"),
        "lgb-multi" => env!("CARGO_BIN_EXE_scorer-lgb-multi"),
        "wide" => env!("CARGO_BIN_EXE_scorer-wide"),
        other => panic!("no scorer for {other}"),
    }
}

/// The floats of a JSON result's array field (`"prediction"`, `"margin"`), as `f32`.
pub fn json_floats(result: &serde_json::Value, key: &str) -> Vec<f32> {
    result[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` array in {result}"))
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Starts `serve socket` over `model` on a free port, with its metrics and live page
/// (`--http`) on another and `extra` arguments; returns the scorer, the socket's address and
/// the page's.
pub fn socket_with_page(model: &str, extra: &[&str]) -> (Scorer, String, String) {
    let args = [
        "serve",
        "socket",
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ];
    let (mut scorer, socket) = start_listening(model, &args, extra);
    let http = scorer.http_addr(std::time::Duration::from_secs(60));
    (scorer, socket, http)
}

/// Starts `model`'s scorer with `args` and then `extra` (a server on `--listen ...:0`), and
/// waits for the address it listens on.
pub fn start_listening(model: &str, args: &[&str], extra: &[&str]) -> (Scorer, String) {
    let args: Vec<&str> = args.iter().chain(extra).copied().collect();
    let mut scorer = Scorer::start(scorer_bin(model), &args);
    let addr = scorer.listening_addr();
    (scorer, addr)
}

/// Runs `client(i)` for every `i` in `0..n`, each on a thread of its own, all at once;
/// returns once all are done, and panics if any of them did.
pub fn on_threads(n: usize, client: impl Fn(usize) + Sync) {
    std::thread::scope(|scope| {
        for i in 0..n {
            let client = &client;
            scope.spawn(move || client(i));
        }
    });
}
