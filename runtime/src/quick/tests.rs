//! The kernels against a plain walk, on random trees of up to 64 leaves and any shape.

use super::*;
use crate::float::row_keys;
use crate::testing::{base, check_every_kernel, leak, Mix, Rng};
use core::ops::Range;

/// Values with ties, signed zeros and NaN.
const VALUES: Mix = Mix {
    odds: 16,
    special: &[f64::NAN, -0.0],
    ints: 6,
};

/// A tree as nested nodes: `Split(key feature, threshold, a, b)` or a leaf value.
enum T<K, O> {
    Split(u32, K, Box<T<K, O>>, Box<T<K, O>>),
    Leaf(O),
}

/// A random tree of `leaves` leaves (grown by splitting random leaves).
fn random_tree<I: KeyFloat, O: SumFloat>(rng: &mut Rng, nf: usize, leaves: usize) -> T<I::Key, O> {
    let leaf = |rng: &mut Rng| {
        T::Leaf(O::from_f64(
            (rng.value().max(-3.0) * 0.37).max(-1.0) + 0.125,
        ))
    };
    let mut tree = leaf(rng);
    for _ in 1..leaves {
        // Walk to a random leaf and split it.
        let mut at = &mut tree;
        while let T::Split(_, _, a, b) = at {
            at = if rng.below(2) == 0 { a } else { b };
        }
        let split = T::Split(
            rng.below(2 * nf) as u32,
            I::from_f64(rng.value()).key(),
            Box::new(leaf(rng)),
            Box::new(leaf(rng)),
        );
        *at = split;
    }
    tree
}

/// The encoder's input for a tree: leaves left to right (`a` first), each split's mask
/// clearing the leaves under `a`.
fn quick_tree<K: Copy, O: Copy>(tree: &T<K, O>, group: u32) -> QuickTree<K, O> {
    fn visit<K: Copy, O: Copy>(t: &T<K, O>, out: &mut QuickTree<K, O>) {
        match t {
            T::Leaf(v) => out.leaves.push(*v),
            T::Split(f, k, a, b) => {
                let start = out.leaves.len();
                visit(a, out);
                let end = out.leaves.len();
                let under_a = (u64::MAX >> (64 - (end - start))) << start;
                out.splits.push(Split {
                    feature: *f,
                    threshold: *k,
                    mask: !under_a,
                });
                visit(b, out);
            }
        }
    }
    let mut out = QuickTree {
        group,
        leaves: Vec::new(),
        splits: Vec::new(),
    };
    visit(tree, &mut out);
    out
}

fn walk<K: Ord + Copy, O: Copy>(t: &T<K, O>, keys: &[K]) -> O {
    match t {
        T::Leaf(v) => *v,
        T::Split(f, k, a, b) => walk(if keys[*f as usize] < *k { a } else { b }, keys),
    }
}

/// Random trees in `runs` (sizes), scored run by run, against the walk.
fn check<I: KeyFloat, O: SumFloat>(seed: u64, nf: usize, ng: usize, runs: &[usize]) {
    let mut rng = Rng::with_mix(seed, VALUES);
    let mut trees = Vec::new();
    let mut groups = Vec::new();
    for _ in 0..runs.iter().sum::<usize>() {
        let leaves = [1, 2, 7, 31, 63, 64][rng.below(6)];
        trees.push(random_tree::<I, O>(&mut rng, nf, leaves));
        groups.push(rng.below(ng) as u32);
    }
    let mut encoded = Vec::new();
    let mut at = 0;
    for &n in runs {
        encoded.push(
            (at..at + n)
                .map(|t| quick_tree(&trees[t], groups[t]))
                .collect::<Vec<_>>(),
        );
        at += n;
    }
    let quick = Quick::<I, O>::new(leak(encode::<I, O>(nf, ng, &encoded))).expect("valid");
    let base: Vec<O> = base(ng);
    let run_ranges: Vec<Range<usize>> = runs
        .iter()
        .scan(0, |at, &n| {
            *at += n;
            Some(*at - n..*at)
        })
        .collect();
    check_every_kernel(
        &mut rng,
        nf,
        200,
        &base,
        |row| {
            let mut keys = vec![I::Key::default(); 2 * nf];
            row_keys(row, &mut keys);
            let mut m = base.clone();
            for (t, g) in trees.iter().zip(&groups) {
                m[*g as usize] += walk(t, &keys);
            }
            m
        },
        |b| {
            for r in &run_ranges {
                quick.add_block(b, r.clone());
            }
        },
        |_, keys, m| {
            for range in &run_ranges {
                quick.add_row(range.clone(), keys, m);
            }
        },
        &format!("seed {seed}"),
    );
}

#[test]
fn every_shape_up_to_64_leaves_matches_the_walk() {
    for seed in 1..5 {
        check::<f32, f32>(seed, 5, 1, &[40]);
        check::<f64, f64>(seed + 10, 7, 2, &[3, 33, 1, 64]);
        check::<f32, f64>(seed + 20, 4, 3, &[32, 32, 5]);
    }
}

#[test]
fn a_run_cutting_a_chunk_is_refused() {
    let mut rng = Rng::with_mix(4, VALUES);
    let trees: Vec<_> = (0..40)
        .map(|_| quick_tree(&random_tree::<f32, f32>(&mut rng, 3, 5), 0))
        .collect();
    let quick = Quick::<f32, f32>::new(leak(encode::<f32, f32>(3, 1, &[trees]))).unwrap();
    let keys = [0u32; 6];
    let mut m = [0.0f32];
    quick.add_row(0..40, &keys, &mut m);
    let cut = std::panic::catch_unwind(|| {
        let mut m = [0.0f32];
        quick.add_row(5..40, &keys, &mut m);
    });
    assert!(cut.is_err(), "a run starting inside a chunk");
}

#[test]
fn bad_blobs_are_rejected() {
    let mut rng = Rng::with_mix(9, VALUES);
    let trees = vec![(0..3)
        .map(|_| quick_tree(&random_tree::<f32, f32>(&mut rng, 4, 9), 0))
        .collect::<Vec<_>>()];
    let good = encode::<f32, f32>(4, 1, &trees);
    assert!(Quick::<f32, f32>::new(leak(good.clone())).is_ok());
    assert!(Quick::<f64, f64>::new(leak(good.clone())).is_err());
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(Quick::<f32, f32>::new(leak(bad)).is_err());
    assert!(Quick::<f32, f32>::new(leak(good[..good.len() - 1].to_vec())).is_err());
    let mut group = trees;
    group[0][1].group = 1;
    assert!(Quick::<f32, f32>::new(leak(encode::<f32, f32>(4, 1, &group))).is_err());
}
