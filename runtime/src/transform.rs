//! Output transforms, each with the float semantics of the library that defines it.
//!
//! Bit-exactness depends on doing the same operations in the same order and precision as
//! the training library, so each function names whose semantics it follows.

/// XGBoost's logistic transform (`common::Sigmoid`), in `f32`.
///
/// XGBoost clamps the exponent at 88.7 so that the denominator stays finite; for every
/// margin above -88.7 this is exactly `1 / (1 + exp(-x))`.
#[inline]
pub fn xgb_sigmoid(x: f32) -> f32 {
    let neg = -x;
    // Written as a comparison, not `f32::min`, to keep C++ std::min's NaN behaviour.
    let z = if 88.7f32 < neg { 88.7f32 } else { neg };
    1.0f32 / (z.exp() + 1.0f32)
}

/// XGBoost's softmax (`common::Softmax`): max in `f32`, `exp(x - max)` in `f32`, the sum
/// in `f64`, then each value divided by the sum rounded to `f32`.
#[inline]
pub fn xgb_softmax(values: &mut [f32]) {
    let Some(&first) = values.first() else {
        return;
    };
    let mut max = first;
    for &v in &values[1..] {
        max = v.max(max);
    }
    let mut sum = 0.0f64;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += f64::from(*v);
    }
    let sum = sum as f32;
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// Index of the first maximum (`std::max_element` semantics), as `multi:softmax` reports it.
#[inline]
pub fn argmax<F: PartialOrd + Copy>(values: &[F]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate().skip(1) {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// XGBoost's `binary:hinge` prediction: 1 for a positive margin, else 0.
#[inline]
pub fn xgb_hinge(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// `exp` in `f32` (count:poisson, reg:gamma, reg:tweedie, survival:cox, survival:aft).
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    x.exp()
}

/// `exp` computed in `f64` and rounded to `f32`, as C's `exp(double)` on a float argument
/// (XGBoost's survival:aft).
#[inline]
pub fn exp_via_f64(x: f32) -> f32 {
    f64::from(x).exp() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0f32]), 0);
    }

    #[test]
    fn sigmoid_clamps_like_xgboost() {
        // Without the clamp, exp(100) overflows to inf and the result is exactly 0.
        assert!(xgb_sigmoid(-100.0) > 0.0);
        assert_eq!(xgb_sigmoid(-100.0), xgb_sigmoid(-88.7));
        assert_eq!(xgb_sigmoid(0.0), 0.5);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut v = [1.0f32, 2.0, 3.0];
        xgb_softmax(&mut v);
        assert!(v[0] < v[1] && v[1] < v[2]);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
