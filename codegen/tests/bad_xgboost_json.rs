//! Bad XGBoost JSON models must give an error that says what is wrong and where, never a
//! panic. Each test loads a real fixture (`models/*/model.json`) as a `serde_json::Value`,
//! damages it in one place and serialises it back, so it exercises exactly one defect.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::ir::{IrError, Transform};
use timber_codegen::{Iterations, LoadError, LoadOptions};

fn fixture(name: &str) -> Value {
    fixture_json(name, "model.json")
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    fixture_file(name, "model.json")
}

/// `learner.gradient_booster.model`, or for dart `learner.gradient_booster.gbtree.model`.
fn model(v: &mut Value) -> &mut Value {
    let booster = &mut v["learner"]["gradient_booster"];
    if booster["name"] == "dart" {
        &mut booster["gbtree"]["model"]
    } else {
        &mut booster["model"]
    }
}

fn tree(v: &mut Value, t: usize) -> &mut Value {
    &mut model(v)["trees"][t]
}

fn param(v: &mut Value) -> &mut Value {
    &mut v["learner"]["learner_model_param"]
}

/// Appends one leaf to every per-node array of a tree; returns the new node's id.
fn push_leaf(tree: &mut Value, value: f32) -> usize {
    for (field, entry) in [
        ("left_children", json!(-1)),
        ("right_children", json!(-1)),
        ("split_indices", json!(0)),
        ("split_conditions", json!(value)),
        ("default_left", json!(0)),
        ("split_type", json!(0)),
    ] {
        tree[field].as_array_mut().unwrap().push(entry);
    }
    tree["left_children"].as_array().unwrap().len() - 1
}

// ---------------------------------------------------------------------------------------
// The harness itself: undamaged fixtures survive the Value round trip
// ---------------------------------------------------------------------------------------

#[test]
fn undamaged_fixtures_load_after_a_value_round_trip() {
    for name in ["tiny_reg", "named_features", "dart", "categorical_small"] {
        let forest = load_value(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let direct = load(&fixture_bytes(name)).unwrap();
        assert_eq!(forest.trees, direct.trees, "{name}");
        assert_eq!(forest.base_margin, direct.base_margin, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Not JSON, or not a model
// ---------------------------------------------------------------------------------------

#[test]
fn truncated_real_file_names_file_line_and_column() {
    let bytes = fixture_bytes("tiny_reg");
    let half = &bytes[..bytes.len() / 2];
    let message = malformed(load(half));
    // The file is one line; the parser stops at the end of the cut.
    assert_contains(
        &message,
        &[
            "EOF while parsing",
            &format!("line 1 column {}", half.len()),
        ],
    );
}

#[test]
fn truncated_pretty_file_names_the_last_line() {
    let text = serde_json::to_string_pretty(&fixture("tiny_reg")).unwrap();
    let cut = &text[..text.len() / 2];
    let lines = cut.matches('\n').count() + 1;
    let column = cut.len() - cut.rfind('\n').map_or(0, |i| i + 1);
    let message = malformed(load(cut.as_bytes()));
    assert_contains(
        &message,
        &[
            "EOF while parsing",
            &format!("line {lines} column {column}"),
        ],
    );
}

#[test]
fn syntax_error_in_the_middle_names_its_line() {
    let text = serde_json::to_string_pretty(&fixture("tiny_reg")).unwrap();
    // Break the line holding `"num_feature": "3"` (in learner_model_param).
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("\"num_feature\": \"3\""))
        .expect("num_feature line");
    lines[at] = lines[at].replacen(':', ";", 1);
    let message = malformed(load(lines.join("\n").as_bytes()));
    assert_contains(&message, &[&format!("line {}", at + 1), "expected `:`"]);
}

#[test]
fn empty_and_blank_files_are_unknown_format() {
    for bytes in [&b""[..], b"   \n\t\r\n"] {
        assert_contains(&unknown_format(load(bytes)), &[NAME, "empty"]);
    }
}

#[test]
fn non_json_files_are_unknown_format() {
    for bytes in [
        &b"tree,leaf\n1,2\n"[..],
        b"[1, 2, 3]",
        b"\x00\x01\x02binary",
        b"\xef\xbb\xbf{}", // a UTF-8 byte-order mark before the object
    ] {
        let message = unknown_format(load(bytes));
        assert_contains(&message, &[NAME, "not a supported model file"]);
    }
}

#[test]
fn json_object_of_no_known_model_is_unknown_format_listing_the_formats() {
    assert_contains(
        &unknown_format(load(br#"{"hello": "world"}"#)),
        &[
            NAME,
            "without the keys of any model format",
            "`learner`",
            "`tree_info`",
            "`timber_sklearn`",
            "XGBoost JSON (`save_model`)",
            "XGBoost UBJSON",
            "XGBoost JSON dump",
            "LightGBM text",
            "LightGBM JSON",
            "scikit-learn JSON",
        ],
    );
}

#[test]
fn truncated_ubjson_is_malformed_not_a_panic() {
    // XGBoost's binary UBJSON format also starts with `{`, then a key length.
    let message = malformed(load(b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{"));
    assert_contains(&message, &["UBJSON byte 18", "ends early"]);
}

// ---------------------------------------------------------------------------------------
// Wrong field types: the message names the field's path
// ---------------------------------------------------------------------------------------

/// Each damage to a fixture is a `Malformed` error whose message names what is wrong and
/// where: (case, fixture, damage, what the message says).
#[test]
fn damaged_fields_are_malformed_errors_naming_them() {
    let cases: &[Damage] = &[
        (
            "left_children_as_a_string_names_the_field",
            "tiny_reg",
            |v| tree(v, 1)["left_children"] = json!("1,3,5"),
            &[
                "learner.gradient_booster.model.trees[1].left_children",
                "invalid type: string",
            ],
        ),
        (
            "child_index_as_a_string_names_the_element",
            "tiny_reg",
            |v| tree(v, 2)["right_children"][1] = json!("4"),
            &["learner.gradient_booster.model.trees[2].right_children[1]"],
        ),
        (
            "split_condition_as_a_string_names_the_element",
            "tiny_reg",
            |v| tree(v, 0)["split_conditions"][2] = json!("six"),
            &["learner.gradient_booster.model.trees[0].split_conditions[2]"],
        ),
        (
            "default_left_of_the_wrong_type_names_the_element",
            "tiny_reg",
            |v| tree(v, 0)["default_left"][4] = json!("yes"),
            &["learner.gradient_booster.model.trees[0].default_left[4]"],
        ),
        (
            "missing_tree_array_names_the_tree",
            "tiny_reg",
            |v| {
                tree(v, 2).as_object_mut().unwrap().remove("right_children");
            },
            &[
                "learner.gradient_booster.model.trees[2]",
                "missing field `right_children`",
            ],
        ),
        (
            "base_score_as_a_number_names_the_field",
            "tiny_reg",
            |v| param(v)["base_score"] = json!(0.5),
            &["learner.learner_model_param.base_score", "invalid type"],
        ),
        (
            "base_score_with_too_many_values_is_malformed",
            "tiny_reg",
            |v| param(v)["base_score"] = json!("[1E0,2E0]"),
            &["base_score", "2 values", "1 outputs"],
        ),
        (
            "num_feature_as_a_number_names_the_field",
            "tiny_reg",
            |v| param(v)["num_feature"] = json!(3),
            &["learner.learner_model_param.num_feature"],
        ),
        (
            "non_tree_booster_is_malformed",
            "tiny_reg",
            |v| v["learner"]["gradient_booster"]["name"] = json!("gblinear"),
            &["gradient_booster.name", "gblinear"],
        ),
        (
            "vector_leaf_trees_are_rejected_by_name",
            "tiny_reg",
            |v| tree(v, 1)["tree_param"]["size_leaf_vector"] = json!("3"),
            &["tree 1", "vector-leaf"],
        ),
        (
            "missing_threshold_names_tree_and_node",
            "tiny_reg",
            |v| tree(v, 2)["split_conditions"][0] = Value::Null,
            &["tree 2, node 0: split condition is NaN"],
        ),
        (
            "negative_child_index_names_tree_node_and_field",
            "tiny_reg",
            |v| tree(v, 0)["right_children"][1] = json!(-5),
            &["tree 0, node 1: `right_children` = -5"],
        ),
        (
            "right_child_without_left_child_names_tree_and_node",
            "tiny_reg",
            |v| tree(v, 0)["left_children"][2] = json!(-1),
            &["tree 0, node 2", "right child (6)"],
        ),
        (
            "negative_split_index_names_tree_node_and_field",
            "tiny_reg",
            |v| tree(v, 2)["split_indices"][0] = json!(-1),
            &["tree 2, node 0: `split_indices` = -1"],
        ),
        (
            "split_conditions_shorter_than_left_children_names_tree_and_field",
            "tiny_reg",
            |v| {
                tree(v, 1)["split_conditions"].as_array_mut().unwrap().pop();
            },
            &["tree 1: `split_conditions` has 6 entries but `left_children` has 7"],
        ),
        (
            "categorical_segment_past_the_end_names_tree_and_entry",
            "categorical_small",
            |v| {
                let t = tree(v, 0);
                assert_eq!(t["categories_nodes"], json!([1, 2]), "fixture changed");
                t["categories_sizes"][1] = json!(5);
            },
            &["tree 0: categorical entry 1: segment runs past the end of `categories`"],
        ),
        (
            "categorical_segment_near_usize_max_is_an_error_not_a_panic",
            "categorical_small",
            |v| {
                let t = tree(v, 0);
                t["categories_segments"][0] = json!(i64::MAX);
                t["categories_sizes"][0] = json!(i64::MAX);
            },
            &["tree 0: categorical entry 0: segment runs past"],
        ),
        (
            "categorical_split_without_a_category_set_names_tree_and_node",
            "categorical_small",
            |v| {
                let t = tree(v, 0);
                for field in [
                    "categories_nodes",
                    "categories_segments",
                    "categories_sizes",
                ] {
                    t[field].as_array_mut().unwrap().pop();
                }
            },
            &["tree 0, node 2: categorical split with no entry in `categories_nodes`"],
        ),
        (
            "negative_tree_info_names_the_entry",
            "tiny_reg",
            |v| model(v)["tree_info"][1] = json!(-1),
            &["`tree_info[1]` = -1 is negative"],
        ),
        (
            "tree_info_length_mismatch_is_malformed",
            "tiny_reg",
            |v| {
                model(v)["tree_info"].as_array_mut().unwrap().pop();
            },
            &["`tree_info` has 2 entries for 3 trees"],
        ),
    ];
    check_damages(cases, fixture, malformed);
}

#[test]
fn base_score_that_is_not_a_number_names_the_field() {
    for text in ["abc", "[abc]", "[]", "[1.5,]"] {
        let mut v = fixture("tiny_reg");
        param(&mut v)["base_score"] = json!(text);
        let message = malformed(load_value(&v));
        assert_contains(&message, &["base_score", "is not a number"]);
    }
}

#[test]
fn base_score_outside_the_objective_domain_names_the_field() {
    // A probability of 0 or 1 has no logit, and 0 has no log: the margin would be infinite.
    for (objective, base) in [
        ("binary:logistic", "0"),
        ("binary:logistic", "[1E0]"),
        ("count:poisson", "0"),
        ("reg:gamma", "-1E0"),
    ] {
        let mut v = fixture("tiny_reg");
        v["learner"]["objective"]["name"] = json!(objective);
        param(&mut v)["base_score"] = json!(base);
        let err = load_value(&v).expect_err(objective);
        assert_contains(&err.to_string(), &[NAME, "base_score"]);
    }
}

#[test]
fn num_feature_that_is_not_a_count_names_the_field() {
    for text in ["abc", "-3", "3.0", ""] {
        let mut v = fixture("tiny_reg");
        param(&mut v)["num_feature"] = json!(text);
        let message = malformed(load_value(&v));
        assert_contains(
            &message,
            &[
                "num_feature",
                &format!("`{text}` is not a non-negative integer"),
            ],
        );
    }
}

#[test]
fn absurd_num_feature_is_an_error_not_a_panic() {
    // usize::MAX features: allocating per-feature tables for it must not be attempted.
    let mut v = fixture("tiny_reg");
    param(&mut v)["num_feature"] = json!(u64::MAX.to_string());
    let err = load_value(&v).expect_err("a model with 2^64-1 features cannot load");
    assert_contains(&err.to_string(), &[NAME, "num_feature"]);
}

// ---------------------------------------------------------------------------------------
// Node values
// ---------------------------------------------------------------------------------------

#[test]
fn null_or_bare_nan_leaf_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["split_conditions"][4] = Value::Null;
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 1, node 4: leaf value is NaN"]);

    // The same through the bare-`NaN` path older XGBoost writes.
    let text = String::from_utf8(fixture_bytes("tiny_reg")).unwrap();
    // Tree 0's split_conditions; its fourth entry (node 3) is a leaf.
    let before = r#""split_conditions":[1.5975143E-1,-4.6843228E-1,6E0,-1.8053558E0,"#;
    let after = r#""split_conditions":[1.5975143E-1,-4.6843228E-1,6E0,NaN,"#;
    assert!(text.contains(before), "fixture changed");
    let text = text.replacen(before, after, 1);
    let message = malformed(load(text.as_bytes()));
    assert_contains(&message, &["tree 0, node 3: leaf value is NaN"]);
}

// ---------------------------------------------------------------------------------------
// Tree structure (IrError via LoadError::Invalid)
// ---------------------------------------------------------------------------------------

/// Each damage to a tree's structure is an `IrError` (via `LoadError::Invalid`) naming the
/// tree and node: (case, fixture, damage, the error or `None` for an `IrError::Invalid`,
/// what its message says).
#[test]
fn damaged_tree_structures_are_ir_errors_naming_tree_and_node() {
    type Case = (
        &'static str,
        &'static str,
        fn(&mut Value),
        Option<IrError>,
        &'static [&'static str],
    );
    let cases: Vec<Case> = vec![
        (
            "leaf_overflowing_f32_names_tree_and_node",
            "tiny_reg",
            |v| tree(v, 0)["split_conditions"][6] = serde_json::from_str("1e400").unwrap(),
            None,
            &["tree 0, node 6: leaf value", "finite"],
        ),
        (
            "child_index_out_of_range_names_tree_and_node",
            "tiny_reg",
            |v| tree(v, 1)["left_children"][2] = json!(99),
            Some(IrError::ChildOutOfRange {
                tree: 1,
                node: 2,
                child: 99,
                len: 7,
            }),
            &["tree 1, node 2: child index 99"],
        ),
        (
            "child_pointing_back_to_the_root_is_not_a_tree",
            "tiny_reg",
            |v| tree(v, 2)["right_children"][2] = json!(0),
            Some(IrError::NotATree { tree: 2, node: 0 }),
            &["tree 2, node 0", "cycle"],
        ),
        (
            "node_that_is_its_own_child_is_not_a_tree",
            "tiny_reg",
            |v| tree(v, 0)["left_children"][1] = json!(1),
            Some(IrError::NotATree { tree: 0, node: 1 }),
            &[],
        ),
        (
            "leaf_turned_into_a_split_pointing_to_an_ancestor_is_not_a_tree",
            "tiny_reg",
            |v| {
                // Node 3 (under 1, under 0) becomes a split whose children are 1 and a new leaf.
                let t = tree(v, 1);
                let extra = push_leaf(t, 0.5);
                t["left_children"][3] = json!(1);
                t["right_children"][3] = json!(extra);
            },
            Some(IrError::NotATree { tree: 1, node: 1 }),
            &[],
        ),
        (
            "node_shared_by_two_parents_is_not_a_tree",
            "tiny_reg",
            // Node 3 is the left child of node 1; make it node 2's left child too.
            |v| tree(v, 0)["left_children"][2] = json!(3),
            Some(IrError::NotATree { tree: 0, node: 3 }),
            &["tree 0, node 3", "shared child"],
        ),
        (
            "unreachable_node_names_tree_and_node",
            "tiny_reg",
            |v| {
                let node = push_leaf(tree(v, 2), 0.25);
                assert_eq!(node, 7);
            },
            Some(IrError::Unreachable { tree: 2, node: 7 }),
            &["tree 2, node 7: unreachable"],
        ),
        (
            "split_feature_out_of_range_names_tree_and_node",
            "tiny_reg",
            |v| tree(v, 1)["split_indices"][1] = json!(3), // num_feature is 3
            Some(IrError::FeatureOutOfRange {
                tree: 1,
                node: 1,
                feature: 3,
                num_features: 3,
            }),
            &["tree 1, node 1: feature index 3"],
        ),
        (
            "num_feature_smaller_than_the_features_used_is_feature_out_of_range",
            "tiny_reg",
            // Tree 0, node 2 splits on feature 2.
            |v| param(v)["num_feature"] = json!("2"),
            Some(IrError::FeatureOutOfRange {
                tree: 0,
                node: 2,
                feature: 2,
                num_features: 2,
            }),
            &[],
        ),
        (
            "empty_tree_is_invalid",
            "tiny_reg",
            |v| {
                for field in [
                    "left_children",
                    "right_children",
                    "split_indices",
                    "split_conditions",
                    "default_left",
                    "split_type",
                ] {
                    tree(v, 1)[field] = json!([]);
                }
            },
            None,
            &["tree 1 has no nodes"],
        ),
        (
            "tree_info_out_of_range_names_the_tree",
            "tiny_reg",
            |v| model(v)["tree_info"][2] = json!(1),
            None,
            &["tree 2: output group 1 is out of range"],
        ),
    ];
    check_cases(
        &cases,
        |case| case.0,
        |(_, fixture_name, damage, want, needles)| {
            let mut v = fixture(fixture_name);
            damage(&mut v);
            let err = invalid(load_value(&v));
            let message = match (&err, want) {
                (_, Some(want)) => {
                    assert_eq!(&err, want);
                    err.to_string()
                }
                (IrError::Invalid(m), None) => m.clone(),
                (other, None) => panic!("expected IrError::Invalid, got {other:?}"),
            };
            assert_contains(&message, needles);
        },
    );
}

#[test]
fn very_deep_tree_loads_without_overflowing_the_stack() {
    // A 20,000-level chain: split k goes left to split k+1 and right to leaf depth+1+k;
    // node `depth` is the last (leftmost) leaf. Recursive validation would overflow.
    let depth = 20_000usize;
    let n = 2 * depth + 1;
    let mut left = vec![-1i64; n];
    let mut right = vec![-1i64; n];
    for k in 0..depth {
        left[k] = (k + 1) as i64;
        right[k] = (depth + 1 + k) as i64;
    }
    let mut v = fixture("tiny_reg");
    let t = tree(&mut v, 0);
    t["left_children"] = json!(left);
    t["right_children"] = json!(right);
    t["split_indices"] = json!(vec![0; n]);
    t["split_conditions"] = json!(vec![0.5f32; n]);
    t["default_left"] = json!(vec![0; n]);
    t["split_type"] = json!(vec![0; n]);
    // A small stack, so the test fails (aborts) rather than passes by luck on a big one.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || load_value(&v).map(|f| f.max_depth()))
        .unwrap()
        .join()
        .expect("loading a deep tree panicked");
    assert_eq!(result.unwrap(), depth);
}

// ---------------------------------------------------------------------------------------
// Array lengths, categorical segments, tree_info, dart weights
// ---------------------------------------------------------------------------------------

#[test]
fn every_per_node_array_is_length_checked() {
    for field in [
        "right_children",
        "split_indices",
        "split_conditions",
        "default_left",
        "split_type",
    ] {
        let mut v = fixture("tiny_reg");
        tree(&mut v, 2)[field]
            .as_array_mut()
            .unwrap()
            .push(json!(0));
        let message = malformed(load_value(&v));
        assert_contains(&message, &["tree 2: ", &format!("`{field}` has 8 entries")]);
    }
}

#[test]
fn categorical_bookkeeping_errors_name_tree_and_entry() {
    let cases: [(&str, Value, &str); 4] = [
        (
            "categories_nodes",
            json!([1, 99]),
            "entry 1: node out of range",
        ),
        (
            "categories_segments",
            json!([0, -1]),
            "entry 1: negative segment",
        ),
        ("categories_sizes", json!([-1, 1]), "entry 0: negative size"),
        ("categories", json!([1, -7]), "entry 1: negative category"),
    ];
    for (field, value, expected) in cases {
        let mut v = fixture("categorical_small");
        tree(&mut v, 0)[field] = value;
        let message = malformed(load_value(&v));
        assert_contains(&message, &[&format!("tree 0: categorical {expected}")]);
    }
    let mut v = fixture("categorical_small");
    tree(&mut v, 0)["categories_sizes"] = json!([1]);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 0: `categories_nodes`", "(2, 2, 1)"]);
}

#[test]
fn dart_weight_drop_length_mismatch_is_malformed() {
    let mut v = fixture("dart");
    let drops = v["learner"]["gradient_booster"]["weight_drop"]
        .as_array_mut()
        .unwrap();
    let n = drops.len();
    drops.pop();
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &[&format!(
            "`weight_drop` has {} entries for {n} trees",
            n - 1
        )],
    );
}

#[test]
fn dart_without_weight_drop_or_inner_booster_is_malformed() {
    let mut v = fixture("dart");
    let booster = v["learner"]["gradient_booster"].as_object_mut().unwrap();
    booster.remove("weight_drop");
    assert_contains(
        &malformed(load_value(&v)),
        &["learner.gradient_booster.weight_drop", "missing"],
    );

    let mut v = fixture("dart");
    let booster = v["learner"]["gradient_booster"].as_object_mut().unwrap();
    booster.remove("gbtree");
    assert_contains(
        &malformed(load_value(&v)),
        &["learner.gradient_booster.gbtree", "missing"],
    );
}

#[test]
fn dart_weight_that_is_not_a_number_names_the_element() {
    let mut v = fixture("dart");
    v["learner"]["gradient_booster"]["weight_drop"][3] = json!("heavy");
    assert_contains(
        &malformed(load_value(&v)),
        &["learner.gradient_booster.weight_drop[3]"],
    );
}

// ---------------------------------------------------------------------------------------
// Objectives and early stopping
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_objective_is_named() {
    let mut v = fixture("tiny_reg");
    v["learner"]["objective"]["name"] = json!("reg:frobnicate");
    match load_value(&v) {
        Err(e @ LoadError::UnknownObjective { .. }) => {
            assert_contains(&e.to_string(), &[NAME, "`reg:frobnicate`", "--margin"]);
            let LoadError::UnknownObjective { objective, .. } = e else {
                unreachable!()
            };
            assert_eq!(objective, "reg:frobnicate");
        }
        other => panic!("expected UnknownObjective, got {other:?}"),
    }
}

#[test]
fn unknown_objective_loads_for_margins_only() {
    let mut v = fixture("tiny_reg");
    v["learner"]["objective"]["name"] = json!("reg:frobnicate");
    let options = LoadOptions {
        margin_only: true,
        ..LoadOptions::default()
    };
    let forest = load_with(&serde_json::to_vec(&v).unwrap(), &options).unwrap();
    assert_eq!(forest.objective, "reg:frobnicate");
    assert_eq!(forest.transform, Transform::Identity);
    assert_eq!(forest.base_margin, vec![f64::from(1.990_438_8f32)]);
    assert_eq!(forest.trees.len(), 3);
}

#[test]
fn bad_best_iteration_names_the_attribute() {
    for value in [json!("-1"), json!("three"), json!([1])] {
        let mut v = fixture("tiny_reg");
        v["learner"]["attributes"]["best_iteration"] = value;
        assert_contains(
            &malformed(load_value(&v)),
            &["learner.attributes.best_iteration"],
        );
    }
}

/// tiny_reg with `best_iteration` set, optionally without `iteration_indptr` (as 2.x writes).
fn early_stopped(best: &str, indptr: bool) -> Value {
    let mut v = fixture("tiny_reg");
    v["learner"]["attributes"]["best_iteration"] = json!(best);
    if !indptr {
        model(&mut v)
            .as_object_mut()
            .unwrap()
            .remove("iteration_indptr");
    }
    v
}

#[test]
fn best_iteration_selects_leading_trees() {
    // The control for the two tests below.
    for indptr in [true, false] {
        let forest = load_value(&early_stopped("1", indptr)).unwrap();
        assert_eq!(forest.trees.len(), 2, "indptr {indptr}");
        let forest = load_value(&early_stopped("7", indptr)).unwrap();
        assert_eq!(forest.trees.len(), 3, "indptr {indptr}");
    }
}

#[test]
fn best_iteration_at_usize_max_keeps_all_trees_with_iteration_indptr() {
    let v = early_stopped(&u64::MAX.to_string(), true);
    let forest = load_value(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forest.trees.len(), 3);
}

#[test]
fn best_iteration_at_usize_max_keeps_all_trees_without_iteration_indptr() {
    let v = early_stopped(&u64::MAX.to_string(), false);
    let forest = load_value(&v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forest.trees.len(), 3);
}

#[test]
fn huge_num_parallel_tree_is_not_a_panic() {
    // Trees per iteration = num_parallel_tree * groups (4 classes here).
    let mut v = fixture("multi_softprob");
    v["learner"]["attributes"]["best_iteration"] = json!("0");
    let m = model(&mut v);
    m.as_object_mut().unwrap().remove("iteration_indptr");
    m["gbtree_model_param"]["num_parallel_tree"] = json!(u64::MAX.to_string());
    let n = m["trees"].as_array().unwrap().len();
    match load_value(&v) {
        Ok(forest) => assert_eq!(forest.trees.len(), n),
        Err(e) => assert_contains(&e.to_string(), &[NAME, "num_parallel_tree"]),
    }
}

#[test]
fn negative_iteration_indptr_is_malformed() {
    let mut v = fixture("tiny_reg");
    v["learner"]["attributes"]["best_iteration"] = json!("0");
    model(&mut v)["iteration_indptr"] = json!([0, -1, 2, 3]);
    assert_contains(
        &malformed(load_value(&v)),
        &["`iteration_indptr`", "negative"],
    );
    // With every tree requested, the early-stopping bookkeeping is not consulted.
    let options = LoadOptions {
        iterations: Iterations::All,
        ..LoadOptions::default()
    };
    assert!(load_with(&serde_json::to_vec(&v).unwrap(), &options).is_ok());
}

#[test]
fn feature_names_of_the_wrong_count_are_malformed() {
    let mut v = fixture("named_features");
    v["learner"]["feature_names"].as_array_mut().unwrap().pop();
    assert_contains(
        &malformed(load_value(&v)),
        &["`learner.feature_names` has 7 names for 8 features"],
    );
    let mut v = fixture("named_features");
    v["learner"]["feature_types"]
        .as_array_mut()
        .unwrap()
        .push(json!("float"));
    assert_contains(
        &malformed(load_value(&v)),
        &["`learner.feature_types` has 9 types for 8 features"],
    );
}
