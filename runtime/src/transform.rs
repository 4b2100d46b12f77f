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
    1.0f32 / (crate::math::expf(z) + 1.0f32)
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
        *v = crate::math::expf(*v - max);
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
    crate::math::expf(x)
}

/// `exp` computed in `f64` and rounded to `f32`, as C's `exp(double)` on a float argument
/// (XGBoost's survival:aft).
#[inline]
pub fn exp_via_f64(x: f32) -> f32 {
    crate::math::exp(f64::from(x)) as f32
}

/// The logistic transform of LightGBM (`binary`, `multiclassova` with their `sigmoid:` factor,
/// `cross_entropy`) and of scikit-learn (`scipy.special.expit`), in `f64`:
/// `1 / (1 + exp(-scale * x))`, the product taken with the negated factor as LightGBM writes it.
#[inline]
pub fn logistic(x: f64, scale: f64) -> f64 {
    1.0 / (1.0 + crate::math::exp(-scale * x))
}

/// LightGBM's softmax (`Common::Softmax`), all in `f64`: the maximum, `exp(x - max)`, their
/// sum from left to right, then each value divided by the sum.
#[inline]
pub fn softmax_f64(values: &mut [f64]) {
    if !exp_shifted(values) {
        return;
    }
    let mut sum = 0.0f64;
    for v in values.iter() {
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// scikit-learn's softmax (`sklearn.utils.extmath.softmax`, through numpy): as
/// [`softmax_f64`] but the sum is numpy's pairwise summation, which differs from a
/// left-to-right sum from eight values up.
#[inline]
pub fn softmax_numpy(values: &mut [f64]) {
    if !exp_shifted(values) {
        return;
    }
    let sum = numpy_sum(values);
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// Replaces each value by `exp(x - max)`; false when there are no values.
#[inline]
fn exp_shifted(values: &mut [f64]) -> bool {
    let Some((&first, rest)) = values.split_first() else {
        return false;
    };
    let mut max = first;
    for &v in rest {
        // `std::max(v, max)` / `np.max`: a comparison, not `f64::max`.
        if max < v {
            max = v;
        }
    }
    for v in values.iter_mut() {
        *v = crate::math::exp(*v - max);
    }
    true
}

/// numpy's pairwise summation of a contiguous row (`pairwise_sum` in its `add` reduction):
/// fewer than 8 values are added left to right from -0.0; up to 128 go to eight running sums
/// combined as a tree, with the remainder added in order; longer rows are split in two at a
/// multiple of 8 and summed recursively.
pub fn numpy_sum(a: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        let mut res = -0.0f64;
        for &v in a {
            res += v;
        }
        res
    } else if n <= BLOCK {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[whole..] {
            res += v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        numpy_sum(&a[..half]) + numpy_sum(&a[half..])
    }
}

/// `exp` in `f64` (LightGBM's `poisson`, `gamma`, `tweedie`).
#[inline]
pub fn exp_f64(x: f64) -> f64 {
    crate::math::exp(x)
}

/// LightGBM's `regression` with `reg_sqrt`: `sign(x) * x * x`, multiplied in that order.
#[inline]
pub fn signed_square(x: f64) -> f64 {
    let sign = if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    };
    sign * x * x
}

/// LightGBM's `cross_entropy_lambda`: `log1p(exp(x))`.
#[inline]
pub fn log1p_exp(x: f64) -> f64 {
    crate::math::log1p(crate::math::exp(x))
}

/// H2O's sanitised exponential (`GbmMojoModel.exp`, its GBM log link): `min(1e19, e^x)`
/// with Java's `Math.exp` ([`crate::java::exp`]).
#[inline]
pub fn h2o_exp(x: f64) -> f64 {
    java_min(1e19, crate::java::exp(x))
}

/// H2O GBM's bernoulli probabilities (logit link): `[1 - p, p]` with
/// `p = 1 / (1 + min(1e19, e^-f))`, Java's `Math.exp`.
#[inline]
pub fn h2o_logistic(f: f64) -> [f64; 2] {
    let p = 1.0 / (1.0 + h2o_exp(-f));
    [1.0 - p, p]
}

/// H2O's softmax (`GenModel.GBM_rescale`): the maximum by `Math.max`, `e^(x - max)` by Java's
/// `Math.exp` (no clamp), their sum from 0.0 left to right, then each divided by the sum.
#[inline]
pub fn h2o_softmax(values: &mut [f64]) {
    let mut max = f64::NEG_INFINITY;
    for &v in values.iter() {
        max = java_max(max, v);
    }
    let mut sum = 0.0f64;
    for v in values.iter_mut() {
        *v = crate::java::exp(*v - max);
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// H2O DRF's binomial probabilities from the first class's: `[p, 1 - p]`.
#[inline]
pub fn complement(p: f64) -> [f64; 2] {
    [p, 1.0 - p]
}

/// H2O DRF's class probabilities: each value divided by their sum (from 0.0, left to right)
/// when the sum is positive; otherwise the values as they are.
#[inline]
pub fn normalize_by_sum(values: &mut [f64]) {
    let mut sum = 0.0f64;
    for &v in values.iter() {
        sum += v;
    }
    if sum > 0.0 {
        for v in values.iter_mut() {
            *v /= sum;
        }
    }
}

/// H2O's correction of probabilities learnt on rebalanced classes
/// (`GenModel.correctProbabilities`): each probability times its class's factor (the prior
/// class share over the trained one; 1 where either is 0), then all divided by their sum
/// (from 0.0, left to right) when it is positive.
#[inline]
pub fn correct_probabilities(values: &mut [f64], factors: &[f64]) {
    let mut sum = 0.0f64;
    for (v, &f) in values.iter_mut().zip(factors) {
        *v *= f;
        sum += *v;
    }
    if sum > 0.0 {
        for v in values.iter_mut() {
            *v /= sum;
        }
    }
}

/// Java's `Math.min(a, b)`: NaN if either is, and -0.0 below +0.0.
#[inline]
fn java_min(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        a
    } else if a == 0.0 && b == 0.0 && b.is_sign_negative() {
        b
    } else if a <= b {
        a
    } else {
        b
    }
}

/// Java's `Math.max(a, b)`: NaN if either is, and +0.0 above -0.0.
#[inline]
fn java_max(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        a
    } else if a == 0.0 && b == 0.0 && a.is_sign_negative() {
        b
    } else if a >= b {
        a
    } else {
        b
    }
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
    fn numpy_sum_is_pairwise_from_eight_values() {
        // Left to right below 8 values.
        let small = [1e16, 1.0, 1.0, -1e16];
        assert_eq!(numpy_sum(&small), ((1e16 + 1.0) + 1.0) - 1e16);
        // Eight running sums combined as a tree: the 1.0s meet each other before 1e16.
        let mut eight = [1.0f64; 9];
        eight[0] = 1e16;
        eight[4] = -1e16;
        let pairwise = ((1e16 + 1.0) + (1.0 + 1.0)) + ((-1e16 + 1.0) + (1.0 + 1.0)) + 1.0;
        assert_eq!(numpy_sum(&eight), pairwise);
        let mut left_to_right = 0.0;
        for v in eight {
            left_to_right += v;
        }
        assert_ne!(numpy_sum(&eight), left_to_right);
        // Long rows split recursively at a multiple of 8.
        let long: Vec<f64> = (0..300).map(|i| 1.0 / (1.0 + i as f64)).collect();
        assert_eq!(
            numpy_sum(&long),
            numpy_sum(&long[..144]) + numpy_sum(&long[144..])
        );
    }

    #[test]
    fn f64_transforms_follow_their_libraries() {
        assert_eq!(logistic(0.0, 1.0), 0.5);
        assert_eq!(logistic(2.0, 0.5), 1.0 / (1.0 + (-1.0f64).exp()));
        assert_eq!(signed_square(-3.0), -9.0);
        assert_eq!(signed_square(0.0), 0.0);
        assert_eq!(log1p_exp(0.0), 1.0f64.ln_1p());
        let mut v = [1.0f64, 2.0, 3.0];
        softmax_f64(&mut v);
        assert!(v[0] < v[1] && v[1] < v[2]);
        let mut w = [1.0f64, 2.0, 3.0];
        softmax_numpy(&mut w);
        assert_eq!(v, w, "the sums agree below eight values");
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut v = [1.0f32, 2.0, 3.0];
        xgb_softmax(&mut v);
        assert!(v[0] < v[1] && v[1] < v[2]);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn h2o_transforms_follow_h2o() {
        // The clamp: e^50 is above 1e19.
        assert_eq!(h2o_exp(50.0), 1e19);
        assert_eq!(h2o_exp(0.0), 1.0);
        assert_eq!(h2o_logistic(-50.0)[1], 1.0 / (1.0 + 1e19));
        let [p0, p1] = h2o_logistic(0.3);
        assert_eq!(p0, 1.0 - p1);
        let mut v = [1.0, 2.0, 3.0];
        h2o_softmax(&mut v);
        assert!(v[0] < v[1] && v[1] < v[2]);
        assert_eq!(complement(0.25), [0.25, 0.75]);
        let mut zeros = [0.0, 0.0];
        normalize_by_sum(&mut zeros);
        assert_eq!(zeros, [0.0, 0.0], "a zero sum leaves the values");
        let mut w = [1.0, 3.0];
        normalize_by_sum(&mut w);
        assert_eq!(w, [0.25, 0.75]);
        let mut c = [0.5, 0.5];
        correct_probabilities(&mut c, &[3.0, 1.0]);
        assert_eq!(c, [0.75, 0.25]);
        assert!(java_min(f64::NAN, 1.0).is_nan());
        assert!(java_max(-0.0, 0.0).is_sign_positive());
        assert!(java_min(0.0, -0.0).is_sign_negative());
    }
}
