//! Every model file of every fixture, compiled by `build.rs` through `timber_codegen::Config`
//! in each layout and included from `OUT_DIR`. The tests hold each to the training library's predictions bit for bit.

use timber_runtime::Model;

/// A compiled model, by the types it reads and writes.
#[derive(Clone, Copy)]
pub enum Scorer {
    /// XGBoost: `f32` in and out.
    F32(&'static dyn Model<Input = f32, Output = f32>),
    /// LightGBM: `f64` in and out.
    F64(&'static dyn Model<Input = f64, Output = f64>),
    /// scikit-learn: `f32` in, `f64` out.
    F32InF64Sum(&'static dyn Model<Input = f32, Output = f64>),
}

/// One compiled model file of a fixture.
#[derive(Clone, Copy)]
pub struct Compiled {
    /// The fixture's directory name.
    pub fixture: &'static str,
    /// Which of its model files: `json`, `txt`, `ubj` or `dump`.
    pub kind: &'static str,
    /// Whether it scores every tree (`Iterations::All`).
    pub all_trees: bool,
    /// The layout it was compiled in: `Auto`, `Nodes` or `Nested`.
    pub layout: &'static str,
    /// Its output name: build.rs wrote `OUT_DIR/<output>.rs` and the files under
    /// `OUT_DIR/<output>/` (`tables.rs` when some trees are tables, `chunk_*.rs` for nested
    /// trees).
    pub output: &'static str,
    /// The model.
    pub model: Scorer,
}

include!(concat!(env!("OUT_DIR"), "/all.rs"));
