//! The AVX2 instructions of the SIMD walk, for x86-64 CPUs without AVX-512: 8 rows per
//! vector, comparisons as all-ones lanes, 8-entry permutations (levels 4-5 and leaves of
//! trees up to depth 5 come from registers; deeper levels are gathered).

use super::Lanes;
use crate::batch::BLOCK_ROWS;
use core::arch::x86_64::*;

super::entry!("avx2", "AVX2");

/// 8 lanes of `u32`.
#[derive(Clone, Copy)]
struct V(__m256i);

impl Lanes for V {
    const WIDTH: usize = 8;
    /// All ones where true.
    type Mask = __m256i;
    type Rows = [V; BLOCK_ROWS / 8];
    type Masks = [__m256i; BLOCK_ROWS / 8];
    /// Slots 0..8 (for level 2) and 8..16 (level 3).
    type Top = (__m256i, __m256i);

    #[inline(always)]
    unsafe fn splat(v: u32) -> V {
        // SAFETY: AVX2 (the trait's contract).
        V(unsafe { _mm256_set1_epi32(v as i32) })
    }

    #[inline(always)]
    unsafe fn rows(v: V) -> Self::Rows {
        [v; BLOCK_ROWS / 8]
    }

    #[inline(always)]
    unsafe fn no_masks() -> Self::Masks {
        // SAFETY: AVX2.
        [unsafe { _mm256_setzero_si256() }; BLOCK_ROWS / 8]
    }

    #[inline(always)]
    unsafe fn load(p: *const u32) -> V {
        // SAFETY: AVX2; `p` is valid for 8 reads.
        V(unsafe { _mm256_loadu_si256(p.cast()) })
    }

    #[inline(always)]
    unsafe fn less(x: V, t: V) -> __m256i {
        // SAFETY: AVX2. It compares signed: flipping the top bits makes that unsigned.
        unsafe {
            let top = _mm256_set1_epi32(i32::MIN);
            _mm256_cmpgt_epi32(_mm256_xor_si256(t.0, top), _mm256_xor_si256(x.0, top))
        }
    }

    #[inline(always)]
    unsafe fn descend(i: V, m: __m256i) -> V {
        // SAFETY: AVX2. `m` is -1 where true: `2i - m`.
        V(unsafe { _mm256_sub_epi32(_mm256_add_epi32(i.0, i.0), m) })
    }

    #[inline(always)]
    unsafe fn blend(m: __m256i, a: V, b: V) -> V {
        // SAFETY: AVX2.
        V(unsafe { _mm256_blendv_epi8(a.0, b.0, m) })
    }

    #[inline(always)]
    unsafe fn top(thr: *const u32, depth: usize) -> (__m256i, __m256i) {
        // SAFETY: AVX2; a tree of depth `depth` (> 2) has slots 0..8, and slots 8..16 from
        // depth 4 on.
        unsafe {
            let low = _mm256_loadu_si256(thr.cast());
            let high = if depth > 3 {
                _mm256_loadu_si256(thr.add(8).cast())
            } else {
                _mm256_setzero_si256()
            };
            (low, high)
        }
    }

    #[inline(always)]
    unsafe fn top_threshold(top: (__m256i, __m256i), level: usize, i: V) -> V {
        // SAFETY: AVX2; the permutation reads the low 3 bits of `i`, which select slot
        // `i` within its 8-slot half.
        V(unsafe { _mm256_permutevar8x32_epi32(if level == 2 { top.0 } else { top.1 }, i.0) })
    }

    #[inline(always)]
    unsafe fn lookup(table: *const u32, level: usize, i: V) -> V {
        // SAFETY: AVX2; level `level` of the tree exists, so slots `2^level..2^(level+1)`
        // are valid.
        unsafe {
            if level >= 6 {
                return V(_mm256_i32gather_epi32::<4>(table.cast(), i.0));
            }
            let first = 1usize << level;
            V(windows(table.add(first), first / 8, i.0))
        }
    }

    #[inline(always)]
    unsafe fn gather_keys(keys: *const u32, f: V, first_row: usize) -> V {
        // SAFETY: AVX2; every feature index is below `2 * num_features` and every row below
        // `BLOCK_ROWS`, so each offset is inside the block's keys.
        unsafe {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let at = _mm256_add_epi32(
                _mm256_slli_epi32::<6>(f.0),
                _mm256_add_epi32(lanes, _mm256_set1_epi32(first_row as i32)),
            );
            V(_mm256_i32gather_epi32::<4>(keys.cast(), at))
        }
    }

    #[inline(always)]
    unsafe fn add_leaves<const D: usize>(leaves: *const f32, i: V, acc: *mut f32) {
        // SAFETY: AVX2; the tree has `2^D` leaves and `j < 2^D`; `acc` is valid for 8
        // floats.
        unsafe {
            let j = _mm256_sub_epi32(i.0, _mm256_set1_epi32(1 << D));
            let v = if D >= 6 {
                _mm256_i32gather_ps::<4>(leaves, j)
            } else if D <= 3 {
                let table = _mm256_maskload_epi32(leaves.cast(), first_lanes(1 << D));
                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(table, j))
            } else {
                _mm256_castsi256_ps(windows(leaves.cast(), (1 << D) / 8, j))
            };
            _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_loadu_ps(acc), v));
        }
    }

    #[inline(always)]
    unsafe fn add_constant(v: f32, acc: *mut f32) {
        // SAFETY: AVX2; `acc` is valid for 8 floats.
        unsafe { _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_loadu_ps(acc), _mm256_set1_ps(v))) }
    }
}

/// A `maskload` mask for lanes `0..n`.
///
/// # Safety
///
/// AVX2.
#[inline(always)]
unsafe fn first_lanes(n: i32) -> __m256i {
    // SAFETY: AVX2.
    unsafe {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

/// `b` where bit `bit` of `i` is set, else `a`.
///
/// # Safety
///
/// AVX2.
#[inline(always)]
unsafe fn blend_bit(i: __m256i, bit: i32, a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: AVX2.
    unsafe {
        let sign = _mm256_sllv_epi32(i, _mm256_set1_epi32(31 - bit));
        _mm256_castps_si256(_mm256_blendv_ps(
            _mm256_castsi256_ps(a),
            _mm256_castsi256_ps(b),
            _mm256_castsi256_ps(sign),
        ))
    }
}

/// `base[j]` for `j` = the low 3 bits of `i`.
///
/// # Safety
///
/// AVX2; `base` is valid for 8 reads.
#[inline(always)]
unsafe fn window(base: *const u32, i: __m256i) -> __m256i {
    // SAFETY: forwarded contract.
    unsafe { _mm256_permutevar8x32_epi32(_mm256_loadu_si256(base.cast()), i) }
}

/// `base[j]` for `j` = the low bits of `i`, over `n` windows of 8 entries (`n` <= 4).
///
/// # Safety
///
/// AVX2; `base` is valid for `8 * n` reads.
#[inline(always)]
unsafe fn windows(base: *const u32, n: usize, i: __m256i) -> __m256i {
    // SAFETY: forwarded contract.
    unsafe {
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
}
