//! The kernels against a plain one-tree-at-a-time walk, on random tables of every depth.

use super::*;
use crate::float::row_keys;
use crate::testing::{base, check_every_kernel, leak, Mix, Rng};

/// Values with ties, signed zeros and NaN.
const VALUES: Mix = Mix {
    odds: 20,
    special: &[f64::NAN, -0.0, 0.0],
    ints: 5,
};

fn random_tables<F: TableFloat>(
    rng: &mut Rng,
    nf: usize,
    ng: usize,
    depths: &[u32],
) -> Vec<TreeTable<F>> {
    depths
        .iter()
        .map(|&depth| {
            let slots = 1usize << depth;
            TreeTable {
                depth,
                group: rng.below(ng) as u32,
                features: (0..slots)
                    .map(|s| if s == 0 { 0 } else { rng.below(2 * nf) as u32 })
                    .collect(),
                thresholds: (0..slots)
                    .map(|_| {
                        let v = rng.value();
                        F::from_f64(if v.is_nan() { 1.5 } else { v }).key()
                    })
                    .collect(),
                leaves: (0..slots)
                    .map(|_| F::from_f64(rng.value().max(-3.0) * 0.37))
                    .map(|v| {
                        if v.to_f64().is_nan() {
                            F::from_f64(0.25)
                        } else {
                            v
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The reference: each tree walked alone, added in order.
fn reference<F: TableFloat>(trees: &[TreeTable<F>], base: &[F], row: &[F]) -> Vec<F> {
    let mut keys = vec![F::Key::default(); 2 * row.len()];
    row_keys(row, &mut keys);
    let mut m = base.to_vec();
    for t in trees {
        let mut i = 1;
        for _ in 0..t.depth {
            i = 2 * i + usize::from(keys[t.features[i] as usize] < t.thresholds[i]);
        }
        m[t.group as usize] += t.leaves[i - (1 << t.depth)];
    }
    m
}

fn check_kernels<F: TableFloat>(seed: u64, nf: usize, ng: usize, depths: &[u32], rows: usize) {
    let mut rng = Rng::with_mix(seed, VALUES);
    let trees = random_tables::<F>(&mut rng, nf, ng, depths);
    let tables = Tables::<F>::new(leak(encode(nf, ng, &trees))).expect("valid tables");
    assert!(matches!(tables.features, Cow::Borrowed(_)));
    let base: Vec<F> = base(ng);
    check_every_kernel(
        &mut rng,
        nf,
        rows,
        &base,
        |row| reference(&trees, &base, row),
        |b| {
            // Split the trees in two calls and a per-row no-op, as a generated plan may.
            let half = tables.num_trees() / 2;
            tables.add_block(b, 0..half);
            b.each_row(|_, _| {});
            tables.add_block(b, half..tables.num_trees());
        },
        |_, keys, m| tables.add_row(0..tables.num_trees(), keys, m),
        &format!("depths {depths:?}"),
    );
}

#[test]
fn every_depth_and_kernel_matches_the_reference_f32() {
    for d in 0..=12 {
        check_kernels::<f32>(d as u64 + 1, 7, 1, &[d, d, d], 150);
    }
    // Mixed depths, several groups, a partial last block.
    check_kernels::<f32>(99, 30, 3, &[6, 1, 0, 8, 4, 7, 5, 2, 3, 6, 6, 10, 9], 200);
    check_kernels::<f32>(7, 1, 2, &[16, 3], 70);
    // Several superblocks (5 blocks of 64 rows each at 100 features), the last partial.
    check_kernels::<f32>(11, 100, 2, &[8, 8, 3, 0, 5], 1200);
}

#[test]
fn every_depth_and_kernel_matches_the_reference_f64() {
    for d in 0..=9 {
        check_kernels::<f64>(d as u64 + 100, 5, 2, &[d, d], 90);
    }
}

#[test]
fn models_without_features_score_their_leaves() {
    check_kernels::<f32>(5, 0, 2, &[0, 0, 0], 10);
}

#[test]
fn bad_blobs_are_rejected() {
    let mut rng = Rng::with_mix(3, VALUES);
    let trees = random_tables::<f32>(&mut rng, 4, 1, &[2, 3]);
    let good = encode(4, 1, &trees);
    assert!(Tables::<f32>::new(leak(good.clone())).is_ok());
    assert!(Tables::<f64>::new(leak(good.clone())).is_err());
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(Tables::<f32>::new(leak(bad)).is_err());
    assert!(Tables::<f32>::new(leak(good[..good.len() - 1].to_vec())).is_err());
    let mut bad_feature = trees.clone();
    bad_feature[1].features[3] = 8;
    assert!(Tables::<f32>::new(leak(encode(4, 1, &bad_feature))).is_err());
    let mut slot_zero = trees.clone();
    slot_zero[1].features[0] = 99;
    assert!(Tables::<f32>::new(leak(encode(4, 1, &slot_zero))).is_ok());
    let no_features = random_tables::<f32>(&mut rng, 1, 1, &[1]);
    assert!(Tables::<f32>::new(leak(encode(0, 1, &no_features))).is_err());
    let mut bad_group = trees;
    bad_group[0].group = 1;
    assert!(Tables::<f32>::new(leak(encode(4, 1, &bad_group))).is_err());
    // Unaligned blobs are copied, not rejected.
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&good);
    let shifted: &'static [u8] = &Vec::leak(shifted)[1..];
    let t = Tables::<f32>::new(shifted).expect("unaligned blob");
    assert!(matches!(t.features, Cow::Owned(_)));
}
