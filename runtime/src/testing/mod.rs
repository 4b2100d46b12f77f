//! Support shared by the layouts' kernel tests: seeded random data, blobs in aligned storage,
//! and the check that every kernel (and the row path) scores like a reference.

#[allow(dead_code)] // `unit_f32` serves the benchmarks only.
mod rng;

pub use rng::{Mix, Rng};

use crate::batch::{score, Block};
use crate::blob::Aligned;
use crate::float::row_keys;
use crate::kernel::{with_kernel, Kernel};
use crate::{KeyFloat, SumFloat};

/// `blob` copied into leaked 64-aligned storage, so the zero-copy load path is exercised.
pub fn leak(blob: Vec<u8>) -> &'static [u8] {
    let words = blob.len().div_ceil(64);
    let storage: &'static mut [Aligned<[u8; 64]>] =
        Vec::leak((0..words).map(|_| Aligned([0u8; 64])).collect());
    // SAFETY: `storage` is `words * 64` initialised bytes.
    let bytes: &'static mut [u8] =
        unsafe { std::slice::from_raw_parts_mut(storage.as_mut_ptr().cast(), words * 64) };
    bytes[..blob.len()].copy_from_slice(&blob);
    &bytes[..blob.len()]
}

/// Base margins for `ng` groups, distinct per group so a tree added to the wrong group shows.
pub fn base<O: SumFloat>(ng: usize) -> Vec<O> {
    (0..ng)
        .map(|g| O::from_f64(g as f64 * 0.5 - 0.25))
        .collect()
}

/// The bit patterns of `v`, so that comparisons are exact (NaN and signed zeros included).
pub fn bits<O: SumFloat>(v: &[O]) -> Vec<u64> {
    v.iter().map(|v| v.to_f64().to_bits()).collect()
}

/// Draws `rows` random rows of `nf` features from `rng`, scores them under every kernel with
/// `plan` adding the trees, then row by row with `add_row(row, keys, margins)`, and asserts
/// each gives what `reference(row)` gives, to the bit. `what` names the case in failure
/// messages.
#[allow(clippy::too_many_arguments)] // Each is one part of the case; a struct would only rename them.
pub fn check_every_kernel<I: KeyFloat, O: SumFloat>(
    rng: &mut Rng,
    nf: usize,
    rows: usize,
    base: &[O],
    reference: impl Fn(&[I]) -> Vec<O>,
    mut plan: impl FnMut(&mut Block<'_, I, O>),
    mut add_row: impl FnMut(&[I], &[I::Key], &mut [O]),
    what: &str,
) {
    let ng = base.len();
    let x: Vec<I> = (0..rows * nf).map(|_| I::from_f64(rng.value())).collect();
    let expected: Vec<O> = (0..rows)
        .flat_map(|r| reference(&x[r * nf..(r + 1) * nf]))
        .collect();
    let (x, expected) = (&x[..], &expected[..]);
    for kernel in [Kernel::Auto, Kernel::Avx2, Kernel::Scalar] {
        let mut out = vec![O::default(); rows * ng];
        with_kernel(kernel, || {
            score(nf, base, x, &mut out, ng, &mut plan, |m, o| {
                o.copy_from_slice(m)
            })
        });
        assert_eq!(bits(&out), bits(expected), "batch ({kernel:?}), {what}");
    }
    for r in 0..rows {
        let row = &x[r * nf..(r + 1) * nf];
        let mut keys = vec![I::Key::default(); 2 * nf];
        row_keys(row, &mut keys);
        let mut m = base.to_vec();
        add_row(row, &keys, &mut m);
        assert_eq!(
            bits(&m),
            bits(&expected[r * ng..(r + 1) * ng]),
            "row {r}, {what}"
        );
    }
}
