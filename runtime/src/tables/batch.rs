//! Adding table trees to a batch's blocks: the SIMD kernel where there is one, else the
//! scalar one; trees in chunks whose tables fit the L2 cache, each chunk walked through
//! every block of the batch before the next.

use super::{scalar, TableFloat, Tables};
use crate::batch::Block;
use core::ops::Range;

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
