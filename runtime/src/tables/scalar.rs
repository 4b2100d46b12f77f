//! The portable kernels: several independent walks interleaved in plain code, so the CPU
//! overlaps their loads and comparisons instead of waiting on each level in turn.

use super::{TableFloat, Tables, TreeRef};
use crate::batch::{Block, BLOCK_ROWS};

/// Rows walked together per tree in a block.
const LANES: usize = 16;

/// Trees walked together for one row.
const ROW_LANES: usize = 16;

/// Walks `tree` for rows `r0..r0 + K` of a block; returns their leaf values.
///
/// # Safety
///
/// `t` passed [`Tables::new`], `tree` is one of its trees, `keys` points at a block's
/// `2 * num_features * BLOCK_ROWS` keys and `r0 + K <= BLOCK_ROWS`.
#[inline(always)]
unsafe fn walk_rows<F: TableFloat, const K: usize>(
    t: &Tables<F>,
    tree: TreeRef,
    keys: *const F::Key,
    r0: usize,
) -> [F; K] {
    // SAFETY: the tree's slots lie inside the arrays and its feature indices are below
    // `2 * num_features` (`Tables::new`); every walk stays in slots `1..2^(depth+1)`, and
    // the key read is in the block (`r0 + k < BLOCK_ROWS`).
    unsafe {
        let feat = t.features.as_ptr().add(tree.offset);
        let thr = t.thresholds.as_ptr().add(tree.offset);
        let mut i = [1usize; K];
        for _ in 0..tree.depth {
            for (k, i) in i.iter_mut().enumerate() {
                let n = *i;
                let x = *keys.add(*feat.add(n) as usize * BLOCK_ROWS + r0 + k);
                *i = descend(n, x, *thr.add(n));
            }
        }
        let leaves = t.leaves.as_ptr().add(tree.offset);
        let first = 1usize << tree.depth;
        core::array::from_fn(|k| *leaves.add(i[k] - first))
    }
}

/// Adds `trees` to every row of `block`'s blocks (`acc` is block-major, then group-major with
/// [`BLOCK_ROWS`] per group).
pub(super) fn add_block<F: TableFloat>(
    t: &Tables<F>,
    trees: &[TreeRef],
    block: &mut Block<'_, F, F>,
) {
    let (len, blocks) = (block.len(), block.blocks());
    let (keys, acc) = block.keys_and_acc();
    let (key_block, acc_block) = t.block_strides(keys.len(), acc.len(), blocks);
    for chunk in super::tree_chunks(trees) {
        for b in 0..blocks {
            let kp = keys[b * key_block..].as_ptr();
            let len = (len - b * BLOCK_ROWS).min(BLOCK_ROWS);
            for &tree in chunk {
                let at = b * acc_block + tree.group * BLOCK_ROWS;
                let acc = &mut acc[at..at + BLOCK_ROWS];
                let mut r = 0;
                while r + LANES <= len {
                    // SAFETY: `kp` starts a block of `key_block` keys (checked above);
                    // `r + LANES <= len <= BLOCK_ROWS`.
                    let v = unsafe { walk_rows::<F, LANES>(t, tree, kp, r) };
                    for (a, v) in acc[r..r + LANES].iter_mut().zip(v) {
                        *a += v;
                    }
                    r += LANES;
                }
                while r < len {
                    // SAFETY: as above, one row.
                    let [v] = unsafe { walk_rows::<F, 1>(t, tree, kp, r) };
                    acc[r] += v;
                    r += 1;
                }
            }
        }
    }
}

/// `2 * i + (x < t)`. On x86-64 as `cmp` + `adc`: left to itself, LLVM keeps the
/// comparison bits of interleaved walks apart and rebuilds the indices from them, which
/// spills registers and doubles the instructions per level.
#[inline(always)]
fn descend<K: Ord + Copy>(i: usize, x: K, t: K) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if core::mem::size_of::<K>() == 4 {
            // SAFETY: reads two 4-byte keys as u32 (their type is u32 when 4 bytes long).
            let (x, t) = unsafe {
                (
                    core::mem::transmute_copy::<K, u32>(&x),
                    core::mem::transmute_copy::<K, u32>(&t),
                )
            };
            let mut i = i;
            // SAFETY: register-only arithmetic: CF = (x < t) unsigned; i = i + i + CF.
            unsafe {
                core::arch::asm!(
                    "cmp {x:e}, {t:e}",
                    "adc {i}, {i}",
                    x = in(reg) x,
                    t = in(reg) t,
                    i = inout(reg) i,
                    options(pure, nomem, nostack),
                );
            }
            return i;
        }
    }
    2 * i + usize::from(x < t)
}

/// Walks `K` consecutive trees of depth `D` for one row; `feat`, `thr` and `leaves` point
/// at the first tree's slot 0 (the trees' slots are contiguous, `2^D` each).
///
/// # Safety
///
/// The pointers come from tables that passed [`Tables::new`], `K` trees of depth `D` follow
/// them, and `keys` holds `2 * num_features` keys.
#[inline(always)]
unsafe fn walk_trees<F: TableFloat, const D: u32, const K: usize>(
    feat: *const u32,
    thr: *const F::Key,
    leaves: *const F,
    keys: *const F::Key,
) -> [F; K] {
    // SAFETY: tree `k` occupies slots `k * 2^D..(k + 1) * 2^D` (the caller's contract); its
    // walk stays in them and reads checked feature indices' keys.
    unsafe {
        let mut i = [1usize; K];
        for _ in 0..D {
            for (k, i) in i.iter_mut().enumerate() {
                let s = (k << D) + *i;
                let x = *keys.add(*feat.add(s) as usize);
                *i = descend(*i, x, *thr.add(s));
            }
        }
        core::array::from_fn(|k| *leaves.add((k << D) + i[k] - (1usize << D)))
    }
}

/// Adds a run of consecutive trees of depth `D` to one row's margins, in order.
///
/// # Safety
///
/// As [`walk_trees`], for every tree of `trees`.
#[inline(always)]
unsafe fn add_run<F: TableFloat, const D: u32>(
    t: &Tables<F>,
    trees: &[TreeRef],
    keys: *const F::Key,
    margins: &mut [F],
) {
    let slots = 1usize << D;
    let at = trees[0].offset;
    // SAFETY: the run's first tree starts at slot `at`, inside the arrays.
    let (feat, thr, leaves) = unsafe {
        (
            t.features.as_ptr().add(at),
            t.thresholds.as_ptr().add(at),
            t.leaves.as_ptr().add(at),
        )
    };
    // One output group: keep the running sum in a register. Through memory, each addition
    // would wait for the previous store (the sum is serial: tree order is kept exactly).
    let single = t.num_groups == 1;
    let mut sum = margins[0];
    let mut chunks = trees.chunks_exact(ROW_LANES);
    let mut j = 0;
    for chunk in &mut chunks {
        let o = j * slots;
        // SAFETY: trees `j..j + ROW_LANES` of the run follow each other from slot `o`.
        let v =
            unsafe { walk_trees::<F, D, ROW_LANES>(feat.add(o), thr.add(o), leaves.add(o), keys) };
        if single {
            for v in v {
                sum += v;
            }
        } else {
            for (tree, v) in chunk.iter().zip(v) {
                margins[tree.group] += v;
            }
        }
        j += ROW_LANES;
    }
    if single {
        margins[0] = sum;
    }
    // The last few trees: 4 at a time, then one by one.
    let mut rest = chunks.remainder().chunks_exact(4);
    for chunk in &mut rest {
        let o = j * slots;
        // SAFETY: as above, 4 trees.
        let v = unsafe { walk_trees::<F, D, 4>(feat.add(o), thr.add(o), leaves.add(o), keys) };
        for (tree, v) in chunk.iter().zip(v) {
            margins[tree.group] += v;
        }
        j += 4;
    }
    for tree in rest.remainder() {
        let o = j * slots;
        // SAFETY: as above, one tree.
        let [v] = unsafe { walk_trees::<F, D, 1>(feat.add(o), thr.add(o), leaves.add(o), keys) };
        margins[tree.group] += v;
        j += 1;
    }
}

/// Adds `trees` to one row's margins, in order: runs of equal depth, `LANES` trees at once.
pub(super) fn add_row<F: TableFloat>(
    t: &Tables<F>,
    trees: &[TreeRef],
    keys: &[F::Key],
    margins: &mut [F],
) {
    assert!(
        keys.len() == 2 * t.num_features && margins.len() == t.num_groups,
        "row buffer sizes"
    );
    let kp = keys.as_ptr();
    let mut rest = trees;
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|x| x.depth == first.depth).count();
        let (now, later) = rest.split_at(run);
        // SAFETY: checked above; `Tables::new` checked that consecutive trees' slots are
        // contiguous, so a run of equal depth is `run` blocks of `2^depth` slots.
        unsafe {
            match first.depth {
                0 => add_run::<F, 0>(t, now, kp, margins),
                1 => add_run::<F, 1>(t, now, kp, margins),
                2 => add_run::<F, 2>(t, now, kp, margins),
                3 => add_run::<F, 3>(t, now, kp, margins),
                4 => add_run::<F, 4>(t, now, kp, margins),
                5 => add_run::<F, 5>(t, now, kp, margins),
                6 => add_run::<F, 6>(t, now, kp, margins),
                7 => add_run::<F, 7>(t, now, kp, margins),
                8 => add_run::<F, 8>(t, now, kp, margins),
                9 => add_run::<F, 9>(t, now, kp, margins),
                10 => add_run::<F, 10>(t, now, kp, margins),
                11 => add_run::<F, 11>(t, now, kp, margins),
                12 => add_run::<F, 12>(t, now, kp, margins),
                13 => add_run::<F, 13>(t, now, kp, margins),
                14 => add_run::<F, 14>(t, now, kp, margins),
                15 => add_run::<F, 15>(t, now, kp, margins),
                _ => add_run::<F, 16>(t, now, kp, margins),
            }
        }
        rest = later;
    }
}
