//! Complete-tree tables: the branch-free layout generated models score with.
//!
//! Every tree is padded to a *complete* binary tree of its depth `d` and stored as a heap of
//! `2^d` slots: slot 1 is the root, the children of slot `i` are `2i` and `2i + 1`, slot 0 is
//! unused, and the `2^d` leaves follow in their own array. A split is one integer
//! comparison that picks the child with no branch:
//!
//! ```text
//! i = 2 * i + (keys[feature[i]] < threshold[i]) as usize
//! ```
//!
//! where `keys` are the row's values mapped to integers whose unsigned order is the float
//! order ([`key`](crate::float::KeyFloat::key)): NaN is below every threshold, so a missing
//! value always takes child `2i + 1`, and the generator puts each split's default side there;
//! `<`, `<=` and both default sides become this one comparison on `x` or `-x` (see
//! `timber_codegen::emit` for the rewriting). Leaves that sit above depth `d` are copied
//! into every slot of their padded subtree.
//!
//! The parts, one file each:
//!
//! - `blob`: the byte format a generated model embeds ([`encode`], [`Tables::new`], which
//!   checks what the kernels rely on);
//! - `batch`: adding trees to a batch's blocks ([`Tables::add_block`]): chunks of trees
//!   that fit the L2 cache, each walked over all the blocks in turn;
//! - `scalar`: the portable kernels, for one row ([`Tables::add_row`], 16 trees walked at
//!   once) and for blocks (16 rows at once);
//! - `simd`: the AVX-512 (16 rows per instruction) and AVX2 (8) block kernels, written once
//!   over the vector width.
//!
//! Keys ([`crate::float`]), blocks of rows ([`crate::batch`]) and kernel selection
//! ([`crate::kernel`]) are shared with the other layouts.
//!
//! Every kernel adds the trees to each row's margins in model order, in the model's
//! precision, so results are bit-identical to adding tree by tree.

mod batch;
mod blob;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod simd;

pub use crate::blob::Aligned;
pub use blob::{encode, TablesError, TreeTable, MAGIC, VERSION};

use crate::batch::BLOCK_ROWS;
use crate::float::{KeyFloat, SumFloat};
use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::ops::Range;

/// A precision tables can hold: `f32` or `f64`, for inputs and sums alike (the kernels
/// compare keys and add leaves of one float type).
pub trait TableFloat: KeyFloat + SumFloat {
    /// Adds trees to a batch's blocks with a SIMD kernel, when this precision has one and
    /// the CPU and the asked-for kernel allow it; `false` otherwise (the caller then runs
    /// the scalar kernel).
    #[doc(hidden)]
    fn simd_blocks(
        tables: &Tables<Self>,
        trees: &[TreeRef],
        block: &mut crate::batch::Block<'_, Self, Self>,
    ) -> bool;
}

impl TableFloat for f32 {
    #[inline]
    fn simd_blocks(
        tables: &Tables<f32>,
        trees: &[TreeRef],
        block: &mut crate::batch::Block<'_, f32, f32>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            simd::add_blocks(tables, trees, block)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (tables, trees, block);
            false
        }
    }
}

impl TableFloat for f64 {
    fn simd_blocks(
        _: &Tables<f64>,
        _: &[TreeRef],
        _: &mut crate::batch::Block<'_, f64, f64>,
    ) -> bool {
        // No SIMD kernel for 64-bit keys: the scalar one runs.
        false
    }
}

/// The deepest tree tables may hold (`2^16` slots).
pub const MAX_DEPTH: u32 = 16;

/// Where one tree's slots start, and its shape.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRef {
    offset: usize,
    depth: u32,
    group: usize,
}

/// Checked, ready-to-score tables (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Tables<F: TableFloat> {
    num_features: usize,
    num_groups: usize,
    trees: Vec<TreeRef>,
    features: Cow<'static, [u32]>,
    thresholds: Cow<'static, [F::Key]>,
    leaves: Cow<'static, [F]>,
}

impl<F: TableFloat> Tables<F> {
    crate::blob::shape_accessors!();

    /// The keys and the sums one block of rows takes in a block kernel's buffers, checked
    /// against `keys_len` and `acc_len` for `blocks` blocks: the kernels index them
    /// unchecked.
    ///
    /// # Panics
    ///
    /// When the buffers do not hold `blocks` blocks.
    #[inline(always)]
    fn block_strides(&self, keys_len: usize, acc_len: usize, blocks: usize) -> (usize, usize) {
        let (key_block, acc_block) = (
            2 * self.num_features * BLOCK_ROWS,
            self.num_groups * BLOCK_ROWS,
        );
        assert!(
            keys_len == blocks * key_block && acc_len == blocks * acc_block,
            "block buffer sizes"
        );
        (key_block, acc_block)
    }

    /// Adds trees `trees` (table indices, in order) to one row's `margins`; `keys` come from
    /// [`row_keys`](crate::float::row_keys). The walks of several trees are interleaved; the
    /// additions happen in tree order.
    ///
    /// # Panics
    ///
    /// When `keys` or `margins` has the wrong length or `trees` is out of range.
    #[inline]
    pub fn add_row(&self, trees: Range<usize>, keys: &[F::Key], margins: &mut [F]) {
        assert_eq!(keys.len(), 2 * self.num_features, "key buffer length");
        assert_eq!(margins.len(), self.num_groups, "margin buffer length");
        let trees = &self.trees[trees];
        scalar::add_row(self, trees, keys, margins);
    }
}

/// Table bytes per chunk of trees that a batch walks through all its blocks in turn.
const TREE_CHUNK_BYTES: usize = 256 * 1024;

/// `trees` cut into consecutive chunks of at most [`TREE_CHUNK_BYTES`] of tables (a bigger
/// tree alone).
fn tree_chunks(trees: &[TreeRef]) -> impl Iterator<Item = &[TreeRef]> {
    let mut rest = trees;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        for t in rest {
            let b = 12usize << t.depth;
            if n > 0 && bytes + b > TREE_CHUNK_BYTES {
                break;
            }
            bytes += b;
            n += 1;
        }
        let (chunk, later) = rest.split_at(n);
        rest = later;
        Some(chunk)
    })
}

/// A generated model's tables, checked on first use: `static TABLES: LazyTables<f32> =
/// LazyTables::new(&Aligned(*b"..."));` (see [`crate::lazy`]).
pub type LazyTables<F> = crate::lazy::Lazy<Tables<F>>;

crate::lazy::from_blob!(Tables<F> where [F: TableFloat] => TablesError, "tables");

#[cfg(all(test, feature = "std"))]
mod tests;
