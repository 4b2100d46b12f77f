//! The complete-tree table layout (see `timber_runtime::tables`): each tree padded to a
//! complete tree of its depth, every split rewritten as `key(v) < key(t')` where a true
//! comparison — and a missing value — takes child `2i + 1`.
//!
//! The rewriting, with `v` the input `x` or its negation `-x` (stored as feature `nf + f`)
//! and `next_up` the next float towards +infinity (exact: no float lies in between):
//!
//! | test, missing goes | child `2i + 1` | `v` | `t'` |
//! |---|---|---|---|
//! | `x < t`, left  | left  | `x`  | `t` |
//! | `x < t`, right | right (`x >= t` ⇔ `-x <= -t` ⇔ `-x < next_up(-t)`) | `-x` | `next_up(-t)` |
//! | `x <= t`, left | left (`x <= t` ⇔ `x < next_up(t)`) | `x` | `next_up(t)` |
//! | `x <= t`, right | right (`x > t` ⇔ `-x < -t`) | `-x` | `-t` |
//!
//! Keys make NaN the smallest value, so a missing input always takes child `2i + 1`: its
//! default side. Trees with categorical splits or vector leaves, and trees too deep or too
//! sparse to pad, are left to the nested `if`/`else` layout.

use crate::ir::{Comparison, Leaf, Node, Precision, Test, Tree};
use timber_runtime::tables::{TableFloat, TreeTable};

/// Trees up to this depth are always padded.
pub const DENSE_DEPTH: u32 = 8;

/// Deeper trees (up to this depth) are padded only when at least 1/16 of the slots are real
/// nodes; beyond it, trees stay nested.
pub const MAX_TABLE_DEPTH: u32 = 12;

/// Whether the table layout can hold `tree`.
pub fn eligible(tree: &Tree) -> bool {
    let plain = tree.nodes.iter().all(|n| match n {
        Node::Split(s) => matches!(s.test, Test::Numerical { .. }),
        Node::Leaf(l) => matches!(l, Leaf::Scalar(_)),
    });
    if !plain {
        return false;
    }
    let depth = tree.depth();
    if depth <= DENSE_DEPTH as usize {
        return true;
    }
    depth <= MAX_TABLE_DEPTH as usize && (1usize << (depth + 1)) <= 16 * tree.nodes.len()
}

/// A float type the emitter builds tables in, with the IR's `f64` values narrowed exactly.
pub(crate) trait EmitFloat: TableFloat {
    /// The IR value in this precision (exact: the IR holds only representable values).
    fn from_ir(v: f64) -> Self;
    /// The next value towards +infinity (`-0` and `+0` both step to the smallest positive).
    fn next_up(self) -> Self;
    /// `self * w`, rounded once, as the nested code computes a weighted leaf.
    fn times(self, w: Self) -> Self;
}

impl EmitFloat for f32 {
    fn from_ir(v: f64) -> f32 {
        v as f32
    }
    fn next_up(self) -> f32 {
        if self.is_nan() || self == f32::INFINITY {
            self
        } else if self == 0.0 {
            f32::from_bits(1)
        } else if self > 0.0 {
            f32::from_bits(self.to_bits() + 1)
        } else {
            f32::from_bits(self.to_bits() - 1)
        }
    }
    fn times(self, w: f32) -> f32 {
        self * w
    }
}

impl EmitFloat for f64 {
    fn from_ir(v: f64) -> f64 {
        v
    }
    fn next_up(self) -> f64 {
        if self.is_nan() || self == f64::INFINITY {
            self
        } else if self == 0.0 {
            f64::from_bits(1)
        } else if self > 0.0 {
            f64::from_bits(self.to_bits() + 1)
        } else {
            f64::from_bits(self.to_bits() - 1)
        }
    }
    fn times(self, w: f64) -> f64 {
        self * w
    }
}

/// The padded table of an [`eligible`] tree.
pub(crate) fn tree_table<F: EmitFloat>(tree: &Tree, nf: usize) -> TreeTable<F> {
    let depth = tree.depth() as u32;
    let slots = 1usize << depth;
    let mut table = TreeTable {
        depth,
        group: tree.group as u32,
        features: vec![0u32; slots],
        thresholds: vec![F::Key::default(); slots],
        leaves: vec![F::default(); slots],
    };
    let weight = tree.weight.map(F::from_ir);
    // (IR node, heap slot, level); iterative so no recursion depth is at stake.
    let mut stack = vec![(0usize, 1usize, 0u32)];
    while let Some((n, slot, level)) = stack.pop() {
        match &tree.nodes[n] {
            Node::Leaf(Leaf::Scalar(v)) => {
                let v = F::from_ir(*v);
                let v = weight.map_or(v, |w| v.times(w));
                // Every leaf slot under `slot`; the padding above them keeps the zero key
                // as threshold (never greater than a key), so rows always go to `2i`.
                let span = 1usize << (depth - level);
                let first = slot * span - slots;
                table.leaves[first..first + span].fill(v);
            }
            Node::Split(s) => {
                let Test::Numerical {
                    threshold,
                    comparison,
                } = &s.test
                else {
                    unreachable!("eligible() admits numerical splits only");
                };
                let t = F::from_ir(*threshold);
                let (negate, t, default_child, other_child) = match (comparison, s.default_left) {
                    (Comparison::Less, true) => (false, t, s.left, s.right),
                    (Comparison::Less, false) => (true, (-t).next_up(), s.right, s.left),
                    (Comparison::LessOrEqual, true) => (false, t.next_up(), s.left, s.right),
                    (Comparison::LessOrEqual, false) => (true, -t, s.right, s.left),
                };
                table.features[slot] = (s.feature + if negate { nf } else { 0 }) as u32;
                table.thresholds[slot] = t.key();
                stack.push((other_child, 2 * slot, level + 1));
                stack.push((default_child, 2 * slot + 1, level + 1));
            }
            Node::Leaf(Leaf::Vector(_)) => unreachable!("eligible() admits scalar leaves only"),
        }
    }
    table
}

/// The blob for the table trees `trees` (IR indices, in model order).
pub(crate) fn blob(
    precision: Precision,
    trees: &[&Tree],
    num_features: usize,
    num_groups: usize,
) -> Vec<u8> {
    fn build<F: EmitFloat>(trees: &[&Tree], nf: usize, ng: usize) -> Vec<u8> {
        let tables: Vec<TreeTable<F>> = trees.iter().map(|t| tree_table::<F>(t, nf)).collect();
        timber_runtime::tables::encode(nf, ng, &tables)
    }
    match precision {
        Precision::F32 => build::<f32>(trees, num_features, num_groups),
        Precision::F64 => build::<f64>(trees, num_features, num_groups),
    }
}
