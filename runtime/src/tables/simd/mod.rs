//! The SIMD batch kernels for `f32` tables, written once over the vector width: this module
//! is the walk, [`avx512`] (16 rows per vector) and [`avx2`] (8 rows per vector) are thin
//! wrappers that supply the instructions ([`Lanes`]) and enable their target features.
//!
//! A block of [`BLOCK_ROWS`] rows is `BLOCK_ROWS / WIDTH` vectors, walked together through
//! each tree. Per level, every row needs its node's threshold and its own value of the
//! node's feature. The top four levels (15 nodes) load whole feature columns of the block
//! and pick each row's value with blends; level 2 and 3 thresholds come from a register
//! loaded once per tree. Deeper levels look feature indices and thresholds up in the
//! tree's tables (permutations of small windows, or gathers where the candidates would not
//! fit in a few registers) and gather each row's value. Leaves are looked up the same way.
//! Gathers are slow on some CPUs (AMD Zen 4), so each ISA uses them only from the level
//! where permutations would need more registers than they save.
//!
//! Every function here is `#[inline(always)]` and generic: it is compiled once per ISA,
//! inside that ISA's `#[target_feature]` entry point, so the intrinsics inline.

pub(super) mod avx2;
pub(super) mod avx512;

use super::{Tables, TreeRef};
use crate::batch::{Block, BLOCK_ROWS};
use crate::kernel::{self, Simd};

// Gather offsets are `feature << 6`.
const _: () = assert!(BLOCK_ROWS == 64);

/// An ISA's entry point: `add_block` with the ISA's target feature enabled, so the generic
/// walk and the ISA's `Lanes` methods inline into it with their instructions available.
macro_rules! entry {
    ($feature:literal, $name:literal) => {
        /// Adds `trees` to every row of `blocks` consecutive blocks (see
        /// [`super::add_block`]).
        ///
        /// # Safety
        ///
        #[doc = concat!("The CPU supports ", $name, "; `t` passed [`Tables::new`](super::super::Tables::new) and `trees` are its own.")]
        #[target_feature(enable = $feature)]
        pub(crate) unsafe fn add_block(
            t: &super::super::Tables<f32>,
            trees: &[super::super::TreeRef],
            keys: &[u32],
            acc: &mut [f32],
            blocks: usize,
        ) {
            // SAFETY: forwarded contract; the feature is enabled for the inlined walk.
            unsafe { super::add_block::<V>(t, trees, keys, acc, blocks) }
        }
    };
}
use entry;

/// Adds `trees` to every row of `block` with the SIMD kernel its kernel choice allows on
/// this CPU; `false` when there is none.
#[inline]
pub(super) fn add_blocks(
    tables: &Tables<f32>,
    trees: &[TreeRef],
    block: &mut Block<'_, f32, f32>,
) -> bool {
    let (blocks, choice) = (block.blocks(), block.kernel());
    let (keys, acc) = block.keys_and_acc();
    match kernel::simd(choice) {
        Some(Simd::Avx512) => {
            // SAFETY: `simd` found AVX-512F on this CPU; `tables` passed `Tables::new`,
            // `trees` are its own, and `keys`/`acc` are `blocks` blocks (checked inside).
            unsafe { avx512::add_block(tables, trees, keys, acc, blocks) };
            true
        }
        Some(Simd::Avx2) => {
            // SAFETY: as above, with AVX2.
            unsafe { avx2::add_block(tables, trees, keys, acc, blocks) };
            true
        }
        None => false,
    }
}

/// One ISA's vector of `u32` lanes (a row each) and the operations the walk needs.
///
/// # Safety
///
/// Every method is an `unsafe fn` because it executes the ISA's instructions: callers must
/// run on a CPU that has them (the per-ISA entry points check that contract), and pointer
/// arguments must be valid for the reads and writes each method documents.
pub(super) trait Lanes: Copy {
    /// Rows per vector.
    const WIDTH: usize;
    /// The result of a lane-wise comparison.
    type Mask: Copy;
    /// One block's vectors: `[Self; BLOCK_ROWS / WIDTH]`.
    type Rows: Copy + AsRef<[Self]> + AsMut<[Self]>;
    /// One block's masks: `[Self::Mask; BLOCK_ROWS / WIDTH]`.
    type Masks: Copy + AsRef<[Self::Mask]> + AsMut<[Self::Mask]>;
    /// The thresholds of heap slots 4..16 (levels 2 and 3), loaded once per tree.
    type Top: Copy;

    /// `v` in every lane.
    unsafe fn splat(v: u32) -> Self;
    /// `v` in every vector of a block.
    unsafe fn rows(v: Self) -> Self::Rows;
    /// An all-false mask per vector of a block.
    unsafe fn no_masks() -> Self::Masks;
    /// `WIDTH` keys from `p`.
    unsafe fn load(p: *const u32) -> Self;
    /// Lanes where `x < t`, unsigned.
    unsafe fn less(x: Self, t: Self) -> Self::Mask;
    /// `2 * i + 1` where `m` holds, `2 * i` elsewhere.
    unsafe fn descend(i: Self, m: Self::Mask) -> Self;
    /// `b` where `m` holds, `a` elsewhere.
    unsafe fn blend(m: Self::Mask, a: Self, b: Self) -> Self;
    /// Loads [`Self::Top`] from a tree of depth `depth` (> 2) whose thresholds start at
    /// `thr`; slots past the tree's end are not read.
    unsafe fn top(thr: *const u32, depth: usize) -> Self::Top;
    /// The thresholds of heap slots `i` of level 2 or 3.
    unsafe fn top_threshold(top: Self::Top, level: usize, i: Self) -> Self;
    /// `table[i]` for heap slots `i` of level `level` (>= 4) of a tree whose per-slot
    /// array starts at `table`.
    unsafe fn lookup(table: *const u32, level: usize, i: Self) -> Self;
    /// `keys[f[lane] * BLOCK_ROWS + first_row + lane]` per lane.
    unsafe fn gather_keys(keys: *const u32, f: Self, first_row: usize) -> Self;
    /// Adds `leaves[i[lane] - 2^D]` to `acc[lane]`, for heap slots `i` one level below a
    /// tree of depth `D` (`2^D..2^(D+1)`: leaf `i - 2^D`).
    unsafe fn add_leaves<const D: usize>(leaves: *const f32, i: Self, acc: *mut f32);
    /// Adds `v` to `acc[lane]` for every lane.
    unsafe fn add_constant(v: f32, acc: *mut f32);
}

/// One tree's tables (at its slot 0), the block's keys and the tree's group's margins.
#[derive(Clone, Copy)]
struct TreePtrs {
    feat: *const u32,
    thr: *const u32,
    leaves: *const f32,
    keys: *const u32,
    acc: *mut f32,
}

/// Adds `trees` to every row of `blocks` consecutive blocks: chunk by chunk of trees whose
/// tables fit in the L2 cache, each chunk through all the blocks (so big models' tables are
/// read from memory once per call rather than once per block, while a block's keys stay in
/// L1 as a chunk walks it).
///
/// # Safety
///
/// The CPU supports `V`'s instructions; `t` passed [`Tables::new`] and `trees` are its own;
/// `keys` and `acc` hold `blocks` blocks (checked).
#[inline(always)]
pub(super) unsafe fn add_block<V: Lanes>(
    t: &Tables<f32>,
    trees: &[TreeRef],
    keys: &[u32],
    acc: &mut [f32],
    blocks: usize,
) {
    let (key_block, acc_block) = t.block_strides(keys.len(), acc.len(), blocks);
    for chunk in super::tree_chunks(trees) {
        for b in 0..blocks {
            for tree in chunk {
                // SAFETY: `Tables::new` checked that the tree's `2^depth` slots lie inside
                // the arrays and its group is below `num_groups`; `b < blocks`.
                let p = unsafe {
                    TreePtrs {
                        feat: t.features.as_ptr().add(tree.offset),
                        thr: t.thresholds.as_ptr().add(tree.offset),
                        leaves: t.leaves.as_ptr().add(tree.offset),
                        keys: keys.as_ptr().add(b * key_block),
                        acc: acc
                            .as_mut_ptr()
                            .add(b * acc_block + tree.group * BLOCK_ROWS),
                    }
                };
                // SAFETY: `p` describes one checked tree and one block (above).
                unsafe { walk_depth::<V>(tree.depth, p) };
            }
        }
    }
}

/// [`walk`] for a run-time depth.
///
/// # Safety
///
/// As [`walk`].
#[inline(always)]
unsafe fn walk_depth<V: Lanes>(depth: u32, p: TreePtrs) {
    // SAFETY: forwarded contract; each arm's `D` is the tree's depth (16 is the maximum
    // `Tables::new` accepts).
    unsafe {
        match depth {
            0 => walk::<V, 0>(p),
            1 => walk::<V, 1>(p),
            2 => walk::<V, 2>(p),
            3 => walk::<V, 3>(p),
            4 => walk::<V, 4>(p),
            5 => walk::<V, 5>(p),
            6 => walk::<V, 6>(p),
            7 => walk::<V, 7>(p),
            8 => walk::<V, 8>(p),
            9 => walk::<V, 9>(p),
            10 => walk::<V, 10>(p),
            11 => walk::<V, 11>(p),
            12 => walk::<V, 12>(p),
            13 => walk::<V, 13>(p),
            14 => walk::<V, 14>(p),
            15 => walk::<V, 15>(p),
            _ => walk::<V, 16>(p),
        }
    }
}

/// The block's keys of the feature tested at `slot`, for vector `g`.
///
/// # Safety
///
/// `slot` is a split slot of `p`'s tree; `g < BLOCK_ROWS / V::WIDTH`.
#[inline(always)]
unsafe fn column<V: Lanes>(p: TreePtrs, slot: usize, g: usize) -> V {
    // SAFETY: the feature index was checked below `2 * num_features` by `Tables::new`, so
    // the block's column of that key has `BLOCK_ROWS` entries.
    unsafe {
        let f = *p.feat.add(slot) as usize;
        V::load(p.keys.add(f * BLOCK_ROWS + V::WIDTH * g))
    }
}

/// `column(s)` or `column(s + 1)` by `m`.
///
/// # Safety
///
/// As [`column`], for slots `s` and `s + 1`.
#[inline(always)]
unsafe fn pair<V: Lanes>(p: TreePtrs, s: usize, g: usize, m: V::Mask) -> V {
    // SAFETY: forwarded contract.
    unsafe { V::blend(m, column::<V>(p, s, g), column::<V>(p, s + 1, g)) }
}

/// Walks one tree of depth `D` for the block's rows and adds the leaves to `p.acc`.
///
/// # Safety
///
/// The CPU supports `V`'s instructions; `p` points at a tree of depth `D` of checked
/// tables, a block's keys and the block's margins of the tree's group.
#[inline(always)]
unsafe fn walk<V: Lanes, const D: usize>(p: TreePtrs) {
    let groups = BLOCK_ROWS / V::WIDTH;
    // SAFETY: every read is of a slot `< 2^D` of the tree, a key of the block (feature
    // indices checked by `Tables::new`) or a margin of the block; see the methods' docs.
    unsafe {
        if D == 0 {
            for g in 0..groups {
                V::add_constant(*p.leaves, p.acc.add(V::WIDTH * g));
            }
            return;
        }
        let mut idx = V::rows(V::splat(1));
        let (mut m0, mut m1, mut m2) = (V::no_masks(), V::no_masks(), V::no_masks());
        let (idx_s, m0_s) = (idx.as_mut(), m0.as_mut());
        let t1 = V::splat(*p.thr.add(1));
        for g in 0..groups {
            m0_s[g] = V::less(column::<V>(p, 1, g), t1);
            idx_s[g] = V::descend(idx_s[g], m0_s[g]);
        }
        if D > 1 {
            let (t2, t3) = (V::splat(*p.thr.add(2)), V::splat(*p.thr.add(3)));
            let m1_s = m1.as_mut();
            for g in 0..groups {
                let x = pair::<V>(p, 2, g, m0_s[g]);
                m1_s[g] = V::less(x, V::blend(m0_s[g], t2, t3));
                idx_s[g] = V::descend(idx_s[g], m1_s[g]);
            }
        }
        let top = if D > 2 {
            V::top(p.thr, D)
        } else {
            // Never read below depth 3.
            core::mem::zeroed()
        };
        if D > 2 {
            let (m1_s, m2_s) = (m1.as_ref(), m2.as_mut());
            for g in 0..groups {
                let a = pair::<V>(p, 4, g, m1_s[g]);
                let b = pair::<V>(p, 6, g, m1_s[g]);
                let x = V::blend(m0_s[g], a, b);
                m2_s[g] = V::less(x, V::top_threshold(top, 2, idx_s[g]));
                idx_s[g] = V::descend(idx_s[g], m2_s[g]);
            }
        }
        if D > 3 {
            let (m1_s, m2_s) = (m1.as_ref(), m2.as_ref());
            for g in 0..groups {
                let a = V::blend(
                    m1_s[g],
                    pair::<V>(p, 8, g, m2_s[g]),
                    pair::<V>(p, 10, g, m2_s[g]),
                );
                let b = V::blend(
                    m1_s[g],
                    pair::<V>(p, 12, g, m2_s[g]),
                    pair::<V>(p, 14, g, m2_s[g]),
                );
                let x = V::blend(m0_s[g], a, b);
                let m = V::less(x, V::top_threshold(top, 3, idx_s[g]));
                idx_s[g] = V::descend(idx_s[g], m);
            }
        }
        for level in 4..D {
            for (g, i) in idx_s.iter_mut().enumerate() {
                let f = V::lookup(p.feat, level, *i);
                let t = V::lookup(p.thr, level, *i);
                let x = V::gather_keys(p.keys, f, V::WIDTH * g);
                *i = V::descend(*i, V::less(x, t));
            }
        }
        for (g, i) in idx_s.iter().enumerate() {
            V::add_leaves::<D>(p.leaves, *i, p.acc.add(V::WIDTH * g));
        }
    }
}
