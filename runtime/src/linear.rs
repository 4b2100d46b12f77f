//! LightGBM's linear leaves (`linear_tree=True`): `constant + sum(coefficient * x)`.

/// The value a linear leaf multiplies for input `x`: LightGBM's predictor drops input values
/// with `|x| <= zero_band` (its `kZeroThreshold`) from the row before scoring, so they count
/// as exactly `0.0`. NaN stays NaN.
#[inline]
pub fn term_input(x: f64, zero_band: f64) -> f64 {
    if x.abs() <= zero_band {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_values_read_as_zero() {
        let band = f64::from(1e-35f32);
        assert_eq!(term_input(-band, band).to_bits(), 0.0f64.to_bits());
        assert_eq!(term_input(-0.0, band).to_bits(), 0.0f64.to_bits());
        assert_eq!(term_input(2.0 * band, band), 2.0 * band);
        assert!(term_input(f64::NAN, band).is_nan());
    }
}
