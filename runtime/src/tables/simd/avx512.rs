//! The AVX-512 instructions of the SIMD walk: 16 rows per vector, comparisons into mask
//! registers, 16- and 32-entry permutations (levels 4-7 and leaves of trees up to depth 7
//! come from registers; deeper levels are gathered).

use super::Lanes;
use crate::batch::BLOCK_ROWS;
use core::arch::x86_64::*;

super::entry!("avx512f", "AVX-512F");

/// 16 lanes of `u32`.
#[derive(Clone, Copy)]
struct V(__m512i);

impl Lanes for V {
    const WIDTH: usize = 16;
    type Mask = __mmask16;
    type Rows = [V; BLOCK_ROWS / 16];
    type Masks = [__mmask16; BLOCK_ROWS / 16];
    type Top = __m512i;

    #[inline(always)]
    unsafe fn splat(v: u32) -> V {
        // SAFETY: AVX-512F (the trait's contract).
        V(unsafe { _mm512_set1_epi32(v as i32) })
    }

    #[inline(always)]
    unsafe fn rows(v: V) -> Self::Rows {
        [v; BLOCK_ROWS / 16]
    }

    #[inline(always)]
    unsafe fn no_masks() -> Self::Masks {
        [0; BLOCK_ROWS / 16]
    }

    #[inline(always)]
    unsafe fn load(p: *const u32) -> V {
        // SAFETY: AVX-512F; `p` is valid for 16 reads.
        V(unsafe { _mm512_loadu_si512(p.cast()) })
    }

    #[inline(always)]
    unsafe fn less(x: V, t: V) -> __mmask16 {
        // SAFETY: AVX-512F.
        unsafe { _mm512_cmplt_epu32_mask(x.0, t.0) }
    }

    #[inline(always)]
    unsafe fn descend(i: V, m: __mmask16) -> V {
        // SAFETY: AVX-512F.
        unsafe {
            let two = _mm512_add_epi32(i.0, i.0);
            V(_mm512_mask_add_epi32(two, m, two, _mm512_set1_epi32(1)))
        }
    }

    #[inline(always)]
    unsafe fn blend(m: __mmask16, a: V, b: V) -> V {
        // SAFETY: AVX-512F.
        V(unsafe { _mm512_mask_blend_epi32(m, a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn top(thr: *const u32, depth: usize) -> __m512i {
        // Slots 0..16 (levels 0-3); a tree of depth 3 has 8.
        let lanes = (1usize << depth).min(16);
        // SAFETY: AVX-512F; the first `lanes` slots belong to the tree, the rest are
        // masked off.
        unsafe { _mm512_maskz_loadu_epi32(((1u32 << lanes) - 1) as __mmask16, thr.cast()) }
    }

    #[inline(always)]
    unsafe fn top_threshold(top: __m512i, _level: usize, i: V) -> V {
        // SAFETY: AVX-512F; slots 4..16 are in `top`, one register.
        V(unsafe { _mm512_permutexvar_epi32(i.0, top) })
    }

    #[inline(always)]
    unsafe fn lookup(table: *const u32, level: usize, i: V) -> V {
        // SAFETY: AVX-512F; level `level` of the tree exists, so slots
        // `2^level..2^(level+1)` are valid.
        unsafe {
            let first = 1usize << level;
            if level == 4 {
                return V(_mm512_permutexvar_epi32(
                    i.0,
                    _mm512_loadu_si512(table.add(16).cast()),
                ));
            }
            if level >= 8 {
                return V(_mm512_i32gather_epi32::<4>(i.0, table.cast()));
            }
            V(windows(table.add(first), first / 32, i.0))
        }
    }

    #[inline(always)]
    unsafe fn gather_keys(keys: *const u32, f: V, first_row: usize) -> V {
        // SAFETY: AVX-512F; every feature index is below `2 * num_features` and every row
        // below `BLOCK_ROWS`, so each offset is inside the block's keys.
        unsafe {
            let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            let at = _mm512_add_epi32(
                _mm512_slli_epi32::<6>(f.0),
                _mm512_add_epi32(lanes, _mm512_set1_epi32(first_row as i32)),
            );
            V(_mm512_i32gather_epi32::<4>(at, keys.cast()))
        }
    }

    #[inline(always)]
    unsafe fn add_leaves<const D: usize>(leaves: *const f32, i: V, acc: *mut f32) {
        // SAFETY: AVX-512F; the tree has `2^D` leaves and `j < 2^D`; `acc` is valid for 16
        // floats.
        unsafe {
            let j = _mm512_sub_epi32(i.0, _mm512_set1_epi32(1 << D));
            let v = if D <= 4 {
                let n = 1u32 << D;
                let table = _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, leaves);
                _mm512_permutexvar_ps(j, table)
            } else if D >= 8 {
                _mm512_i32gather_ps::<4>(j, leaves)
            } else {
                _mm512_castsi512_ps(windows(leaves.cast(), (1 << D) / 32, j))
            };
            _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_loadu_ps(acc), v));
        }
    }

    #[inline(always)]
    unsafe fn add_constant(v: f32, acc: *mut f32) {
        // SAFETY: AVX-512F; `acc` is valid for 16 floats.
        unsafe { _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_loadu_ps(acc), _mm512_set1_ps(v))) }
    }
}

/// `base[j]` for `j` = the low bits of `i`, over `n` windows of 32 entries (`n` <= 4).
///
/// # Safety
///
/// AVX-512F; `base` is valid for `32 * n` reads.
#[inline(always)]
unsafe fn windows(base: *const u32, n: usize, i: __m512i) -> __m512i {
    // SAFETY: forwarded contract.
    unsafe {
        match n {
            1 => window(base, i),
            2 => _mm512_mask_blend_epi32(
                _mm512_test_epi32_mask(i, _mm512_set1_epi32(32)),
                window(base, i),
                window(base.add(32), i),
            ),
            _ => {
                let b5 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(32));
                let lo = _mm512_mask_blend_epi32(b5, window(base, i), window(base.add(32), i));
                let hi =
                    _mm512_mask_blend_epi32(b5, window(base.add(64), i), window(base.add(96), i));
                _mm512_mask_blend_epi32(_mm512_test_epi32_mask(i, _mm512_set1_epi32(64)), lo, hi)
            }
        }
    }
}

/// `base[j]` for `j` = the low 5 bits of `i`.
///
/// # Safety
///
/// AVX-512F; `base` is valid for 32 reads.
#[inline(always)]
unsafe fn window(base: *const u32, i: __m512i) -> __m512i {
    // SAFETY: forwarded contract.
    unsafe {
        _mm512_permutex2var_epi32(
            _mm512_loadu_si512(base.cast()),
            i,
            _mm512_loadu_si512(base.add(16).cast()),
        )
    }
}
