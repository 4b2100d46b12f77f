//! The AVX-512 batch kernel for `f32` tables: 16 rows per vector, the block's 4 vectors
//! walked together through each tree.
//!
//! Per level, every row needs its node's threshold and its own value of the node's
//! feature. The top four levels (15 nodes) read whole feature columns of the block with
//! plain loads and pick each row's value with mask blends; thresholds come from a 16-entry
//! table by permutation. Deeper levels permute feature indices and thresholds out of the
//! tree's tables (32 entries per two-register permutation) and gather each row's value.
//! Leaves are looked up the same way. Gathers are slow on some CPUs (AMD Zen 4), so they
//! are used only where the candidates would not fit in a few registers.

use super::{Tables, TreeRef, BLOCK_ROWS};
use std::arch::x86_64::*;

/// Whether this CPU can run the kernel.
#[inline]
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// 16-row vectors per block.
const G: usize = BLOCK_ROWS / 16;

// Gather offsets are `feature << 6`.
const _: () = assert!(BLOCK_ROWS == 64);

/// Adds `trees` to every row of `blocks` consecutive blocks: chunk by chunk of trees whose
/// tables fit in the L2 cache, each chunk through all the blocks (so big models' tables are
/// read from memory once per call rather than once per block, while a block's keys stay in
/// L1 as a chunk walks it).
///
/// # Safety
///
/// The CPU supports AVX-512F; `t` passed [`Tables::new`] and `trees` are its own.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn add_block(
    t: &Tables<f32>,
    trees: &[TreeRef],
    keys: &[u32],
    acc: &mut [f32],
    blocks: usize,
) {
    let (key_block, acc_block) = (2 * t.num_features * BLOCK_ROWS, t.num_groups * BLOCK_ROWS);
    assert!(
        keys.len() == blocks * key_block && acc.len() == blocks * acc_block,
        "block buffer sizes"
    );
    for chunk in super::tree_chunks(trees) {
        for b in 0..blocks {
            for tree in chunk {
                let p = TreePtrs {
                    feat: t.features.as_ptr().add(tree.offset),
                    thr: t.thresholds.as_ptr().add(tree.offset),
                    leaves: t.leaves.as_ptr().add(tree.offset),
                    keys: keys.as_ptr().add(b * key_block),
                    acc: acc
                        .as_mut_ptr()
                        .add(b * acc_block + tree.group * BLOCK_ROWS),
                };
                walk_depth(tree.depth, p);
            }
        }
    }
}

/// [`walk`] for a run-time depth.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn walk_depth(depth: u32, p: TreePtrs) {
    match depth {
        0 => walk::<0>(p),
        1 => walk::<1>(p),
        2 => walk::<2>(p),
        3 => walk::<3>(p),
        4 => walk::<4>(p),
        5 => walk::<5>(p),
        6 => walk::<6>(p),
        7 => walk::<7>(p),
        8 => walk::<8>(p),
        9 => walk::<9>(p),
        10 => walk::<10>(p),
        11 => walk::<11>(p),
        12 => walk::<12>(p),
        13 => walk::<13>(p),
        14 => walk::<14>(p),
        15 => walk::<15>(p),
        _ => walk::<16>(p),
    }
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

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn splat(v: u32) -> __m512i {
    _mm512_set1_epi32(v as i32)
}

/// The block's keys of the feature tested at `slot`, for vector `g`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn column(p: TreePtrs, slot: usize, g: usize) -> __m512i {
    let f = *p.feat.add(slot) as usize;
    _mm512_loadu_si512(p.keys.add(f * BLOCK_ROWS + 16 * g).cast())
}

/// `2 * i + m`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn descend(i: __m512i, m: __mmask16) -> __m512i {
    let two = _mm512_add_epi32(i, i);
    _mm512_mask_add_epi32(two, m, two, splat(1))
}

/// `table[i]` for heap slots `i` of level `level` (>= 4) of a tree whose tables start at
/// `table`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn level_lookup(table: *const u32, level: usize, i: __m512i) -> __m512i {
    let first = 1usize << level;
    if level == 4 {
        return _mm512_permutexvar_epi32(i, _mm512_loadu_si512(table.add(16).cast()));
    }
    if level >= 8 {
        return _mm512_i32gather_epi32::<4>(i, table.cast());
    }
    windows(table.add(first), first / 32, i)
}

/// `base[j]` for `j` = the low bits of `i`, over `n` windows of 32 entries (`n` <= 4).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn windows(base: *const u32, n: usize, i: __m512i) -> __m512i {
    match n {
        1 => window(base, i),
        2 => _mm512_mask_blend_epi32(
            _mm512_test_epi32_mask(i, splat(32)),
            window(base, i),
            window(base.add(32), i),
        ),
        _ => {
            let b5 = _mm512_test_epi32_mask(i, splat(32));
            let lo = _mm512_mask_blend_epi32(b5, window(base, i), window(base.add(32), i));
            let hi = _mm512_mask_blend_epi32(b5, window(base.add(64), i), window(base.add(96), i));
            _mm512_mask_blend_epi32(_mm512_test_epi32_mask(i, splat(64)), lo, hi)
        }
    }
}

/// `base[j]` for `j` = the low 5 bits of `i`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn window(base: *const u32, i: __m512i) -> __m512i {
    _mm512_permutex2var_epi32(
        _mm512_loadu_si512(base.cast()),
        i,
        _mm512_loadu_si512(base.add(16).cast()),
    )
}

/// Picks `column(s)` or `column(s + 1)` by `m`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn pair(p: TreePtrs, s: usize, g: usize, m: __mmask16) -> __m512i {
    _mm512_mask_blend_epi32(m, column(p, s, g), column(p, s + 1, g))
}

/// Leaf values for leaf indices `j` (0..2^D).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn leaf_lookup<const D: usize>(leaves: *const f32, j: __m512i) -> __m512 {
    if D <= 4 {
        let n = 1u32 << D;
        let table = _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, leaves);
        return _mm512_permutexvar_ps(j, table);
    }
    if D >= 8 {
        return _mm512_i32gather_ps::<4>(j, leaves);
    }
    let v = windows(leaves.cast(), (1 << D) / 32, j);
    _mm512_castsi512_ps(v)
}

/// Walks one tree of depth `D` for the block's 64 rows and adds the leaves to `p.acc`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn walk<const D: usize>(p: TreePtrs) {
    if D == 0 {
        let v = _mm512_set1_ps(*p.leaves);
        for g in 0..G {
            let a = p.acc.add(16 * g);
            _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), v));
        }
        return;
    }
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Thresholds of slots 0..16 (levels 0-3); slots past the tree's end are not read.
    let top = _mm512_maskz_loadu_epi32(
        ((1u32 << (1usize << D).min(16)) - 1) as __mmask16,
        p.thr.cast(),
    );
    let mut idx = [_mm512_setzero_si512(); G];
    let mut m0 = [0 as __mmask16; G];
    let mut m1 = [0 as __mmask16; G];
    let mut m2 = [0 as __mmask16; G];
    let t1 = splat(*p.thr.add(1));
    for g in 0..G {
        m0[g] = _mm512_cmplt_epu32_mask(column(p, 1, g), t1);
        idx[g] = descend(splat(1), m0[g]);
    }
    if D > 1 {
        let (t2, t3) = (splat(*p.thr.add(2)), splat(*p.thr.add(3)));
        for g in 0..G {
            let x = _mm512_mask_blend_epi32(m0[g], column(p, 2, g), column(p, 3, g));
            let t = _mm512_mask_blend_epi32(m0[g], t2, t3);
            m1[g] = _mm512_cmplt_epu32_mask(x, t);
            idx[g] = descend(idx[g], m1[g]);
        }
    }
    if D > 2 {
        for g in 0..G {
            let a = pair(p, 4, g, m1[g]);
            let b = pair(p, 6, g, m1[g]);
            let x = _mm512_mask_blend_epi32(m0[g], a, b);
            m2[g] = _mm512_cmplt_epu32_mask(x, _mm512_permutexvar_epi32(idx[g], top));
            idx[g] = descend(idx[g], m2[g]);
        }
    }
    if D > 3 {
        for g in 0..G {
            let a = _mm512_mask_blend_epi32(m1[g], pair(p, 8, g, m2[g]), pair(p, 10, g, m2[g]));
            let b = _mm512_mask_blend_epi32(m1[g], pair(p, 12, g, m2[g]), pair(p, 14, g, m2[g]));
            let x = _mm512_mask_blend_epi32(m0[g], a, b);
            let m = _mm512_cmplt_epu32_mask(x, _mm512_permutexvar_epi32(idx[g], top));
            idx[g] = descend(idx[g], m);
        }
    }
    for level in 4..D {
        for (g, i) in idx.iter_mut().enumerate() {
            let f = level_lookup(p.feat, level, *i);
            let t = level_lookup(p.thr, level, *i);
            let at = _mm512_add_epi32(
                _mm512_slli_epi32::<6>(f),
                _mm512_add_epi32(lanes, splat(16 * g as u32)),
            );
            let x = _mm512_i32gather_epi32::<4>(at, p.keys.cast());
            *i = descend(*i, _mm512_cmplt_epu32_mask(x, t));
        }
    }
    let first = splat(1 << D);
    for (g, i) in idx.iter().enumerate() {
        let v = leaf_lookup::<D>(p.leaves, _mm512_sub_epi32(*i, first));
        let a = p.acc.add(16 * g);
        _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), v));
    }
}
