//! The QuickScorer kernels: one row ([`Quick::add_row`]) and a batch's blocks
//! ([`Quick::add_block`]).
//!
//! The block kernel applies each split to all 64 rows of a block at once: a compare of the
//! rows' keys with the threshold and a masked AND into the rows' bit vectors of the split's
//! tree, a loop the compiler turns into SIMD code. It is written once, generic and
//! `#[inline(always)]`, and compiled three times: inside `#[target_feature]` wrappers for
//! AVX-512 and AVX2, chosen at run time like the other layouts' kernels, and for the
//! baseline CPU.

use super::{ChunkRef, Quick, CHUNK_TREES};
use crate::batch::{Block, BLOCK_ROWS};
use crate::float::{KeyFloat, SumFloat};
use crate::kernel;
#[cfg(target_arch = "x86_64")]
use crate::kernel::Simd;
use core::ops::Range;

impl<I: KeyFloat, O: SumFloat> Quick<I, O> {
    /// Adds trees `trees` (in order) to one row's `margins`; `keys` come from
    /// [`row_keys`](crate::float::row_keys).
    ///
    /// # Panics
    ///
    /// When `keys` or `margins` has the wrong length, or `trees` is not a run the blob was
    /// encoded with (out of range, or cutting a chunk).
    pub fn add_row(&self, trees: Range<usize>, keys: &[I::Key], margins: &mut [O]) {
        assert_eq!(keys.len(), 2 * self.num_features, "key buffer length");
        assert_eq!(margins.len(), self.num_groups, "margin buffer length");
        for (c, chunk) in self.chunks_of(trees) {
            let mut v = [0u64; CHUNK_TREES];
            let first = chunk.first as usize;
            let trees = &self.trees[first..first + chunk.trees as usize];
            for (v, t) in v.iter_mut().zip(trees) {
                *v = t.init;
            }
            for (f, &k) in keys.iter().enumerate() {
                for e in self.splits(c, f) {
                    // SAFETY: `splits` are within the split arrays, and every split's tree
                    // is below its chunk's size (both checked by `Quick::new`).
                    unsafe {
                        if *self.thresholds.get_unchecked(e) > k {
                            break;
                        }
                        let t = *self.split_trees.get_unchecked(e) as usize;
                        *v.get_unchecked_mut(t) &= *self.masks.get_unchecked(e);
                    }
                }
            }
            for (v, t) in v.iter().zip(trees) {
                margins[t.group as usize] += self.leaf_value(t, *v);
            }
        }
    }

    /// The value of the leaf a bit vector `v` of tree `t` leaves: its lowest set bit. (The
    /// tree's last leaf bit is set too, so even a corrupt vector names a leaf of the tree.)
    #[inline(always)]
    pub(super) fn leaf_value(&self, t: &super::TreeRef, v: u64) -> O {
        let last = t.init ^ (t.init >> 1);
        let leaf = ((v & t.init) | last).trailing_zeros();
        // SAFETY: `leaf` is below the tree's leaf count, whose values `Quick::new` checked
        // lie inside `values`.
        unsafe { *self.values.get_unchecked(t.values as usize + leaf as usize) }
    }

    /// The chunks making up `trees`, with their indices.
    fn chunks_of(&self, trees: Range<usize>) -> impl Iterator<Item = (usize, ChunkRef)> + '_ {
        let first = self
            .chunks
            .partition_point(|c| (c.first as usize) < trees.start);
        let last = self
            .chunks
            .partition_point(|c| (c.first as usize) < trees.end);
        assert!(
            trees.start <= trees.end
                && trees.end <= self.trees.len()
                && self
                    .chunks
                    .get(first)
                    .is_none_or(|c| c.first as usize == trees.start)
                && (last == 0
                    || (self.chunks[last - 1].first + self.chunks[last - 1].trees) as usize
                        == trees.end
                    || trees.is_empty()),
            "trees {trees:?} are not a run of the bit-vector blob"
        );
        (first..last).map(|c| (c, self.chunks[c]))
    }

    /// Adds the trees `trees` (in order) to every row of `block`.
    ///
    /// # Panics
    ///
    /// When `trees` is not a run the blob was encoded with, or the block is of another
    /// model (its feature or group count differs).
    pub fn add_block(&self, block: &mut Block<'_, I, O>, trees: Range<usize>) {
        assert!(
            block.num_features() == self.num_features && block.num_groups() == self.num_groups,
            "a block of another model"
        );
        let simd = kernel::simd(block.kernel());
        #[cfg(target_arch = "x86_64")]
        if simd == Some(Simd::Avx512) {
            let _ = self.chunks_of(trees.clone());
            // SAFETY: `simd` found AVX-512F on this CPU; `self` passed `Quick::new` and the
            // block is of this model (asserted above).
            unsafe { super::avx512::add_trees(self, block, trees) };
            return;
        }
        for (c, chunk) in self.chunks_of(trees) {
            match simd {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `simd` found AVX2 on this CPU.
                Some(Simd::Avx2) => unsafe { self.chunk_avx2(block, c, chunk) },
                _ => self.chunk(block, c, chunk),
            }
        }
    }

    /// [`Quick::chunk`] compiled for AVX2.
    ///
    /// # Safety
    ///
    /// The CPU supports AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn chunk_avx2(&self, block: &mut Block<'_, I, O>, c: usize, chunk: ChunkRef) {
        self.chunk(block, c, chunk);
    }

    /// Adds chunk `c` to every row of `block`: each block's bit vectors start with every
    /// leaf, each failed split clears the leaves it rules out, then each tree's leaf is
    /// added to each row, tree by tree.
    #[inline(always)]
    fn chunk(&self, block: &mut Block<'_, I, O>, c: usize, chunk: ChunkRef) {
        let (nf, ng, len) = (self.num_features, self.num_groups, block.len());
        let key_block = 2 * nf * BLOCK_ROWS;
        let first = chunk.first as usize;
        let trees = &self.trees[first..first + chunk.trees as usize];
        let (keys, acc) = block.keys_and_acc();
        let mut v = [[0u64; BLOCK_ROWS]; CHUNK_TREES];
        for b in 0..len.div_ceil(BLOCK_ROWS) {
            let n = (len - b * BLOCK_ROWS).min(BLOCK_ROWS);
            for (v, t) in v.iter_mut().zip(trees) {
                *v = [t.init; BLOCK_ROWS];
            }
            for f in 0..2 * nf {
                let at = b * key_block + f * BLOCK_ROWS;
                let k: &[I::Key; BLOCK_ROWS] = keys[at..at + BLOCK_ROWS]
                    .try_into()
                    .expect("a block's keys of one feature");
                // Rows past `n` hold NaN's key 0, below every threshold: they fail nothing.
                let top = k.iter().copied().max().unwrap_or_default();
                for e in self.splits(c, f) {
                    // SAFETY: `splits` are within the split arrays, and every split's tree
                    // is below its chunk's size (both checked by `Quick::new`).
                    let (t, mask, tree) = unsafe {
                        (
                            *self.thresholds.get_unchecked(e),
                            *self.masks.get_unchecked(e),
                            *self.split_trees.get_unchecked(e) as usize,
                        )
                    };
                    if t > top {
                        break;
                    }
                    // SAFETY: as above.
                    let v = unsafe { v.get_unchecked_mut(tree) };
                    for (v, &k) in v.iter_mut().zip(k) {
                        *v &= if k >= t { mask } else { u64::MAX };
                    }
                }
            }
            let acc_at = b * ng * BLOCK_ROWS;
            for (v, t) in v.iter().zip(trees) {
                let at = acc_at + t.group as usize * BLOCK_ROWS;
                for (a, &v) in acc[at..at + n].iter_mut().zip(v) {
                    *a += self.leaf_value(t, v);
                }
            }
        }
    }
}
