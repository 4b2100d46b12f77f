//! Helpers shared by the bad-input tests: real fixture files, loaded (after damage) as
//! `bad.model`, with every error checked to name the file and never to be a panic.

#![allow(dead_code)]

use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use timber_codegen::ir::{Forest, IrError};
use timber_codegen::load::load_bytes;
use timber_codegen::{LoadError, LoadOptions};

/// The file name damaged models are loaded under.
pub const NAME: &str = "bad.model";

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fixture's file, as bytes.
pub fn fixture_file(fixture: &str, file: &str) -> Vec<u8> {
    std::fs::read(workspace().join("models").join(fixture).join(file)).unwrap()
}

/// A fixture's file, as text.
pub fn fixture_text(fixture: &str, file: &str) -> String {
    String::from_utf8(fixture_file(fixture, file)).unwrap()
}

/// A fixture's JSON file, parsed.
pub fn fixture_json(fixture: &str, file: &str) -> Value {
    serde_json::from_slice(&fixture_file(fixture, file)).unwrap()
}

/// Loads bytes as [`NAME`], turning a panic into a test failure that says so.
pub fn load_with(bytes: &[u8], options: &LoadOptions) -> Result<Forest, LoadError> {
    match catch_unwind(AssertUnwindSafe(|| load_bytes(bytes, NAME, options))) {
        Ok(result) => result,
        Err(_) => panic!("load_bytes panicked instead of returning an error"),
    }
}

/// Loads bytes with the default options.
pub fn load(bytes: &[u8]) -> Result<Forest, LoadError> {
    load_with(bytes, &LoadOptions::default())
}

/// Loads a JSON value.
pub fn load_value(v: &Value) -> Result<Forest, LoadError> {
    load(&serde_json::to_vec(v).unwrap())
}

/// The message of any load error, checked to start with the file name.
pub fn error(result: Result<Forest, LoadError>) -> String {
    let message = result
        .expect_err("the damaged file must not load")
        .to_string();
    assert!(message.starts_with(&format!("{NAME}: ")), "{message}");
    message
}

/// The full message of a `Malformed` error (which starts with the file name).
pub fn malformed(result: Result<Forest, LoadError>) -> String {
    match result {
        Err(e @ LoadError::Malformed { .. }) => {
            let LoadError::Malformed { path, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path, NAME);
            let message = e.to_string();
            assert!(message.starts_with(&format!("{NAME}: ")), "{message}");
            message
        }
        other => panic!("expected LoadError::Malformed, got {other:?}"),
    }
}

/// The message of an `UnknownFormat` error.
pub fn unknown_format(result: Result<Forest, LoadError>) -> String {
    match result {
        Err(e @ LoadError::UnknownFormat { .. }) => e.to_string(),
        other => panic!("expected LoadError::UnknownFormat, got {other:?}"),
    }
}

/// The structural error of an `Invalid` error, after checking its message names the file.
pub fn invalid(result: Result<Forest, LoadError>) -> IrError {
    match result {
        Err(e @ LoadError::Invalid { .. }) => {
            let message = e.to_string();
            assert!(message.starts_with(&format!("{NAME}: tree ")), "{message}");
            let LoadError::Invalid { path, source } = e else {
                unreachable!()
            };
            assert_eq!(path, NAME);
            source
        }
        other => panic!("expected LoadError::Invalid, got {other:?}"),
    }
}

/// Every needle occurs in the message.
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the message:\n{haystack}"
        );
    }
}

/// Every cut of a file at `step`-byte intervals fails to load cleanly; returns the cuts.
pub fn every_truncation_fails(bytes: &[u8], step: usize, options: &LoadOptions) -> usize {
    let mut cuts = 0;
    for end in (1..bytes.len()).step_by(step) {
        let result = load_with(&bytes[..end], options);
        assert!(result.is_err(), "a file cut at byte {end} loaded");
        cuts += 1;
    }
    cuts
}

/// A case of a table of damaged JSON models: (case, fixture, damage, what the error says).
pub type Damage = (
    &'static str,
    &'static str,
    fn(&mut Value),
    &'static [&'static str],
);

/// Checks every case of a table of damaged JSON models: its fixture (read by `fixture`),
/// damaged, gives an error (`expect`: [`error`] or [`malformed`]) saying each fragment.
pub fn check_damages(
    cases: &[Damage],
    fixture: impl Fn(&str) -> Value,
    expect: fn(Result<Forest, LoadError>) -> String,
) {
    check_cases(
        cases,
        |case| case.0,
        |&(_, name, damage, needles)| {
            let mut v = fixture(name);
            damage(&mut v);
            assert_contains(&expect(load_value(&v)), needles);
        },
    );
}

/// Runs `check` on every case of a table, each named by `name`; after all have run, fails
/// naming every case that failed (each failure's own message is printed as it happens).
pub fn check_cases<C>(cases: &[C], name: impl Fn(&C) -> &str, check: impl Fn(&C)) {
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| {
            let failed = catch_unwind(AssertUnwindSafe(|| check(case))).is_err();
            if failed {
                eprintln!("case `{}` failed (its message is above)", name(case));
            }
            failed
        })
        .map(&name)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed: {failed:?}",
        failed.len(),
        cases.len()
    );
}

/// Every cut of a fixture's file at `step`-byte intervals fails to load cleanly with
/// `options`, and the one cut at `1/part` of its length gives an error saying `needle`;
/// returns the cuts.
pub fn truncations_fail(
    (fixture, file): (&str, &str),
    step: usize,
    part: usize,
    options: &LoadOptions,
    needle: &str,
) -> usize {
    let bytes = fixture_file(fixture, file);
    let cuts = every_truncation_fails(&bytes, step, options);
    assert_contains(
        &error(load_with(&bytes[..bytes.len() / part], options)),
        &[needle],
    );
    cuts
}
