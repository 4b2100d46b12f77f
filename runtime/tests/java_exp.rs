//! `timber_runtime::java::exp` against Java's own `Math.exp`: 20,000 arguments with the
//! results Java 17 (x86_64 HotSpot) gave, from `scripts/java-exp-data.sh`. They cover the
//! H2O margins' range, every path of the algorithm (subnormal results, the edges of
//! underflow and overflow, tiny arguments, |x| >= 1024) and arbitrary bit patterns.

use timber_runtime::java;

#[test]
fn matches_java_math_exp_bit_for_bit() {
    let text = include_str!("data/java_exp.txt");
    let (mut checked, mut differ_from_libm, mut bad) = (0, 0, Vec::new());
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (x, want) = line.split_once(' ').expect("two hex words per line");
        let x = f64::from_bits(u64::from_str_radix(x, 16).unwrap());
        let want = u64::from_str_radix(want, 16).unwrap();
        let got = java::exp(x).to_bits();
        // NaN inputs give NaN back (`x + x`, which keeps the payload and sets the quiet bit).
        if got != want {
            bad.push(format!(
                "exp({x:e} = {:#018x}): got {got:#018x}, Java {want:#018x}",
                x.to_bits()
            ));
        }
        if x.exp().to_bits() != want && !x.is_nan() {
            differ_from_libm += 1;
        }
        checked += 1;
    }
    assert_eq!(checked, 20_000);
    assert!(
        bad.is_empty(),
        "{} of {checked} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // The point of it all: the C library's exp is not Java's on a good share of these.
    assert!(
        differ_from_libm > 20,
        "only {differ_from_libm} differ from libm"
    );
    eprintln!("{differ_from_libm} of {checked} differ from the C library's exp");
}
