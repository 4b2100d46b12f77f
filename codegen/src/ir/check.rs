//! The rules of the IR, one named check each (as `serde_derive`'s `internals/check.rs`):
//! [`forest`] runs them all and returns the first broken one, naming the tree and node.

use super::{
    Forest, IrError, Leaf, LinearLeaf, Node, Precision, Probabilities, Split, Test, Transform, Tree,
};
use timber_runtime::category::CATEGORY_LIMIT;

/// Checks every rule of the IR.
pub fn forest(f: &Forest) -> Result<(), IrError> {
    output_groups(f)?;
    transform(f)?;
    averaging(f)?;
    base_margins(f)?;
    let numbers = Numbers::of(f.precision);
    for (t, tree) in f.trees.iter().enumerate() {
        tree_group(t, tree, f.num_groups())?;
        tree_weight(t, tree, numbers)?;
        tree_cover(t, tree)?;
        structure(t, tree)?;
        for (n, node) in tree.nodes.iter().enumerate() {
            let at = At { tree: t, node: n };
            match node {
                Node::Split(s) => split(at, s, f.num_features(), numbers)?,
                Node::Leaf(l) => leaf(at, l, f, numbers)?,
            }
        }
    }
    Ok(())
}

/// A node, for messages.
#[derive(Clone, Copy)]
struct At {
    tree: usize,
    node: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tree {}, node {}", self.tree, self.node)
    }
}

fn invalid(message: String) -> IrError {
    IrError::Invalid(message)
}

/// Which values a model's precision can hold exactly.
#[derive(Clone, Copy)]
struct Numbers {
    /// Leaf values, margins and weights must be `f32` values.
    f32_sum: bool,
    /// Thresholds must be `f32` values.
    f32_input: bool,
}

impl Numbers {
    fn of(precision: Precision) -> Numbers {
        Numbers {
            f32_sum: !precision.f64_sum(),
            f32_input: !precision.f64_input(),
        }
    }

    /// A leaf value, margin, weight or coefficient: finite, and exact in the sum precision.
    fn value(self, v: f64, what: impl FnOnce() -> String) -> Result<(), IrError> {
        if !v.is_finite() {
            return Err(invalid(format!("{} is not a finite number ({v})", what())));
        }
        exact(v, self.f32_sum, what)
    }

    /// A threshold: any number but NaN (±infinity splits the missing values from every
    /// number), exact in the input precision.
    fn threshold(self, v: f64, what: impl FnOnce() -> String) -> Result<(), IrError> {
        if v.is_nan() {
            return Err(invalid(format!("{} is not a number (NaN)", what())));
        }
        exact(v, self.f32_input, what)
    }
}

fn exact(v: f64, f32_only: bool, what: impl FnOnce() -> String) -> Result<(), IrError> {
    if f32_only && f64::from(v as f32) != v {
        return Err(invalid(format!("{} ({v}) is not an f32 value", what())));
    }
    Ok(())
}

/// At least one output group.
fn output_groups(f: &Forest) -> Result<(), IrError> {
    if f.num_groups() == 0 {
        return Err(invalid("the model has no output group".into()));
    }
    Ok(())
}

/// The transform is defined for the model's precision and output groups.
fn transform(f: &Forest) -> Result<(), IrError> {
    let softmax = matches!(
        f.transform,
        Transform::Softmax | Transform::SoftmaxF64 | Transform::SoftmaxPairwise
    );
    if softmax && f.num_groups() < 2 {
        return Err(invalid("softmax needs at least two output groups".into()));
    }
    if !f.transform.fits(f.precision) {
        return Err(invalid(format!(
            "the {} transform is not defined for {} models",
            f.transform.name(),
            f.precision
        )));
    }
    if let Transform::Logistic { scale } = f.transform {
        if !scale.is_finite() {
            return Err(invalid(format!(
                "the logistic transform's scale is not a finite number ({scale})"
            )));
        }
    }
    if let Transform::Probabilities(p) = &f.transform {
        probabilities(p, f.num_groups())?;
    }
    Ok(())
}

/// Class probabilities come from the margins they take (one, or one per class and at least
/// two), have one finite correction factor per class, and only two classes output the last
/// alone.
fn probabilities(p: &Probabilities, groups: usize) -> Result<(), IrError> {
    let name = Transform::Probabilities(p.clone()).name();
    match p.from.margins() {
        Some(n) if n != groups => {
            return Err(invalid(format!(
                "the {name} transform takes {n} margin per row, but the model has {groups}"
            )))
        }
        None if groups < 2 => {
            return Err(invalid(format!(
                "the {name} transform needs at least two output groups"
            )))
        }
        _ => {}
    }
    let classes = p.from.classes(groups);
    if let Some(factors) = &p.correction {
        if factors.len() != classes {
            return Err(invalid(format!(
                "{} probability correction factors for {classes} classes",
                factors.len()
            )));
        }
        if let Some((c, v)) = factors.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(format!(
                "the probability correction factor of class {c} is not a finite number ({v})"
            )));
        }
    }
    if p.last_only && classes != 2 {
        return Err(invalid(format!(
            "only a two-class model can output its last probability alone ({classes} classes)"
        )));
    }
    Ok(())
}

/// Averaged predictions divide by a positive count.
fn averaging(f: &Forest) -> Result<(), IrError> {
    if f.average_over == Some(0) {
        return Err(invalid("predictions cannot average over zero trees".into()));
    }
    Ok(())
}

/// Base margins are values of the sum precision.
fn base_margins(f: &Forest) -> Result<(), IrError> {
    let numbers = Numbers::of(f.precision);
    for (g, &m) in f.base_margin.iter().enumerate() {
        numbers.value(m, || format!("base margin of output {g}"))?;
    }
    Ok(())
}

/// A tree adds to an existing output group.
fn tree_group(t: usize, tree: &Tree, groups: usize) -> Result<(), IrError> {
    if tree.group >= groups {
        return Err(invalid(format!(
            "tree {t}: output group {} is out of range (the model has {groups})",
            tree.group
        )));
    }
    Ok(())
}

/// A weight is a value of the sum precision, on a tree whose leaves are all scalar: the
/// interpreter and every layout multiply scalar leaves by it, and no format weights vector
/// or linear leaves, so allowing it there would leave its meaning to each layout.
fn tree_weight(t: usize, tree: &Tree, numbers: Numbers) -> Result<(), IrError> {
    let Some(w) = tree.weight else {
        return Ok(());
    };
    numbers.value(w, || format!("tree {t}: weight"))?;
    if let Some(n) = tree
        .nodes
        .iter()
        .position(|n| matches!(n, Node::Leaf(Leaf::Vector(_) | Leaf::Linear(_))))
    {
        return Err(invalid(format!(
            "tree {t}: a weight applies to scalar leaves only, but node {n} is a vector or \
             linear leaf"
        )));
    }
    Ok(())
}

/// A cover, when a tree has one, is one finite, non-negative amount per node (the rule
/// [`Tree::with_cover`] keeps a loaded cover by).
pub(super) fn tree_cover(t: usize, tree: &Tree) -> Result<(), IrError> {
    let Some(cover) = &tree.cover else {
        return Ok(());
    };
    if cover.len() != tree.nodes.len() {
        return Err(invalid(format!(
            "tree {t}: {} cover values for {} nodes",
            cover.len(),
            tree.nodes.len()
        )));
    }
    match cover.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        Some(n) => Err(invalid(format!(
            "tree {t}, node {n}: cover {} is not a finite, non-negative amount",
            cover[n]
        ))),
        None => Ok(()),
    }
}

/// The nodes form one tree rooted at node 0: children in range, every node reached exactly
/// once. Iterative, so a 10,000-level chain does not overflow the stack.
fn structure(t: usize, tree: &Tree) -> Result<(), IrError> {
    let len = tree.nodes.len();
    if len == 0 {
        return Err(invalid(format!("tree {t} has no nodes")));
    }
    let mut seen = vec![false; len];
    let mut stack = vec![0usize];
    seen[0] = true;
    while let Some(n) = stack.pop() {
        let Node::Split(s) = &tree.nodes[n] else {
            continue;
        };
        for child in [s.left, s.right] {
            if child >= len {
                return Err(IrError::ChildOutOfRange {
                    tree: t,
                    node: n,
                    child,
                    len,
                });
            }
            if seen[child] {
                return Err(IrError::NotATree {
                    tree: t,
                    node: child,
                });
            }
            seen[child] = true;
            stack.push(child);
        }
    }
    match seen.iter().position(|s| !s) {
        Some(node) => Err(IrError::Unreachable { tree: t, node }),
        None => Ok(()),
    }
}

/// A split tests an existing feature with a well-formed test.
fn split(at: At, s: &Split, num_features: usize, numbers: Numbers) -> Result<(), IrError> {
    feature_in_range(at, s.feature, num_features)?;
    match &s.test {
        Test::Numerical { threshold, .. } => {
            numbers.threshold(*threshold, || format!("{at}: threshold"))
        }
        Test::ZeroAsMissing {
            threshold,
            zero_band,
        } => {
            numbers.threshold(*threshold, || format!("{at}: threshold"))?;
            numbers.threshold(*zero_band, || format!("{at}: zero band"))
        }
        Test::Capped { threshold, cap, .. } => {
            numbers.threshold(*threshold, || format!("{at}: threshold"))?;
            numbers.threshold(*cap, || format!("{at}: cap"))
        }
        Test::Categorical { categories, .. } => category_set(at, categories),
    }
}

fn feature_in_range(at: At, feature: usize, num_features: usize) -> Result<(), IrError> {
    if feature >= num_features {
        return Err(IrError::FeatureOutOfRange {
            tree: at.tree,
            node: at.node,
            feature,
            num_features,
        });
    }
    Ok(())
}

/// Category sets are sorted, unique, and codes below 2^24 (what `f32` inputs hold exactly).
fn category_set(at: At, categories: &[u32]) -> Result<(), IrError> {
    if categories.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(format!(
            "{at}: category set is not sorted and unique"
        )));
    }
    if let Some(c) = categories.iter().find(|&&c| f64::from(c) >= CATEGORY_LIMIT) {
        return Err(invalid(format!(
            "{at}: category {c} is out of range (codes are below 2^24)"
        )));
    }
    Ok(())
}

/// Leaf values are values of the sum precision; a vector leaf has one per group; linear
/// leaves belong to `f64` models and read existing features.
fn leaf(at: At, l: &Leaf, f: &Forest, numbers: Numbers) -> Result<(), IrError> {
    match l {
        Leaf::Scalar(v) => numbers.value(*v, || format!("{at}: leaf value")),
        Leaf::Vector(vs) => {
            let groups = f.num_groups();
            if vs.len() != groups {
                return Err(invalid(format!(
                    "{at}: leaf has {} values but the model has {groups} outputs",
                    vs.len()
                )));
            }
            vs.iter()
                .try_for_each(|v| numbers.value(*v, || format!("{at}: leaf value")))
        }
        Leaf::Linear(leaf) => linear_leaf(at, leaf, f, numbers),
    }
}

fn linear_leaf(at: At, leaf: &LinearLeaf, f: &Forest, numbers: Numbers) -> Result<(), IrError> {
    if f.precision != Precision::F64 {
        return Err(invalid(format!("{at}: linear leaves need an f64 model")));
    }
    numbers.value(leaf.constant, || format!("{at}: leaf constant"))?;
    numbers.value(leaf.fallback, || format!("{at}: leaf value"))?;
    numbers.value(leaf.zero_band, || format!("{at}: zero band"))?;
    for &(feature, coefficient) in &leaf.terms {
        feature_in_range(at, feature, f.num_features())?;
        numbers.value(coefficient, || format!("{at}: leaf coefficient"))?;
    }
    Ok(())
}
