//! The complete-tree table layout (see `timber_runtime::tables`): each tree padded to a
//! complete tree of its depth, every split rewritten as `key(v) < key(t')` where a true
//! comparison — and a missing value — takes child `2i + 1`.
//!
//! Splits become key comparisons as the crate-private `emit::keys` module describes: a true
//! comparison, and a missing value, take child `2i + 1`.
//!
//! What the tables hold, and what is left to the nested `if`/`else` layout:
//!
//! - per model ([`model_tables`]): the runtime's tables read and sum in one float type, so
//!   only models whose inputs and sums share a precision (`f32`: XGBoost; `f64`: LightGBM)
//!   can have tables; mixed models (`f32` inputs, `f64` sums: scikit-learn) and models whose
//!   predictions average their margins stay nested entirely;
//! - per tree ([`eligible`]): numerical `<`/`<=` splits and scalar leaves only. Categorical
//!   splits (either category coding), LightGBM's zero-as-missing splits, H2O's capped splits,
//!   linear leaves and vector leaves stay nested, and so do trees too deep or too sparse to
//!   pad.

use super::blob::{BlobLayout, LayoutBlob};
use super::keys::{numerical_key_split, EmitFloat};
use super::Ctx;
use crate::ir::{Forest, Leaf, Node, Precision, Test, Tree};
use timber_runtime::tables::{TableFloat, TreeTable};

/// Trees up to this depth are always padded.
pub const DENSE_DEPTH: u32 = 8;

/// Deeper trees (up to this depth) are padded only when at least 1/16 of the slots are real
/// nodes; beyond it, trees stay nested.
pub const MAX_TABLE_DEPTH: u32 = 12;

/// The float type a model's tables are built in: its input type, which is also its sum type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableType {
    /// `f32` keys and leaves (XGBoost).
    F32,
    /// `f64` keys and leaves (LightGBM).
    F64,
}

/// The float type `forest`'s tables would use, or why the model cannot have tables at all
/// (then every tree is nested).
///
/// The runtime's tables compare inputs and add leaves in one type `F` (`Tables<F>`, with
/// `Model::Input == Model::Output == F` in the batch overrides), so the model's input and
/// sum precision must be the same. Predictions that average their margins are left to the
/// nested layout too.
pub fn model_tables(forest: &Forest) -> Result<TableType, &'static str> {
    let ty = match forest.precision {
        Precision::F32 => TableType::F32,
        Precision::F64 => TableType::F64,
        Precision::F32InF64Sum => return Err("f32 inputs with f64 sums"),
    };
    if forest.average_over.is_some() {
        return Err("averaged predictions");
    }
    Ok(ty)
}

/// Whether the table layout can hold `tree` (of a model [`model_tables`] accepts).
///
/// Only numerical `<`/`<=` splits and scalar leaves: the table rewriting covers exactly the
/// IR's numerical test (NaN to the default side). Anything else — categorical splits,
/// zero-as-missing and capped splits, linear or vector leaves, and whatever the IR adds
/// later — stays nested.
pub fn eligible(tree: &Tree) -> bool {
    let plain = tree.nodes.iter().all(|n| match n {
        Node::Split(s) => matches!(s.test, Test::Numerical { .. }),
        Node::Leaf(l) => matches!(l, Leaf::Scalar(_)),
    });
    if !plain {
        return false;
    }
    let depth = tree.depth();
    if depth <= DENSE_DEPTH as usize {
        return true;
    }
    depth <= MAX_TABLE_DEPTH as usize && (1usize << (depth + 1)) <= 16 * tree.nodes.len()
}

/// The padded table of an [`eligible`] tree.
pub(crate) fn tree_table<F: EmitFloat + TableFloat>(tree: &Tree, nf: usize) -> TreeTable<F> {
    let depth = tree.depth() as u32;
    let slots = 1usize << depth;
    let mut table = TreeTable {
        depth,
        group: tree.group as u32,
        features: vec![0u32; slots],
        thresholds: vec![F::Key::default(); slots],
        leaves: vec![F::default(); slots],
    };
    let weight = tree.weight.map(F::from_ir);
    // (IR node, heap slot, level); iterative so no recursion depth is at stake.
    let mut stack = vec![(0usize, 1usize, 0u32)];
    while let Some((n, slot, level)) = stack.pop() {
        match &tree.nodes[n] {
            Node::Leaf(Leaf::Scalar(v)) => {
                let v = F::from_ir(*v);
                let v = weight.map_or(v, |w| v * w);
                // Every leaf slot under `slot`; the padding above them keeps the zero key
                // as threshold (never greater than a key), so rows always go to `2i`.
                let span = 1usize << (depth - level);
                let first = slot * span - slots;
                table.leaves[first..first + span].fill(v);
            }
            Node::Split(s) => {
                let k = numerical_key_split::<F>(s, nf);
                table.features[slot] = k.feature;
                table.thresholds[slot] = k.threshold;
                stack.push((k.b, 2 * slot, level + 1));
                stack.push((k.a, 2 * slot + 1, level + 1));
            }
            Node::Leaf(_) => unreachable!("eligible() admits scalar leaves only"),
        }
    }
    table
}

/// The blob for the table trees `trees` (in model order), in `ty`.
pub(crate) fn blob(
    ty: TableType,
    trees: &[&Tree],
    num_features: usize,
    num_groups: usize,
) -> Vec<u8> {
    fn build<F: EmitFloat + TableFloat>(trees: &[&Tree], nf: usize, ng: usize) -> Vec<u8> {
        let tables: Vec<TreeTable<F>> = trees.iter().map(|t| tree_table::<F>(t, nf)).collect();
        timber_runtime::tables::encode(nf, ng, &tables)
    }
    match ty {
        TableType::F32 => build::<f32>(trees, num_features, num_groups),
        TableType::F64 => build::<f64>(trees, num_features, num_groups),
    }
}

// ---------------------------------------------------------------------------------------
// The glue: how generated code embeds the blob and calls the runtime's kernels.
// ---------------------------------------------------------------------------------------

/// The table blob of `trees` (the model's table trees, in order) in `ty`.
pub(crate) fn layout_blob(ctx: &Ctx, ty: TableType, trees: &[&Tree]) -> LayoutBlob {
    let bytes = blob(ty, trees, ctx.nf, ctx.ng);
    LayoutBlob::new(BlobLayout::Tables, bytes, ctx.fty.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{Interpreter, Sum};
    use crate::ir::{
        CategoryCode, Comparison, Feature, FeatureKind, LinearLeaf, Origin, Side, Split, TextRule,
        Transform,
    };
    use timber_runtime::kernel::{with_kernel, Kernel};
    use timber_runtime::row_keys;
    use timber_runtime::tables::Tables;
    use timber_runtime::Model;

    /// A complete tree of depth 2 on features 0 and 1 with the given tests, plus a leaf
    /// above full depth (left child of the root's right child is a leaf) to exercise padding.
    fn tree(comparison: Comparison, default_left: [bool; 3], t: [f64; 3], w: Option<f64>) -> Tree {
        let split = |feature, threshold, left, right, default_left| {
            Node::Split(Split {
                feature,
                test: Test::Numerical {
                    threshold,
                    comparison,
                },
                left,
                right,
                default_left,
            })
        };
        Tree {
            nodes: vec![
                split(0, t[0], 1, 2, default_left[0]),
                split(1, t[1], 3, 4, default_left[1]),
                split(1, t[2], 5, 6, default_left[2]),
                Node::Leaf(Leaf::Scalar(1.0)),
                Node::Leaf(Leaf::Scalar(2.0)),
                Node::Leaf(Leaf::Scalar(4.0)),
                Node::Leaf(Leaf::Scalar(8.0)),
            ],
            group: 0,
            weight: w,
            cover: None,
        }
    }

    /// The reference interpreter's margin for one row of a one-tree forest (base 0).
    fn reference<F: EmitFloat + TableFloat + Sum>(tree: &Tree, row: &[F]) -> F {
        let forest = Forest {
            features: (0..2)
                .map(|i| Feature {
                    text: TextRule::Standard,
                    name: format!("f{i}"),
                    kind: FeatureKind::Numerical,
                })
                .collect(),
            trees: vec![tree.clone()],
            base_margin: vec![0.0],
            transform: Transform::Identity,
            objective: "test".into(),
            precision: if F::IS_F64 {
                Precision::F64
            } else {
                Precision::F32
            },
            has_feature_names: false,
            origin: Origin::default(),
            average_over: None,
        };
        let interp = Interpreter::<F, F>::typed(forest.validated().expect("valid")).unwrap();
        let mut m = [F::default()];
        interp.predict_margin(row, &mut m);
        m[0]
    }

    fn edge_values<F: EmitFloat>(thresholds: &[f64]) -> Vec<f64> {
        let mut v = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            F::from_ir(f64::MAX.min(3.0e38)).to_f64(),
        ];
        for &t in thresholds {
            let t = F::from_ir(t);
            v.extend([t.to_f64(), t.next_up().to_f64(), (-(-t).next_up()).to_f64()]);
        }
        v
    }

    fn check<F: EmitFloat + TableFloat + Sum>(comparison: Comparison) {
        let thresholds = [
            0.0,
            -1.5,
            2.5e-40,
            1.0e30,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for defaults in 0..8u32 {
            // Infinite thresholds split the missing values from every number (LightGBM,
            // scikit-learn): `x <= inf` must hold for `x = inf` too.
            for (i, t) in [
                [0.0, -1.5, 2.5e-40],
                [1.0e30, -0.0, 0.0],
                [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY],
            ]
            .iter()
            .enumerate()
            {
                let dl = [defaults & 1 != 0, defaults & 2 != 0, defaults & 4 != 0];
                // f32 models hold f32 values only.
                let t = t.map(|v| F::from_ir(v).to_f64());
                let w = (i != 0).then_some(0.75);
                let ir = tree(comparison, dl, t, w);
                // Make the right subtree shallower: node 2's left child a leaf already is
                // depth 2; prune node 2 to a leaf in half the cases to exercise padding.
                let mut ir = ir;
                if defaults % 2 == 0 {
                    ir.nodes[2] = Node::Leaf(Leaf::Scalar(16.0));
                    ir.nodes.truncate(5);
                }
                assert!(eligible(&ir));
                let table = tree_table::<F>(&ir, 2);
                let blob = timber_runtime::tables::encode(2, 1, &[table]);
                let blob: &'static [u8] = Vec::leak(blob);
                let tables = Tables::<F>::new(blob).expect("tables");
                let values = edge_values::<F>(&thresholds);
                let mut rows = Vec::new();
                for &a in &values {
                    for &b in &values {
                        rows.push([F::from_ir(a), F::from_ir(b)]);
                    }
                }
                let flat: Vec<F> = rows.iter().flatten().copied().collect();
                let score = |kernel| {
                    let mut out = vec![F::default(); rows.len()];
                    with_kernel(kernel, || {
                        timber_runtime::batch::score(
                            2,
                            &[F::default()],
                            &flat,
                            &mut out,
                            1,
                            |b| tables.add_block(b, 0..1),
                            |m, o| o.copy_from_slice(m),
                        )
                    });
                    out
                };
                let (batch, avx2, scalar) = (
                    score(Kernel::Auto),
                    score(Kernel::Avx2),
                    score(Kernel::Scalar),
                );
                for (r, row) in rows.iter().enumerate() {
                    let x = [row[0].to_f64(), row[1].to_f64()];
                    // The base margin is 0 and no leaf is -0: the margin is the weighted leaf.
                    let want = reference(&ir, row);
                    let mut keys = vec![F::Key::default(); 4];
                    row_keys(row, &mut keys);
                    let mut m = [F::default()];
                    tables.add_row(0..1, &keys, &mut m);
                    let bits = |v: F| v.to_f64().to_bits();
                    assert_eq!(
                        bits(m[0]),
                        bits(want),
                        "{comparison:?} {dl:?} {t:?} row {x:?}"
                    );
                    assert_eq!(
                        bits(batch[r]),
                        bits(want),
                        "batch {comparison:?} {dl:?} {x:?}"
                    );
                    assert_eq!(
                        bits(scalar[r]),
                        bits(want),
                        "scalar {comparison:?} {dl:?} {x:?}"
                    );
                    assert_eq!(
                        bits(avx2[r]),
                        bits(want),
                        "avx2 {comparison:?} {dl:?} {x:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_comparison_and_default_side_matches_the_ir_f32() {
        check::<f32>(Comparison::Less);
        check::<f32>(Comparison::LessOrEqual);
    }

    #[test]
    fn every_comparison_and_default_side_matches_the_ir_f64() {
        check::<f64>(Comparison::Less);
        check::<f64>(Comparison::LessOrEqual);
    }

    #[test]
    fn categorical_vector_and_very_deep_trees_stay_nested() {
        let cat = Tree {
            nodes: vec![
                Node::Split(Split {
                    feature: 0,
                    test: Test::Categorical {
                        categories: vec![1],
                        set_side: Side::Right,
                        code: CategoryCode::RejectNegative,
                    },
                    left: 1,
                    right: 2,
                    default_left: true,
                }),
                Node::Leaf(Leaf::Scalar(1.0)),
                Node::Leaf(Leaf::Scalar(2.0)),
            ],
            group: 0,
            weight: None,
            cover: None,
        };
        assert!(!eligible(&cat));
        // LightGBM's coding (truncate first) is no more a table split than XGBoost's.
        let mut lgb_cat = cat.clone();
        if let Node::Split(s) = &mut lgb_cat.nodes[0] {
            s.test = Test::Categorical {
                categories: vec![0, 1],
                set_side: Side::Left,
                code: CategoryCode::TruncateFirst,
            };
        }
        assert!(!eligible(&lgb_cat));
        // A zero-as-missing split sends |x| <= band to the default side: not a plain
        // comparison.
        let mut zero_band = cat.clone();
        if let Node::Split(s) = &mut zero_band.nodes[0] {
            s.test = Test::ZeroAsMissing {
                threshold: 0.5,
                zero_band: 1.0e-35,
            };
        }
        assert!(!eligible(&zero_band));
        // Nor is a capped split: values from the cap up go to the default side.
        let mut capped = cat.clone();
        if let Node::Split(s) = &mut capped.nodes[0] {
            s.test = Test::Capped {
                threshold: 7.5,
                comparison: Comparison::Less,
                cap: 64.0,
            };
        }
        assert!(!eligible(&capped));
        // A linear leaf reads the row: not a table leaf, even under a numerical split.
        let mut linear = tree(Comparison::LessOrEqual, [true; 3], [0.0, 1.0, 2.0], None);
        linear.nodes[3] = Node::Leaf(Leaf::Linear(LinearLeaf {
            constant: 1.0,
            terms: vec![(0, 0.5)],
            fallback: 1.0,
            zero_band: 1.0e-35,
        }));
        assert!(!eligible(&linear));
        let vector = Tree {
            nodes: vec![Node::Leaf(Leaf::Vector(vec![1.0, 2.0]))],
            group: 0,
            weight: None,
            cover: None,
        };
        assert!(!eligible(&vector));
        // A 20-level chain: 41 nodes, far too sparse to pad to 2^20 slots.
        let mut nodes = Vec::new();
        for k in 0..20 {
            nodes.push(Node::Split(Split {
                feature: 0,
                test: Test::Numerical {
                    threshold: k as f64,
                    comparison: Comparison::Less,
                },
                left: nodes.len() + 1,
                right: nodes.len() + 2,
                default_left: true,
            }));
            nodes.push(Node::Leaf(Leaf::Scalar(k as f64)));
        }
        nodes.push(Node::Leaf(Leaf::Scalar(-1.0)));
        let chain = Tree::new(nodes, 0);
        assert!(!eligible(&chain));
    }

    fn forest(precision: Precision, average_over: Option<u32>) -> Forest {
        let features = (0..2)
            .map(|i| Feature {
                text: TextRule::Standard,
                name: format!("f{i}"),
                kind: FeatureKind::Numerical,
            })
            .collect();
        Forest {
            features,
            trees: vec![tree(
                Comparison::LessOrEqual,
                [true; 3],
                [0.0, 1.0, 2.0],
                None,
            )],
            base_margin: vec![0.0],
            transform: Transform::Identity,
            objective: "test".into(),
            precision,
            has_feature_names: false,
            origin: Origin::default(),
            average_over,
        }
        .validated()
        .expect("valid forest")
    }

    #[test]
    fn only_models_with_one_input_and_sum_type_and_no_averaging_get_tables() {
        assert_eq!(
            model_tables(&forest(Precision::F32, None)),
            Ok(TableType::F32)
        );
        assert_eq!(
            model_tables(&forest(Precision::F64, None)),
            Ok(TableType::F64)
        );
        // scikit-learn: f32 inputs, f64 sums; the tables hold one type.
        assert!(model_tables(&forest(Precision::F32InF64Sum, None)).is_err());
        // Averaged predictions (LightGBM random forests, scikit-learn forests).
        assert!(model_tables(&forest(Precision::F64, Some(3))).is_err());
        assert!(model_tables(&forest(Precision::F32, Some(3))).is_err());
    }
}
