//! The reference interpreter: scores a [`Forest`] directly, with exactly the training
//! library's semantics. It is the oracle the tests hold generated code to, the model behind
//! `timber predict`, and the "interpreted model" the benchmarks compare against.

use crate::ir::{Comparison, Forest, Leaf, Node, Precision, Side, Test, Transform, Tree};
use std::borrow::Cow;
use timber_runtime::{category, transform};
use timber_runtime::{FeatureInfo, FeatureKind as RtKind, Model, ModelInfo};

/// A forest ready to score row by row in `f32`.
#[derive(Debug, Clone)]
pub struct Interpreter {
    forest: Forest,
    info: ModelInfo,
}

/// Why a forest cannot be interpreted.
#[derive(Debug, thiserror::Error)]
#[error("the interpreter scores f32 models only; this model computes in {0}")]
pub struct UnsupportedPrecision(Precision);

impl Interpreter {
    /// Prepares a forest for scoring.
    pub fn new(forest: Forest) -> Result<Self, UnsupportedPrecision> {
        if forest.precision != Precision::F32 {
            return Err(UnsupportedPrecision(forest.precision));
        }
        let info = model_info(&forest, "Interpreted".into());
        Ok(Interpreter { forest, info })
    }

    /// The forest being scored.
    pub fn forest(&self) -> &Forest {
        &self.forest
    }
}

impl Model for Interpreter {
    type Input = f32;
    type Output = f32;

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn predict_margin(&self, row: &[f32], margins: &mut [f32]) {
        let f = &self.forest;
        assert_eq!(row.len(), f.num_features(), "row length");
        assert_eq!(margins.len(), f.num_groups(), "margin buffer length");
        for (m, &b) in margins.iter_mut().zip(&f.base_margin) {
            *m = b as f32;
        }
        for tree in &f.trees {
            match leaf(tree, row) {
                Leaf::Scalar(v) => {
                    let v = *v as f32;
                    margins[tree.group] += match tree.weight {
                        Some(w) => v * w as f32,
                        None => v,
                    };
                }
                Leaf::Vector(vs) => {
                    for (m, &v) in margins.iter_mut().zip(vs) {
                        *m += match tree.weight {
                            Some(w) => v as f32 * w as f32,
                            None => v as f32,
                        };
                    }
                }
            }
        }
    }

    fn predict(&self, row: &[f32], out: &mut [f32]) {
        let groups = self.forest.num_groups();
        assert_eq!(out.len(), self.forest.num_outputs(), "output buffer length");
        match self.forest.transform {
            Transform::ArgMax => {
                let mut margins = vec![0.0f32; groups];
                self.predict_margin(row, &mut margins);
                out[0] = transform::argmax(&margins) as f32;
            }
            t => {
                self.predict_margin(row, out);
                apply(t, out);
            }
        }
    }
}

/// Applies an element-wise or group transform in place (not `ArgMax`, which shrinks).
fn apply(t: Transform, values: &mut [f32]) {
    match t {
        Transform::Identity | Transform::ArgMax => {}
        Transform::Sigmoid => values
            .iter_mut()
            .for_each(|v| *v = transform::xgb_sigmoid(*v)),
        Transform::Exp => values.iter_mut().for_each(|v| *v = transform::exp_f32(*v)),
        Transform::ExpF64 => values
            .iter_mut()
            .for_each(|v| *v = transform::exp_via_f64(*v)),
        Transform::Hinge => values
            .iter_mut()
            .for_each(|v| *v = transform::xgb_hinge(*v)),
        Transform::Softmax => transform::xgb_softmax(values),
    }
}

/// Walks a tree for one row and returns the leaf reached.
fn leaf<'t>(tree: &'t Tree, row: &[f32]) -> &'t Leaf {
    let mut n = 0;
    loop {
        match &tree.nodes[n] {
            Node::Leaf(l) => return l,
            Node::Split(s) => {
                let x = row[s.feature];
                n = if x.is_nan() {
                    if s.default_left {
                        s.left
                    } else {
                        s.right
                    }
                } else {
                    match &s.test {
                        Test::Numerical {
                            threshold,
                            comparison,
                        } => {
                            let t = *threshold as f32;
                            let go_left = match comparison {
                                Comparison::Less => x < t,
                                Comparison::LessOrEqual => x <= t,
                            };
                            if go_left {
                                s.left
                            } else {
                                s.right
                            }
                        }
                        Test::Categorical {
                            categories,
                            set_side,
                        } => {
                            let in_set = categories.binary_search(&category::code(x)).is_ok();
                            let away = match set_side {
                                Side::Left => Side::Right,
                                Side::Right => Side::Left,
                            };
                            s.child(if in_set { *set_side } else { away })
                        }
                    }
                };
            }
        }
    }
}

/// The runtime metadata of a forest, as both the interpreter and generated code report it.
pub fn model_info(forest: &Forest, name: String) -> ModelInfo {
    let features: Vec<FeatureInfo> = forest
        .features
        .iter()
        .map(|f| FeatureInfo {
            name: Cow::Owned(f.name.clone()),
            kind: match &f.kind {
                crate::ir::FeatureKind::Numerical => RtKind::Numerical,
                crate::ir::FeatureKind::Categorical { .. } => RtKind::Categorical,
            },
            categories: match &f.kind {
                crate::ir::FeatureKind::Categorical { labels } => labels
                    .iter()
                    .map(|l| Cow::Owned(l.clone()))
                    .collect::<Vec<_>>()
                    .into(),
                crate::ir::FeatureKind::Numerical => Cow::Borrowed(&[]),
            },
        })
        .collect();
    ModelInfo {
        name: name.into(),
        format: forest.origin.format.clone().into(),
        objective: forest.objective.clone().into(),
        transform: forest.transform.name().into(),
        source: forest.origin.path.clone().into(),
        source_sha256: forest.origin.sha256.clone().into(),
        num_trees: forest.trees.len(),
        num_nodes: forest.num_nodes(),
        max_depth: forest.max_depth(),
        features: features.into(),
        num_outputs: forest.num_outputs(),
        num_margins: forest.num_groups(),
        precision: forest.precision.to_string().into(),
        timber_version: env!("CARGO_PKG_VERSION").into(),
    }
}
