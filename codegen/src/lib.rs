//! `timber-codegen`: the Timber compiler.
//!
//! A model file flows one way through it: a frontend in [`load`] parses it into the
//! validated forest IR ([`ir`]), the emitter ([`emit`]) turns the IR into Rust, and the
//! result is written into a build script's `OUT_DIR` ([`Config`]), into a standalone crate
//! ([`write_crate`]), or handed to the `timber::model!` macro. The reference interpreter
//! ([`interp`]) scores the IR directly.
//!
//! In a build script, as with `prost-build`:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     timber_codegen::Config::new().compile("models/churn.json")?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate: `timber_runtime::include_model!("churn");` defines `Churn`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod emit;
pub mod interp;
pub mod ir;
pub mod load;

mod config;
mod krate;

pub use config::{Config, Error};
pub use krate::{package_name, write_crate, CrateOptions};
pub use load::{load_file, Iterations, LoadError, LoadOptions};

/// A model file's stem (`models/churn.json` -> `churn`), from which default type, crate and
/// file names derive; empty when the path has none.
pub fn model_stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `churn-model.v2` -> `ChurnModelV2`: a type name from a file stem or crate name.
pub fn type_name_for(stem: &str) -> String {
    let mut out = String::new();
    for part in stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Model");
    }
    out
}

/// `Churn Model (v2)` -> `churn_model_v2`: a file or module name.
pub fn snake_name_for(stem: &str) -> String {
    let mut out = String::new();
    for part in stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&part.to_ascii_lowercase());
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "model_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_stems() {
        assert_eq!(type_name_for("churn"), "Churn");
        assert_eq!(type_name_for("churn-model.v2"), "ChurnModelV2");
        assert_eq!(type_name_for("2024_model"), "Model2024Model");
        assert_eq!(type_name_for("---"), "Model");
        assert_eq!(snake_name_for("Churn Model (v2)"), "churn_model_v2");
        assert_eq!(snake_name_for("9lives"), "model_9lives");
    }
}
