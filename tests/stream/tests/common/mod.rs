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
