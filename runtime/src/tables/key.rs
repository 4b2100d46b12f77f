//! The key encoding: every input value becomes an unsigned integer whose order is the float
//! order, so a split is one integer comparison whatever its float semantics.
//!
//! NaN maps to 0, below every number's key, so a missing value always compares below a
//! split's threshold and takes child `2i + 1`, where the generator puts the default side.
//! A row's keys hold each value twice, as `x` and as `-x` (features `nf..2nf`), so `<`,
//! `<=`, default-left and default-right all become that one comparison.

use super::{Kernel, Tables, TreeRef};
use crate::model::Float;
use alloc::vec::Vec;
use core::fmt::Debug;
use core::ops::{AddAssign, Neg};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A precision tables can hold: `f32` (32-bit keys) or `f64` (64-bit keys).
pub trait TableFloat: Float + AddAssign + Neg<Output = Self> + sealed::Sealed {
    /// The integer a value is compared as.
    type Key: Copy + Ord + Default + Send + Sync + Debug + 'static;
    /// Bytes per value and per key.
    const BYTES: usize;

    /// The comparison key: unsigned order equals float order, `-0` equals `+0`, and NaN is
    /// 0 (below the key of every number).
    fn key(self) -> Self::Key;
    /// A key from its little-endian bytes.
    fn key_from_le(bytes: &[u8]) -> Self::Key;
    /// A key's little-endian bytes, appended to `out`.
    fn key_to_le(key: Self::Key, out: &mut Vec<u8>);
    /// A value from its little-endian bytes.
    fn value_from_le(bytes: &[u8]) -> Self;
    /// A value's little-endian bytes, appended to `out`.
    fn value_to_le(self, out: &mut Vec<u8>);

    /// Adds trees to a batch's blocks with a SIMD kernel that `kernel` allows for this
    /// precision on this CPU; `false` when there is none (the caller then runs the scalar
    /// kernel). See [`super::kernel`].
    #[doc(hidden)]
    fn simd_blocks(
        tables: &Tables<Self>,
        trees: &[TreeRef],
        keys: &[Self::Key],
        acc: &mut [Self],
        blocks: usize,
        kernel: Kernel,
    ) -> bool;
}

impl TableFloat for f32 {
    type Key = u32;
    const BYTES: usize = 4;

    #[inline(always)]
    fn key(self) -> u32 {
        // `+ 0.0` turns -0 into +0; flipping the sign bit (positives) or every bit
        // (negatives) makes the unsigned order the float order.
        let b = (self + 0.0).to_bits();
        let k = b ^ (((b as i32 >> 31) as u32) | 0x8000_0000);
        if self.is_nan() {
            0
        } else {
            k
        }
    }
    fn key_from_le(bytes: &[u8]) -> u32 {
        u32::from_le_bytes(bytes.try_into().unwrap_or_default())
    }
    fn key_to_le(key: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&key.to_le_bytes());
    }
    fn value_from_le(bytes: &[u8]) -> f32 {
        f32::from_le_bytes(bytes.try_into().unwrap_or_default())
    }
    fn value_to_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn simd_blocks(
        tables: &Tables<f32>,
        trees: &[TreeRef],
        keys: &[u32],
        acc: &mut [f32],
        blocks: usize,
        kernel: Kernel,
    ) -> bool {
        super::kernel::simd_blocks_f32(tables, trees, keys, acc, blocks, kernel)
    }
}

impl TableFloat for f64 {
    type Key = u64;
    const BYTES: usize = 8;

    #[inline(always)]
    fn key(self) -> u64 {
        let b = (self + 0.0).to_bits();
        let k = b ^ (((b as i64 >> 63) as u64) | 0x8000_0000_0000_0000);
        if self.is_nan() {
            0
        } else {
            k
        }
    }
    fn key_from_le(bytes: &[u8]) -> u64 {
        u64::from_le_bytes(bytes.try_into().unwrap_or_default())
    }
    fn key_to_le(key: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&key.to_le_bytes());
    }
    fn value_from_le(bytes: &[u8]) -> f64 {
        f64::from_le_bytes(bytes.try_into().unwrap_or_default())
    }
    fn value_to_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn simd_blocks(
        _: &Tables<f64>,
        _: &[TreeRef],
        _: &[u64],
        _: &mut [f64],
        _: usize,
        _: Kernel,
    ) -> bool {
        // No SIMD kernel for 64-bit keys: the scalar one runs.
        false
    }
}

/// Fills `keys` (`2 * row.len()` long) with the keys of `row` followed by those of `-row`.
///
/// # Panics
///
/// When `keys.len() != 2 * row.len()`.
#[inline]
pub fn row_keys<F: TableFloat>(row: &[F], keys: &mut [F::Key]) {
    assert_eq!(keys.len(), 2 * row.len(), "key buffer length");
    let (pos, neg) = keys.split_at_mut(row.len());
    for ((p, n), &x) in pos.iter_mut().zip(neg.iter_mut()).zip(row) {
        *p = x.key();
        *n = (-x).key();
    }
}
