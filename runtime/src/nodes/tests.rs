//! The kernels against a plain walk of the encoder's input, on random trees of every kind:
//! any shape, key splits, category and zero-band splits, scalar, vector and linear leaves.

use super::*;
use crate::float::row_keys;
use crate::testing::{base, check_every_kernel, leak, Mix, Rng};

/// Values with ties, signed zeros, tiny values and NaN.
const VALUES: Mix = Mix {
    odds: 16,
    special: &[f64::NAN, -0.0, 1e-36],
    ints: 6,
};

/// A random tree over `nf` features: up to `splits` splits of random shape.
fn random_tree<I: KeyFloat, O: SumFloat>(
    rng: &mut Rng,
    nf: usize,
    ng: usize,
    splits: usize,
    kind: LeafKind,
    specials: bool,
) -> NodeTree<I::Key, O> {
    let mut nodes: Vec<NodeSpec<I::Key>> = Vec::new();
    let mut leaves = 0u32;
    // Grow by replacing a random leaf-child with a new split, `splits` times.
    let mut open: Vec<(usize, bool)> = Vec::new(); // (node, is `a`)
    let new_test = |rng: &mut Rng| -> Test<I::Key> {
        let feature = rng.below(nf) as u32;
        match if specials { rng.below(5) } else { 0 } {
            1 => Test::Category {
                feature,
                truncate: rng.below(2) == 0,
                categories: {
                    let mut c: Vec<u32> = (0..rng.below(5)).map(|_| rng.below(70) as u32).collect();
                    c.sort_unstable();
                    c.dedup();
                    c
                },
                set_a: rng.below(2) == 0,
                default_a: rng.below(2) == 0,
            },
            2 => Test::ZeroBand {
                feature,
                threshold: rng.value().max(-3.0),
                band: 1e-35,
                default_a: rng.below(2) == 0,
            },
            3 => Test::Capped {
                feature,
                threshold: rng.value().max(-3.0),
                or_equal: rng.below(2) == 0,
                cap: rng.value().max(-3.0),
                default_a: rng.below(2) == 0,
            },
            _ => Test::Key {
                feature: rng.below(2 * nf) as u32,
                threshold: I::from_f64(rng.value()).key(),
            },
        }
    };
    let root = if splits == 0 {
        leaves += 1;
        Child::Leaf(0)
    } else {
        nodes.push(NodeSpec {
            test: new_test(rng),
            a: Child::Leaf(u32::MAX),
            b: Child::Leaf(u32::MAX),
        });
        open.extend([(0, true), (0, false)]);
        for _ in 1..splits {
            let (n, is_a) = open.swap_remove(rng.below(open.len()));
            let i = nodes.len() as u32;
            nodes.push(NodeSpec {
                test: new_test(rng),
                a: Child::Leaf(u32::MAX),
                b: Child::Leaf(u32::MAX),
            });
            if is_a {
                nodes[n].a = Child::Node(i);
            } else {
                nodes[n].b = Child::Node(i);
            }
            open.extend([(i as usize, true), (i as usize, false)]);
        }
        for (n, is_a) in open {
            let leaf = Child::Leaf(leaves);
            leaves += 1;
            if is_a {
                nodes[n].a = leaf;
            } else {
                nodes[n].b = leaf;
            }
        }
        Child::Node(0)
    };
    let value = |rng: &mut Rng| O::from_f64((rng.value().max(-3.0) * 0.37).max(-1.0) + 0.125);
    let leaves = match kind {
        LeafKind::Scalar => Leaves::Scalar((0..leaves).map(|_| value(rng)).collect()),
        LeafKind::Vector => Leaves::Vector(
            (0..leaves)
                .map(|_| (0..ng).map(|_| value(rng)).collect())
                .collect(),
        ),
        LeafKind::Linear => Leaves::Linear(
            (0..leaves)
                .map(|_| LinearSpec {
                    constant: 0.5,
                    fallback: -0.25,
                    zero_band: 1e-35,
                    terms: (0..rng.below(3))
                        .map(|_| (rng.below(nf) as u32, 0.75))
                        .collect(),
                })
                .collect(),
        ),
    };
    NodeTree {
        group: rng.below(ng) as u32,
        root,
        nodes,
        leaves,
    }
}

/// The reference: each tree walked on its spec with the semantics the docs state, added in
/// order.
fn reference<I: KeyFloat, O: SumFloat>(
    trees: &[NodeTree<I::Key, O>],
    base: &[O],
    row: &[I],
) -> Vec<O> {
    let mut keys = vec![I::Key::default(); 2 * row.len()];
    row_keys(row, &mut keys);
    let mut m = base.to_vec();
    for t in trees {
        let mut c = t.root;
        let leaf = loop {
            let n = match c {
                Child::Leaf(j) => break j as usize,
                Child::Node(i) => &t.nodes[i as usize],
            };
            let a = match &n.test {
                Test::Key { feature, threshold } => keys[*feature as usize] < *threshold,
                Test::Category {
                    feature,
                    truncate,
                    categories,
                    set_a,
                    default_a,
                } => {
                    let x = row[*feature as usize].to_f64();
                    if x.is_nan() {
                        *default_a
                    } else {
                        let code = if *truncate {
                            crate::category::code_truncated(x)
                        } else {
                            crate::category::code(x)
                        };
                        categories.contains(&code) == *set_a
                    }
                }
                Test::ZeroBand {
                    feature,
                    threshold,
                    band,
                    default_a,
                } => {
                    let x = row[*feature as usize].to_f64();
                    if x.is_nan() || x.abs() <= *band {
                        *default_a
                    } else {
                        x <= *threshold
                    }
                }
                Test::Capped {
                    feature,
                    threshold,
                    or_equal,
                    cap,
                    default_a,
                } => {
                    let x = row[*feature as usize].to_f64();
                    if x.is_nan() || x >= *cap {
                        *default_a
                    } else if *or_equal {
                        x <= *threshold
                    } else {
                        x < *threshold
                    }
                }
            };
            c = if a { n.a } else { n.b };
        };
        match &t.leaves {
            Leaves::Scalar(v) => m[t.group as usize] += v[leaf],
            Leaves::Vector(v) => {
                for (m, &v) in m.iter_mut().zip(&v[leaf]) {
                    *m += v;
                }
            }
            Leaves::Linear(v) => {
                let l = &v[leaf];
                let mut out = l.constant;
                let mut missing = false;
                for &(f, c) in &l.terms {
                    let x = row[f as usize].to_f64();
                    missing |= x.is_nan();
                    out += c * crate::linear::term_input(x, l.zero_band);
                }
                m[t.group as usize] += O::from_f64(if missing { l.fallback } else { out });
            }
        }
    }
    m
}

fn check<I: KeyFloat, O: SumFloat>(
    seed: u64,
    nf: usize,
    ng: usize,
    kinds: &[LeafKind],
    specials: bool,
) {
    let mut rng = Rng::with_mix(seed, VALUES);
    let trees: Vec<NodeTree<I::Key, O>> = kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            random_tree::<I, O>(&mut rng, nf, ng, [0, 1, 3, 40, 200][i % 5], k, specials)
        })
        .collect();
    let nodes = Nodes::<I, O>::new(leak(encode::<I, O>(nf, ng, &trees))).expect("valid nodes");
    assert!(matches!(nodes.nodes, Cow::Borrowed(_)));
    let base: Vec<O> = base(ng);
    check_every_kernel(
        &mut rng,
        nf,
        300,
        &base,
        |row| reference(&trees, &base, row),
        |b| {
            let half = nodes.num_trees() / 2;
            nodes.add_block(b, 0..half);
            nodes.add_block(b, half..nodes.num_trees());
        },
        |row, keys, m| nodes.add_row(0..nodes.num_trees(), row, keys, m),
        &format!("seed {seed}"),
    );
}

#[test]
fn key_splits_of_every_shape_match_the_reference() {
    use LeafKind::*;
    for seed in 1..6 {
        check::<f32, f32>(seed, 6, 1, &[Scalar; 10], false);
        check::<f64, f64>(seed + 10, 6, 3, &[Scalar; 10], false);
        check::<f32, f64>(seed + 20, 6, 2, &[Scalar; 10], false);
    }
    // One row walks its trees in windows of 64: more trees than two windows, some of them
    // a single leaf, with special splits in some windows.
    check::<f32, f64>(41, 6, 2, &[LeafKind::Scalar; 150], true);
    check::<f32, f32>(42, 6, 1, &[LeafKind::Scalar; 150], false);
}

#[test]
fn special_splits_and_every_leaf_kind_match_the_reference() {
    use LeafKind::*;
    for seed in 1..6 {
        check::<f32, f32>(seed, 5, 2, &[Scalar, Vector, Scalar, Vector, Scalar], true);
        check::<f64, f64>(
            seed + 30,
            5,
            3,
            &[Linear, Scalar, Vector, Linear, Linear],
            true,
        );
        check::<f32, f64>(seed + 40, 5, 3, &[Vector; 10], true);
    }
}

#[test]
fn bad_blobs_are_rejected() {
    let mut rng = Rng::with_mix(9, VALUES);
    let trees = vec![random_tree::<f32, f32>(
        &mut rng,
        4,
        1,
        20,
        LeafKind::Scalar,
        true,
    )];
    let good = encode::<f32, f32>(4, 1, &trees);
    assert!(Nodes::<f32, f32>::new(leak(good.clone())).is_ok());
    assert!(Nodes::<f64, f64>::new(leak(good.clone())).is_err());
    assert!(Nodes::<f32, f64>::new(leak(good.clone())).is_err());
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(Nodes::<f32, f32>::new(leak(bad)).is_err());
    assert!(Nodes::<f32, f32>::new(leak(good[..good.len() - 1].to_vec())).is_err());
    // A cycle: a child pointing back at the root must not load (walks would never end).
    let mut cyclic = trees.clone();
    cyclic[0].nodes[1].a = Child::Node(0);
    assert!(Nodes::<f32, f32>::new(leak(encode::<f32, f32>(4, 1, &cyclic))).is_err());
    // A key feature out of range.
    let mut far = trees.clone();
    far[0].nodes[0].test = Test::Key {
        feature: 8,
        threshold: 0.5f32.key(),
    };
    assert!(Nodes::<f32, f32>::new(leak(encode::<f32, f32>(4, 1, &far))).is_err());
    // A group out of range.
    let mut group = trees;
    group[0].group = 1;
    assert!(Nodes::<f32, f32>::new(leak(encode::<f32, f32>(4, 1, &group))).is_err());
}
