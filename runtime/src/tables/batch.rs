//! Adding table trees to a batch's blocks: the SIMD kernel where there is one, else the
//! scalar one; trees in chunks whose tables fit the L2 cache, each chunk walked through
//! every block of the batch before the next.

use super::{scalar, TableFloat, Tables, TreeRef};
use crate::batch::Block;
use core::ops::Range;

/// Table bytes per chunk of trees that a batch walks through all its blocks in turn.
const TREE_CHUNK_BYTES: usize = 256 * 1024;

impl<F: TableFloat> Tables<F> {
    /// Adds the table trees `trees` (in order) to every row of `block`.
    ///
    /// # Panics
    ///
    /// When `trees` is out of range or the block is of another model (its feature or group
    /// count differs).
    #[inline]
    pub fn add_block(&self, block: &mut Block<'_, F, F>, trees: Range<usize>) {
        assert!(
            block.num_features() == self.num_features && block.num_groups() == self.num_groups,
            "a block of another model"
        );
        let trees = &self.trees[trees];
        if !F::simd_blocks(self, trees, block) {
            scalar::add_block(self, trees, block);
        }
    }
}

/// `trees` cut into consecutive chunks of at most [`TREE_CHUNK_BYTES`] of tables (a bigger
/// tree alone).
pub(super) fn tree_chunks(trees: &[TreeRef]) -> impl Iterator<Item = &[TreeRef]> {
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
