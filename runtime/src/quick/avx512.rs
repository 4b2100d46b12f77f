//! The AVX-512 block kernel: tree by tree, a tree's bit vectors for the 64 rows of a block
//! live in eight vector registers while each of its splits compares the rows' keys in mask
//! registers and clears the failed rows' bits with a masked AND. No split list is sorted or
//! cut short: in a block of 64 rows nearly every split fails for some row, and keeping the
//! vectors out of memory is worth more (about three times the sorted kernel's speed on
//! 63-leaf trees).

use super::Quick;
use crate::batch::{Block, BLOCK_ROWS};
use crate::float::{KeyFloat, SumFloat};
use core::arch::x86_64::*;
use core::ops::Range;

const _: () = assert!(BLOCK_ROWS == 64);

/// Adds trees `trees` to every row of `block`.
///
/// # Safety
///
/// The CPU supports AVX-512F; `quick` passed `Quick::new` (its tree-ordered splits name
/// key features of the model) and `block` is of the same model.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn add_trees<I: KeyFloat, O: SumFloat>(
    quick: &Quick<I, O>,
    block: &mut Block<'_, I, O>,
    trees: Range<usize>,
) {
    let (nf, ng, len) = (quick.num_features, quick.num_groups, block.len());
    let key_block = 2 * nf * BLOCK_ROWS;
    let (keys, acc) = block.keys_and_acc();
    assert!(keys.len() >= len.div_ceil(BLOCK_ROWS) * key_block);
    let mut bits = [0u64; BLOCK_ROWS];
    for b in 0..len.div_ceil(BLOCK_ROWS) {
        let n = (len - b * BLOCK_ROWS).min(BLOCK_ROWS);
        // SAFETY: block `b` is inside `keys` (asserted above).
        let block_keys = unsafe { keys.as_ptr().add(b * key_block) };
        let acc = &mut acc[b * ng * BLOCK_ROWS..(b + 1) * ng * BLOCK_ROWS];
        for t in trees.clone() {
            let tree = &quick.trees[t];
            let splits =
                &quick.by_tree[quick.tree_splits[t] as usize..quick.tree_splits[t + 1] as usize];
            let mut v = [_mm512_set1_epi64(tree.init as i64); 8];
            for s in splits {
                let mask = _mm512_set1_epi64(s.mask as i64);
                // SAFETY: `s.keys` is `f * BLOCK_ROWS` for a key feature `f < 2 * nf`
                // (`index_by_tree`), so its 64 keys are inside the block's.
                let k = unsafe { block_keys.add(s.keys as usize) };
                let threshold: u64 = s.threshold.into();
                if I::KEY_BYTES == 8 {
                    let t = _mm512_set1_epi64(threshold as i64);
                    for (j, v) in v.iter_mut().enumerate() {
                        // SAFETY: keys `8j .. 8j + 8` of the feature's 64 (above).
                        let k = unsafe { _mm512_loadu_si512(k.cast::<u64>().add(8 * j).cast()) };
                        let failed = _mm512_cmpge_epu64_mask(k, t);
                        *v = _mm512_mask_and_epi64(*v, failed, *v, mask);
                    }
                } else {
                    let t = _mm512_set1_epi32(threshold as u32 as i32);
                    for j in 0..4 {
                        // SAFETY: keys `16j .. 16j + 16` of the feature's 64 (above).
                        let k = unsafe { _mm512_loadu_si512(k.cast::<u32>().add(16 * j).cast()) };
                        let failed = _mm512_cmpge_epu32_mask(k, t);
                        let (lo, hi) = (failed as u8, (failed >> 8) as u8);
                        v[2 * j] = _mm512_mask_and_epi64(v[2 * j], lo, v[2 * j], mask);
                        v[2 * j + 1] = _mm512_mask_and_epi64(v[2 * j + 1], hi, v[2 * j + 1], mask);
                    }
                }
            }
            for (j, v) in v.iter().enumerate() {
                // SAFETY: `bits` holds 64 `u64`, eight per vector.
                unsafe { _mm512_storeu_si512(bits.as_mut_ptr().add(8 * j).cast(), *v) };
            }
            let at = tree.group as usize * BLOCK_ROWS;
            for (a, &v) in acc[at..at + n].iter_mut().zip(&bits) {
                *a += quick.leaf_value(tree, v);
            }
        }
    }
}
