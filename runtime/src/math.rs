//! The few libm functions the transforms need: the platform's with `std` (the C library's,
//! which the training libraries call too: bit-exact with them on the same platform), the
//! `libm` crate's without.
//!
//! The `libm` crate is not bit-identical to glibc: on random margins in ±100 about 9% of
//! `expf` and 10% of `exp` results differ, always by one unit in the last place
//! (`tests::libm_is_within_one_ulp_of_std`). So a `no_std` build (and any build for a target
//! without a C library, such as `wasm32-unknown-unknown`) computes margins bit-exactly and
//! may differ from the training library in the last bit of a transformed prediction
//! (sigmoid, softmax, exp).

/// `e^x` in `f32`.
#[inline]
pub(crate) fn expf(x: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        x.exp()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::expf(x)
    }
}

/// `e^x` in `f64`.
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.exp()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::exp(x)
    }
}

/// `ln(1 + x)` in `f64`.
#[inline]
pub(crate) fn log1p(x: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.ln_1p()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::log1p(x)
    }
}

/// `x` rounded toward zero.
#[inline]
pub(crate) fn trunc(x: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.trunc()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::trunc(x)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    /// xorshift64*: deterministic test data without a dependency.
    fn values(n: usize) -> impl Iterator<Item = u64> {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        (0..n).map(move |_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_F491_4F6C_DD1D)
        })
    }

    /// The distance in units in the last place between two floats of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn libm_is_within_one_ulp_of_std() {
        let (mut expf_differ, mut exp_differ, mut n) = (0, 0, 0);
        for bits in values(1_000_000) {
            // Margins of real models: within ±100.
            let x64 = (bits >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0;
            let x32 = x64 as f32;
            let (s32, l32) = (x32.exp(), libm::expf(x32));
            assert!(
                s32.to_bits().abs_diff(l32.to_bits()) <= 1,
                "expf({x32:e}): std {s32:e}, libm {l32:e}"
            );
            expf_differ += usize::from(s32 != l32);
            let (s64, l64) = (x64.exp(), libm::exp(x64));
            assert!(
                ulps(s64, l64) <= 1,
                "exp({x64:e}): std {s64:e}, libm {l64:e}"
            );
            exp_differ += usize::from(s64 != l64);
            assert!(ulps(x64.ln_1p(), libm::log1p(x64.abs())) <= 1 || x64 < 0.0);
            assert_eq!(x64.trunc().to_bits(), libm::trunc(x64).to_bits());
            n += 1;
        }
        // The figures the module docs state.
        assert!(
            expf_differ * 100 <= 10 * n,
            "expf differs on {expf_differ} of {n}"
        );
        assert!(
            exp_differ * 100 <= 11 * n,
            "exp differs on {exp_differ} of {n}"
        );
    }
}
