//! The two float types models compute in, and what the layouts need of them: keys for
//! inputs ([`KeyFloat`]), exact little-endian storage and addition for sums ([`SumFloat`]).
//!
//! Every layout compares inputs as keys: each value becomes an unsigned integer whose order
//! is the float order, so a split is one integer comparison whatever its float semantics.
//! NaN maps to 0, below every number's key, so a missing value always compares below a
//! split's threshold key and takes the side the generator put the default on. A row's keys
//! hold each value twice, as `x` and as `-x` (features `nf..2nf`), so `<`, `<=`,
//! default-left and default-right all become one comparison: `key < threshold`.

use crate::model::Float;
use alloc::vec::Vec;
use core::fmt::Debug;
use core::ops::{AddAssign, DivAssign, Mul, Neg};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A precision inputs can have: `f32` (32-bit keys) or `f64` (64-bit keys).
pub trait KeyFloat: Float + Neg<Output = Self> + sealed::Sealed {
    /// The integer a value is compared as.
    type Key: Copy + Ord + Default + Send + Sync + Debug + Into<u64> + 'static;
    /// The largest key: above the key of every value.
    const KEY_MAX: Self::Key;
    /// Bytes per key.
    const KEY_BYTES: usize;

    /// The comparison key: unsigned order equals float order, `-0` equals `+0`, and NaN is
    /// 0 (below the key of every number).
    fn key(self) -> Self::Key;
    /// A key from its little-endian bytes.
    fn key_from_le(bytes: &[u8]) -> Self::Key;
    /// A key's little-endian bytes, appended to `out`.
    fn key_to_le(key: Self::Key, out: &mut Vec<u8>);
}

/// A precision margins are summed in: `f32` or `f64`.
pub trait SumFloat: Float + AddAssign + DivAssign + Mul<Output = Self> + sealed::Sealed {
    /// Bytes per value.
    const BYTES: usize;
    /// A value from its little-endian bytes.
    fn value_from_le(bytes: &[u8]) -> Self;
    /// A value's little-endian bytes, appended to `out`.
    fn value_to_le(self, out: &mut Vec<u8>);
}

/// `KeyFloat` and `SumFloat` for a float type, its key type and the signed integer of that
/// width.
macro_rules! floats {
    ($float:ty, $key:ty, $signed:ty) => {
        impl KeyFloat for $float {
            type Key = $key;
            const KEY_MAX: $key = <$key>::MAX;
            const KEY_BYTES: usize = core::mem::size_of::<$key>();

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
        }

        impl SumFloat for $float {
            const BYTES: usize = core::mem::size_of::<$float>();
            fn value_from_le(bytes: &[u8]) -> $float {
                <$float>::from_le_bytes(bytes.try_into().unwrap_or_default())
            }
            fn value_to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

floats!(f32, u32, i32);
floats!(f64, u64, i64);

/// Fills `keys` (`2 * row.len()` long) with the keys of `row` followed by those of `-row`.
///
/// # Panics
///
/// When `keys.len() != 2 * row.len()`.
#[inline]
pub fn row_keys<F: KeyFloat>(row: &[F], keys: &mut [F::Key]) {
    assert_eq!(keys.len(), 2 * row.len(), "key buffer length");
    let (pos, neg) = keys.split_at_mut(row.len());
    for ((p, n), &x) in pos.iter_mut().zip(neg.iter_mut()).zip(row) {
        *p = x.key();
        *n = (-x).key();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_like_floats() {
        let values = [
            f32::NEG_INFINITY,
            -f32::MAX,
            -1.5,
            -f32::MIN_POSITIVE,
            -f32::from_bits(1),
            -0.0,
            0.0,
            f32::from_bits(1),
            1.0,
            f32::MAX,
            f32::INFINITY,
        ];
        for a in values {
            for b in values {
                assert_eq!(a < b, a.key() < b.key(), "{a} < {b}");
                assert_eq!(
                    f64::from(a) < f64::from(b),
                    f64::from(a).key() < f64::from(b).key()
                );
            }
            assert!(f32::NAN.key() < a.key() && f64::NAN.key() < f64::from(a).key());
            assert!(a.key() < f32::KEY_MAX && f64::from(a).key() < f64::KEY_MAX);
        }
        assert_eq!((-0.0f32).key(), 0.0f32.key());
        assert_eq!(f32::NAN.key(), 0);
        assert_eq!((-f64::NAN).key(), 0);
    }
}
