//! `timber-serve`: the scorer of Timber-compiled models.
//!
//! Everything here is about moving rows in and results out; the scoring itself is the
//! model's ([`timber_runtime::Model`]). A generated crate's library links only
//! `timber-runtime`; its binary is one call to [`scorer::main`].
//!
//! - [`row`]: decoding CSV rows into model inputs (by feature name or by position), with
//!   each model's library's rules for text cells (H2O's in `h2o`).
//! - [`codec`]: stream rows (CSV lines, JSON arrays and objects) in, results out.
//! - [`predict`]: bulk scoring of files and standard input, streaming, on all cores.
//! - [`modes`]: `serve`, one live mode started with its sinks; [`socket`] serves a TCP
//!   socket (server or client), `kafka` a Kafka consumer group (cargo feature `kafka`),
//!   [`http`] answers HTTP (Open Inference Protocol and plain rows) and serves `/metrics` and
//!   the live page for every mode; [`metrics`] counts rows and records what they show;
//!   [`stream`] is what every mode shares (arguments, the stop signal on SIGTERM/SIGINT).
//! - [`sink`]: where scored rows go besides the normal output: SQL tables and lake files
//!   (`--sink URL`; the drivers need the cargo feature `sinks`).
//! - [`scorer`]: the command-line scorer (`predict`, `serve`, `info`, `bench`).

#![warn(missing_docs)]

pub mod codec;
mod h2o;
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod metrics;
pub mod modes;
pub mod predict;
pub mod row;
pub mod scorer;
pub mod sink;
pub mod socket;
pub mod stream;

/// An error and its causes as one line, `outer: inner: root`, each said once: a cause whose
/// text is already part of the message is left out. (`thiserror` types that both quote
/// their source in their message and report it as `source()`, as many do, would otherwise
/// print it twice with `{:#}`.) `timber` and every scorer print their errors with it.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
