//! LightGBM's `Booster.dump_model()` written as JSON: a header object whose `tree_info` holds
//! each tree's nested `tree_structure`. A split names `split_feature`, `threshold` (a number,
//! or `"1||3||5"` for a categorical split), `decision_type` (`<=` or `==`), `default_left`,
//! `missing_type` and its `left_child`/`right_child`; a leaf has `leaf_value` and, in linear
//! trees, `leaf_const`, `leaf_features` and `leaf_coeff`.
//!
//! Numbers are read from their JSON text with Rust's correctly rounded parser.

use super::{
    leaf_node, malformed, parse_pandas_categorical, split_node, Decision, Header, LeafSpec,
    MissingType, Model,
};
use crate::ir::{Forest, Node, Tree};
use crate::load::json::f64_of as number;
use crate::load::{LoadError, LoadOptions};
use serde::Deserialize;
use serde_json::{Number, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Dump {
    num_class: usize,
    num_tree_per_iteration: Option<usize>,
    max_feature_idx: usize,
    objective: Option<String>,
    #[serde(default)]
    average_output: bool,
    feature_names: Vec<String>,
    #[serde(default)]
    feature_infos: BTreeMap<String, FeatureInfo>,
    tree_info: Vec<TreeInfo>,
    #[serde(default)]
    pandas_categorical: Value,
}

#[derive(Deserialize)]
struct FeatureInfo {
    #[serde(default)]
    values: Vec<Value>,
}

#[derive(Deserialize)]
struct TreeInfo {
    tree_structure: JsonNode,
}

/// A split or a leaf: the fields present decide which.
#[derive(Deserialize)]
struct JsonNode {
    // Split fields.
    split_feature: Option<i64>,
    threshold: Option<Threshold>,
    decision_type: Option<String>,
    default_left: Option<bool>,
    missing_type: Option<String>,
    left_child: Option<Box<JsonNode>>,
    right_child: Option<Box<JsonNode>>,
    // Leaf fields.
    leaf_value: Option<Number>,
    leaf_const: Option<Number>,
    leaf_features: Option<Vec<i64>>,
    leaf_coeff: Option<Vec<Number>>,
    // The training rows that reached the node: its cover.
    internal_count: Option<f64>,
    leaf_count: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a number, or categories as \"1||3||5\"")]
enum Threshold {
    Number(Number),
    Categories(String),
}

/// Loads a LightGBM `dump_model()` JSON file.
pub fn load_json(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let dump: Dump = crate::load::json::parse(bytes, path)?;
    model(dump, path)?.build(path, options)
}

fn model(dump: Dump, path: &str) -> Result<Model, LoadError> {
    let categorical = dump
        .feature_names
        .iter()
        .map(|name| {
            dump.feature_infos
                .get(name)
                .is_some_and(|i| !i.values.is_empty())
        })
        .collect();
    let header = Header {
        num_class: dump.num_class,
        num_tree_per_iteration: dump.num_tree_per_iteration.unwrap_or(dump.num_class),
        max_feature_idx: dump.max_feature_idx,
        objective: dump.objective.clone(),
        average_output: dump.average_output,
        feature_names: dump.feature_names.clone(),
        categorical,
        pandas_categories: parse_pandas_categorical(&dump.pandas_categorical),
    };
    let trees = dump
        .tree_info
        .iter()
        .enumerate()
        .map(|(t, info)| tree(&info.tree_structure, t, path))
        .collect::<Result<_, _>>()?;
    Ok(Model { header, trees })
}

/// LightGBM's `dump_model` writes an infinite threshold (a split of the missing values
/// from every number) clamped to ±1e300 (`Common::AvoidInf`), while the model itself, and
/// its text file, keep the infinity. ±1e300 read back as ±infinity give LightGBM's own
/// routing for every input, including those above 1e300.
fn unclamped(threshold: f64) -> f64 {
    if threshold.abs() == 1e300 {
        threshold.signum() * f64::INFINITY
    } else {
        threshold
    }
}

/// One tree, its nodes in pre-order (the root first), with its cover when every node has
/// its count.
fn tree(root: &JsonNode, t: usize, path: &str) -> Result<Tree, LoadError> {
    // Each node is placed when popped; its children get the next indices.
    let mut nodes: Vec<Option<Node>> = vec![None];
    let mut cover: Vec<Option<f64>> = vec![None];
    let mut stack = vec![(root, 0usize, String::from("tree_structure"))];
    while let Some((node, index, at)) = stack.pop() {
        cover[index] = node.internal_count.or(node.leaf_count);
        let bad = |what: String| malformed(path, format!("tree {t}, `{at}`: {what}"));
        if let Some(value) = &node.leaf_value {
            let value = number(value, path, &|| format!("tree {t}, `{at}.leaf_value`"))?;
            let linear =
                match (&node.leaf_const, &node.leaf_features, &node.leaf_coeff) {
                    (None, None, None) => None,
                    (Some(c), Some(features), Some(coefficients)) => {
                        if features.len() != coefficients.len() {
                            return Err(bad(format!(
                                "{} `leaf_features` but {} `leaf_coeff`",
                                features.len(),
                                coefficients.len()
                            )));
                        }
                        let constant = number(c, path, &|| format!("tree {t}, `{at}.leaf_const`"))?;
                        let terms = features
                            .iter()
                            .zip(coefficients)
                            .map(|(&f, c)| {
                                let f = usize::try_from(f).map_err(|_| {
                                    bad(format!("negative feature {f} in `leaf_features`"))
                                })?;
                                Ok((
                                    f,
                                    number(c, path, &|| format!("tree {t}, `{at}.leaf_coeff`"))?,
                                ))
                            })
                            .collect::<Result<_, LoadError>>()?;
                        Some((constant, terms))
                    }
                    _ => return Err(bad(
                        "a linear leaf needs all of `leaf_const`, `leaf_features` and `leaf_coeff`"
                            .into(),
                    )),
                };
            nodes[index] = Some(leaf_node(LeafSpec { value, linear }));
            continue;
        }
        let need = |what: &str| {
            bad(format!(
                "a split without `{what}` (nor a leaf: no `leaf_value`)"
            ))
        };
        let feature = node.split_feature.ok_or_else(|| need("split_feature"))?;
        let feature = usize::try_from(feature)
            .map_err(|_| bad(format!("`split_feature` {feature} is negative")))?;
        let threshold = node.threshold.as_ref().ok_or_else(|| need("threshold"))?;
        let decision = match (node.decision_type.as_deref(), threshold) {
            (Some("<="), Threshold::Number(n)) => {
                let missing = match node.missing_type.as_deref() {
                    Some("None") => MissingType::None,
                    Some("Zero") => MissingType::Zero,
                    Some("NaN") => MissingType::NaN,
                    Some(other) => return Err(bad(format!("unknown `missing_type` `{other}`"))),
                    None => return Err(need("missing_type")),
                };
                Decision::Numerical {
                    threshold: unclamped(number(n, path, &|| {
                        format!("tree {t}, `{at}.threshold`")
                    })?),
                    missing,
                    default_left: node.default_left.ok_or_else(|| need("default_left"))?,
                }
            }
            (Some("=="), Threshold::Categories(set)) => Decision::Categorical {
                categories: set
                    .split("||")
                    .map(|c| {
                        c.trim().parse::<u32>().map_err(|_| {
                            bad(format!("`threshold` \"{set}\": `{c}` is not a category code"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            (Some(d), _) => {
                return Err(bad(format!(
                    "`decision_type` `{d}` does not fit its `threshold` (`<=` takes a number, `==` categories)"
                )))
            }
            (None, _) => return Err(need("decision_type")),
        };
        let left = node
            .left_child
            .as_deref()
            .ok_or_else(|| need("left_child"))?;
        let right = node
            .right_child
            .as_deref()
            .ok_or_else(|| need("right_child"))?;
        let (l, r) = (nodes.len(), nodes.len() + 1);
        nodes.extend([None, None]);
        cover.extend([None, None]);
        nodes[index] = Some(split_node(feature, decision, l, r));
        stack.push((right, r, format!("{at}.right_child")));
        stack.push((left, l, format!("{at}.left_child")));
    }
    // Every pushed slot is filled when its entry is popped.
    let nodes = nodes.into_iter().flatten().collect();
    Ok(Tree::new(nodes, 0).with_cover(cover.into_iter().collect()))
}
