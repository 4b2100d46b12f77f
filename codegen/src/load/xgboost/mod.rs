//! XGBoost models: `save_model` JSON ([`json`]; tested with files from 2.1.4, 3.2.0 and
//! 3.4.1), the same document in UBJSON ([`ubjson`], `model.ubj`), and the JSON dump
//! ([`dump`]), which lacks the objective and base score. This module holds what they share: the saved model's layout, the
//! objectives' semantics, and building the forest.
//!
//! Layout: `learner.gradient_booster.model` (or `.gbtree.model` for dart) holds `trees`, each
//! a struct of arrays indexed by node id, and `tree_info` (the output group of each tree).
//! `learner.learner_model_param` has `base_score` (a string: `"5E-1"`, or `"[..]"` with one
//! value per output since 3.1), `num_class`, `num_feature` and `num_target`.
//!
//! Floats are written by XGBoost as shortest round-trip `f32` text; each is parsed straight
//! to `f32` from its text, never through `f64`, so no value can be double-rounded.

pub mod dump;
pub mod json;
pub mod ubjson;

use super::json::{count_of_text as parse_count, f32_of, f32_of_text as parse_f32, malformed};
use super::{Iterations, LoadError, LoadOptions};
use crate::ir::{
    CategoryCode, Comparison, Feature, FeatureKind, Forest, Leaf, Node, Origin, Precision, Side,
    Split, Test, TextRule, Transform, Tree,
};
use serde::Deserialize;
use serde_json::{Number, Value};
use std::collections::HashMap;

/// The saved model (JSON or UBJSON).
#[derive(Deserialize)]
struct ModelFile {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    attributes: HashMap<String, Value>,
    #[serde(default)]
    feature_names: Vec<String>,
    #[serde(default)]
    feature_types: Vec<String>,
    gradient_booster: GradientBooster,
    learner_model_param: LearnerModelParam,
    objective: Objective,
}

#[derive(Deserialize)]
struct GradientBooster {
    name: String,
    model: Option<GbTreeModel>,
    /// Dart wraps a whole gbtree booster.
    gbtree: Option<Box<GradientBooster>>,
    weight_drop: Option<Vec<Number>>,
}

#[derive(Deserialize)]
struct GbTreeModel {
    gbtree_model_param: GbTreeModelParam,
    trees: Vec<TreeJson>,
    tree_info: Vec<i64>,
    iteration_indptr: Option<Vec<i64>>,
    /// 3.1+: the categories seen in training, per feature.
    cats: Option<Value>,
}

#[derive(Deserialize)]
struct GbTreeModelParam {
    num_parallel_tree: Option<String>,
}

#[derive(Deserialize)]
struct LearnerModelParam {
    base_score: String,
    num_class: Option<String>,
    num_feature: String,
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct TreeJson {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    split_conditions: Vec<Option<Number>>,
    default_left: Vec<Flag>,
    #[serde(default)]
    split_type: Vec<i64>,
    #[serde(default)]
    categories: Vec<i64>,
    #[serde(default)]
    categories_nodes: Vec<i64>,
    #[serde(default)]
    categories_segments: Vec<i64>,
    #[serde(default)]
    categories_sizes: Vec<i64>,
    tree_param: Option<TreeParam>,
    /// Each node's sum of the training rows' hessians: its cover.
    #[serde(default)]
    sum_hessian: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct TreeParam {
    size_leaf_vector: Option<String>,
}

/// Feature counts above this are taken as a corrupt file rather than allocated for.
pub const MAX_FEATURES: usize = 1 << 24;
/// Output counts (classes or targets) above this are taken as a corrupt file.
pub const MAX_OUTPUTS: usize = 1 << 16;

/// `default_left` is written as 0/1 by some versions and as booleans by others.
#[derive(Deserialize)]
#[serde(untagged, expecting = "0, 1, true or false")]
enum Flag {
    Bool(bool),
    Int(i64),
}

impl Flag {
    fn is_set(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Int(i) => *i != 0,
        }
    }
}

/// What an objective means for scoring: its transform, and how its stored base score
/// becomes a margin (`ProbToMargin` in XGBoost).
#[derive(Clone, Copy)]
enum BaseScore {
    AsIs,
    Logit,
    Log,
}

fn objective_semantics(name: &str) -> Option<(Transform, BaseScore)> {
    use BaseScore::*;
    Some(match name {
        "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror" => (Transform::Identity, AsIs),
        "rank:pairwise" | "rank:ndcg" | "rank:map" => (Transform::Identity, AsIs),
        "reg:logistic" | "binary:logistic" => (Transform::Sigmoid, Logit),
        // logitraw keeps base_score as a margin, unlike its logistic siblings.
        "binary:logitraw" => (Transform::Identity, AsIs),
        "binary:hinge" => (Transform::Hinge, AsIs),
        "count:poisson" | "reg:gamma" | "reg:tweedie" => (Transform::Exp, Log),
        "survival:cox" => (Transform::Exp, Log),
        // AFT's transform calls C's double `exp`, not `expf`.
        "survival:aft" => (Transform::ExpF64, Log),
        "multi:softprob" => (Transform::Softmax, AsIs),
        "multi:softmax" => (Transform::ArgMax, AsIs),
        _ => return None,
    })
}

/// `base_score` is `"5E-1"` (2.x, 3.0) or `"[5E-1]"` / `"[a,b,c]"` (3.1+).
fn parse_base_score(text: &str, path: &str) -> Result<Vec<f32>, LoadError> {
    parse_score_list(text, path, "`learner.learner_model_param.base_score`")
}

/// One float or a comma-separated list, optionally in brackets, each parsed straight to `f32`.
pub(crate) fn parse_score_list(text: &str, path: &str, what: &str) -> Result<Vec<f32>, LoadError> {
    let what = || what.to_string();
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    inner
        .split(',')
        .map(|v| parse_f32(v, path, &what))
        .collect()
}

fn to_margin(p: f32, kind: BaseScore) -> f32 {
    match kind {
        BaseScore::AsIs => p,
        // Computed in f32, as XGBoost does; f64 would differ in the last bit for some p.
        BaseScore::Logit => -(1.0f32 / p - 1.0f32).ln(),
        BaseScore::Log => p.ln(),
    }
}

/// The transform of an objective and the base margins of its stored base score (one value,
/// or one per output), computed as XGBoost does. `field` names the base score in messages.
pub(crate) fn objective_and_base(
    objective: &str,
    mut base: Vec<f32>,
    groups: usize,
    options: &LoadOptions,
    path: &str,
    field: &str,
) -> Result<(Transform, Vec<f64>), LoadError> {
    let (transform, base_kind) = match objective_semantics(objective) {
        Some(s) => s,
        None if options.margin_only => (Transform::Identity, BaseScore::AsIs),
        None => {
            return Err(LoadError::UnknownObjective {
                path: path.into(),
                objective: objective.into(),
            })
        }
    };
    if base.len() == 1 && groups > 1 {
        base = vec![base[0]; groups];
    }
    if base.len() != groups {
        return Err(malformed(
            path,
            format!(
                "`base_score` has {} values but the model has {groups} outputs",
                base.len()
            ),
        ));
    }
    let mut base_margin = Vec::with_capacity(groups);
    for &p in &base {
        let margin = to_margin(p, base_kind);
        if !margin.is_finite() {
            return Err(malformed(
                path,
                format!(
                    "{field} = {p} is outside the domain of {objective} (its margin would be {margin})"
                ),
            ));
        }
        base_margin.push(f64::from(margin));
    }
    Ok((transform, base_margin))
}

/// The forest of a saved model.
fn build(learner: Learner, path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let param = &learner.learner_model_param;
    let num_features = parse_count(&param.num_feature, path, "learner_model_param.num_feature")?;
    let num_class = match &param.num_class {
        Some(s) => parse_count(s, path, "learner_model_param.num_class")?,
        None => 0,
    };
    let num_target = match &param.num_target {
        Some(s) => parse_count(s, path, "learner_model_param.num_target")?,
        None => 1,
    };
    if num_features > MAX_FEATURES {
        return Err(malformed(
            path,
            format!("`learner.learner_model_param.num_feature` = {num_features} exceeds the limit of {MAX_FEATURES}"),
        ));
    }
    let objective_name = learner.objective.name.as_str();
    let multi_class = objective_name.starts_with("multi:");
    if num_class > 1 && num_target > 1 {
        return Err(malformed(
            path,
            format!("`learner_model_param` declares both num_class = {num_class} and num_target = {num_target}; a model has classes or targets, not both"),
        ));
    }
    if num_class > 1 && !multi_class {
        return Err(malformed(
            path,
            format!("`learner_model_param.num_class` = {num_class} contradicts the objective `{objective_name}`, which has no classes (num_class is for multi:softprob and multi:softmax)"),
        ));
    }
    if num_target > 1 && multi_class {
        return Err(malformed(
            path,
            format!("`learner_model_param.num_target` = {num_target} contradicts the objective `{objective_name}`, which has one target"),
        ));
    }
    let groups = num_class.max(num_target).max(1);
    if groups > MAX_OUTPUTS {
        return Err(malformed(
            path,
            format!("the model declares {groups} outputs (`num_class`/`num_target`), over the limit of {MAX_OUTPUTS}"),
        ));
    }

    let objective = learner.objective.name.clone();
    let base = parse_base_score(&param.base_score, path)?;
    let (transform, base_margin) = objective_and_base(
        &objective,
        base,
        groups,
        options,
        path,
        "`learner.learner_model_param.base_score`",
    )?;

    let (model, weight_drop) = match learner.gradient_booster.name.as_str() {
        "gbtree" => (learner.gradient_booster.model, None),
        "dart" => {
            let inner = learner.gradient_booster.gbtree.ok_or_else(|| {
                malformed(path, "`learner.gradient_booster.gbtree`: missing for a dart booster")
            })?;
            let w = learner.gradient_booster.weight_drop.ok_or_else(|| {
                malformed(path, "`learner.gradient_booster.weight_drop`: missing for a dart booster")
            })?;
            (inner.model, Some(w))
        }
        other => {
            return Err(malformed(
                path,
                format!("`learner.gradient_booster.name`: booster `{other}` is not a tree booster (gbtree or dart)"),
            ))
        }
    };
    let model = model.ok_or_else(|| malformed(path, "`gradient_booster.model`: missing"))?;
    let n_trees = model.trees.len();
    if model.tree_info.len() != n_trees {
        return Err(malformed(
            path,
            format!(
                "`tree_info` has {} entries for {n_trees} trees",
                model.tree_info.len()
            ),
        ));
    }
    let weights: Option<Vec<f32>> = match &weight_drop {
        None => None,
        Some(w) if w.len() != n_trees => {
            return Err(malformed(
                path,
                format!("`weight_drop` has {} entries for {n_trees} trees", w.len()),
            ))
        }
        Some(w) => Some(
            w.iter()
                .enumerate()
                .map(|(i, n)| f32_of(n, path, &|| format!("`weight_drop[{i}]`")))
                .collect::<Result<_, _>>()?,
        ),
    };

    let keep = trees_to_keep(
        &learner.attributes,
        &model,
        groups,
        options.iterations,
        path,
    )?;

    let features = features(
        &learner.feature_names,
        &learner.feature_types,
        num_features,
        model.cats.as_ref(),
        path,
    )?;
    let mut trees = Vec::with_capacity(keep);
    for (t, tj) in model.trees.iter().take(keep).enumerate() {
        let group = usize::try_from(model.tree_info[t]).map_err(|_| {
            malformed(
                path,
                format!("`tree_info[{t}]` = {} is negative", model.tree_info[t]),
            )
        })?;
        let nodes = tree_nodes(tj, t, path)?;
        trees.push(
            Tree {
                nodes,
                group,
                weight: weights.as_ref().map(|w| f64::from(w[t])),
                cover: None,
            }
            .with_cover(tj.sum_hessian.clone()),
        );
    }

    Ok(forest(
        features,
        trees,
        base_margin,
        transform,
        objective,
        !learner.feature_names.is_empty(),
    ))
}

/// An XGBoost forest, whichever file it came from: f32 inputs and sums, trees summed.
fn forest(
    features: Vec<Feature>,
    trees: Vec<Tree>,
    base_margin: Vec<f64>,
    transform: Transform,
    objective: String,
    has_feature_names: bool,
) -> Forest {
    Forest {
        features,
        trees,
        base_margin,
        transform,
        objective,
        precision: Precision::F32,
        has_feature_names,
        origin: Origin::default(),
        average_over: None,
    }
}

/// How many leading trees to score: all, or those up to `best_iteration` inclusive.
fn trees_to_keep(
    attributes: &HashMap<String, Value>,
    model: &GbTreeModel,
    groups: usize,
    iterations: Iterations,
    path: &str,
) -> Result<usize, LoadError> {
    let n = model.trees.len();
    let best = match (iterations, attributes.get("best_iteration")) {
        (Iterations::All, _) | (_, None) => return Ok(n),
        (Iterations::Best, Some(Value::String(s))) => {
            parse_count(s, path, "learner.attributes.best_iteration")?
        }
        (Iterations::Best, Some(Value::Number(num))) => {
            parse_count(&num.to_string(), path, "learner.attributes.best_iteration")?
        }
        (Iterations::Best, Some(other)) => {
            return Err(malformed(
                path,
                format!("`learner.attributes.best_iteration`: `{other}` is not an integer"),
            ))
        }
    };
    // Iterations `0..=best`; a `best_iteration` past the last round keeps every tree.
    let Some(rounds) = best.checked_add(1) else {
        return Ok(n);
    };
    let end = match &model.iteration_indptr {
        Some(indptr) if !indptr.is_empty() => match indptr.get(rounds) {
            Some(&e) => usize::try_from(e)
                .map_err(|_| malformed(path, "`iteration_indptr` has a negative entry"))?,
            None => n,
        },
        _ => {
            let per_iteration = match &model.gbtree_model_param.num_parallel_tree {
                Some(s) => parse_count(s, path, "gbtree_model_param.num_parallel_tree")?.max(1),
                None => 1,
            }
            .saturating_mul(groups);
            rounds.saturating_mul(per_iteration)
        }
    };
    Ok(end.min(n))
}

fn features(
    names: &[String],
    types: &[String],
    num_features: usize,
    cats: Option<&Value>,
    path: &str,
) -> Result<Vec<Feature>, LoadError> {
    // Either list may be absent (empty); present, it has an entry per feature.
    for (len, field, items) in [
        (names.len(), "feature_names", "names"),
        (types.len(), "feature_types", "types"),
    ] {
        if len != 0 && len != num_features {
            return Err(malformed(
                path,
                format!("`learner.{field}` has {len} {items} for {num_features} features"),
            ));
        }
    }
    let labels = category_labels(cats, num_features);
    Ok((0..num_features)
        .map(|i| Feature {
            text: TextRule::Standard,
            name: names.get(i).cloned().unwrap_or_else(|| format!("f{i}")),
            kind: if types.get(i).is_some_and(|t| t == "c") {
                FeatureKind::Categorical {
                    labels: labels.get(i).cloned().unwrap_or_default(),
                }
            } else {
                FeatureKind::Numerical
            },
        })
        .collect())
}

/// The 3.1+ category encoder, when present: per feature, the training categories in code
/// order. Only string categories carry labels worth mapping; numeric ones are their codes.
fn category_labels(cats: Option<&Value>, num_features: usize) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); num_features];
    let Some(enc) = cats.and_then(|c| c.get("enc")).and_then(Value::as_array) else {
        return out;
    };
    for (i, column) in enc.iter().enumerate().take(num_features) {
        if let Some(labels) = string_categories(column) {
            out[i] = labels;
        }
    }
    out
}

/// A string column of the encoder: UTF-8 bytes in `values`, boundaries in `offsets`.
fn string_categories(column: &Value) -> Option<Vec<String>> {
    let offsets = column.get("offsets")?.as_array()?;
    let values = column.get("values")?.as_array()?;
    let bytes: Vec<u8> = values
        .iter()
        .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect::<Option<_>>()?;
    let offsets: Vec<usize> = offsets
        .iter()
        .map(|o| o.as_u64().map(|o| o as usize))
        .collect::<Option<_>>()?;
    offsets
        .windows(2)
        .map(|w| {
            bytes
                .get(w[0]..w[1])
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect()
}

fn tree_nodes(tj: &TreeJson, t: usize, path: &str) -> Result<Vec<Node>, LoadError> {
    if let Some(size) = tj
        .tree_param
        .as_ref()
        .and_then(|p| p.size_leaf_vector.as_deref())
    {
        if parse_count(size, path, "tree_param.size_leaf_vector")? > 1 {
            return Err(malformed(
                path,
                format!("tree {t}: vector-leaf trees (multi_strategy=\"multi_output_tree\") are not supported yet"),
            ));
        }
    }
    let n = tj.left_children.len();
    let lengths = [
        ("right_children", tj.right_children.len()),
        ("split_indices", tj.split_indices.len()),
        ("split_conditions", tj.split_conditions.len()),
        ("default_left", tj.default_left.len()),
    ];
    for (field, len) in lengths {
        if len != n {
            return Err(malformed(
                path,
                format!("tree {t}: `{field}` has {len} entries but `left_children` has {n}"),
            ));
        }
    }
    if !tj.split_type.is_empty() && tj.split_type.len() != n {
        return Err(malformed(
            path,
            format!(
                "tree {t}: `split_type` has {} entries for {n} nodes",
                tj.split_type.len()
            ),
        ));
    }
    let categorical = categorical_sets(tj, t, n, path)?;

    let index = |v: i64, field: &str, node: usize| -> Result<usize, LoadError> {
        usize::try_from(v).map_err(|_| {
            malformed(
                path,
                format!("tree {t}, node {node}: `{field}` = {v} is negative"),
            )
        })
    };
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let condition = |what: &str| -> Result<f32, LoadError> {
            match &tj.split_conditions[i] {
                Some(num) => f32_of(num, path, &|| format!("tree {t}, node {i}: {what}")),
                None => Err(malformed(
                    path,
                    format!("tree {t}, node {i}: {what} is NaN"),
                )),
            }
        };
        let (l, r) = (tj.left_children[i], tj.right_children[i]);
        if l == -1 {
            if r != -1 {
                return Err(malformed(
                    path,
                    format!("tree {t}, node {i}: has a right child ({r}) but no left child"),
                ));
            }
            nodes.push(Node::Leaf(Leaf::Scalar(f64::from(condition(
                "leaf value",
            )?))));
            continue;
        }
        let left = index(l, "left_children", i)?;
        let right = index(r, "right_children", i)?;
        let feature = index(tj.split_indices[i], "split_indices", i)?;
        let is_cat = tj.split_type.get(i).is_some_and(|&s| s == 1);
        let test = if is_cat {
            let categories = categorical.get(&i).cloned().ok_or_else(|| {
                malformed(
                    path,
                    format!(
                        "tree {t}, node {i}: categorical split with no entry in `categories_nodes`"
                    ),
                )
            })?;
            Test::Categorical {
                categories,
                set_side: Side::Right,
                code: CategoryCode::RejectNegative,
            }
        } else {
            Test::Numerical {
                threshold: f64::from(condition("split condition")?),
                comparison: Comparison::Less,
            }
        };
        nodes.push(Node::Split(Split {
            feature,
            test,
            left,
            right,
            default_left: tj.default_left[i].is_set(),
        }));
    }
    Ok(nodes)
}

/// The category set of each categorical node: `categories[segment .. segment + size]`.
fn categorical_sets(
    tj: &TreeJson,
    t: usize,
    n: usize,
    path: &str,
) -> Result<HashMap<usize, Vec<u32>>, LoadError> {
    let k = tj.categories_nodes.len();
    if tj.categories_segments.len() != k || tj.categories_sizes.len() != k {
        return Err(malformed(
            path,
            format!(
                "tree {t}: `categories_nodes`, `categories_segments` and `categories_sizes` differ in length ({k}, {}, {})",
                tj.categories_segments.len(),
                tj.categories_sizes.len()
            ),
        ));
    }
    let mut sets = HashMap::with_capacity(k);
    for j in 0..k {
        let bad = |what: &str| malformed(path, format!("tree {t}: categorical entry {j}: {what}"));
        let node = usize::try_from(tj.categories_nodes[j])
            .ok()
            .filter(|&v| v < n)
            .ok_or_else(|| bad("node out of range"))?;
        let start =
            usize::try_from(tj.categories_segments[j]).map_err(|_| bad("negative segment"))?;
        let size = usize::try_from(tj.categories_sizes[j]).map_err(|_| bad("negative size"))?;
        let slice = start
            .checked_add(size)
            .and_then(|end| tj.categories.get(start..end))
            .ok_or_else(|| bad("segment runs past the end of `categories`"))?;
        let mut set = slice
            .iter()
            .map(|&c| u32::try_from(c).map_err(|_| bad("negative category")))
            .collect::<Result<Vec<_>, _>>()?;
        set.sort_unstable();
        set.dedup();
        sets.insert(node, set);
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_in_both_spellings() {
        assert_eq!(parse_base_score("5E-1", "m").unwrap(), vec![0.5]);
        assert_eq!(
            parse_base_score("[1E-1,2E-1]", "m").unwrap(),
            vec![0.1, 0.2]
        );
        assert!(parse_base_score("[abc]", "m").is_err());
    }
}
