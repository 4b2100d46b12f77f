//! Java's floating-point functions where they differ from the C library's: the H2O
//! transforms need `java.lang.Math.exp` bit for bit.
//!
//! On x86_64 HotSpot (JDK 9 and later, `-XX:+UseLibmIntrinsic`, the default), `Math.exp` is
//! not the C library's `exp` nor `StrictMath.exp` (fdlibm) but Intel's LIBM algorithm, which
//! the JVM's interpreter and both JIT compilers call alike. It gives a different result from
//! glibc's `exp` for about one argument in 400, so a model whose predictions pass through
//! `exp` (H2O's logit and log links, its softmax) would differ from H2O's scorer in the last
//! bit on those rows. [`exp`] computes what that algorithm computes, step by step in the same
//! IEEE double operations (no fused multiply-add), and is tested against `Math.exp` itself
//! (`tests/java_exp.rs`: 20,000 arguments with Java 17's results, every path included).
//!
//! The algorithm: `x = (64 n + j) ln2/64 + r` with `|r| <= ln2/128`, so
//! `e^x = 2^n * 2^(j/64) * e^r`. `2^(j/64)` comes from a table as `Thi[j] * (1 + Tlo[j])`
//! and `e^r - 1` from a degree-6 polynomial; the result is `T + T * p` with `T = 2^n Thi[j]`.
//! Results whose scale `2^n` is not a normal double (beyond about `±2^900`) are scaled in two
//! steps, and subnormal results are assembled from their exact high part and the rounded low
//! part, as the stub does.
//!
//! Caveat: this is HotSpot's x86_64 result. Other JVMs, other CPUs (aarch64) or
//! `-XX:-UseLibmIntrinsic` compute `Math.exp` otherwise (usually as fdlibm).

/// `64 / ln 2`, rounded to nearest.
const INV_STEP: f64 = f64::from_bits(0x4057_1547_652b_82fe);
/// `1.5 * 2^52`: adding it rounds a double of magnitude below `2^51` to an integer, which
/// then sits in the low bits of the sum's representation.
const SHIFTER: f64 = f64::from_bits(0x4338_0000_0000_0000);
/// `ln 2 / 64` rounded to 36 significant bits, so `m * STEP_HI` is exact for every `m` the
/// main path meets.
const STEP_HI: f64 = f64::from_bits(0x3f86_2e42_fefa_0000);
/// `ln 2 / 64 - STEP_HI`, rounded to nearest.
const STEP_LO: f64 = f64::from_bits(0x3d1c_f79a_bc9e_3b3a);

// The polynomial for `e^r - 1 ≈ r + H r^2 + C3 r^3 + C4 r^4 + C5 r^5 + C6 r^6`: the
// coefficients HotSpot's x86_64 `Math.exp` uses (a minimax fit, not the Taylor series: `H` is
// one unit below 1/2). They cannot be derived here and are needed as they are to reproduce
// its bits.
const H: f64 = f64::from_bits(0x3fdf_ffff_ffff_fffe);
const C3: f64 = f64::from_bits(0x3fc5_5555_5554_8ba1);
const C4: f64 = f64::from_bits(0x3fa5_5555_555b_9e25);
const C5: f64 = f64::from_bits(0x3f81_1115_c090_cf0f);
const C6: f64 = f64::from_bits(0x3f56_c15c_e328_9860);

/// `Thi[j]`: the 52 fraction bits of `2^(j/64)` rounded down (the exponent bits are added
/// when the scale `2^n` is known). `tests/java_exp.rs` derives them with exact arithmetic.
const FRACTION: [u64; 64] = [
    0x0000_0000_0000_0000,
    0x0000_2c9a_3e77_8060,
    0x0000_59b0_d315_8574,
    0x0000_8745_1875_9bc8,
    0x0000_b558_6cf9_890f,
    0x0000_e3ec_32d3_d1a2,
    0x0001_1301_d012_5b50,
    0x0001_429a_aea9_2ddf,
    0x0001_72b8_3c7d_517a,
    0x0001_a35b_eb6f_cb75,
    0x0001_d487_3168_b9aa,
    0x0002_063b_8862_8cd6,
    0x0002_387a_6e75_6238,
    0x0002_6b45_65e2_7cdd,
    0x0002_9e9d_f51f_dee1,
    0x0002_d285_a6e4_030b,
    0x0003_06fe_0a31_b715,
    0x0003_3c08_b264_16ff,
    0x0003_71a7_373a_a9ca,
    0x0003_a7db_34e5_9ff6,
    0x0003_dea6_4c12_3422,
    0x0004_160a_21f7_2e29,
    0x0004_4e08_6061_892d,
    0x0004_86a2_b5c1_3cd0,
    0x0004_bfda_d536_2a27,
    0x0004_f9b2_769d_2ca6,
    0x0005_342b_569d_4f81,
    0x0005_6f47_36b5_27da,
    0x0005_ab07_dd48_5429,
    0x0005_e76f_15ad_2148,
    0x0006_247e_b03a_5584,
    0x0006_6238_8255_2224,
    0x0006_a09e_667f_3bcc,
    0x0006_dfb2_3c65_1a2e,
    0x0007_1f75_e8ec_5f73,
    0x0007_5feb_5642_67c8,
    0x0007_a114_73eb_0186,
    0x0007_e2f3_36cf_4e62,
    0x0008_2589_994c_ce12,
    0x0008_68d9_9b44_92ec,
    0x0008_ace5_422a_a0db,
    0x0008_f1ae_9915_7736,
    0x0009_3737_b0cd_c5e4,
    0x0009_7d82_9fde_4e4f,
    0x0009_c491_82a3_f090,
    0x000a_0c66_7b5d_e564,
    0x000a_5503_b23e_255c,
    0x000a_9e6b_5579_fdbf,
    0x000a_e89f_995a_d3ad,
    0x000b_33a2_b84f_15fa,
    0x000b_7f76_f2fb_5e46,
    0x000b_cc1e_904b_c1d2,
    0x000c_199b_dd85_529c,
    0x000c_67f1_2e57_d14b,
    0x000c_b720_dcef_9069,
    0x000d_072d_4a07_897b,
    0x000d_5818_dcfb_a487,
    0x000d_a9e6_03db_3285,
    0x000d_fc97_337b_9b5e,
    0x000e_502e_e78b_3ff6,
    0x000e_a4af_a2a4_90d9,
    0x000e_fa1b_ee61_5a27,
    0x000f_5076_5b6e_4540,
    0x000f_a7c1_819e_90d8,
];

/// `Tlo[j]`: the relative correction `(2^(j/64) - Thi[j]) / Thi[j]`. HotSpot's table holds
/// it rounded to nearest except for 11 entries one unit in the last place away (below, for
/// j = 1, 4, 10, 15, 19, 21, 33, 34, 46, 60; above for j = 22); the same values are needed
/// here. `tests/java_exp.rs` derives the rounded values and checks these differences.
const CORRECTION: [u64; 64] = [
    0x0000_0000_0000_0000,
    0x3cad_7bbf_0e03_754d,
    0x3c8c_d252_3567_f613,
    0x3c60_f74e_61e6_c861,
    0x3c97_9aa6_5d83_7b6c,
    0x3c3e_be3d_702f_9cd1,
    0x3ca3_516e_1e63_bcd8,
    0x3ca4_c554_26f0_387b,
    0x3ca9_5153_6252_3fb6,
    0x3c8b_898c_3f13_53bf,
    0x3c9a_ecf7_3e3a_2f5f,
    0x3c8a_6f41_44a6_c38d,
    0x3c96_8efd_e3a8_a894,
    0x3c80_472b_981f_e7f2,
    0x3c82_f7e1_6d09_ab31,
    0x3c8b_3782_720c_0ab3,
    0x3c83_4d75_4db0_abb6,
    0x3c8f_dd39_5dd3_f84a,
    0x3ca1_2f8c_cc18_7d29,
    0x3ca7_d229_738b_5e8b,
    0x3c85_9f48_a72a_4c6d,
    0x3ca8_b846_259d_9205,
    0x3c43_63ed_60c2_ac12,
    0x3c6e_cce1_daa1_0379,
    0x3c76_90ce_bb7a_afb0,
    0x3ca0_83cc_9b28_2a09,
    0x3ca5_09b0_c1aa_e707,
    0x3c93_3505_18fd_d78e,
    0x3c90_63e1_e21c_5409,
    0x3c94_32e6_2b64_c035,
    0x3ca0_1284_99f0_8c0a,
    0x3c99_f087_0073_dc06,
    0x3c99_8d4d_0da0_5571,
    0x3ca5_2bb9_86ce_4786,
    0x3ca3_2092_206f_0dab,
    0x3ca0_6122_8e17_a7a6,
    0x3ca2_44ac_461e_9f86,
    0x3c65_ebe1_abd6_6c55,
    0x3c96_fe9f_bbff_67d0,
    0x3c95_1f14_14c8_01df,
    0x3c8d_b72f_c1f0_eab4,
    0x3c7b_f683_59f3_5f44,
    0x3ca3_60ba_9c06_283c,
    0x3c95_e8d1_20f9_62aa,
    0x3c71_affc_2b91_ce27,
    0x3c9b_6d34_589a_2ebd,
    0x3c95_277c_9ab8_9880,
    0x3c84_6984_6e73_5ab3,
    0x3c8c_1a77_92cb_3387,
    0x3ca2_2466_dc2d_1d96,
    0x3ca1_112e_b195_05ae,
    0x3c74_ffd7_0a5f_ddcd,
    0x3c73_6eae_30af_0cb3,
    0x3c84_e08f_d109_59ac,
    0x3c67_6b2c_6c92_1968,
    0x3c93_7009_36df_99b3,
    0x3c74_a385_a63d_07a7,
    0x3c8e_5a50_d5c1_92ac,
    0x3c98_bb73_1c4a_9792,
    0x3c74_b604_603a_88d3,
    0x3c91_6f27_9209_4926,
    0x3c8e_c3bc_41aa_2008,
    0x3c8a_64a9_31d1_85ee,
    0x3c77_893b_4d91_cd9d,
];

/// `java.lang.Math.exp(x)` as x86_64 HotSpot computes it, bit for bit.
pub fn exp(x: f64) -> f64 {
    let bits = x.to_bits();
    // The biased exponent: 0x3c90 is 2^-54, 0x408f covers |x| < 1024.
    let top = ((bits >> 48) & 0x7fff) as u32;
    if !(0x3c90..=0x408f).contains(&top) {
        return exp_special(x, top);
    }
    // x = m ln2/64 + r, m = 64 n + j.
    let t = x * INV_STEP + SHIFTER;
    let m = t - SHIFTER;
    let r = (x - m * STEP_HI) - m * STEP_LO;
    // The integer m is in the low 32 bits of `t`.
    let mi = t.to_bits() as u32;
    let j = (mi & 63) as usize;
    let n = (mi as i32) >> 6;
    // `2^n Thi[j]` with the exponent field set by integer arithmetic: (n + 1023) << 52,
    // wrapping as the stub's 64-bit lane arithmetic does (only used when it fits).
    let exponent = u64::from(mi & !63).wrapping_add(0xffc0) << 46;
    let scale = f64::from_bits(FRACTION[j] | exponent);

    let r2 = r * r;
    let r3 = r * r2;
    let high = (r3 * r2) * (C5 + C6 * r);
    let low = r3 * (C3 + C4 * r);
    let p = (low + ((r + f64::from_bits(CORRECTION[j])) + high)) + r2 * H;

    if (-894..=1022).contains(&n) {
        return p * scale + scale;
    }
    exp_rescaled(p, scale, n)
}

/// Arguments of magnitude below 2^-54, from 1024 up, infinities and NaN.
#[cold]
fn exp_special(x: f64, top: u32) -> f64 {
    if top < 0x3c90 {
        return x + 1.0;
    }
    if x.is_nan() {
        return x + x;
    }
    match (x.is_infinite(), x > 0.0) {
        (true, true) => f64::INFINITY,
        (true, false) => 0.0,
        // Overflow and underflow, as the stub produces them: by squaring the largest
        // finite double and the smallest normal one.
        (false, true) => f64::MAX * f64::MAX,
        (false, false) => f64::MIN_POSITIVE * f64::MIN_POSITIVE,
    }
}

/// `p * T + T` for a scale `2^n` that is not a normal double (`n < -894` or `n > 1022`):
/// `T` is split into `2^(n - n/2) Thi[j]` and `2^(n/2)`, and subnormal results are built
/// from the part of `T` that is exact at their precision plus the rest, rounded once.
#[cold]
fn exp_rescaled(p: f64, scale: f64, n: i32) -> f64 {
    let half = n >> 1;
    // The stub subtracts `half` from the exponent field of the high 32-bit word, wrapping.
    let shift = (((half as u32) & 0xfff) as u64) << 52;
    let hi_word = ((scale.to_bits() >> 32) as u32).wrapping_sub((shift >> 32) as u32);
    let t2 = f64::from_bits((u64::from(hi_word) << 32) | (scale.to_bits() & 0xffff_ffff));
    // 2^half, built the same way.
    let s = f64::from_bits(u64::from(((shift >> 32) as u32).wrapping_add(0x3ff0_0000)) << 32);
    let y = p * t2;
    // Bits of the result below 2^-1074, counted from the bottom of t2's fraction.
    let below = -1022 - n;
    if below > 52 {
        return (y + t2) * s;
    }
    // `t2` without those bits (all of it when the result is normal, none when `below`
    // is negative: the stub's shift by a count above 63 gives zero).
    let mask = if (0..64).contains(&below) {
        u64::MAX << below
    } else {
        0
    };
    let t2_high = f64::from_bits(t2.to_bits() & mask);
    let y2 = y + (t2 - t2_high);
    if n >= 1023 {
        return (y2 + t2_high) * s;
    }
    if below == 0 && y2.to_bits() >> 63 == 0 {
        return (y2 + t2_high) * s;
    }
    let result = (y2 + t2_high) * s;
    if result.to_bits() & 0x7ff0_0000_0000_0000 != 0 {
        return result;
    }
    // A subnormal result: the exact high part plus the low part rounded once, added as
    // integers (subnormal bit patterns are proportional to their values).
    let low = y2 * s;
    let high = t2_high * s;
    let magnitude = low.to_bits() & !(1u64 << 63);
    let bits = if (low.to_bits() ^ high.to_bits()) >> 63 != 0 {
        high.to_bits().wrapping_sub(magnitude)
    } else {
        high.to_bits().wrapping_add(magnitude)
    };
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_points_and_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY).to_bits(), 0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(1e-300), 1.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(2000.0), f64::INFINITY);
        assert_eq!(exp(-2000.0).to_bits(), 0);
        // The smallest subnormal and the largest finite result.
        assert_eq!(exp(-744.440_071_921_381_2), f64::from_bits(1));
        assert!(exp(709.782712893384).is_finite());
    }

    #[test]
    fn close_to_the_true_value() {
        for i in -4000..4000 {
            let x = f64::from(i) / 100.0;
            let (java, reference) = (exp(x), crate::math::exp(x));
            assert!(
                java.to_bits().abs_diff(reference.to_bits()) <= 1,
                "exp({x}): {java:e} vs {reference:e}"
            );
        }
    }
}

/// The constants above, derived with exact big-number arithmetic.
#[cfg(test)]
mod derivation {
    use super::*;
    use num_bigint::BigUint;

    /// `2^e` as a big integer.
    fn pow2(e: u32) -> BigUint {
        BigUint::from(1u8) << e
    }

    /// `v / 2^scale` (v > 0) rounded to the nearest double, given that `v` is within `err`
    /// of the true value: the rounding must not depend on that error.
    fn round(v: &BigUint, scale: u32, err: &BigUint) -> f64 {
        let len = v.bits() as u32;
        let shift = len - 53;
        let mut mantissa = v >> shift;
        let rest = v - (&mantissa << shift);
        let half = pow2(shift - 1);
        let distance = if rest > half {
            &rest - &half
        } else {
            &half - &rest
        };
        assert!(distance > *err, "too close to a rounding boundary");
        if rest > half {
            mantissa += 1u8;
        }
        let mantissa: u64 = mantissa.try_into().unwrap();
        // mantissa * 2^(shift - scale), with the exponent of the leading bit.
        let exponent = (len as i32 - 1) - scale as i32;
        let (mantissa, exponent) = if mantissa == 1 << 53 {
            (1 << 52, exponent + 1)
        } else {
            (mantissa, exponent)
        };
        f64::from_bits(((exponent + 1023) as u64) << 52 | (mantissa & ((1 << 52) - 1)))
    }

    /// `ln 2` to 400 bits (scaled by 2^400) from `ln 2 = 2 atanh(1/3)`, and the error bound
    /// of the truncated terms in the same unit.
    fn ln2() -> (BigUint, BigUint) {
        let one = pow2(400);
        let (mut sum, mut k) = (BigUint::from(0u8), 0u32);
        loop {
            let denominator = BigUint::from(2 * k + 1) * BigUint::from(3u8).pow(2 * k + 1);
            let term = (&one << 1) / denominator;
            if term == BigUint::from(0u8) {
                return (sum, BigUint::from(k + 1));
            }
            sum += term;
            k += 1;
        }
    }

    #[test]
    fn reduction_constants() {
        let (ln2, err) = ln2();
        // 64 / ln 2 = 2^406 / (ln2 * 2^400), to 400 bits.
        let quotient = (pow2(806) << 6) / &ln2;
        assert_eq!(round(&quotient, 406, &pow2(20)), INV_STEP);
        // ln2 / 64 rounded to 36 bits, and the rest.
        let step = &ln2; // scaled by 2^406 as ln2/64
        let len = step.bits() as u32;
        let drop = len - 36;
        let high = ((step + pow2(drop - 1)) >> drop) << drop;
        assert_eq!(round(&high, 406, &BigUint::from(0u8)), STEP_HI);
        let rest = step - &high;
        assert_eq!(round(&rest, 406, &err), STEP_LO);
        assert_eq!(SHIFTER, 1.5 * 2f64.powi(52));
    }

    #[test]
    fn table_of_two_to_the_j_over_64() {
        const K: u32 = 256;
        let mut off = Vec::new();
        for j in 0..64u32 {
            // floor(2^(j/64) * 2^52): the largest integer whose 64th power is at most
            // 2^(j + 52*64).
            let hi = pow2(j + 52 * 64).nth_root(64);
            assert_eq!(
                u64::try_from(&hi).unwrap() - (1 << 52),
                FRACTION[j as usize],
                "Thi[{j}]"
            );
            // (2^(j/64) - Thi) / Thi, with 2^(j/64) to K bits (error below one unit).
            let exact = pow2(j + 64 * K).nth_root(64);
            let diff = &exact - (&hi << (K - 52));
            let rounded = if diff == BigUint::from(0u8) {
                0.0
            } else {
                let scaled = (diff << 320) / (&hi << (K - 52));
                round(&scaled, 320, &pow2(320 - K + 1))
            };
            let table = CORRECTION[j as usize];
            let ulps = table as i64 - rounded.to_bits() as i64;
            if ulps != 0 {
                off.push((j, ulps));
            }
        }
        let hotspot = [
            (1, -1),
            (4, -1),
            (10, -1),
            (15, -1),
            (19, -1),
            (21, -1),
            (22, 1),
            (33, -1),
            (34, -1),
            (46, -1),
            (60, -1),
        ];
        assert_eq!(off, hotspot);
    }
}
