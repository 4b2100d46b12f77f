//! `timber-runtime`: everything a Timber-generated model links against.
//!
//! - [`Model`]: the trait every generated model (and the reference interpreter) implements.
//! - [`transform`]: output transforms with the training libraries' exact float semantics.
//! - [`row`]: decoding CSV rows into model inputs (by feature name or by position).
//! - [`scorer`]: the command-line scorer that a generated crate's `main.rs` runs.
//! - [`tables`]: the branch-free complete-tree layout and its scoring kernels, which
//!   generated models call.
//! - [`parallel`]: batch scoring on several threads.
//!
//! The runtime knows nothing about model file formats or code generation.

pub mod category;
pub mod model;
pub mod output;
pub mod parallel;
pub mod row;
pub mod scorer;
pub mod tables;
pub mod transform;

pub use model::{FeatureInfo, FeatureKind, Float, Model, ModelInfo};

/// Includes a model that `timber_codegen::Config::compile` wrote into `OUT_DIR`:
/// `timber_runtime::include_model!("churn");` for `models/churn.json`.
#[macro_export]
macro_rules! include_model {
    ($stem:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $stem, ".rs"));
    };
}
