//! Shared by the stream tests: the scorer binaries, and the harness of the library.
#![allow(dead_code)]

pub use timber_stream_tests::harness::*;

/// The scorer binary over one fixture model.
pub fn scorer_bin(model: &str) -> &'static str {
    match model {
        "binary" => env!("CARGO_BIN_EXE_scorer-binary"),
        "multi" => env!("CARGO_BIN_EXE_scorer-multi"),
        "categorical" => env!("CARGO_BIN_EXE_scorer-categorical"),
        other => panic!("no scorer for {other}"),
    }
}
