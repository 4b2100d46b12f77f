//! `timber-runtime`: everything a Timber-generated model links against.
//!
//! - [`Model`]: the trait every generated model (and the reference interpreter) implements.
//! - [`transform`]: output transforms with the training libraries' exact float semantics.
//! - [`category`] and [`linear`]: how input values reach categorical splits and linear leaves.
//! - [`row`]: decoding CSV rows into model inputs (by feature name or by position).
//! - [`codec`]: stream rows (CSV lines, JSON arrays and objects) in, results out.
//! - [`predict`]: bulk scoring of files and standard input, streaming, on all cores.
//! - [`serve`]: live streams: a TCP socket server or client, a Kafka consumer group.
//! - [`scorer`]: the command-line scorer that a generated crate's `main.rs` runs.
//! - [`tables`]: the branch-free complete-tree layout and its scoring kernels, which
//!   generated models call.
//! - [`parallel`]: batch scoring on several threads.
//!
//! The runtime knows nothing about model file formats or code generation.

pub mod category;
pub mod codec;
pub mod linear;
pub mod model;
pub mod output;
pub mod parallel;
pub mod predict;
pub mod row;
pub mod scorer;
pub mod serve;
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
