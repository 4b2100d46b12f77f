//! The forest IR: one validated representation of a tree ensemble, whatever file it came from.
//!
//! Frontends build a [`Forest`]; the loader validates it ([`Forest::validate`], the named
//! checks of [`check`]) before anything else sees it, and returns an [`IrError`] naming the
//! tree and node rather than panicking. Passes, the interpreter and the emitters may then
//! rely on the rules the checks enforce:
//!
//! - structure: child indices in range, every node reached exactly once from its tree's
//!   root, feature indices and output groups in range, vector leaves one value per group;
//! - numbers: all stored as `f64`; thresholds (and caps) are exactly representable in the
//!   model's input precision and are never NaN (±infinity is allowed: LightGBM and
//!   scikit-learn write `inf` for a split of the missing values against every number, and
//!   H2O's NA-vs-rest split is `x <= inf`); leaf values, base margins, weights and
//!   probability correction factors are finite and exactly representable in its sum
//!   precision (see [`Precision`]), so no value changes when the emitter narrows it;
//! - a transform fits the model: its precision, its number of margins (a two-class
//!   probability transform from one margin, softmax from two or more), and one correction
//!   factor per class;
//! - a tree weight ([`Tree::weight`]) scales scalar leaves only: trees with vector or linear
//!   leaves carry none.

pub mod check;

use std::fmt;
pub use timber_runtime::TextRule;

/// The floating-point precision a model scores in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Inputs rounded to `f32`, `f32` thresholds and sums (XGBoost).
    F32,
    /// Everything in `f64` (LightGBM).
    F64,
    /// Inputs rounded to `f32` and compared with `f32` thresholds; leaf values and sums in
    /// `f64` (scikit-learn).
    F32InF64Sum,
}

impl Precision {
    /// Whether inputs (and so thresholds) are `f64`; else `f32`.
    pub fn f64_input(self) -> bool {
        self == Precision::F64
    }

    /// Whether leaf values, margins and predictions are `f64`; else `f32`.
    pub fn f64_sum(self) -> bool {
        self != Precision::F32
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
            Precision::F32InF64Sum => "f32/f64",
        })
    }
}

/// Numerical or categorical input, with the categories' labels when the model records them.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureKind {
    /// A number compared against thresholds.
    Numerical,
    /// An integer code; `labels[code]` is the category's name when known.
    Categorical {
        /// Training categories in code order (may be empty).
        labels: Vec<String>,
    },
}

/// One input feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The name from the model file, or `f{index}`.
    pub name: String,
    /// Numerical or categorical.
    pub kind: FeatureKind,
    /// How text input (CSV cells, JSON strings) becomes its value: the library's own rules.
    pub text: TextRule,
}

/// How a numerical split compares the input with its threshold; true goes left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `x < threshold` (XGBoost).
    Less,
    /// `x <= threshold` (LightGBM, scikit-learn).
    LessOrEqual,
}

/// Which child of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left child.
    Left,
    /// The right child.
    Right,
}

/// How an input value becomes a category code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryCode {
    /// XGBoost: a negative value is no category; others are truncated toward zero.
    RejectNegative,
    /// LightGBM: the value is truncated toward zero first (`-0.5` is category 0), and a
    /// negative result is no category.
    TruncateFirst,
}

/// The test at an internal node. A missing (NaN) input goes to the split's default side.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `x <cmp> threshold` goes left.
    Numerical {
        /// The threshold.
        threshold: f64,
        /// `<` or `<=`.
        comparison: Comparison,
    },
    /// LightGBM's zero-as-missing split: values with `|x| <= zero_band` take the default side,
    /// like NaN; other values go left when `x <= threshold`.
    ZeroAsMissing {
        /// The threshold.
        threshold: f64,
        /// The half-width of the band around zero read as missing.
        zero_band: f64,
    },
    /// A numerical test on a value that counts as missing from `cap` up (H2O's numerical
    /// split on a categorical column's level code: codes past the domain are missing). NaN
    /// and values `>= cap` take the default side; other values go left when
    /// `x <cmp> threshold`.
    Capped {
        /// The threshold.
        threshold: f64,
        /// `<` or `<=`.
        comparison: Comparison,
        /// The first value that counts as missing.
        cap: f64,
    },
    /// Membership of the integer category code in a set.
    ///
    /// A valid code (below 2^24, see [`CategoryCode`]) in `categories` goes to `set_side`;
    /// any other non-missing value goes the other way.
    Categorical {
        /// Sorted, deduplicated category codes.
        categories: Vec<u32>,
        /// Where members of the set go: right in XGBoost, left in LightGBM.
        set_side: Side,
        /// How the input becomes a code.
        code: CategoryCode,
    },
}

/// An internal node.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The feature tested.
    pub feature: usize,
    /// The test.
    pub test: Test,
    /// Index of the left child in the tree's node list.
    pub left: usize,
    /// Index of the right child.
    pub right: usize,
    /// Where a missing (NaN) input goes.
    pub default_left: bool,
}

impl Split {
    /// The child on `side`.
    pub fn child(&self, side: Side) -> usize {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }
}

/// A leaf's contribution to the margins.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// Added to the tree's output group.
    Scalar(f64),
    /// One value per output group, added to each (multi-output trees).
    Vector(Vec<f64>),
    /// A linear model of the inputs, added to the tree's output group (LightGBM's
    /// `linear_tree`).
    Linear(LinearLeaf),
}

/// LightGBM's linear leaf: `constant + c0 * x[f0] + c1 * x[f1] + ...`, added in that order in
/// `f64`, or `fallback` when any of those inputs is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLeaf {
    /// The constant term.
    pub constant: f64,
    /// `(feature, coefficient)` pairs, in the order they are added.
    pub terms: Vec<(usize, f64)>,
    /// The value when an input of a term is NaN (the leaf's plain value).
    pub fallback: f64,
    /// Inputs with `|x| <= zero_band` count as exactly 0 (LightGBM drops them from the row).
    pub zero_band: f64,
}

/// A tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A test with two children.
    Split(Split),
    /// A terminal value.
    Leaf(Leaf),
}

/// One tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The nodes; children are indices into this list.
    pub nodes: Vec<Node>,
    /// The output group a scalar leaf adds to.
    pub group: usize,
    /// A factor applied to every leaf (dart's `weight_drop`): the margin gets `leaf * weight`,
    /// rounded once in the sum precision. Only trees whose leaves are all scalar may have
    /// one.
    pub weight: Option<f64>,
    /// How much training data reached each node (scikit-learn's `weighted_n_node_samples`,
    /// XGBoost's `sum_hessian`, LightGBM's `internal_count` / `leaf_count`), one per node,
    /// when the format records it. No prediction depends on it: layouts use it to place the
    /// child a row most likely takes next to its parent in memory.
    pub cover: Option<Vec<f64>>,
}

/// The transform from margins to predictions. Each is defined for the models whose sum
/// precision it names (see [`Transform::fits`]); the others work in any precision.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Predictions are the margins.
    Identity,
    /// XGBoost's `1 / (1 + exp(-m))`, per output, in `f32`.
    Sigmoid,
    /// XGBoost's softmax over the output groups (`f32`).
    Softmax,
    /// The index of the largest margin, as one output (`multi:softmax`).
    ArgMax,
    /// `exp(m)` per output in the model's precision (`expf` for `f32` models).
    Exp,
    /// `exp(m)` per output computed in `f64` and rounded to `f32` (XGBoost's survival:aft).
    ExpF64,
    /// 1 if the margin is positive, else 0 (`binary:hinge`, `f32`).
    Hinge,
    /// `1 / (1 + exp(-scale * m))` per output in `f64` (LightGBM's binary, multiclassova and
    /// cross_entropy; scikit-learn's `expit`).
    Logistic {
        /// LightGBM's `sigmoid:` factor; 1 for `expit`, 2 for sklearn's exponential loss.
        scale: f64,
    },
    /// LightGBM's softmax in `f64`, summing from left to right.
    SoftmaxF64,
    /// scikit-learn's softmax in `f64`, summing as numpy does (pairwise).
    SoftmaxPairwise,
    /// `sign(m) * m * m` in `f64` (LightGBM's `reg_sqrt`).
    SignedSquare,
    /// `log1p(exp(m))` in `f64` (LightGBM's cross_entropy_lambda).
    Log1pExp,
    /// `min(1e19, exp(m))` per output in `f64` with Java's `Math.exp` (H2O GBM's log link).
    JavaExpClamped,
    /// Class probabilities in `f64`, computed, corrected and selected as [`Probabilities`]
    /// says (H2O classifiers).
    Probabilities(Probabilities),
}

/// How a classifier's margins become the class probabilities it outputs: one probability per
/// class ([`ProbabilitiesFrom`]), optionally corrected, then all of them or only the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities {
    /// How the margins become one probability per class.
    pub from: ProbabilitiesFrom,
    /// Per-class factors for probabilities learnt on rebalanced classes (H2O's
    /// `balance_classes`): each probability is multiplied by its factor, then all are divided
    /// by their sum when it is positive. One factor per class.
    pub correction: Option<Vec<f64>>,
    /// Output only the last class's probability (binary models: the second class's).
    pub last_only: bool,
}

/// How margins become one probability per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbabilitiesFrom {
    /// One margin `f`, two classes: `[1 - p, p]` with `p = 1 / (1 + min(1e19, exp(-f)))` and
    /// Java's `Math.exp` (H2O GBM's bernoulli).
    JavaLogistic,
    /// One margin per class: softmax with Java's `Math.exp`, summed left to right (H2O's
    /// `GBM_rescale`).
    JavaSoftmax,
    /// One margin `p`, the first of two classes' probability (after averaging): `[p, 1 - p]`
    /// (H2O DRF's binomial).
    Complement,
    /// One margin per class, each divided by their sum when it is positive (H2O DRF's
    /// classifiers).
    Normalized,
}

impl ProbabilitiesFrom {
    /// Classes (probabilities) for a model with `groups` margins.
    pub fn classes(self, groups: usize) -> usize {
        match self {
            ProbabilitiesFrom::JavaLogistic | ProbabilitiesFrom::Complement => 2,
            ProbabilitiesFrom::JavaSoftmax | ProbabilitiesFrom::Normalized => groups,
        }
    }

    /// The margins it takes: `Some(1)` for one margin, `None` for one per class (at least 2).
    pub fn margins(self) -> Option<usize> {
        match self {
            ProbabilitiesFrom::JavaLogistic | ProbabilitiesFrom::Complement => Some(1),
            ProbabilitiesFrom::JavaSoftmax | ProbabilitiesFrom::Normalized => None,
        }
    }
}

impl Transform {
    /// A short lowercase name, for metadata.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Sigmoid => "sigmoid",
            Transform::Softmax => "softmax",
            Transform::ArgMax => "argmax",
            Transform::Exp => "exp",
            Transform::ExpF64 => "exp (f64)",
            Transform::Hinge => "hinge",
            Transform::Logistic { .. } => "logistic",
            Transform::SoftmaxF64 => "softmax (f64)",
            Transform::SoftmaxPairwise => "softmax (f64, pairwise sum)",
            Transform::SignedSquare => "signed square",
            Transform::Log1pExp => "log1p(exp)",
            Transform::JavaExpClamped => "min(1e19, exp) (java exp)",
            Transform::Probabilities(p) => match p.from {
                ProbabilitiesFrom::JavaLogistic => "logistic (java exp, 1e19 clamp)",
                ProbabilitiesFrom::JavaSoftmax => "softmax (java exp)",
                ProbabilitiesFrom::Complement => "1 - p",
                ProbabilitiesFrom::Normalized => "divided by their sum",
            },
        }
    }

    /// Whether the transform is defined for a model of this precision.
    pub fn fits(&self, precision: Precision) -> bool {
        match self {
            Transform::Identity | Transform::ArgMax | Transform::Exp => true,
            Transform::Sigmoid | Transform::Softmax | Transform::ExpF64 | Transform::Hinge => {
                !precision.f64_sum()
            }
            Transform::Logistic { .. }
            | Transform::SoftmaxF64
            | Transform::SoftmaxPairwise
            | Transform::SignedSquare
            | Transform::Log1pExp
            | Transform::JavaExpClamped
            | Transform::Probabilities(_) => precision.f64_sum(),
        }
    }

    /// Outputs per row for a model with `groups` margins.
    pub fn num_outputs(&self, groups: usize) -> usize {
        match self {
            Transform::ArgMax => 1,
            Transform::Probabilities(p) if p.last_only => 1,
            Transform::Probabilities(p) => p.from.classes(groups),
            _ => groups,
        }
    }
}

/// Where a forest came from, for generated headers and `inspect`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Origin {
    /// The file as given by the user.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// The format, e.g. `xgboost-json`.
    pub format: String,
}

/// A validated tree ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    /// Input features in model order.
    pub features: Vec<Feature>,
    /// Trees in the order the library adds them.
    pub trees: Vec<Tree>,
    /// The margin each output group starts from.
    pub base_margin: Vec<f64>,
    /// The transform from margins to predictions.
    pub transform: Transform,
    /// The training objective's name, e.g. `binary:logistic`.
    pub objective: String,
    /// The arithmetic precision.
    pub precision: Precision,
    /// Whether the model records feature names (else they are `f{index}`).
    pub has_feature_names: bool,
    /// Where it came from.
    pub origin: Origin,
    /// Predictions divide each margin by this count before the transform (LightGBM's
    /// `average_output`: the iterations; scikit-learn forests: the trees). Margins are the
    /// plain sums.
    pub average_over: Option<u32>,
}

/// A structural problem in a model, naming where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    /// A node refers to a child that does not exist.
    #[error(
        "tree {tree}, node {node}: child index {child} is out of range (the tree has {len} nodes)"
    )]
    ChildOutOfRange {
        /// The tree.
        tree: usize,
        /// The node.
        node: usize,
        /// The bad child index.
        child: usize,
        /// Nodes in the tree.
        len: usize,
    },
    /// A node is reached twice from the root: a cycle or a shared child.
    #[error("tree {tree}, node {node}: reached twice from the root (a cycle or a shared child)")]
    NotATree {
        /// The tree.
        tree: usize,
        /// The node reached twice.
        node: usize,
    },
    /// A node cannot be reached from the root.
    #[error("tree {tree}, node {node}: unreachable from the root")]
    Unreachable {
        /// The tree.
        tree: usize,
        /// The node.
        node: usize,
    },
    /// A split tests a feature the model does not have.
    #[error("tree {tree}, node {node}: feature index {feature} is out of range (the model has {num_features} features)")]
    FeatureOutOfRange {
        /// The tree.
        tree: usize,
        /// The node.
        node: usize,
        /// The bad feature index.
        feature: usize,
        /// Features in the model.
        num_features: usize,
    },
    /// Anything else, described in words.
    #[error("{0}")]
    Invalid(String),
}

impl Forest {
    /// Checks every rule of the IR (see the [module docs](self)); the first broken one is
    /// the error.
    pub fn validate(&self) -> Result<(), IrError> {
        check::forest(self)
    }

    /// The forest, after [`Forest::validate`].
    pub fn validated(self) -> Result<Forest, IrError> {
        self.validate()?;
        Ok(self)
    }

    /// Number of output groups (margins per row).
    pub fn num_groups(&self) -> usize {
        self.base_margin.len()
    }

    /// Number of predictions per row.
    pub fn num_outputs(&self) -> usize {
        self.transform.num_outputs(self.num_groups())
    }

    /// Number of input features.
    pub fn num_features(&self) -> usize {
        self.features.len()
    }

    /// Total number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// Depth of the deepest tree.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(Tree::depth).max().unwrap_or(0)
    }
}

impl Tree {
    /// A tree of `nodes` adding to output `group`, without a weight or cover.
    pub fn new(nodes: Vec<Node>, group: usize) -> Tree {
        Tree {
            nodes,
            group,
            weight: None,
            cover: None,
        }
    }

    /// This tree with `cover` as its cover when it fits (one finite, non-negative amount
    /// per node), else with none: a cover only orders nodes in memory, so a model whose
    /// recorded cover is off still loads and scores the same.
    pub fn with_cover(self, cover: Option<Vec<f64>>) -> Tree {
        let tree = Tree { cover, ..self };
        match check::tree_cover(0, &tree) {
            Ok(()) => tree,
            Err(_) => Tree {
                cover: None,
                ..tree
            },
        }
    }

    /// Whether node `b` has more cover than node `a` (two children of one split: a row more
    /// likely goes to `b`); `false` when the tree has no cover.
    pub fn likelier(&self, a: usize, b: usize) -> bool {
        self.cover
            .as_ref()
            .is_some_and(|c| c.get(b).copied().unwrap_or(0.0) > c.get(a).copied().unwrap_or(0.0))
    }

    /// Depth of the tree: the longest root-to-leaf path counted in edges.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((n, d)) = stack.pop() {
            max = max.max(d);
            if let Some(Node::Split(s)) = self.nodes.get(n) {
                stack.push((s.left, d + 1));
                stack.push((s.right, d + 1));
            }
        }
        max
    }
}

#[cfg(test)]
mod tests;
