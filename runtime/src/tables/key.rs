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

    /// The SIMD block kernel for this precision, if there is one (see [`super::kernel`]).
    #[doc(hidden)]
    fn simd_blocks() -> Option<SimdBlocks<Self>>;
}

/// A SIMD block kernel: adds trees to a batch's blocks with a kernel that `kernel` allows on
/// this CPU, or returns `false` when there is none (the caller then runs the scalar one).
#[doc(hidden)]
pub type SimdBlocks<F> =
    fn(&Tables<F>, &[TreeRef], &[<F as TableFloat>::Key], &mut [F], usize, Kernel) -> bool;

/// `TableFloat` for a float type, its key type and the signed integer of that width.
macro_rules! table_float {
    ($float:ty, $key:ty, $signed:ty, $simd:expr) => {
        impl TableFloat for $float {
            type Key = $key;
            const BYTES: usize = core::mem::size_of::<$float>();

            #[inline(always)]
            fn key(self) -> $key {
                // `+ 0.0` turns -0 into +0; flipping the sign bit (positives) or every bit
                // (negatives) makes the unsigned order the float order.
                let b = (self + 0.0).to_bits();
                let top = <$key>::BITS - 1;
                let k = b ^ (((b as $signed >> top) as $key) | (1 << top));
                if self.is_nan() {
                    0
                } else {
                    k
                }
            }
            fn key_from_le(bytes: &[u8]) -> $key {
                <$key>::from_le_bytes(bytes.try_into().unwrap_or_default())
            }
            fn key_to_le(key: $key, out: &mut Vec<u8>) {
                out.extend_from_slice(&key.to_le_bytes());
            }
            fn value_from_le(bytes: &[u8]) -> $float {
                <$float>::from_le_bytes(bytes.try_into().unwrap_or_default())
            }
            fn value_to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn simd_blocks() -> Option<SimdBlocks<$float>> {
                $simd
            }
        }
    };
}

table_float!(f32, u32, i32, Some(super::kernel::simd_blocks_f32));
// No SIMD kernel for 64-bit keys: the scalar one runs.
table_float!(f64, u64, i64, None);

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
