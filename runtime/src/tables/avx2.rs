//! The AVX2 batch kernel for `f32` tables, for x86-64 CPUs without AVX-512: the same walk as
//! [`avx512`](super::avx512) with 8 rows per vector (8 vectors per block), compare results
//! as all-ones lanes instead of mask registers, and 8-entry permutations.
//!
//! The top four levels load whole feature columns of the block and blend each row's value;
//! levels 4 and 5 permute feature indices and thresholds out of 8-entry windows of the tree's
//! tables and gather each row's value; deeper levels gather indices and thresholds too.

use super::{Tables, TreeRef, BLOCK_ROWS};
use std::arch::x86_64::*;

/// Whether this CPU can run the kernel.
#[inline]
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// 8-row vectors per block.
const G: usize = BLOCK_ROWS / 8;

// Gather offsets are `feature << 6`.
const _: () = assert!(BLOCK_ROWS == 64);

/// Adds `trees` to every row of `blocks` consecutive blocks, chunk by chunk of trees (as
/// the AVX-512 kernel does).
///
/// # Safety
///
/// The CPU supports AVX2; `t` passed [`Tables::new`] and `trees` are its own.
#[target_feature(enable = "avx2")]
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
#[target_feature(enable = "avx2")]
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
#[target_feature(enable = "avx2")]
unsafe fn splat(v: u32) -> __m256i {
    _mm256_set1_epi32(v as i32)
}

/// All-ones lanes where `x < t`, unsigned (AVX2 compares signed: flip the top bits).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn less(x: __m256i, t: __m256i) -> __m256i {
    let top = splat(0x8000_0000);
    _mm256_cmpgt_epi32(_mm256_xor_si256(t, top), _mm256_xor_si256(x, top))
}

/// `2 * i + 1` where `m` is all ones, `2 * i` where it is zero.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn descend(i: __m256i, m: __m256i) -> __m256i {
    _mm256_sub_epi32(_mm256_add_epi32(i, i), m)
}

/// `b` where `m` is all ones, else `a`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn blend(m: __m256i, a: __m256i, b: __m256i) -> __m256i {
    _mm256_blendv_epi8(a, b, m)
}

/// `b` where bit `bit` of `i` is set, else `a`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn blend_bit(i: __m256i, bit: i32, a: __m256i, b: __m256i) -> __m256i {
    let sign = _mm256_sllv_epi32(i, _mm256_set1_epi32(31 - bit));
    _mm256_castps_si256(_mm256_blendv_ps(
        _mm256_castsi256_ps(a),
        _mm256_castsi256_ps(b),
        _mm256_castsi256_ps(sign),
    ))
}

/// The block's keys of the feature tested at `slot`, for vector `g`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn column(p: TreePtrs, slot: usize, g: usize) -> __m256i {
    let f = *p.feat.add(slot) as usize;
    _mm256_loadu_si256(p.keys.add(f * BLOCK_ROWS + 8 * g).cast())
}

/// Picks `column(s)` or `column(s + 1)` by `m`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pair(p: TreePtrs, s: usize, g: usize, m: __m256i) -> __m256i {
    blend(m, column(p, s, g), column(p, s + 1, g))
}

/// `base[j]` for `j` = the low 3 bits of `i`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn window(base: *const u32, i: __m256i) -> __m256i {
    _mm256_permutevar8x32_epi32(_mm256_loadu_si256(base.cast()), i)
}

/// `base[j]` for `j` = the low bits of `i`, over `n` windows of 8 entries (`n` <= 4).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn windows(base: *const u32, n: usize, i: __m256i) -> __m256i {
    match n {
        1 => window(base, i),
        2 => blend_bit(i, 3, window(base, i), window(base.add(8), i)),
        _ => {
            let lo = blend_bit(i, 3, window(base, i), window(base.add(8), i));
            let hi = blend_bit(i, 3, window(base.add(16), i), window(base.add(24), i));
            blend_bit(i, 4, lo, hi)
        }
    }
}

/// `table[i]` for heap slots `i` of level `level` (>= 4) of a tree whose tables start at
/// `table`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn level_lookup(table: *const u32, level: usize, i: __m256i) -> __m256i {
    if level >= 6 {
        return _mm256_i32gather_epi32::<4>(table.cast(), i);
    }
    let first = 1usize << level;
    windows(table.add(first), first / 8, i)
}

/// Leaf values for leaf indices `j` (0..2^D).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn leaf_lookup<const D: usize>(leaves: *const f32, j: __m256i) -> __m256 {
    if D >= 6 {
        return _mm256_i32gather_ps::<4>(leaves, j);
    }
    if D <= 3 {
        let table = _mm256_maskload_epi32(leaves.cast(), first_lanes(1 << D));
        return _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(table, j));
    }
    _mm256_castsi256_ps(windows(leaves.cast(), (1 << D) / 8, j))
}

/// A `maskload` mask for lanes `0..n`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn first_lanes(n: i32) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Walks one tree of depth `D` for the block's 64 rows and adds the leaves to `p.acc`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn walk<const D: usize>(p: TreePtrs) {
    if D == 0 {
        let v = _mm256_set1_ps(*p.leaves);
        for g in 0..G {
            let a = p.acc.add(8 * g);
            _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), v));
        }
        return;
    }
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // Thresholds of slots 0..8 (levels 0-2) and 8..16 (level 3); slots past the tree's end
    // are not read.
    let top = _mm256_maskload_epi32(p.thr.cast(), first_lanes((1i32 << D).min(8)));
    let mut idx = [_mm256_setzero_si256(); G];
    let mut m0 = [_mm256_setzero_si256(); G];
    let mut m1 = [_mm256_setzero_si256(); G];
    let mut m2 = [_mm256_setzero_si256(); G];
    let t1 = splat(*p.thr.add(1));
    for g in 0..G {
        m0[g] = less(column(p, 1, g), t1);
        idx[g] = descend(splat(1), m0[g]);
    }
    if D > 1 {
        let (t2, t3) = (splat(*p.thr.add(2)), splat(*p.thr.add(3)));
        for g in 0..G {
            let x = pair(p, 2, g, m0[g]);
            m1[g] = less(x, blend(m0[g], t2, t3));
            idx[g] = descend(idx[g], m1[g]);
        }
    }
    if D > 2 {
        for g in 0..G {
            let x = blend(m0[g], pair(p, 4, g, m1[g]), pair(p, 6, g, m1[g]));
            m2[g] = less(x, _mm256_permutevar8x32_epi32(top, idx[g]));
            idx[g] = descend(idx[g], m2[g]);
        }
    }
    if D > 3 {
        let level3 = _mm256_loadu_si256(p.thr.add(8).cast());
        for g in 0..G {
            let a = blend(m1[g], pair(p, 8, g, m2[g]), pair(p, 10, g, m2[g]));
            let b = blend(m1[g], pair(p, 12, g, m2[g]), pair(p, 14, g, m2[g]));
            let x = blend(m0[g], a, b);
            let m = less(x, _mm256_permutevar8x32_epi32(level3, idx[g]));
            idx[g] = descend(idx[g], m);
        }
    }
    for level in 4..D {
        for (g, i) in idx.iter_mut().enumerate() {
            let f = level_lookup(p.feat, level, *i);
            let t = level_lookup(p.thr, level, *i);
            let at = _mm256_add_epi32(
                _mm256_slli_epi32::<6>(f),
                _mm256_add_epi32(lanes, splat(8 * g as u32)),
            );
            let x = _mm256_i32gather_epi32::<4>(p.keys.cast(), at);
            *i = descend(*i, less(x, t));
        }
    }
    let first = splat(1 << D);
    for (g, i) in idx.iter().enumerate() {
        let v = leaf_lookup::<D>(p.leaves, _mm256_sub_epi32(*i, first));
        let a = p.acc.add(8 * g);
        _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), v));
    }
}
