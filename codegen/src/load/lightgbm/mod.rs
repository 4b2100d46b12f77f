//! LightGBM models: the text file of `save_model` ([`load_text`]) and the JSON of
//! `dump_model()` ([`load_json`]). Both describe the same trees; the readers turn each into
//! one crate-private `Model`, and `Model::build` turns that into a [`Forest`] with
//! LightGBM's semantics:
//!
//! - Everything is `f64`: inputs, thresholds (written with 17 digits), leaves, sums.
//! - LightGBM's predictor drops input values with `|x| <= kZeroThreshold` (`1e-35f`) from the
//!   row, so they read as exactly 0. Thresholds inside that band are moved to the equivalent
//!   one outside it, so no extra work is done at scoring time.
//! - Numerical split (`x <= threshold` goes left): missing type `None` reads NaN as 0;
//!   `Zero` sends values in the zero band and NaN to the default side; `NaN` sends NaN there.
//! - Categorical split: the value truncated toward zero in the bitset goes left; NaN and
//!   negative values go right.
//! - Linear leaves (`linear_tree`): `leaf_const + sum(coeff * x)`, or the plain leaf value
//!   when one of those inputs is NaN.
//! - Tree `i` adds to output `i % num_tree_per_iteration`; margins start at 0 (the initial
//!   score is in the first trees). `average_output` (random forest mode) divides predictions,
//!   not raw scores, by the number of iterations.

mod json;
mod text;

pub use json::load_json;
pub use text::load_text;

pub(crate) use super::json::malformed;
use super::{Frontend, LoadError, LoadOptions, Probe};
use crate::ir::{
    CategoryCode, Comparison, Feature, FeatureKind, Forest, Leaf, LinearLeaf, Node, Origin,
    Precision, Side, Split, Test, TextRule, Transform, Tree,
};

/// LightGBM's `kZeroThreshold` (declared `1e-35f`, so the `f32` nearest `1e-35` widened).
pub const ZERO_THRESHOLD: f64 = 1e-35f32 as f64;

/// Feature counts above this are taken as a corrupt file rather than allocated for.
const MAX_FEATURES: usize = 1 << 24;
/// Class counts above this are taken as a corrupt file.
const MAX_CLASSES: usize = 1 << 16;

/// How a numerical split treats missing values (`decision_type` bits 2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingType {
    /// NaN reads as 0.
    None,
    /// Values in the zero band, and NaN, take the default side.
    Zero,
    /// NaN takes the default side.
    NaN,
}

/// A split as both file formats describe it.
pub(crate) enum Decision {
    /// `x <= threshold` goes left.
    Numerical {
        threshold: f64,
        missing: MissingType,
        default_left: bool,
    },
    /// Categories in the set go left.
    Categorical { categories: Vec<u32> },
}

/// A linear leaf's `leaf_const` and `(feature, coefficient)` pairs.
pub(crate) type LinearModel = (f64, Vec<(usize, f64)>);

/// A leaf as both file formats describe it.
pub(crate) struct LeafSpec {
    pub value: f64,
    /// The linear model, for a linear tree.
    pub linear: Option<LinearModel>,
}

/// What the model header says, whichever file it came from.
pub(crate) struct Header {
    pub num_class: usize,
    pub num_tree_per_iteration: usize,
    pub max_feature_idx: usize,
    /// The objective line (`binary sigmoid:1`), if any.
    pub objective: Option<String>,
    pub average_output: bool,
    pub feature_names: Vec<String>,
    /// Per feature: whether its recorded range is a category list.
    pub categorical: Vec<bool>,
    /// `pandas_categorical`: the categories of each pandas categorical column, in order
    /// (`None` for a column whose categories are not all strings).
    pub pandas_categories: Option<Vec<Option<Vec<String>>>>,
}

/// A LightGBM model read from either format.
pub(crate) struct Model {
    pub header: Header,
    /// The trees (node 0 the root), their output groups not yet set.
    pub trees: Vec<Tree>,
}

impl Header {
    /// Checks the counts; returns the number of features.
    pub fn check(&self, path: &str) -> Result<usize, LoadError> {
        let num_features = self
            .max_feature_idx
            .checked_add(1)
            .filter(|&n| n <= MAX_FEATURES)
            .ok_or_else(|| {
                malformed(
                    path,
                    format!(
                        "`max_feature_idx` = {} exceeds the limit of {MAX_FEATURES} features",
                        self.max_feature_idx
                    ),
                )
            })?;
        for (name, v) in [
            ("num_class", self.num_class),
            ("num_tree_per_iteration", self.num_tree_per_iteration),
        ] {
            if v == 0 || v > MAX_CLASSES {
                return Err(malformed(
                    path,
                    format!("`{name}` = {v} is not between 1 and {MAX_CLASSES}"),
                ));
            }
        }
        if self.feature_names.len() != num_features {
            return Err(malformed(
                path,
                format!(
                    "`feature_names` has {} names but `max_feature_idx` = {} means {num_features} features",
                    self.feature_names.len(),
                    self.max_feature_idx
                ),
            ));
        }
        Ok(num_features)
    }
}

/// `Booster.save_model("model.txt")`.
pub const TEXT: Frontend = Frontend {
    name: "lightgbm-text",
    description: "LightGBM text (`save_model`)",
    signature: "text whose first line is `tree`",
    sniff: |probe: &Probe<'_>| probe.first_line() == "tree",
    load: load_text,
    takes_dump_options: false,
};

/// `Booster.dump_model()` written as JSON.
pub const JSON: Frontend = Frontend {
    name: "lightgbm-json",
    description: "LightGBM JSON (`dump_model`)",
    signature: "a JSON object with `tree_info` and `max_feature_idx` keys",
    sniff: |probe: &Probe<'_>| probe.has_key("tree_info") && probe.has_key("max_feature_idx"),
    load: load_json,
    takes_dump_options: false,
};

/// The `decision_type` byte: bit 0 categorical, bit 1 default left, bits 2-3 missing type.
pub(crate) fn decode_decision_type(
    byte: i64,
    threshold: f64,
    categories: impl FnOnce() -> Result<Vec<u32>, LoadError>,
    bad: impl Fn(String) -> LoadError,
) -> Result<Decision, LoadError> {
    if !(0..=15).contains(&byte) {
        return Err(bad(format!(
            "`decision_type` {byte} is not a LightGBM decision type"
        )));
    }
    if byte & 1 == 1 {
        return Ok(Decision::Categorical {
            categories: categories()?,
        });
    }
    let missing = match (byte >> 2) & 3 {
        0 => MissingType::None,
        1 => MissingType::Zero,
        2 => MissingType::NaN,
        _ => {
            return Err(bad(format!(
                "`decision_type` {byte} has an unknown missing type"
            )))
        }
    };
    Ok(Decision::Numerical {
        threshold,
        missing,
        default_left: byte & 2 == 2,
    })
}

/// The set of categories in a bitset of 32-bit words.
pub(crate) fn bitset_categories(words: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, &w) in words.iter().enumerate() {
        for bit in 0..32 {
            if w >> bit & 1 == 1 {
                // Word counts are bounded by the file size; the IR rejects codes from 2^24.
                out.push(u32::try_from(i * 32 + bit).unwrap_or(u32::MAX));
            }
        }
    }
    out
}

/// The IR node of a LightGBM split.
pub(crate) fn split_node(feature: usize, decision: Decision, left: usize, right: usize) -> Node {
    let (test, default_left) = match decision {
        Decision::Numerical {
            threshold,
            missing,
            default_left,
        } => match missing {
            // NaN reads as 0, so it goes where 0 goes.
            MissingType::None => (numerical(threshold), 0.0 <= threshold),
            MissingType::NaN => (numerical(threshold), default_left),
            MissingType::Zero => (
                Test::ZeroAsMissing {
                    threshold,
                    zero_band: ZERO_THRESHOLD,
                },
                default_left,
            ),
        },
        Decision::Categorical { mut categories } => {
            categories.sort_unstable();
            categories.dedup();
            (
                Test::Categorical {
                    categories,
                    set_side: Side::Left,
                    code: CategoryCode::TruncateFirst,
                },
                // NaN is no category: it goes right, with the values outside the set.
                false,
            )
        }
    };
    Node::Split(Split {
        feature,
        test,
        left,
        right,
        default_left,
    })
}

/// `x <= threshold` for an input that LightGBM zeroes inside the zero band: a threshold in
/// `[-band, band)` is replaced by the one outside the band that splits every input the same
/// way (`x <= band` for a non-negative threshold, `x < -band` for a negative one).
fn numerical(threshold: f64) -> Test {
    let k = ZERO_THRESHOLD;
    let threshold = if (-k..k).contains(&threshold) {
        if threshold >= 0.0 {
            k
        } else {
            // The largest f64 below -k: one step away from zero.
            f64::from_bits((-k).to_bits() + 1)
        }
    } else {
        threshold
    };
    Test::Numerical {
        threshold,
        comparison: Comparison::LessOrEqual,
    }
}

/// The IR node of a LightGBM leaf.
pub(crate) fn leaf_node(leaf: LeafSpec) -> Node {
    Node::Leaf(match leaf.linear {
        None => Leaf::Scalar(leaf.value),
        Some((constant, terms)) => Leaf::Linear(LinearLeaf {
            constant,
            terms,
            fallback: leaf.value,
            zero_band: ZERO_THRESHOLD,
        }),
    })
}

/// Whether Timber knows the objective `name` (see [`objective_transform`]).
fn name_is_known(name: &str) -> bool {
    matches!(
        name,
        "regression"
            | "regression_l1"
            | "huber"
            | "fair"
            | "quantile"
            | "mape"
            | "poisson"
            | "gamma"
            | "tweedie"
            | "binary"
            | "multiclass"
            | "multiclassova"
            | "cross_entropy"
            | "cross_entropy_lambda"
            | "lambdarank"
            | "rank_xendcg"
    )
}

/// What an objective line means: the transform from raw scores to predictions.
fn objective_transform(
    line: &str,
    num_class: usize,
    path: &str,
) -> Result<Option<Transform>, LoadError> {
    let mut tokens = line.split_whitespace();
    let name = tokens.next().unwrap_or("");
    let params: Vec<(&str, &str)> = tokens.filter_map(|t| t.split_once(':')).collect();
    let sqrt = line.split_whitespace().skip(1).any(|t| t == "sqrt");
    let param = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let sigmoid = || -> Result<f64, LoadError> {
        let text = param("sigmoid")
            .ok_or_else(|| malformed(path, format!("objective `{line}`: no `sigmoid:` factor")))?;
        text.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| {
                malformed(
                    path,
                    format!("objective `{line}`: bad `sigmoid:` factor `{text}`"),
                )
            })
    };
    let check_classes = || -> Result<(), LoadError> {
        match param("num_class").map(str::parse::<usize>) {
            Some(Ok(n)) if n == num_class => Ok(()),
            _ => Err(malformed(
                path,
                format!("objective `{line}`: `num_class:` does not match `num_class={num_class}`"),
            )),
        }
    };
    let one_output = || -> Result<(), LoadError> {
        if num_class == 1 {
            return Ok(());
        }
        Err(malformed(
            path,
            format!(
                "objective `{line}` has one output but the model declares `num_class={num_class}`"
            ),
        ))
    };
    if !matches!(name, "multiclass" | "multiclassova") && name_is_known(name) {
        one_output()?;
    }
    Ok(Some(match name {
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" => {
            if sqrt {
                Transform::SignedSquare
            } else {
                Transform::Identity
            }
        }
        "poisson" | "gamma" | "tweedie" => Transform::Exp,
        "binary" => Transform::Logistic { scale: sigmoid()? },
        "multiclass" => {
            check_classes()?;
            Transform::SoftmaxF64
        }
        "multiclassova" => {
            check_classes()?;
            Transform::Logistic { scale: sigmoid()? }
        }
        "cross_entropy" => Transform::Logistic { scale: 1.0 },
        "cross_entropy_lambda" => Transform::Log1pExp,
        "lambdarank" | "rank_xendcg" => Transform::Identity,
        _ => return Ok(None),
    }))
}

impl Model {
    /// The forest, with LightGBM's scoring semantics.
    pub fn build(self, path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
        let h = &self.header;
        let num_features = h.check(path)?;
        let groups = h.num_tree_per_iteration;
        let (objective, transform) = match &h.objective {
            // Trained with a custom objective: predictions are the raw scores.
            None => ("none".to_string(), Transform::Identity),
            Some(line) => match objective_transform(line, h.num_class, path)? {
                Some(t) => (line.clone(), t),
                None if options.margin_only => (line.clone(), Transform::Identity),
                None => {
                    return Err(LoadError::UnknownObjective {
                        path: path.into(),
                        objective: line.clone(),
                    })
                }
            },
        };
        let softmax = transform == Transform::SoftmaxF64;
        if softmax && groups < 2 {
            return Err(malformed(
                path,
                format!("objective `{objective}` with {groups} tree(s) per iteration"),
            ));
        }
        let n_trees = self.trees.len();
        if n_trees.checked_rem(groups) != Some(0) {
            return Err(malformed(
                path,
                format!("{n_trees} trees is not a whole number of iterations of {groups} trees"),
            ));
        }

        // Features used by categorical splits are categorical whatever their recorded range.
        let mut categorical = h.categorical.clone();
        categorical.resize(num_features, false);
        for tree in &self.trees {
            for node in &tree.nodes {
                if let Node::Split(Split {
                    feature,
                    test: Test::Categorical { .. },
                    ..
                }) = node
                {
                    if let Some(c) = categorical.get_mut(*feature) {
                        *c = true;
                    }
                }
            }
        }
        let labels = pandas_labels(h.pandas_categories.as_deref(), &categorical);
        let features = h
            .feature_names
            .iter()
            .enumerate()
            .map(|(i, name)| Feature {
                text: TextRule::Standard,
                name: name.clone(),
                kind: if categorical[i] {
                    FeatureKind::Categorical {
                        labels: labels.get(&i).cloned().unwrap_or_default(),
                    }
                } else {
                    FeatureKind::Numerical
                },
            })
            .collect();
        let trees = self
            .trees
            .into_iter()
            .enumerate()
            .map(|(t, tree)| Tree {
                group: t % groups,
                ..tree
            })
            .collect();
        let average_over = if h.average_output {
            Some(u32::try_from(n_trees / groups).map_err(|_| {
                malformed(
                    path,
                    format!("{n_trees} trees are too many to average over"),
                )
            })?)
        } else {
            None
        };
        Ok(Forest {
            features,
            trees,
            base_margin: vec![0.0; groups],
            transform,
            objective,
            precision: Precision::F64,
            has_feature_names: true,
            origin: Origin::default(),
            average_over,
        })
    }
}

/// Category labels from `pandas_categorical`, whose lists belong to the pandas categorical
/// columns in order. Those are the model's categorical features unless others were named
/// with `categorical_feature`, so labels are used only when the counts agree, and only for
/// string categories (a number in a CSV cell is read as a code).
fn pandas_labels(
    lists: Option<&[Option<Vec<String>>]>,
    categorical: &[bool],
) -> std::collections::HashMap<usize, Vec<String>> {
    let cats: Vec<usize> = (0..categorical.len()).filter(|&i| categorical[i]).collect();
    match lists {
        Some(lists) if lists.len() == cats.len() => cats
            .into_iter()
            .zip(lists.iter())
            .filter_map(|(i, labels)| Some((i, labels.clone()?)))
            .collect(),
        _ => Default::default(),
    }
}

/// Parses a `pandas_categorical` JSON value: `null`, or one list of categories per pandas
/// categorical column (`None` for a list that holds anything but strings).
pub(crate) fn parse_pandas_categorical(
    value: &serde_json::Value,
) -> Option<Vec<Option<Vec<String>>>> {
    let lists = value.as_array()?;
    Some(
        lists
            .iter()
            .map(|list| {
                list.as_array()?
                    .iter()
                    .map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threshold_is_the_widened_f32() {
        assert_eq!(ZERO_THRESHOLD, 1.0000000180025095e-35);
    }

    #[test]
    fn thresholds_in_the_zero_band_move_outside_it() {
        let k = ZERO_THRESHOLD;
        let t = |v: f64| match numerical(v) {
            Test::Numerical { threshold, .. } => threshold,
            _ => unreachable!(),
        };
        assert_eq!(t(0.0), k);
        assert_eq!(t(-0.0), k);
        assert_eq!(t(k / 2.0), k);
        assert_eq!(t(k), k);
        assert_eq!(t(-k).to_bits(), (-k).to_bits() + 1);
        assert!(t(-k) < -k);
        assert_eq!(t(1.5), 1.5);
    }

    #[test]
    fn bitsets_list_their_bits() {
        assert_eq!(bitset_categories(&[0b1010, 1]), vec![1, 3, 32]);
        assert!(bitset_categories(&[0, 0]).is_empty());
    }

    #[test]
    fn objective_lines() {
        let t = |l: &str| objective_transform(l, 1, "m").unwrap();
        assert_eq!(
            t("binary sigmoid:0.5"),
            Some(Transform::Logistic { scale: 0.5 })
        );
        assert_eq!(t("regression sqrt"), Some(Transform::SignedSquare));
        assert_eq!(
            objective_transform("multiclass num_class:3", 3, "m").unwrap(),
            Some(Transform::SoftmaxF64)
        );
        assert_eq!(t("poisson"), Some(Transform::Exp));
        assert_eq!(t("what"), None);
        assert_eq!(objective_transform("what", 3, "m").unwrap(), None);
        assert!(objective_transform("binary", 1, "m").is_err());
        assert!(objective_transform("multiclass num_class:4", 3, "m").is_err());
        // A one-output objective cannot have classes.
        let err = objective_transform("binary sigmoid:1", 65536, "m").unwrap_err();
        assert!(
            err.to_string()
                .contains("has one output but the model declares `num_class=65536`"),
            "{err}"
        );
    }
}
