//! scikit-learn tree ensembles, as exported to JSON by `tools/export_sklearn.py` (schema
//! `"timber_sklearn": 1`, documented in the README).
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

use super::json::{self, f64_of, finite_f64_of as number, malformed};
use super::{Frontend, LoadError, LoadOptions, Probe};
use crate::ir::{
    Comparison, Feature, FeatureKind, Forest, Leaf, Node, Origin, Precision, Split, Test, TextRule,
    Transform, Tree,
};
use serde::Deserialize;
use serde_json::Number;

/// The schema version this reader understands.
pub const SCHEMA_VERSION: u64 = 1;
/// Feature counts above this are taken as a corrupt file.
const MAX_FEATURES: usize = 1 << 24;
/// Output counts above this are taken as a corrupt file.
const MAX_OUTPUTS: usize = 1 << 16;

#[derive(Deserialize)]
struct Export {
    timber_sklearn: u64,
    estimator: String,
    n_features: usize,
    #[serde(default)]
    feature_names: Option<Vec<String>>,
    n_outputs: usize,
    ensemble: Ensemble,
    #[serde(default)]
    learning_rate: Option<Number>,
    #[serde(default)]
    init: Option<Vec<Number>>,
    transform: TransformName,
    #[serde(default)]
    logistic_scale: Option<Number>,
    trees: Vec<TreeExport>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Ensemble {
    Mean,
    Boosting,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum TransformName {
    Identity,
    Logistic,
    Softmax,
}

#[derive(Deserialize)]
struct TreeExport {
    #[serde(default)]
    output: Option<usize>,
    children_left: Vec<i64>,
    children_right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<Number>,
    missing_go_to_left: Vec<u8>,
    value: Vec<Vec<Number>>,
}

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "sklearn-json",
    description: "scikit-learn JSON (`tools/export_sklearn.py`)",
    signature: "a JSON object with a `timber_sklearn` key",
    sniff: |probe: &Probe<'_>| probe.has_key("timber_sklearn"),
    load,
    takes_dump_options: false,
};

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

/// Loads a `tools/export_sklearn.py` JSON file.
pub fn load(bytes: &[u8], path: &str, _options: &LoadOptions) -> Result<Forest, LoadError> {
    let e: Export = json::parse(bytes, path)?;
    if e.timber_sklearn != SCHEMA_VERSION {
        return Err(malformed(
            path,
            format!(
                "`timber_sklearn` = {}: this Timber reads schema version {SCHEMA_VERSION}; re-export with its tools/export_sklearn.py",
                e.timber_sklearn
            ),
        ));
    }
    if e.n_features > MAX_FEATURES {
        return Err(malformed(
            path,
            format!(
                "`n_features` = {} exceeds the limit of {MAX_FEATURES}",
                e.n_features
            ),
        ));
    }
    if e.n_outputs == 0 || e.n_outputs > MAX_OUTPUTS {
        return Err(malformed(
            path,
            format!(
                "`n_outputs` = {} is not between 1 and {MAX_OUTPUTS}",
                e.n_outputs
            ),
        ));
    }
    if let Some(names) = &e.feature_names {
        if names.len() != e.n_features {
            return Err(malformed(
                path,
                format!(
                    "`feature_names` has {} names for {} features",
                    names.len(),
                    e.n_features
                ),
            ));
        }
    }
    if e.trees.is_empty() {
        return Err(malformed(path, "`trees` is empty"));
    }
    let k = e.n_outputs;
    let transform = match e.transform {
        TransformName::Identity => Transform::Identity,
        TransformName::Logistic => {
            let scale = match &e.logistic_scale {
                Some(s) => number(s, path, &|| "`logistic_scale`".into())?,
                None => 1.0,
            };
            Transform::Logistic { scale }
        }
        TransformName::Softmax => Transform::SoftmaxPairwise,
    };
    let (base, learning_rate) = match e.ensemble {
        Ensemble::Mean => (vec![0.0; k], None),
        Ensemble::Boosting => {
            let lr = e.learning_rate.as_ref().ok_or_else(|| {
                malformed(path, "`learning_rate`: missing for a boosting ensemble")
            })?;
            let lr = number(lr, path, &|| "`learning_rate`".into())?;
            let init = e
                .init
                .as_ref()
                .ok_or_else(|| malformed(path, "`init`: missing for a boosting ensemble"))?;
            if init.len() != k {
                return Err(malformed(
                    path,
                    format!("`init` has {} values for {k} outputs", init.len()),
                ));
            }
            let init = init
                .iter()
                .enumerate()
                .map(|(i, v)| number(v, path, &|| format!("`init[{i}]`")))
                .collect::<Result<_, _>>()?;
            (init, Some(lr))
        }
    };
    let trees = e
        .trees
        .iter()
        .enumerate()
        .map(|(t, tree)| build_tree(tree, t, &e, learning_rate, path))
        .collect::<Result<Vec<_>, _>>()?;
    let n_trees = trees.len();
    let features = (0..e.n_features)
        .map(|i| Feature {
            text: TextRule::Standard,
            name: e
                .feature_names
                .as_ref()
                .map_or_else(|| format!("f{i}"), |n| n[i].clone()),
            kind: FeatureKind::Numerical,
        })
        .collect();
    let average_over = match e.ensemble {
        Ensemble::Mean => Some(
            u32::try_from(n_trees)
                .map_err(|_| malformed(path, format!("{n_trees} trees are too many")))?,
        ),
        Ensemble::Boosting => None,
    };
    Ok(Forest {
        features,
        trees,
        base_margin: base,
        transform,
        objective: e.estimator.clone(),
        precision: Precision::F32InF64Sum,
        has_feature_names: e.feature_names.is_some(),
        origin: Origin::default(),
        average_over,
    })
}

fn build_tree(
    tree: &TreeExport,
    t: usize,
    e: &Export,
    learning_rate: Option<f64>,
    path: &str,
) -> Result<Tree, LoadError> {
    let at = |what: String| malformed(path, format!("tree {t}: {what}"));
    let n = tree.children_left.len();
    if n == 0 {
        return Err(at("no nodes".into()));
    }
    for (field, len) in [
        ("children_right", tree.children_right.len()),
        ("feature", tree.feature.len()),
        ("threshold", tree.threshold.len()),
        ("missing_go_to_left", tree.missing_go_to_left.len()),
        ("value", tree.value.len()),
    ] {
        if len != n {
            return Err(at(format!(
                "`{field}` has {len} entries but `children_left` has {n}"
            )));
        }
    }
    let per_leaf = match e.ensemble {
        Ensemble::Mean => e.n_outputs,
        Ensemble::Boosting => 1,
    };
    let group = match (e.ensemble, tree.output) {
        (Ensemble::Mean, _) => 0,
        (Ensemble::Boosting, Some(k)) if k < e.n_outputs => k,
        (Ensemble::Boosting, Some(k)) => {
            return Err(at(format!(
                "`output` {k} is out of range ({} outputs)",
                e.n_outputs
            )))
        }
        (Ensemble::Boosting, None) => {
            return Err(at("`output`: missing in a boosting ensemble".into()))
        }
    };
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let node_at = |what: String| malformed(path, format!("tree {t}, node {i}: {what}"));
        let (l, r) = (tree.children_left[i], tree.children_right[i]);
        if l == -1 && r == -1 {
            let row = &tree.value[i];
            if row.len() != per_leaf {
                return Err(node_at(format!(
                    "`value` has {} entries, expected {per_leaf}",
                    row.len()
                )));
            }
            let values = row
                .iter()
                .map(|v| number(v, path, &|| format!("tree {t}, node {i}: `value`")))
                .collect::<Result<Vec<_>, _>>()?;
            nodes.push(Node::Leaf(match (learning_rate, values.as_slice()) {
                // sklearn adds `learning_rate * value` (one product, then the sum).
                (Some(lr), [v]) => Leaf::Scalar(lr * v),
                (None, [v]) => Leaf::Scalar(*v),
                _ => Leaf::Vector(values),
            }));
            continue;
        }
        let child = |c: i64, field: &str| {
            usize::try_from(c)
                .map_err(|_| node_at(format!("`{field}` = {c}: a split needs two children")))
        };
        let (left, right) = (child(l, "children_left")?, child(r, "children_right")?);
        let feature = usize::try_from(tree.feature[i])
            .map_err(|_| node_at(format!("`feature` = {} is negative", tree.feature[i])))?;
        // A NaN threshold is refused by the IR's checks; ±infinity is a number.
        let threshold = f64_of(&tree.threshold[i], path, &|| {
            format!("tree {t}, node {i}: `threshold`")
        })?;
        let threshold = f32_threshold(threshold)
            .ok_or_else(|| node_at(format!("`threshold` {threshold} is below every f32")))?;
        let default_left = match tree.missing_go_to_left[i] {
            0 => false,
            1 => true,
            other => {
                return Err(node_at(format!(
                    "`missing_go_to_left` = {other} is not 0 or 1"
                )))
            }
        };
        nodes.push(Node::Split(Split {
            feature,
            test: Test::Numerical {
                threshold: f64::from(threshold),
                comparison: Comparison::LessOrEqual,
            },
            left,
            right,
            default_left,
        }));
    }
    Ok(Tree {
        nodes,
        group,
        weight: None,
    })
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
