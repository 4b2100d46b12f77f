//! Node arrays: the layout for any tree — any depth and shape, every split and leaf the IR
//! has — as data a generated model embeds, walked by the kernels here.
//!
//! Each split is a record `{feature, a, b, threshold}`: a row goes to child `a` when its key
//! of `feature` is below `threshold` and to `b` otherwise, so `<` and `<=` splits with
//! either default side are one integer comparison (keys and the negated-feature trick as
//! for the tables, see [`crate::float`]; the generator puts each split's default side on
//! the side a NaN key takes). A child is a node index, or a leaf (`LEAF` bit set, the
//! leaf's index below it). Splits the keys cannot express — categorical ones (a bitset of
//! category codes) and LightGBM's zero-as-missing ones — are *special*: their record's
//! feature has the `SPECIAL` bit set and names the raw input, and its threshold indexes a
//! [`Special`] that the kernels evaluate on the row's value.
//!
//! Leaves are scalar (one value added to the tree's output group, any weight already
//! applied), vectors (one value per group: scikit-learn's class fractions) or linear
//! (LightGBM's `linear_tree`), per tree.
//!
//! Kernels, each adding the trees to each row's margins in model order, in the model's sum
//! precision, so results are bit-identical to adding tree by tree:
//!
//! - [`Nodes::add_row`]: one row, [`LANES`] trees walked at once (a lane taking the next
//!   tree of a window of 64 when its walk ends), their leaves then added in model order;
//! - [`Nodes::add_block`]: a batch's blocks of rows, tree after tree, [`LANES`] rows walked
//!   at once, a lane taking the next row of the superblock soon after its walk ends (walks
//!   of different lengths waste few steps).
//!
//! The blob format and its checks are in `blob`.

mod blob;
mod walk;

pub use blob::{encode, Child, LeafKind, Leaves, LinearSpec, NodeSpec, NodeTree, NodesError, Test};
pub use walk::LANES;

use crate::float::{KeyFloat, SumFloat};
use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::ops::Range;

/// A child that is a leaf: the low bits are the leaf's index.
pub const LEAF: u32 = 1 << 31;

/// A split whose test is a [`Special`]: the low bits of its feature are the raw input.
pub const SPECIAL: u32 = 1 << 31;

/// One split: the row goes to `a` when `keys[feature] < threshold`, else to `b` (or, for a
/// special split, as its [`Special`] says).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRec<K> {
    /// The key index (`< 2 * num_features`), or `SPECIAL | raw feature`.
    pub feature: u32,
    /// The child taken when the test holds.
    pub a: u32,
    /// The other child.
    pub b: u32,
    /// The threshold key, or the special's index.
    pub threshold: K,
}

/// How a special split decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpecialKind {
    /// Membership of the value's category code (XGBoost's rule: negative values are no
    /// category) in a bitset: members go to `a` when `set_left`, else to `b`.
    Category,
    /// As `Category`, with LightGBM's code (truncated toward zero first).
    CategoryTruncated,
    /// LightGBM's zero-as-missing split: `|x| <= band` (and NaN) take the default side,
    /// other values go to `a` when `x <= threshold`.
    ZeroBand,
    /// H2O's numerical split on a level code: NaN and values `>= band` (the cap: codes past
    /// the domain) take the default side, other values go to `a` when `x < threshold`
    /// (`x <= threshold` with `or_equal`).
    Capped,
}

/// A special split's data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Special {
    /// How it decides.
    pub kind: SpecialKind,
    /// Whether a missing value goes to `a` (else `b`).
    pub default_a: bool,
    /// Category splits: whether members go to `a` (else `b`).
    pub set_a: bool,
    /// Category splits: the bitset's first `u32` word in the bitset array.
    pub bits_offset: u32,
    /// Category splits: its words (codes `0..32 * words`).
    pub bits_words: u32,
    /// Zero-band and capped splits: the threshold.
    pub threshold: f64,
    /// Zero-band splits: the half-width of the band around zero; capped splits: the cap.
    pub band: f64,
    /// Capped splits: the test is `x <= threshold` (else `x < threshold`).
    pub or_equal: bool,
}

/// A linear leaf: `constant + c0 * x[f0] + ...` in `f64`, or `fallback` when an input of a
/// term is NaN; inputs with `|x| <= zero_band` count as 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearRec {
    /// The constant term.
    pub constant: f64,
    /// The value when an input is missing.
    pub fallback: f64,
    /// Inputs this close to zero count as exactly zero.
    pub zero_band: f64,
    /// The first term in the term array.
    pub terms_offset: u32,
    /// The number of terms.
    pub terms_len: u32,
}

/// One term of a linear leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// The raw input feature.
    pub feature: u32,
    /// Its coefficient.
    pub coefficient: f64,
}

/// Where one tree is and what its leaves are.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRef {
    root: u32,
    group: u32,
    leaves: LeafKind,
    /// Whether it has special splits (else the kernels skip the check).
    special: bool,
    /// The node records it uses lie in `nodes[span.0..span.1]` (empty for a one-leaf tree),
    /// which the batch walk of the tree before it prefetches.
    span: (u32, u32),
}

/// Checked, ready-to-score node arrays (see the [module docs](self)): inputs of type `I`,
/// sums of type `O`.
#[derive(Debug, Clone)]
pub struct Nodes<I: KeyFloat, O: SumFloat> {
    num_features: usize,
    num_groups: usize,
    trees: Vec<TreeRef>,
    nodes: Cow<'static, [NodeRec<I::Key>]>,
    values: Cow<'static, [O]>,
    specials: Vec<Special>,
    bits: Vec<u32>,
    linear: Vec<LinearRec>,
    terms: Vec<Term>,
}

impl<I: KeyFloat, O: SumFloat> Nodes<I, O> {
    crate::blob::shape_accessors!();

    /// Adds trees `trees` (in order) to one row's `margins`; `keys` come from
    /// [`row_keys`](crate::float::row_keys) of `row`.
    ///
    /// # Panics
    ///
    /// When `row`, `keys` or `margins` has the wrong length or `trees` is out of range.
    #[inline]
    pub fn add_row(&self, trees: Range<usize>, row: &[I], keys: &[I::Key], margins: &mut [O]) {
        assert_eq!(row.len(), self.num_features, "row length");
        assert_eq!(keys.len(), 2 * self.num_features, "key buffer length");
        assert_eq!(margins.len(), self.num_groups, "margin buffer length");
        for window in self.trees[trees].chunks(walk::TREE_WINDOW) {
            let mut leaves = [0u32; walk::TREE_WINDOW];
            let leaves = &mut leaves[..window.len()];
            walk::walk_trees(self, window, row, keys, leaves);
            for (tree, &leaf) in window.iter().zip(leaves.iter()) {
                self.add_leaf(*tree, leaf, row, margins, 0, 1);
            }
        }
    }

    /// Adds leaf `leaf` of `tree` to the margins of one row: group `g`'s margin is
    /// `margins[at + g * stride]`.
    #[inline(always)]
    fn add_leaf(
        &self,
        tree: TreeRef,
        leaf: u32,
        row: &[I],
        margins: &mut [O],
        at: usize,
        stride: usize,
    ) {
        let leaf = leaf as usize;
        match tree.leaves {
            LeafKind::Scalar => margins[at + tree.group as usize * stride] += self.values[leaf],
            LeafKind::Vector => {
                let values = &self.values[leaf..leaf + self.num_groups];
                for (g, &v) in values.iter().enumerate() {
                    margins[at + g * stride] += v;
                }
            }
            LeafKind::Linear => {
                let v = O::from_f64(self.linear_value(leaf, row));
                margins[at + tree.group as usize * stride] += v;
            }
        }
    }

    /// A linear leaf's value for a row, as LightGBM computes it.
    fn linear_value(&self, leaf: usize, row: &[I]) -> f64 {
        let l = &self.linear[leaf];
        let terms = &self.terms[l.terms_offset as usize..(l.terms_offset + l.terms_len) as usize];
        let mut out = l.constant;
        for t in terms {
            let x = row[t.feature as usize].to_f64();
            if x.is_nan() {
                return l.fallback;
            }
            out += t.coefficient * crate::linear::term_input(x, l.zero_band);
        }
        out
    }
}

/// A generated model's node arrays, checked on first use: `static NODES: LazyNodes<f32, f64>
/// = LazyNodes::new(BLOB);` (see [`crate::lazy`]).
pub type LazyNodes<I, O> = crate::lazy::Lazy<Nodes<I, O>>;

crate::lazy::from_blob!(Nodes<I, O> where [I: KeyFloat, O: SumFloat] => NodesError, "node arrays");

#[cfg(all(test, feature = "std"))]
mod tests;
