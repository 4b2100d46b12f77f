//! LightGBM's text model (`Booster.save_model("model.txt")`): `key=value` header lines, one
//! block per tree (`Tree=<i>` then `key=value` lines of space-separated arrays), `end of
//! trees`, then importances, parameters and a `pandas_categorical:` line.

use super::{
    bitset_categories, decode_decision_type, leaf_node, malformed, parse_pandas_categorical,
    split_node, Header, LeafSpec, LinearModel, Model,
};
use crate::ir::Forest;
use crate::ir::Tree;
use crate::load::{LoadError, LoadOptions};
use std::collections::HashMap;
use std::str::FromStr;

/// Loads a LightGBM text model.
pub fn load_text(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| malformed(path, format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    parse(text, path)?.build(path, options)
}

/// `key=value` lines of one section, with their 1-based line numbers.
struct Section<'a> {
    /// For messages: `the header` or `tree 3`.
    name: String,
    values: HashMap<&'a str, (usize, &'a str)>,
}

impl<'a> Section<'a> {
    fn get(&self, key: &str) -> Option<(usize, &'a str)> {
        self.values.get(key).copied()
    }

    fn require(&self, key: &str, path: &str) -> Result<(usize, &'a str), LoadError> {
        self.get(key)
            .ok_or_else(|| malformed(path, format!("{}: no `{key}=` line", self.name)))
    }

    fn bad(&self, path: &str, line: usize, key: &str, what: impl std::fmt::Display) -> LoadError {
        malformed(
            path,
            format!("line {line} ({}, `{key}`): {what}", self.name),
        )
    }

    fn scalar<T: FromStr>(&self, key: &str, path: &str) -> Result<T, LoadError> {
        let (line, v) = self.require(key, path)?;
        v.trim().parse().map_err(|_| {
            self.bad(
                path,
                line,
                key,
                format!("`{}` is not a valid value", v.trim()),
            )
        })
    }

    /// A space-separated array of exactly `len` values (a missing key is an empty array).
    fn array<T: FromStr>(&self, key: &str, len: usize, path: &str) -> Result<Vec<T>, LoadError> {
        let Some((line, v)) = self.get(key) else {
            if len == 0 {
                return Ok(Vec::new());
            }
            return Err(malformed(path, format!("{}: no `{key}=` line", self.name)));
        };
        let items: Vec<&str> = v.split_whitespace().collect();
        if items.len() != len {
            return Err(self.bad(
                path,
                line,
                key,
                format!("{} values, expected {len}", items.len()),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse()
                    .map_err(|_| self.bad(path, line, key, format!("value {i} `{s}` is not valid")))
            })
            .collect()
    }
}

/// Splits the file into the header section, the tree sections and the `pandas_categorical`
/// value.
fn sections<'a>(
    text: &'a str,
    path: &str,
) -> Result<(Section<'a>, Vec<Section<'a>>, Option<&'a str>), LoadError> {
    let mut header = Section {
        name: "the header".into(),
        values: HashMap::new(),
    };
    let mut trees: Vec<Section<'a>> = Vec::new();
    let mut pandas = None;
    let mut ended = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let number = i + 1;
        if ended {
            if let Some(v) = line.strip_prefix("pandas_categorical:") {
                pandas = Some(v);
            }
            continue;
        }
        if line == "end of trees" {
            ended = true;
            continue;
        }
        if line.is_empty() || (i == 0 && line == "tree") {
            continue;
        }
        if let Some(index) = line.strip_prefix("Tree=") {
            if index.trim() != trees.len().to_string() {
                return Err(malformed(
                    path,
                    format!(
                        "line {number}: `{line}` where `Tree={}` was expected",
                        trees.len()
                    ),
                ));
            }
            trees.push(Section {
                name: format!("tree {}", trees.len()),
                values: HashMap::new(),
            });
            continue;
        }
        let section = trees.last_mut().unwrap_or(&mut header);
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        section.values.insert(key, (number, value));
    }
    if !ended {
        return Err(malformed(
            path,
            "no `end of trees` line: the file is truncated or not a LightGBM model",
        ));
    }
    Ok((header, trees, pandas))
}

fn parse(text: &str, path: &str) -> Result<Model, LoadError> {
    let (h, tree_sections, pandas) = sections(text, path)?;
    let max_feature_idx: usize = h.scalar("max_feature_idx", path)?;
    let num_class: usize = h.scalar("num_class", path)?;
    let num_tree_per_iteration: usize = match h.get("num_tree_per_iteration") {
        Some(_) => h.scalar("num_tree_per_iteration", path)?,
        None => num_class,
    };
    let feature_names: Vec<String> = h
        .require("feature_names", path)?
        .1
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // `[min:max]` for numbers, `none` for unused features, `c1:c2:...` for categories.
    let categorical = match h.get("feature_infos") {
        Some((_, v)) => v
            .split_whitespace()
            .map(|info| !info.starts_with('[') && info != "none")
            .collect(),
        None => Vec::new(),
    };
    let pandas_categories = match pandas.map(str::trim) {
        None | Some("null") => None,
        Some(v) => serde_json::from_str(v)
            .ok()
            .and_then(|json| parse_pandas_categorical(&json)),
    };
    let header = Header {
        num_class,
        num_tree_per_iteration,
        max_feature_idx,
        objective: h.get("objective").map(|(_, v)| v.trim().to_string()),
        average_output: h.get("average_output").is_some(),
        feature_names,
        categorical,
        pandas_categories,
    };
    let trees = tree_sections
        .iter()
        .map(|t| tree(t, path))
        .collect::<Result<_, _>>()?;
    Ok(Model { header, trees })
}

/// One tree: internal nodes first (node 0 is the root), then leaves; its cover the rows of
/// the training data that reached each node (`internal_count`, `leaf_count`), when written.
fn tree(t: &Section<'_>, path: &str) -> Result<Tree, LoadError> {
    let num_leaves: usize = t.scalar("num_leaves", path)?;
    let (leaves_line, _) = t.require("num_leaves", path)?;
    if num_leaves == 0 || num_leaves > 1 << 24 {
        return Err(t.bad(
            path,
            leaves_line,
            "num_leaves",
            format!("{num_leaves} leaves"),
        ));
    }
    let internal = num_leaves - 1;
    let num_cat: usize = match t.get("num_cat") {
        Some(_) => t.scalar("num_cat", path)?,
        None => 0,
    };
    let split_feature: Vec<i64> = t.array("split_feature", internal, path)?;
    let threshold: Vec<f64> = t.array("threshold", internal, path)?;
    let decision_type: Vec<i64> = t.array("decision_type", internal, path)?;
    let left_child: Vec<i64> = t.array("left_child", internal, path)?;
    let right_child: Vec<i64> = t.array("right_child", internal, path)?;
    let leaf_value: Vec<f64> = t.array("leaf_value", num_leaves, path)?;
    let (cat_boundaries, cat_threshold): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
        if num_cat > internal {
            return Err(malformed(
                path,
                format!(
                    "{}: `num_cat` = {num_cat} but the tree has {internal} splits",
                    t.name
                ),
            ));
        }
        let boundaries: Vec<usize> = t.array("cat_boundaries", num_cat + 1, path)?;
        let (line, words) = t.require("cat_threshold", path)?;
        let count = words.split_whitespace().count();
        if boundaries.windows(2).any(|w| w[0] > w[1])
            || boundaries.last() != Some(&count)
            || boundaries[0] != 0
        {
            return Err(t.bad(
                path,
                line,
                "cat_boundaries",
                format!(
                    "boundaries {boundaries:?} do not cover the {count} words of `cat_threshold`"
                ),
            ));
        }
        (boundaries, t.array("cat_threshold", count, path)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let linear = match t.get("is_linear") {
        Some((_, v)) if v.trim() == "1" => Some(linear_leaves(t, num_leaves, path)?),
        _ => None,
    };

    let child = |c: i64, node: usize, key: &str| -> Result<usize, LoadError> {
        let index = if c >= 0 {
            usize::try_from(c).ok().filter(|&c| c < internal)
        } else {
            usize::try_from(!c)
                .ok()
                .filter(|&l| l < num_leaves)
                .map(|l| internal + l)
        };
        index.ok_or_else(|| {
            malformed(
                path,
                format!("{}, node {node}: `{key}` {c} is out of range ({internal} splits, {num_leaves} leaves)", t.name),
            )
        })
    };
    let mut nodes = Vec::with_capacity(internal + num_leaves);
    for i in 0..internal {
        let bad = |what: String| malformed(path, format!("{}, node {i}: {what}", t.name));
        let feature = usize::try_from(split_feature[i])
            .map_err(|_| bad(format!("`split_feature` {} is negative", split_feature[i])))?;
        let categories = || {
            // A categorical threshold is the index of the node's bitset.
            let th = threshold[i];
            let index = (th >= 0.0 && th.fract() == 0.0 && th < num_cat as f64)
                .then_some(th as usize)
                .ok_or_else(|| bad(format!("categorical `threshold` {th} is not a bitset index below `num_cat` = {num_cat}")))?;
            Ok(bitset_categories(
                &cat_threshold[cat_boundaries[index]..cat_boundaries[index + 1]],
            ))
        };
        let decision = decode_decision_type(decision_type[i], threshold[i], categories, bad)?;
        let left = child(left_child[i], i, "left_child")?;
        let right = child(right_child[i], i, "right_child")?;
        nodes.push(split_node(feature, decision, left, right));
    }
    for (l, &value) in leaf_value.iter().enumerate() {
        nodes.push(leaf_node(LeafSpec {
            value,
            linear: linear.as_ref().map(|leaves| leaves[l].clone()),
        }));
    }
    let counts = |key, len| t.array::<f64>(key, len, path).ok();
    let cover = counts("internal_count", internal)
        .zip(counts("leaf_count", num_leaves))
        .map(|(mut internal, leaves)| {
            internal.extend(leaves);
            internal
        });
    Ok(Tree::new(nodes, 0).with_cover(cover))
}

/// `leaf_const`, and each leaf's `num_features` entries of the flat `leaf_features` and
/// `leaf_coeff` arrays.
fn linear_leaves(
    t: &Section<'_>,
    num_leaves: usize,
    path: &str,
) -> Result<Vec<LinearModel>, LoadError> {
    let constants: Vec<f64> = t.array("leaf_const", num_leaves, path)?;
    let counts: Vec<usize> = t.array("num_features", num_leaves, path)?;
    let total = counts
        .iter()
        .try_fold(0usize, |a, &c| a.checked_add(c))
        .ok_or_else(|| malformed(path, format!("{}: `num_features` overflows", t.name)))?;
    let features: Vec<usize> = t.array("leaf_features", total, path)?;
    let coefficients: Vec<f64> = t.array("leaf_coeff", total, path)?;
    let mut start = 0;
    Ok(constants
        .into_iter()
        .zip(counts)
        .map(|(constant, count)| {
            let terms = features[start..start + count]
                .iter()
                .copied()
                .zip(coefficients[start..start + count].iter().copied())
                .collect();
            start += count;
            (constant, terms)
        })
        .collect())
}
