//! The IR's rules, each broken once: the error names the rule and where it is broken.

use super::*;
use std::panic::catch_unwind;

fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the message:\n{haystack}"
        );
    }
}

fn numerical(n: usize) -> Vec<Feature> {
    (0..n)
        .map(|i| Feature {
            text: TextRule::Standard,
            name: format!("f{i}"),
            kind: FeatureKind::Numerical,
        })
        .collect()
}

/// Node 0 splits feature 0 at `threshold` into leaves 1 (`left`) and 2 (`right`).
fn stump(threshold: f64, left: f64, right: f64) -> Tree {
    Tree {
        nodes: vec![
            Node::Split(Split {
                feature: 0,
                test: Test::Numerical {
                    threshold,
                    comparison: Comparison::Less,
                },
                left: 1,
                right: 2,
                default_left: true,
            }),
            Node::Leaf(Leaf::Scalar(left)),
            Node::Leaf(Leaf::Scalar(right)),
        ],
        group: 0,
        weight: None,
        cover: None,
    }
}

/// [`stump`]`(0.5, 0.5, 1.0)` with its root split changed by `change`.
fn stump_with_root(change: impl FnOnce(&mut Split)) -> Tree {
    let mut t = stump(0.5, 0.5, 1.0);
    let Node::Split(s) = &mut t.nodes[0] else {
        unreachable!()
    };
    change(s);
    t
}

fn forest(trees: Vec<Tree>, base: f64, precision: Precision) -> Result<Forest, IrError> {
    let forest = Forest {
        features: numerical(2),
        trees,
        base_margin: vec![base],
        transform: Transform::Identity,
        objective: "reg:squarederror".into(),
        precision,
        has_feature_names: false,
        origin: Origin::default(),
        average_over: None,
    };
    catch_unwind(|| forest.validated()).expect("validation panicked")
}

fn ir_invalid(result: Result<Forest, IrError>) -> String {
    match result {
        Err(IrError::Invalid(m)) => m,
        other => panic!("expected IrError::Invalid, got {other:?}"),
    }
}

#[test]
fn ir_accepts_a_well_formed_stump() {
    let f = forest(vec![stump(0.5, -1.0, 1.0)], 0.0, Precision::F32).unwrap();
    assert_eq!(f.num_nodes(), 3);
}

#[test]
fn ir_rejects_non_finite_leaves_naming_tree_and_node() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let trees = vec![stump(0.5, -1.0, 1.0), stump(0.5, 1.0, bad)];
        let m = ir_invalid(forest(trees, 0.0, Precision::F64));
        assert_contains(&m, &["tree 1, node 2: leaf value", "not a finite number"]);
    }
}

#[test]
fn ir_rejects_non_f32_values_in_an_f32_model() {
    let m = ir_invalid(forest(vec![stump(0.5, 0.1, 1.0)], 0.0, Precision::F32));
    assert_contains(&m, &["tree 0, node 1: leaf value", "not an f32 value"]);
    let m = ir_invalid(forest(vec![stump(0.1, 0.5, 1.0)], 0.0, Precision::F32));
    assert_contains(&m, &["tree 0, node 0: threshold", "not an f32 value"]);
    let m = ir_invalid(forest(vec![stump(0.5, 0.5, 1.0)], 0.1, Precision::F32));
    assert_contains(&m, &["base margin of output 0", "not an f32 value"]);
    // The same values are fine in an f64 model.
    assert!(forest(vec![stump(0.1, 0.1, 1.0)], 0.1, Precision::F64).is_ok());
}

#[test]
fn ir_rejects_nan_thresholds_and_non_finite_weights_and_base_margins() {
    let m = ir_invalid(forest(vec![stump(f64::NAN, 0.5, 1.0)], 0.0, Precision::F64));
    assert_contains(&m, &["tree 0, node 0: threshold", "NaN"]);
    let mut t = stump(0.5, 0.5, 1.0);
    t.weight = Some(f64::INFINITY);
    let m = ir_invalid(forest(vec![stump(0.5, 0.5, 1.0), t], 0.0, Precision::F64));
    assert_contains(&m, &["tree 1: weight"]);
    let m = ir_invalid(forest(vec![], f64::NAN, Precision::F64));
    assert_contains(&m, &["base margin of output 0"]);
}

#[test]
fn ir_structural_errors_name_tree_and_node() {
    let t = stump_with_root(|s| s.right = 3);
    assert_eq!(
        forest(vec![t], 0.0, Precision::F32).unwrap_err(),
        IrError::ChildOutOfRange {
            tree: 0,
            node: 0,
            child: 3,
            len: 3
        }
    );

    let t = stump_with_root(|s| s.right = 1);
    assert_eq!(
        forest(vec![t], 0.0, Precision::F32).unwrap_err(),
        IrError::NotATree { tree: 0, node: 1 }
    );

    let mut t = stump(0.5, 0.5, 1.0);
    t.nodes.push(Node::Leaf(Leaf::Scalar(2.0)));
    assert_eq!(
        forest(vec![stump(0.5, 0.5, 1.0), t], 0.0, Precision::F32).unwrap_err(),
        IrError::Unreachable { tree: 1, node: 3 }
    );

    let t = stump_with_root(|s| s.feature = 2);
    assert_eq!(
        forest(vec![t], 0.0, Precision::F32).unwrap_err(),
        IrError::FeatureOutOfRange {
            tree: 0,
            node: 0,
            feature: 2,
            num_features: 2
        }
    );
}

#[test]
fn ir_rejects_empty_trees_bad_groups_and_vector_leaf_lengths() {
    let empty = Tree::new(vec![], 0);
    assert_contains(
        &ir_invalid(forest(vec![empty], 0.0, Precision::F32)),
        &["tree 0 has no nodes"],
    );
    let mut t = stump(0.5, 0.5, 1.0);
    t.group = 1;
    assert_contains(
        &ir_invalid(forest(vec![t], 0.0, Precision::F32)),
        &["tree 0: output group 1 is out of range"],
    );
    let mut t = stump(0.5, 0.5, 1.0);
    t.nodes[2] = Node::Leaf(Leaf::Vector(vec![1.0, 2.0]));
    assert_contains(
        &ir_invalid(forest(vec![t], 0.0, Precision::F32)),
        &["tree 0, node 2: leaf has 2 values but the model has 1 outputs"],
    );
}

#[test]
fn ir_rejects_unsorted_and_out_of_range_category_sets() {
    let with_set = |categories: Vec<u32>| {
        stump_with_root(|s| {
            s.test = Test::Categorical {
                categories,
                set_side: Side::Right,
                code: CategoryCode::RejectNegative,
            }
        })
    };
    assert_contains(
        &ir_invalid(forest(vec![with_set(vec![3, 1])], 0.0, Precision::F32)),
        &["tree 0, node 0: category set is not sorted and unique"],
    );
    assert_contains(
        &ir_invalid(forest(
            vec![with_set(vec![1, 1 << 24])],
            0.0,
            Precision::F32,
        )),
        &["tree 0, node 0: category 16777216 is out of range"],
    );
}

#[test]
fn infinite_thresholds_are_numbers_in_every_precision() {
    // LightGBM and scikit-learn split the missing values from every number with `inf`.
    for precision in [Precision::F32, Precision::F64, Precision::F32InF64Sum] {
        for t in [f64::INFINITY, f64::NEG_INFINITY] {
            assert!(forest(vec![stump(t, 0.5, 1.0)], 0.0, precision).is_ok());
        }
    }
}

#[test]
fn weights_apply_to_scalar_leaves_only() {
    let mut t = stump(0.5, 0.5, 1.0);
    t.weight = Some(0.5);
    assert!(forest(vec![t.clone()], 0.0, Precision::F64).is_ok());
    let mut vector = t.clone();
    vector.nodes[1] = Node::Leaf(Leaf::Vector(vec![1.0]));
    assert_contains(
        &ir_invalid(forest(vec![vector], 0.0, Precision::F64)),
        &["tree 0: a weight applies to scalar leaves only", "node 1"],
    );
    let mut linear = t;
    linear.nodes[2] = Node::Leaf(Leaf::Linear(LinearLeaf {
        constant: 1.0,
        terms: vec![(1, 0.5)],
        fallback: 1.0,
        zero_band: 0.0,
    }));
    assert_contains(
        &ir_invalid(forest(vec![linear], 0.0, Precision::F64)),
        &["tree 0: a weight applies to scalar leaves only", "node 2"],
    );
}

#[test]
fn averages_are_over_a_positive_count() {
    let mut f = forest(vec![stump(0.5, 0.5, 1.0)], 0.0, Precision::F64).unwrap();
    f.average_over = Some(0);
    assert_contains(&ir_invalid(f.clone().validated()), &["average over zero"]);
    f.average_over = Some(3);
    assert!(f.validated().is_ok());
}

#[test]
fn linear_leaves_need_f64_models_and_existing_features() {
    let with_linear = |feature| {
        let mut t = stump(0.5, 0.5, 1.0);
        t.nodes[1] = Node::Leaf(Leaf::Linear(LinearLeaf {
            constant: 1.0,
            terms: vec![(feature, 0.5)],
            fallback: 1.0,
            zero_band: 0.0,
        }));
        t
    };
    assert_contains(
        &ir_invalid(forest(vec![with_linear(0)], 0.0, Precision::F32)),
        &["tree 0, node 1: linear leaves need an f64 model"],
    );
    assert_eq!(
        forest(vec![with_linear(5)], 0.0, Precision::F64).unwrap_err(),
        IrError::FeatureOutOfRange {
            tree: 0,
            node: 1,
            feature: 5,
            num_features: 2
        }
    );
}

#[test]
fn transforms_fit_their_precision_and_groups() {
    let mut f = forest(vec![stump(0.5, 0.5, 1.0)], 0.0, Precision::F64).unwrap();
    f.transform = Transform::Sigmoid;
    assert_contains(
        &ir_invalid(f.clone().validated()),
        &["sigmoid transform is not defined for f64 models"],
    );
    f.transform = Transform::SoftmaxF64;
    assert_contains(
        &ir_invalid(f.clone().validated()),
        &["softmax needs at least two output groups"],
    );
    f.transform = Transform::Logistic { scale: f64::NAN };
    assert_contains(
        &ir_invalid(f.validated()),
        &["scale is not a finite number"],
    );
}

#[test]
fn depth_counts_edges_on_the_longest_path() {
    assert_eq!(stump(0.5, 0.5, 1.0).depth(), 1);
    let leaf = Tree::new(vec![Node::Leaf(Leaf::Scalar(1.0))], 0);
    assert_eq!(leaf.depth(), 0);
}

#[test]
fn class_probabilities_fit_their_margins_and_classes() {
    let one = forest(vec![stump(0.5, 0.5, 1.0)], 0.0, Precision::F64).unwrap();
    let with = |from, correction: Option<Vec<f64>>, last_only, groups: usize| {
        let mut f = one.clone();
        f.base_margin = vec![0.0; groups];
        f.transform = Transform::Probabilities(Probabilities {
            from,
            correction,
            last_only,
        });
        f.validated()
    };
    use ProbabilitiesFrom::*;
    assert!(with(JavaLogistic, None, true, 1).is_ok());
    assert!(with(Complement, Some(vec![2.0, 0.5]), true, 1).is_ok());
    assert!(with(JavaSoftmax, None, false, 3).is_ok());
    assert!(with(Normalized, Some(vec![1.0, 1.0]), true, 2).is_ok());
    assert_contains(
        &ir_invalid(with(JavaLogistic, None, true, 2)),
        &["takes 1 margin per row, but the model has 2"],
    );
    assert_contains(
        &ir_invalid(with(Normalized, None, false, 1)),
        &["needs at least two output groups"],
    );
    assert_contains(
        &ir_invalid(with(JavaSoftmax, Some(vec![1.0, 1.0]), false, 3)),
        &["2 probability correction factors for 3 classes"],
    );
    assert_contains(
        &ir_invalid(with(Complement, Some(vec![1.0, f64::NAN]), true, 1)),
        &["correction factor of class 1 is not a finite number"],
    );
    assert_contains(
        &ir_invalid(with(JavaSoftmax, None, true, 3)),
        &["only a two-class model can output its last probability alone"],
    );
    let mut f32_model = with(JavaLogistic, None, true, 1).unwrap();
    f32_model.precision = Precision::F32;
    assert_contains(
        &ir_invalid(f32_model.validated()),
        &["is not defined for f32 models"],
    );
    let two = with(JavaLogistic, None, true, 1).unwrap();
    assert_eq!((two.num_groups(), two.num_outputs()), (1, 1));
    let all = with(Complement, None, false, 1).unwrap();
    assert_eq!(all.num_outputs(), 2);
}

#[test]
fn capped_tests_need_a_threshold_and_a_cap() {
    let capped = |threshold, cap| {
        let mut t = stump(0.5, 0.5, 1.0);
        if let Node::Split(s) = &mut t.nodes[0] {
            s.test = Test::Capped {
                threshold,
                comparison: Comparison::Less,
                cap,
            };
        }
        forest(vec![t], 0.0, Precision::F64)
    };
    assert!(capped(7.5, 64.0).is_ok());
    assert!(capped(7.5, f64::INFINITY).is_ok());
    assert_contains(
        &ir_invalid(capped(7.5, f64::NAN)),
        &["tree 0, node 0: cap is not a number"],
    );
    assert_contains(
        &ir_invalid(capped(f64::NAN, 3.0)),
        &["tree 0, node 0: threshold is not a number"],
    );
}

#[test]
fn a_cover_is_one_finite_non_negative_amount_per_node() {
    let with = |cover: Vec<f64>| Tree {
        cover: Some(cover),
        ..stump(0.5, 0.5, 1.0)
    };
    assert!(forest(vec![with(vec![10.0, 3.0, 7.0])], 0.0, Precision::F64).is_ok());
    let m = ir_invalid(forest(vec![with(vec![10.0, 3.0])], 0.0, Precision::F64));
    assert_contains(&m, &["tree 0: 2 cover values for 3 nodes"]);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let m = ir_invalid(forest(
            vec![with(vec![10.0, bad, 7.0])],
            0.0,
            Precision::F64,
        ));
        assert_contains(
            &m,
            &["tree 0, node 1: cover", "not a finite, non-negative amount"],
        );
    }
    // Loaders keep a recorded cover only where it fits: it orders nodes, nothing else.
    let kept = stump(0.5, 0.5, 1.0).with_cover(Some(vec![10.0, 3.0, 7.0]));
    assert!(kept.likelier(1, 2) && !kept.likelier(2, 1));
    for misfit in [
        vec![10.0, 3.0],
        vec![10.0, -3.0, 7.0],
        vec![f64::NAN, 1.0, 1.0],
    ] {
        let dropped = stump(0.5, 0.5, 1.0).with_cover(Some(misfit));
        assert_eq!(dropped.cover, None);
        assert!(!dropped.likelier(1, 2) && !dropped.likelier(2, 1));
    }
}
