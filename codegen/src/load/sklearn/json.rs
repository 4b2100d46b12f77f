//! The JSON form of `tools/export_sklearn.py` (schema `"timber_sklearn": 1`): the header's
//! fields and, per tree, its node arrays as scikit-learn keeps them (`children_left`,
//! `children_right`, `feature`, `threshold`, `missing_go_to_left`, `value`).

use super::{leaf, split, Ensemble, Header, TransformName};
use crate::ir::{Forest, Tree};
use crate::load::json::{self, f64_of, finite_f64_of as number, malformed};
use crate::load::{Frontend, LoadError, LoadOptions, Probe};
use serde::Deserialize;
use serde_json::Number;

/// The schema version this reader understands.
pub const SCHEMA_VERSION: u64 = 1;

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "sklearn-json",
    description: "scikit-learn JSON (`tools/export_sklearn.py`)",
    signature: "a JSON object with a `timber_sklearn` key",
    sniff: |probe: &Probe<'_>| probe.has_key("timber_sklearn"),
    load,
    takes_dump_options: false,
};

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
    /// `weighted_n_node_samples`: written since the exporter orders nodes by it; older
    /// exports lack it.
    #[serde(default)]
    cover: Option<Vec<f64>>,
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
    let optional = |n: &Option<Number>, what: &str| {
        n.as_ref()
            .map(|n| number(n, path, &|| format!("`{what}`")))
            .transpose()
    };
    let header = Header {
        estimator: e.estimator,
        n_features: e.n_features,
        feature_names: e.feature_names,
        n_outputs: e.n_outputs,
        ensemble: e.ensemble,
        learning_rate: optional(&e.learning_rate, "learning_rate")?,
        init: e
            .init
            .as_ref()
            .map(|init| {
                init.iter()
                    .enumerate()
                    .map(|(i, v)| number(v, path, &|| format!("`init[{i}]`")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?,
        transform: e.transform,
        logistic_scale: optional(&e.logistic_scale, "logistic_scale")?,
    };
    let (per_leaf, learning_rate) = header.check(path)?;
    let trees = e
        .trees
        .iter()
        .enumerate()
        .map(|(t, tree)| {
            let group = header.group(t, tree.output, path)?;
            build_tree(tree, t, group, per_leaf, learning_rate, path)
        })
        .collect::<Result<Vec<_>, _>>()?;
    header.forest(trees, path)
}

fn build_tree(
    tree: &TreeExport,
    t: usize,
    group: usize,
    per_leaf: usize,
    learning_rate: Option<f64>,
    path: &str,
) -> Result<Tree, LoadError> {
    let n = tree.children_left.len();
    if n == 0 {
        return Err(malformed(path, format!("tree {t}: no nodes")));
    }
    for (field, len) in [
        ("children_right", tree.children_right.len()),
        ("feature", tree.feature.len()),
        ("threshold", tree.threshold.len()),
        ("missing_go_to_left", tree.missing_go_to_left.len()),
        ("value", tree.value.len()),
    ] {
        if len != n {
            return Err(malformed(
                path,
                format!("tree {t}: `{field}` has {len} entries but `children_left` has {n}"),
            ));
        }
    }
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let at = |what: String| malformed(path, format!("tree {t}, node {i}: {what}"));
        let (l, r) = (tree.children_left[i], tree.children_right[i]);
        if l == -1 && r == -1 {
            let row = &tree.value[i];
            if row.len() != per_leaf {
                return Err(at(format!(
                    "`value` has {} entries, expected {per_leaf}",
                    row.len()
                )));
            }
            let values = row
                .iter()
                .map(|v| number(v, path, &|| format!("tree {t}, node {i}: `value`")))
                .collect::<Result<Vec<_>, _>>()?;
            nodes.push(leaf(values, learning_rate));
            continue;
        }
        let threshold = f64_of(&tree.threshold[i], path, &|| {
            format!("tree {t}, node {i}: `threshold`")
        })?;
        // The exporter writes an infinite threshold (a split of the missing values from
        // every number) as the largest float, JSON having no infinity: read it back.
        let threshold = if threshold == f64::MAX {
            f64::INFINITY
        } else {
            threshold
        };
        nodes.push(split(
            (l, r),
            tree.feature[i],
            threshold,
            tree.missing_go_to_left[i],
            &at,
        )?);
    }
    Ok(Tree::new(nodes, group).with_cover(tree.cover.clone()))
}
