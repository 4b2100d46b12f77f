//! XGBoost's JSON dump (`Booster.dump_model(path, dump_format="json")`): a list of trees,
//! each a nested node `{nodeid, split, split_condition, yes, no, missing, children}` or leaf
//! `{nodeid, leaf}`.
//!
//! `yes` is the child for a true condition: `x < split_condition` for a numerical split, and
//! membership in the `split_condition` list for a categorical one (where XGBoost's own
//! left child is the `no` side). `missing` is the default child. Node ids are XGBoost's, so
//! the trees come out exactly as from the saved model.
//!
//! The dump has no objective, base score, class count, feature count or dart weights: the
//! first three come from [`DumpOptions`] (`LoadOptions::dump`). Features are `f<index>` when every split names one
//! so; otherwise they are the split names in order of first use (the model's other features
//! are unknown, so rows must name their columns). Tree `i` adds to class `i % num_class`, so
//! dart models and multi-class models with `num_parallel_tree` > 1 cannot be scored from a
//! dump (the dump cannot tell them apart).

use super::{objective_and_base, parse_score_list, MAX_OUTPUTS};
use crate::ir::{
    CategoryCode, Comparison, Feature, FeatureKind, Forest, Leaf, Node, Side, Split, Test,
    TextRule, Tree,
};
use crate::load::json::{self, f32_of, malformed};
use crate::load::{Frontend, LoadError, LoadOptions, Probe};
use serde::Deserialize;
use serde_json::Number;
use std::collections::HashMap;

#[derive(Deserialize)]
struct DumpNode {
    nodeid: i64,
    split: Option<String>,
    split_condition: Option<Condition>,
    yes: Option<i64>,
    no: Option<i64>,
    missing: Option<i64>,
    leaf: Option<Number>,
    /// The node's sum of hessians, in dumps made `with_stats=True`: its cover.
    cover: Option<f64>,
    #[serde(default)]
    children: Vec<DumpNode>,
}

/// A threshold, or the category list of a categorical split.
#[derive(Deserialize)]
#[serde(untagged, expecting = "a number or a list of category codes")]
enum Condition {
    Threshold(Number),
    Categories(Vec<i64>),
}

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "xgboost-dump",
    description: "XGBoost JSON dump (`dump_model(..., dump_format=\"json\")`, with `--objective` \
                  and `--base-score`)",
    signature: "a JSON array of tree objects",
    sniff,
    load,
    takes_dump_options: true,
};

fn sniff(probe: &Probe<'_>) -> bool {
    let content = probe.content();
    content.first() == Some(&b'[')
        && content[1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
}

/// What a dump does not record and the user gives instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// The objective, e.g. `binary:logistic` (`--objective`).
    pub objective: Option<String>,
    /// The model's `base_score` as XGBoost stores it (in probability space for logistic
    /// objectives), one value or one per output separated by commas (`--base-score`).
    pub base_score: Option<String>,
    /// The number of classes (or targets); trees are assigned to them in turn. Default 1
    /// (`--num-class`).
    pub num_class: Option<usize>,
}

impl DumpOptions {
    /// The first option that is set, by its CLI flag.
    pub fn first_set(&self) -> Option<&'static str> {
        if self.objective.is_some() {
            Some("--objective")
        } else if self.base_score.is_some() {
            Some("--base-score")
        } else if self.num_class.is_some() {
            Some("--num-class")
        } else {
            None
        }
    }
}

fn needs(path: &str, what: &str) -> LoadError {
    LoadError::NeedsOption {
        path: path.into(),
        what: format!("an XGBoost JSON dump does not record {what}"),
    }
}

/// Loads an XGBoost JSON dump, with the objective and base score from `options`.
pub fn load(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let dump: Vec<DumpNode> = json::parse(bytes, path)?;
    let options_given = &options.dump;

    let objective = options_given.objective.clone().ok_or_else(|| {
        needs(
            path,
            "the objective: pass it with `--objective` (`Config::objective`), \
             e.g. `--objective binary:logistic`",
        )
    })?;
    let base_text = options_given.base_score.as_deref().ok_or_else(|| {
        needs(
            path,
            "the base score: pass the model's `base_score` with `--base-score` \
             (`Config::base_score`); it is `learner.learner_model_param.base_score` in \
             `booster.save_config()`",
        )
    })?;
    let groups = options_given.num_class.unwrap_or(1).max(1);
    if objective.starts_with("multi:") && groups < 2 {
        return Err(needs(
            path,
            "the number of classes: pass it with `--num-class` (`Config::num_class`) for a \
             multi-class objective",
        ));
    }
    if groups > MAX_OUTPUTS {
        return Err(malformed(
            path,
            format!("--num-class {groups} is over the limit of {MAX_OUTPUTS}"),
        ));
    }
    let base = parse_score_list(base_text, path, "--base-score")?;
    let (transform, base_margin) =
        objective_and_base(&objective, base, groups, options, path, "--base-score")?;

    let mut names = FeatureNames::default();
    let mut pending = Vec::with_capacity(dump.len());
    for (t, root) in dump.iter().enumerate() {
        pending.push(tree_nodes(root, t, &mut names, path)?);
    }
    // Whether names are positional (`f<i>`) is known only once every tree is read.
    let positions = names.positional();
    let resolve = |noted: usize| positions.as_ref().map_or(noted, |p| p[noted]);
    let trees = pending
        .into_iter()
        .enumerate()
        .map(|(t, (nodes, cover))| {
            Tree::new(
                nodes
                    .into_iter()
                    .map(|p| match p {
                        Pending::Leaf(v) => Node::Leaf(Leaf::Scalar(v)),
                        Pending::Split { noted, split } => Node::Split(Split {
                            feature: resolve(noted),
                            ..split
                        }),
                    })
                    .collect(),
                t % groups,
            )
            .with_cover(cover)
        })
        .collect();
    let (features, has_names) = names.features(positions.as_deref());
    Ok(super::forest(
        features,
        trees,
        base_margin,
        transform,
        objective,
        has_names,
    ))
}

/// The features named by the splits, in order of first use, and which are categorical.
#[derive(Default)]
struct FeatureNames {
    order: Vec<String>,
    index: HashMap<String, usize>,
    categorical: Vec<bool>,
}

impl FeatureNames {
    fn note(&mut self, name: &str, categorical: bool) -> usize {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.order.push(name.to_string());
                self.categorical.push(false);
                self.index.insert(name.to_string(), self.order.len() - 1);
                self.order.len() - 1
            }
        };
        self.categorical[i] |= categorical;
        i
    }

    /// `f<i>` for every name: XGBoost's default names, standing for feature `i`.
    fn positional(&self) -> Option<Vec<usize>> {
        self.order
            .iter()
            .map(|n| {
                n.strip_prefix('f')
                    .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse::<usize>().ok())
                    .filter(|&i| i < super::MAX_FEATURES)
            })
            .collect()
    }

    /// The model's features, and whether they carry real names.
    fn features(&self, positions: Option<&[usize]>) -> (Vec<Feature>, bool) {
        let kind = |categorical: bool| {
            if categorical {
                FeatureKind::Categorical { labels: Vec::new() }
            } else {
                FeatureKind::Numerical
            }
        };
        match positions {
            Some(indices) => {
                let n = indices.iter().map(|&i| i + 1).max().unwrap_or(0);
                let mut cat = vec![false; n];
                for (k, &i) in indices.iter().enumerate() {
                    cat[i] |= self.categorical[k];
                }
                let features = (0..n)
                    .map(|i| Feature {
                        text: TextRule::Standard,
                        name: format!("f{i}"),
                        kind: kind(cat[i]),
                    })
                    .collect();
                (features, false)
            }
            None => {
                let features = self
                    .order
                    .iter()
                    .zip(&self.categorical)
                    .map(|(name, &c)| Feature {
                        text: TextRule::Standard,
                        name: name.clone(),
                        kind: kind(c),
                    })
                    .collect();
                (features, true)
            }
        }
    }
}

/// One tree's nodes, placed at their XGBoost node ids, with features still as note order,
/// and their cover when every node has one.
fn tree_nodes(
    root: &DumpNode,
    t: usize,
    names: &mut FeatureNames,
    path: &str,
) -> Result<(Vec<Pending>, Option<Vec<f64>>), LoadError> {
    // Collect every node with its id first (iteratively), then check the ids are 0..n.
    let mut all: Vec<&DumpNode> = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        all.push(node);
        stack.extend(node.children.iter());
    }
    let n = all.len();
    let mut slots: Vec<Option<&DumpNode>> = vec![None; n];
    for node in &all {
        let id = usize::try_from(node.nodeid)
            .ok()
            .filter(|&id| id < n)
            .ok_or_else(|| {
                malformed(
                    path,
                    format!(
                        "tree {t}: node id {} is out of range (the tree has {n} nodes)",
                        node.nodeid
                    ),
                )
            })?;
        if slots[id].replace(node).is_some() {
            return Err(malformed(
                path,
                format!("tree {t}: node id {id} appears twice"),
            ));
        }
    }
    let mut pending = Vec::with_capacity(n);
    for (id, slot) in slots.iter().enumerate() {
        let node =
            slot.ok_or_else(|| malformed(path, format!("tree {t}: node {id} is missing")))?;
        pending.push(dump_node(node, t, id, names, path)?);
    }
    let cover = slots.iter().map(|s| s.and_then(|n| n.cover)).collect();
    Ok((pending, cover))
}

enum Pending {
    Leaf(f64),
    /// A split whose feature is the name noted `noted`-th.
    Split {
        noted: usize,
        split: Split,
    },
}

fn dump_node(
    node: &DumpNode,
    t: usize,
    id: usize,
    names: &mut FeatureNames,
    path: &str,
) -> Result<Pending, LoadError> {
    let at = |what: &str| malformed(path, format!("tree {t}, node {id}: {what}"));
    if let Some(leaf) = &node.leaf {
        if !node.children.is_empty() {
            return Err(at("a leaf with children"));
        }
        let v = f32_of(leaf, path, &|| format!("tree {t}, node {id}: `leaf`"))?;
        return Ok(Pending::Leaf(f64::from(v)));
    }
    let need = |name: &str| at(&format!("a split without `{name}`"));
    let (yes, no, missing) = (
        node.yes.ok_or_else(|| need("yes"))?,
        node.no.ok_or_else(|| need("no"))?,
        node.missing.ok_or_else(|| need("missing"))?,
    );
    let mut children: Vec<i64> = node.children.iter().map(|c| c.nodeid).collect();
    children.sort_unstable();
    let mut expected = vec![yes, no];
    expected.sort_unstable();
    if children != expected {
        return Err(at(&format!(
            "`yes` ({yes}) and `no` ({no}) are not its children ({children:?})"
        )));
    }
    if missing != yes && missing != no {
        return Err(at(&format!(
            "`missing` ({missing}) is neither `yes` ({yes}) nor `no` ({no})"
        )));
    }
    let name = node.split.as_deref().ok_or_else(|| need("split"))?;
    let condition = node
        .split_condition
        .as_ref()
        .ok_or_else(|| need("split_condition"))?;
    // Ids were checked to be in range and distinct; children are among them.
    let (yes, no) = (yes as usize, no as usize);
    let (left, right, test, categorical) = match condition {
        Condition::Threshold(num) => {
            let threshold = f32_of(num, path, &|| {
                format!("tree {t}, node {id}: `split_condition`")
            })?;
            let test = Test::Numerical {
                threshold: f64::from(threshold),
                comparison: Comparison::Less,
            };
            (yes, no, test, false)
        }
        Condition::Categories(codes) => {
            let mut categories = codes
                .iter()
                .map(|&c| u32::try_from(c).map_err(|_| at(&format!("negative category {c}"))))
                .collect::<Result<Vec<_>, _>>()?;
            categories.sort_unstable();
            categories.dedup();
            // XGBoost's left child is the `no` side; members of the set go right.
            let test = Test::Categorical {
                categories,
                set_side: Side::Right,
                code: CategoryCode::RejectNegative,
            };
            (no, yes, test, true)
        }
    };
    let noted = names.note(name, categorical);
    Ok(Pending::Split {
        noted,
        split: Split {
            feature: 0,
            test,
            left,
            right,
            default_left: missing as usize == left,
        },
    })
}
