//! scikit-learn tree ensembles, as exported by `tools/export_sklearn.py`: JSON ([`json`],
//! schema `"timber_sklearn": 1`, documented in the README) or, for big forests, an `.npz`
//! of the node arrays ([`npz`], schema `"timber_sklearn_npz": 1`). Both describe the same
//! model; this module holds what they share.
//!
//! scikit-learn rounds inputs to `f32` and compares `x as f64 <= threshold` with `f64`
//! thresholds. For an `f32` input that equals `x <= t32`, where `t32` is the largest `f32` not
//! above the threshold, so thresholds are stored that way and compared in `f32`. Leaf values
//! and sums stay `f64`:
//!
//! - `"ensemble": "mean"` (decision trees, random forests, extra trees): each tree's leaf holds
//!   one value per output (class fractions for classifiers); the trees are summed in order
//!   from 0 and predictions divide the sum by the number of trees.
//! - `"ensemble": "boosting"` (gradient boosting): tree `k` of each stage adds
//!   `learning_rate * leaf` to output `k`, starting from `init` (the init estimator's raw
//!   prediction, computed by scikit-learn itself at export time); `transform` maps the raw
//!   sums to predictions.

pub mod json;
pub mod npz;

use super::json::malformed;
use super::LoadError;
use crate::ir::{
    Comparison, Feature, FeatureKind, Forest, Leaf, Node, Origin, Precision, Split, Test, TextRule,
    Transform, Tree,
};
use serde::Deserialize;

/// Feature counts above this are taken as a corrupt file.
const MAX_FEATURES: usize = 1 << 24;
/// Output counts above this are taken as a corrupt file.
const MAX_OUTPUTS: usize = 1 << 16;

/// How the trees combine.
#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Ensemble {
    /// Averaged (forests).
    Mean,
    /// Summed from `init`, each leaf times the learning rate (gradient boosting).
    Boosting,
}

/// The transform from raw sums to predictions.
#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TransformName {
    Identity,
    Logistic,
    Softmax,
}

/// What both forms record besides the trees, numbers already read.
pub(crate) struct Header {
    pub estimator: String,
    pub n_features: usize,
    pub feature_names: Option<Vec<String>>,
    pub n_outputs: usize,
    pub ensemble: Ensemble,
    pub learning_rate: Option<f64>,
    pub init: Option<Vec<f64>>,
    pub transform: TransformName,
    pub logistic_scale: Option<f64>,
}

impl Header {
    /// Checks the counts; returns the values per leaf and the learning rate (boosting).
    pub fn check(&self, path: &str) -> Result<(usize, Option<f64>), LoadError> {
        if self.n_features > MAX_FEATURES {
            return Err(malformed(
                path,
                format!(
                    "`n_features` = {} exceeds the limit of {MAX_FEATURES}",
                    self.n_features
                ),
            ));
        }
        if self.n_outputs == 0 || self.n_outputs > MAX_OUTPUTS {
            return Err(malformed(
                path,
                format!(
                    "`n_outputs` = {} is not between 1 and {MAX_OUTPUTS}",
                    self.n_outputs
                ),
            ));
        }
        if let Some(names) = &self.feature_names {
            if names.len() != self.n_features {
                return Err(malformed(
                    path,
                    format!(
                        "`feature_names` has {} names for {} features",
                        names.len(),
                        self.n_features
                    ),
                ));
            }
        }
        match self.ensemble {
            Ensemble::Mean => Ok((self.n_outputs, None)),
            Ensemble::Boosting => {
                let lr = self.learning_rate.ok_or_else(|| {
                    malformed(path, "`learning_rate`: missing for a boosting ensemble")
                })?;
                Ok((1, Some(lr)))
            }
        }
    }

    /// The output group of tree `t` whose file says `output`.
    pub fn group(&self, t: usize, output: Option<usize>, path: &str) -> Result<usize, LoadError> {
        let at = |what: String| malformed(path, format!("tree {t}: {what}"));
        match (self.ensemble, output) {
            (Ensemble::Mean, _) => Ok(0),
            (Ensemble::Boosting, Some(k)) if k < self.n_outputs => Ok(k),
            (Ensemble::Boosting, Some(k)) => Err(at(format!(
                "`output` {k} is out of range ({} outputs)",
                self.n_outputs
            ))),
            (Ensemble::Boosting, None) => {
                Err(at("`output`: missing in a boosting ensemble".into()))
            }
        }
    }

    /// The forest of `trees` with this header.
    pub fn forest(self, trees: Vec<Tree>, path: &str) -> Result<Forest, LoadError> {
        if trees.is_empty() {
            return Err(malformed(path, "`trees` is empty"));
        }
        let k = self.n_outputs;
        let transform = match self.transform {
            TransformName::Identity => Transform::Identity,
            TransformName::Logistic => Transform::Logistic {
                scale: self.logistic_scale.unwrap_or(1.0),
            },
            TransformName::Softmax if k < 2 => {
                return Err(malformed(
                    path,
                    format!("`transform` softmax needs 2 or more outputs, but `n_outputs` = {k}"),
                ))
            }
            TransformName::Softmax => Transform::SoftmaxPairwise,
        };
        let base = match self.ensemble {
            Ensemble::Mean => vec![0.0; k],
            Ensemble::Boosting => {
                let init = self
                    .init
                    .ok_or_else(|| malformed(path, "`init`: missing for a boosting ensemble"))?;
                if init.len() != k {
                    return Err(malformed(
                        path,
                        format!("`init` has {} values for {k} outputs", init.len()),
                    ));
                }
                init
            }
        };
        let n_trees = trees.len();
        let average_over = match self.ensemble {
            Ensemble::Mean => Some(
                u32::try_from(n_trees)
                    .map_err(|_| malformed(path, format!("{n_trees} trees are too many")))?,
            ),
            Ensemble::Boosting => None,
        };
        let names = self.feature_names;
        let features = (0..self.n_features)
            .map(|i| Feature {
                text: TextRule::Standard,
                name: names
                    .as_ref()
                    .map_or_else(|| format!("f{i}"), |n| n[i].clone()),
                kind: FeatureKind::Numerical,
            })
            .collect();
        Ok(Forest {
            features,
            trees,
            base_margin: base,
            transform,
            objective: self.estimator,
            precision: Precision::F32InF64Sum,
            has_feature_names: names.is_some(),
            origin: Origin::default(),
            average_over,
        })
    }
}

/// A leaf with `values` (one per output, or one raw boosting value to scale by
/// `learning_rate`).
pub(crate) fn leaf(values: Vec<f64>, learning_rate: Option<f64>) -> Node {
    Node::Leaf(match (learning_rate, values.as_slice()) {
        // sklearn adds `learning_rate * value` (one product, then the sum).
        (Some(lr), [v]) => Leaf::Scalar(lr * v),
        (None, [v]) => Leaf::Scalar(*v),
        _ => Leaf::Vector(values),
    })
}

/// A split node from the exported arrays' entries; `at` names the node in messages.
pub(crate) fn split(
    (left, right): (i64, i64),
    feature: i64,
    threshold: f64,
    missing_go_to_left: u8,
    at: &dyn Fn(String) -> LoadError,
) -> Result<Node, LoadError> {
    let child = |c: i64, field: &str| {
        usize::try_from(c).map_err(|_| at(format!("`{field}` = {c}: a split needs two children")))
    };
    let (left, right) = (
        child(left, "children_left")?,
        child(right, "children_right")?,
    );
    let feature =
        usize::try_from(feature).map_err(|_| at(format!("`feature` = {feature} is negative")))?;
    // A NaN threshold is refused by the IR's checks; ±infinity is a number.
    let t32 = if threshold.is_nan() {
        f32::NAN
    } else {
        f32_threshold(threshold)
            .ok_or_else(|| at(format!("`threshold` {threshold} is below every f32")))?
    };
    let default_left = match missing_go_to_left {
        0 => false,
        1 => true,
        other => return Err(at(format!("`missing_go_to_left` = {other} is not 0 or 1"))),
    };
    Ok(Node::Split(Split {
        feature,
        test: Test::Numerical {
            threshold: f64::from(t32),
            comparison: Comparison::LessOrEqual,
        },
        left,
        right,
        default_left,
    }))
}

/// The largest `f32` not above `t`: for an `f32` input `x`, `x as f64 <= t` exactly when
/// `x <= f32_threshold(t)`. `None` when no `f32` is that small. Infinite thresholds stay
/// infinite (`+inf` splits the missing values from every number).
pub fn f32_threshold(t: f64) -> Option<f32> {
    if t.is_infinite() {
        return Some(t as f32);
    }
    let r = t as f32;
    let down = if f64::from(r) > t {
        // `t as f32` rounded up (or overflowed to infinity): take the next f32 down.
        if r == 0.0 {
            -f32::from_bits(1)
        } else if r > 0.0 {
            f32::from_bits(r.to_bits() - 1)
        } else {
            f32::from_bits(r.to_bits() + 1)
        }
    } else {
        r
    };
    down.is_finite().then_some(down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_thresholds_split_f32_inputs_as_f64_thresholds_do() {
        for t in [
            0.5f64, 0.1, -0.1, 1e-50, -1e-50, 0.0, -0.0, 3.4e38, 1e300, 16777217.0,
        ] {
            let t32 = f32_threshold(t).unwrap();
            assert!(f64::from(t32) <= t, "{t}");
            // The next f32 up is above t: every f32 goes the same way under both tests.
            let up = if t32 == 0.0 {
                f32::from_bits(1)
            } else if t32 > 0.0 {
                f32::from_bits(t32.to_bits() + 1)
            } else if t32.to_bits() == 0x8000_0001 {
                0.0
            } else {
                f32::from_bits(t32.to_bits() - 1)
            };
            assert!(t32 == f32::MAX || f64::from(up) > t, "{t}: {t32} {up}");
        }
        assert_eq!(f32_threshold(0.1).unwrap(), 0.099999994f32);
        assert_eq!(f32_threshold(0.5).unwrap(), 0.5);
        assert_eq!(f32_threshold(-1e300), None);
    }
}
