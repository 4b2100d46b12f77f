//! QuickScorer bit vectors: the layout for trees of at most 64 leaves whose splits are all
//! key comparisons (LightGBM's `num_leaves` trees, XGBoost's `lossguide` ones), scored
//! feature by feature instead of tree by tree, with no walk at all.
//!
//! Leaves are numbered left to right with each split's `a` side first. A split that a row
//! does not satisfy (its key is at or above the threshold: the row goes to `b`) rules out
//! every leaf under `a`: its *mask* has those bits cleared. A row's exit leaf in a tree is
//! the lowest bit left after ANDing the masks of all the tree's splits the row fails
//! (Lucchese et al., "QuickScorer", SIGIR 2015). The splits of a chunk of trees are sorted by
//! threshold per key feature, so for a row the failed splits of a feature are a prefix of
//! its list: the kernels stop at the first threshold above the row's key (or above every
//! key of a block of rows). The cost is the number of failed splits, not the trees' depth,
//! which is what makes deep, unbalanced trees cheap; a missing value (key 0) fails no split
//! and so takes every split's `a` side, where the generator put the default.
//!
//! Once a chunk's masks are applied, each tree's leaf value is added to each row's margins
//! in model order, in the model's precision: the same sums as adding tree by tree.
//!
//! Kernels: [`Quick::add_row`] (one row) and [`Quick::add_block`] (a batch's blocks, all 64
//! rows of a block per split). With AVX-512, `add_block` goes tree by tree instead: the 64
//! rows' bit vectors of one tree stay in eight registers while each of its splits is one
//! masked compare of 8 rows' keys against the threshold and a masked AND, then the leaves
//! are read; without it, the sorted per-feature lists above are walked. The blob format and
//! its checks are in `blob`.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod blob;
mod kernel;

pub use blob::{encode, QuickError, QuickTree, Split};

use crate::batch::BLOCK_ROWS;
use crate::float::{KeyFloat, SumFloat};
use alloc::borrow::Cow;
use alloc::vec::Vec;

/// The most leaves a tree of this layout may have (one bit each in a `u64`).
pub const MAX_LEAVES: usize = 64;

/// Trees whose masks are applied together (their bit vectors for a block of rows stay in
/// the L1 cache: 64 rows × 8 bytes × 32 trees = 16 KiB).
pub const CHUNK_TREES: usize = 32;

/// One tree: where its leaf values are and which group they add to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRef {
    group: u32,
    /// Its first leaf value in `values`.
    values: u32,
    /// Its leaves, as the initial bit vector (the low `leaves` bits set).
    init: u64,
}

/// A chunk of trees whose masks are applied together.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    first: u32,
    trees: u32,
}

/// Checked, ready-to-score bit-vector trees (see the [module docs](self)): inputs of type
/// `I`, sums of type `O`.
#[derive(Debug, Clone)]
pub struct Quick<I: KeyFloat, O: SumFloat> {
    num_features: usize,
    num_groups: usize,
    trees: Vec<TreeRef>,
    chunks: Vec<ChunkRef>,
    /// Chunk `c` of at most [`CHUNK_TREES`] trees has its splits on key feature `f` (of
    /// `2 * num_features`) at `offsets[c * 2nf + f] .. offsets[c * 2nf + f + 1]`, sorted by
    /// threshold.
    offsets: Vec<u32>,
    thresholds: Cow<'static, [I::Key]>,
    masks: Cow<'static, [u64]>,
    /// The split's tree, within its chunk.
    split_trees: Cow<'static, [u32]>,
    values: Cow<'static, [O]>,
    /// The same splits tree by tree, for the block kernel: tree `t`'s are
    /// `by_tree[tree_splits[t] .. tree_splits[t + 1]]`.
    tree_splits: Vec<u32>,
    by_tree: Vec<TreeSplit<I::Key>>,
}

/// A split as the block kernel reads it, tree by tree.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TreeSplit<K> {
    /// The key feature's first key in a block of keys (`feature * BLOCK_ROWS`).
    keys: u32,
    threshold: K,
    mask: u64,
}

impl<I: KeyFloat, O: SumFloat> Quick<I, O> {
    crate::blob::shape_accessors!();

    /// Fills `tree_splits` and `by_tree` from the chunks' splits.
    fn index_by_tree(mut self) -> Self {
        let nt = self.trees.len();
        let mut starts = alloc::vec![0u32; nt + 1];
        let mut at = Vec::with_capacity(self.split_trees.len());
        for (c, chunk) in self.chunks.iter().enumerate() {
            for f in 0..2 * self.num_features {
                for e in self.splits(c, f) {
                    let t = chunk.first as usize + self.split_trees[e] as usize;
                    starts[t + 1] += 1;
                    at.push((t, f, e));
                }
            }
        }
        for t in 0..nt {
            starts[t + 1] += starts[t];
        }
        let mut next: Vec<u32> = starts[..nt].to_vec();
        let mut by_tree = alloc::vec![
            TreeSplit {
                keys: 0,
                threshold: I::Key::default(),
                mask: 0,
            };
            at.len()
        ];
        for (t, f, e) in at {
            by_tree[next[t] as usize] = TreeSplit {
                keys: (f * BLOCK_ROWS) as u32,
                threshold: self.thresholds[e],
                mask: self.masks[e],
            };
            next[t] += 1;
        }
        self.tree_splits = starts;
        self.by_tree = by_tree;
        self
    }

    /// The splits of chunk `c` on key feature `f`.
    #[inline(always)]
    fn splits(&self, c: usize, f: usize) -> core::ops::Range<usize> {
        let at = c * 2 * self.num_features + f;
        self.offsets[at] as usize..self.offsets[at + 1] as usize
    }
}

/// A generated model's bit-vector trees, checked on first use: `static QUICK:
/// LazyQuick<f64, f64> = LazyQuick::new(BLOB);` (see [`crate::lazy`]).
pub type LazyQuick<I, O> = crate::lazy::Lazy<Quick<I, O>>;

crate::lazy::from_blob!(Quick<I, O> where [I: KeyFloat, O: SumFloat] => QuickError, "bit-vector trees");

#[cfg(all(test, feature = "std"))]
mod tests;
