//! Category codes, with XGBoost's and LightGBM's rules for which input values are valid
//! categories.

use crate::model::Float;

/// The first value that is not a valid category: 2^24, the end of the integers an `f32`
/// holds exactly.
pub const CATEGORY_LIMIT: f64 = 16_777_216.0;

/// The code a non-missing input value denotes: the value truncated toward zero, or
/// `u32::MAX` (a member of no category set) for NaN, negative values and values from 2^24 up.
#[inline]
pub fn code<F: Float>(x: F) -> u32 {
    let v = x.to_f64();
    if (0.0..CATEGORY_LIMIT).contains(&v) {
        v as u32
    } else {
        u32::MAX
    }
}

/// LightGBM's category code (`static_cast<int>` then a sign test): the value truncated toward
/// zero, so `-0.5` is category 0; `u32::MAX` for NaN, values of -1 and below and values from
/// 2^24 up.
#[inline]
pub fn code_truncated<F: Float>(x: F) -> u32 {
    let v = crate::math::trunc(x.to_f64());
    if (0.0..CATEGORY_LIMIT).contains(&v) {
        v as u32
    } else {
        u32::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_truncate_and_reject_invalid_values() {
        assert_eq!(code(3.9f32), 3);
        assert_eq!(code(0.0f32), 0);
        assert_eq!(code(-0.5f32), u32::MAX);
        assert_eq!(code(f32::NAN), u32::MAX);
        assert_eq!(code(16_777_216.0f32), u32::MAX);
        assert_eq!(code(16_777_215.0f64), 16_777_215);
    }

    #[test]
    fn truncated_codes_take_small_negatives_as_zero() {
        assert_eq!(code_truncated(-0.5f64), 0);
        assert_eq!(code(-0.5f64), u32::MAX);
        assert_eq!(code_truncated(2.9f64), 2);
        assert_eq!(code_truncated(-1.0f64), u32::MAX);
        assert_eq!(code_truncated(f64::NAN), u32::MAX);
        assert_eq!(code_truncated(3e9f64), u32::MAX);
    }
}
