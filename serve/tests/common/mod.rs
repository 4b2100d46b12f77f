//! Test models shared by the serve tests: a model is its metadata and one function of the row.

#![allow(dead_code)]

use std::borrow::Cow;
use timber_runtime::{FeatureInfo, Float, Model, ModelInfo};

/// Metadata of a test model of `features` with `outputs` outputs (and as many margins), in
/// `precision` (`f32` or `f64`).
pub fn info(
    features: &'static [FeatureInfo],
    outputs: usize,
    precision: &'static str,
) -> ModelInfo {
    ModelInfo {
        name: Cow::Borrowed("Test"),
        format: Cow::Borrowed("test"),
        objective: Cow::Borrowed("none"),
        transform: Cow::Borrowed("identity"),
        source: Cow::Borrowed("test.json"),
        source_sha256: Cow::Borrowed(""),
        num_trees: 0,
        num_nodes: 0,
        max_depth: 0,
        features: Cow::Borrowed(features),
        num_outputs: outputs,
        num_margins: outputs,
        precision: Cow::Borrowed(precision),
        timber_version: Cow::Borrowed("0"),
    }
}

/// A test model whose margins and predictions are both `score(row)`.
pub struct FnModel<I, O> {
    pub info: ModelInfo,
    pub score: fn(&[I], &mut [O]),
}

impl<I: Float, O: Float> Model for FnModel<I, O> {
    type Input = I;
    type Output = O;
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn predict_margin(&self, row: &[I], margins: &mut [O]) {
        (self.score)(row, margins)
    }
    fn predict(&self, row: &[I], out: &mut [O]) {
        (self.score)(row, out)
    }
}
