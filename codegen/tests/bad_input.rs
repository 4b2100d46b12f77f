//! Bad input must give an error that says what is wrong and where, never a panic.
//!
//! Malformed models are real fixtures (`models/*/model.json`) loaded as `serde_json::Value`,
//! damaged in one place and serialised back, so each test exercises exactly one defect. The
//! CLI tests run the `timber` binary on damaged model and CSV files.

use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use timber_codegen::ir::{
    Comparison, Feature, FeatureKind, Forest, IrError, Leaf, Node, Origin, Precision, Split, Test,
    Transform, Tree,
};
use timber_codegen::load::load_bytes;
use timber_codegen::{Iterations, LoadError, LoadOptions};

const NAME: &str = "bad.json";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture_path(name: &str) -> PathBuf {
    workspace().join("models").join(name).join("model.json")
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
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

/// Loads bytes as `bad.json`, turning a panic into a test failure that says so.
fn load_with(bytes: &[u8], options: &LoadOptions) -> Result<Forest, LoadError> {
    match catch_unwind(AssertUnwindSafe(|| load_bytes(bytes, NAME, options))) {
        Ok(result) => result,
        Err(_) => panic!("load_bytes panicked instead of returning an error"),
    }
}

fn load(bytes: &[u8]) -> Result<Forest, LoadError> {
    load_with(bytes, &LoadOptions::default())
}

fn load_value(v: &Value) -> Result<Forest, LoadError> {
    load(&serde_json::to_vec(v).unwrap())
}

/// The full message of a `Malformed` error (which starts with the file name).
fn malformed(result: Result<Forest, LoadError>) -> String {
    match result {
        Err(e @ LoadError::Malformed { .. }) => {
            let LoadError::Malformed { path, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path, NAME);
            let message = e.to_string();
            assert!(message.starts_with("bad.json: "), "{message}");
            message
        }
        other => panic!("expected LoadError::Malformed, got {other:?}"),
    }
}

/// The structural error of an `Invalid` error, after checking its message names the file.
fn invalid(result: Result<Forest, LoadError>) -> IrError {
    match result {
        Err(e @ LoadError::Invalid { .. }) => {
            let message = e.to_string();
            assert!(message.starts_with("bad.json: tree "), "{message}");
            let LoadError::Invalid { path, source } = e else {
                unreachable!()
            };
            assert_eq!(path, NAME);
            source
        }
        other => panic!("expected LoadError::Invalid, got {other:?}"),
    }
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the message:\n{haystack}"
        );
    }
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
        match load(bytes) {
            Err(e @ LoadError::UnknownFormat { .. }) => {
                assert_contains(&e.to_string(), &["bad.json", "empty"]);
            }
            other => panic!("expected UnknownFormat for {bytes:?}, got {other:?}"),
        }
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
        match load(bytes) {
            Err(e @ LoadError::UnknownFormat { .. }) => {
                assert_contains(&e.to_string(), &["bad.json", "not a supported model file"]);
            }
            other => panic!("expected UnknownFormat for {bytes:?}, got {other:?}"),
        }
    }
}

#[test]
fn json_object_of_no_known_model_is_unknown_format_listing_the_formats() {
    match load(br#"{"hello": "world"}"#) {
        Err(e @ LoadError::UnknownFormat { .. }) => assert_contains(
            &e.to_string(),
            &[
                "bad.json",
                "`learner`, `tree_info`, `timber_sklearn`",
                "XGBoost JSON or UBJSON",
                "XGBoost JSON dump",
                "LightGBM text or JSON",
                "scikit-learn JSON",
            ],
        ),
        other => panic!("expected UnknownFormat, got {other:?}"),
    }
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

#[test]
fn left_children_as_a_string_names_the_field() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["left_children"] = json!("1,3,5");
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &[
            "learner.gradient_booster.model.trees[1].left_children",
            "invalid type: string",
        ],
    );
}

#[test]
fn child_index_as_a_string_names_the_element() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 2)["right_children"][1] = json!("4");
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["learner.gradient_booster.model.trees[2].right_children[1]"],
    );
}

#[test]
fn split_condition_as_a_string_names_the_element() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["split_conditions"][2] = json!("six");
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["learner.gradient_booster.model.trees[0].split_conditions[2]"],
    );
}

#[test]
fn default_left_of_the_wrong_type_names_the_element() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["default_left"][4] = json!("yes");
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["learner.gradient_booster.model.trees[0].default_left[4]"],
    );
}

#[test]
fn missing_tree_array_names_the_tree() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 2)
        .as_object_mut()
        .unwrap()
        .remove("right_children");
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &[
            "learner.gradient_booster.model.trees[2]",
            "missing field `right_children`",
        ],
    );
}

#[test]
fn base_score_as_a_number_names_the_field() {
    let mut v = fixture("tiny_reg");
    param(&mut v)["base_score"] = json!(0.5);
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["learner.learner_model_param.base_score", "invalid type"],
    );
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
fn base_score_with_too_many_values_is_malformed() {
    let mut v = fixture("tiny_reg");
    param(&mut v)["base_score"] = json!("[1E0,2E0]");
    let message = malformed(load_value(&v));
    assert_contains(&message, &["base_score", "2 values", "1 outputs"]);
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
        assert_contains(&err.to_string(), &["bad.json", "base_score"]);
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
fn num_feature_as_a_number_names_the_field() {
    let mut v = fixture("tiny_reg");
    param(&mut v)["num_feature"] = json!(3);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["learner.learner_model_param.num_feature"]);
}

#[test]
fn absurd_num_feature_is_an_error_not_a_panic() {
    // usize::MAX features: allocating per-feature tables for it must not be attempted.
    let mut v = fixture("tiny_reg");
    param(&mut v)["num_feature"] = json!(u64::MAX.to_string());
    let err = load_value(&v).expect_err("a model with 2^64-1 features cannot load");
    assert_contains(&err.to_string(), &["bad.json", "num_feature"]);
}

#[test]
fn non_tree_booster_is_malformed() {
    let mut v = fixture("tiny_reg");
    v["learner"]["gradient_booster"]["name"] = json!("gblinear");
    let message = malformed(load_value(&v));
    assert_contains(&message, &["gradient_booster.name", "gblinear"]);
}

#[test]
fn vector_leaf_trees_are_rejected_by_name() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["tree_param"]["size_leaf_vector"] = json!("3");
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 1", "vector-leaf"]);
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

#[test]
fn missing_threshold_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 2)["split_conditions"][0] = Value::Null;
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 2, node 0: split condition is NaN"]);
}

#[test]
fn leaf_overflowing_f32_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["split_conditions"][6] = serde_json::from_str("1e400").unwrap();
    match invalid(load_value(&v)) {
        IrError::Invalid(m) => assert_contains(&m, &["tree 0, node 6: leaf value", "finite"]),
        other => panic!("expected IrError::Invalid, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Tree structure (IrError via LoadError::Invalid)
// ---------------------------------------------------------------------------------------

#[test]
fn child_index_out_of_range_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["left_children"][2] = json!(99);
    let err = invalid(load_value(&v));
    assert_eq!(
        err,
        IrError::ChildOutOfRange {
            tree: 1,
            node: 2,
            child: 99,
            len: 7
        }
    );
    assert_contains(&err.to_string(), &["tree 1, node 2: child index 99"]);
}

#[test]
fn negative_child_index_names_tree_node_and_field() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["right_children"][1] = json!(-5);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 0, node 1: `right_children` = -5"]);
}

#[test]
fn right_child_without_left_child_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["left_children"][2] = json!(-1);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 0, node 2", "right child (6)"]);
}

#[test]
fn child_pointing_back_to_the_root_is_not_a_tree() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 2)["right_children"][2] = json!(0);
    let err = invalid(load_value(&v));
    assert_eq!(err, IrError::NotATree { tree: 2, node: 0 });
    assert_contains(&err.to_string(), &["tree 2, node 0", "cycle"]);
}

#[test]
fn node_that_is_its_own_child_is_not_a_tree() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["left_children"][1] = json!(1);
    assert_eq!(
        invalid(load_value(&v)),
        IrError::NotATree { tree: 0, node: 1 }
    );
}

#[test]
fn leaf_turned_into_a_split_pointing_to_an_ancestor_is_not_a_tree() {
    // Node 3 (under 1, under 0) becomes a split whose children are 1 and a new leaf.
    let mut v = fixture("tiny_reg");
    let t = tree(&mut v, 1);
    let extra = push_leaf(t, 0.5);
    t["left_children"][3] = json!(1);
    t["right_children"][3] = json!(extra);
    assert_eq!(
        invalid(load_value(&v)),
        IrError::NotATree { tree: 1, node: 1 }
    );
}

#[test]
fn node_shared_by_two_parents_is_not_a_tree() {
    // Node 3 is the left child of node 1; make it node 2's left child too.
    let mut v = fixture("tiny_reg");
    tree(&mut v, 0)["left_children"][2] = json!(3);
    let err = invalid(load_value(&v));
    assert_eq!(err, IrError::NotATree { tree: 0, node: 3 });
    assert_contains(&err.to_string(), &["tree 0, node 3", "shared child"]);
}

#[test]
fn unreachable_node_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    let node = push_leaf(tree(&mut v, 2), 0.25);
    assert_eq!(node, 7);
    let err = invalid(load_value(&v));
    assert_eq!(err, IrError::Unreachable { tree: 2, node: 7 });
    assert_contains(&err.to_string(), &["tree 2, node 7: unreachable"]);
}

#[test]
fn split_feature_out_of_range_names_tree_and_node() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["split_indices"][1] = json!(3); // num_feature is 3
    let err = invalid(load_value(&v));
    assert_eq!(
        err,
        IrError::FeatureOutOfRange {
            tree: 1,
            node: 1,
            feature: 3,
            num_features: 3
        }
    );
    assert_contains(&err.to_string(), &["tree 1, node 1: feature index 3"]);
}

#[test]
fn num_feature_smaller_than_the_features_used_is_feature_out_of_range() {
    // Tree 0, node 2 splits on feature 2.
    let mut v = fixture("tiny_reg");
    param(&mut v)["num_feature"] = json!("2");
    assert_eq!(
        invalid(load_value(&v)),
        IrError::FeatureOutOfRange {
            tree: 0,
            node: 2,
            feature: 2,
            num_features: 2
        }
    );
}

#[test]
fn negative_split_index_names_tree_node_and_field() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 2)["split_indices"][0] = json!(-1);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["tree 2, node 0: `split_indices` = -1"]);
}

#[test]
fn empty_tree_is_invalid() {
    let mut v = fixture("tiny_reg");
    for field in [
        "left_children",
        "right_children",
        "split_indices",
        "split_conditions",
        "default_left",
        "split_type",
    ] {
        tree(&mut v, 1)[field] = json!([]);
    }
    match invalid(load_value(&v)) {
        IrError::Invalid(m) => assert_contains(&m, &["tree 1 has no nodes"]),
        other => panic!("expected IrError::Invalid, got {other:?}"),
    }
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
fn split_conditions_shorter_than_left_children_names_tree_and_field() {
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["split_conditions"]
        .as_array_mut()
        .unwrap()
        .pop();
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["tree 1: `split_conditions` has 6 entries but `left_children` has 7"],
    );
}

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
fn categorical_segment_past_the_end_names_tree_and_entry() {
    let mut v = fixture("categorical_small");
    let t = tree(&mut v, 0);
    assert_eq!(t["categories_nodes"], json!([1, 2]), "fixture changed");
    t["categories_sizes"][1] = json!(5);
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["tree 0: categorical entry 1: segment runs past the end of `categories`"],
    );
}

#[test]
fn categorical_segment_near_usize_max_is_an_error_not_a_panic() {
    let mut v = fixture("categorical_small");
    let t = tree(&mut v, 0);
    t["categories_segments"][0] = json!(i64::MAX);
    t["categories_sizes"][0] = json!(i64::MAX);
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["tree 0: categorical entry 0: segment runs past"],
    );
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
fn categorical_split_without_a_category_set_names_tree_and_node() {
    let mut v = fixture("categorical_small");
    let t = tree(&mut v, 0);
    for field in [
        "categories_nodes",
        "categories_segments",
        "categories_sizes",
    ] {
        t[field].as_array_mut().unwrap().pop();
    }
    let message = malformed(load_value(&v));
    assert_contains(
        &message,
        &["tree 0, node 2: categorical split with no entry in `categories_nodes`"],
    );
}

#[test]
fn negative_tree_info_names_the_entry() {
    let mut v = fixture("tiny_reg");
    model(&mut v)["tree_info"][1] = json!(-1);
    let message = malformed(load_value(&v));
    assert_contains(&message, &["`tree_info[1]` = -1 is negative"]);
}

#[test]
fn tree_info_out_of_range_names_the_tree() {
    let mut v = fixture("tiny_reg");
    model(&mut v)["tree_info"][2] = json!(1);
    match invalid(load_value(&v)) {
        IrError::Invalid(m) => assert_contains(&m, &["tree 2: output group 1 is out of range"]),
        other => panic!("expected IrError::Invalid, got {other:?}"),
    }
}

#[test]
fn tree_info_length_mismatch_is_malformed() {
    let mut v = fixture("tiny_reg");
    model(&mut v)["tree_info"].as_array_mut().unwrap().pop();
    let message = malformed(load_value(&v));
    assert_contains(&message, &["`tree_info` has 2 entries for 3 trees"]);
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
            assert_contains(
                &e.to_string(),
                &["bad.json", "`reg:frobnicate`", "--margin"],
            );
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
        Err(e) => assert_contains(&e.to_string(), &["bad.json", "num_parallel_tree"]),
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

// ---------------------------------------------------------------------------------------
// IR-level validation through Forest::new
// ---------------------------------------------------------------------------------------

fn numerical(n: usize) -> Vec<Feature> {
    (0..n)
        .map(|i| Feature {
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
    }
}

fn forest(trees: Vec<Tree>, base: f64, precision: Precision) -> Result<Forest, IrError> {
    catch_unwind(|| {
        Forest::new(
            numerical(2),
            trees,
            vec![base],
            Transform::Identity,
            "reg:squarederror".into(),
            precision,
            false,
            Origin::default(),
        )
    })
    .expect("Forest::new panicked")
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
fn ir_rejects_non_finite_thresholds_weights_and_base_margins() {
    let m = ir_invalid(forest(vec![stump(f64::NAN, 0.5, 1.0)], 0.0, Precision::F64));
    assert_contains(&m, &["tree 0, node 0: threshold"]);
    let mut t = stump(0.5, 0.5, 1.0);
    t.weight = Some(f64::INFINITY);
    let m = ir_invalid(forest(vec![stump(0.5, 0.5, 1.0), t], 0.0, Precision::F64));
    assert_contains(&m, &["tree 1: weight"]);
    let m = ir_invalid(forest(vec![], f64::NAN, Precision::F64));
    assert_contains(&m, &["base margin of output 0"]);
}

#[test]
fn ir_structural_errors_name_tree_and_node() {
    let mut t = stump(0.5, 0.5, 1.0);
    let Node::Split(s) = &mut t.nodes[0] else {
        unreachable!()
    };
    s.right = 3;
    assert_eq!(
        forest(vec![t], 0.0, Precision::F32).unwrap_err(),
        IrError::ChildOutOfRange {
            tree: 0,
            node: 0,
            child: 3,
            len: 3
        }
    );

    let mut t = stump(0.5, 0.5, 1.0);
    let Node::Split(s) = &mut t.nodes[0] else {
        unreachable!()
    };
    s.right = 1;
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

    let mut t = stump(0.5, 0.5, 1.0);
    let Node::Split(s) = &mut t.nodes[0] else {
        unreachable!()
    };
    s.feature = 2;
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
    let empty = Tree {
        nodes: vec![],
        group: 0,
        weight: None,
    };
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
        let mut t = stump(0.5, 0.5, 1.0);
        let Node::Split(s) = &mut t.nodes[0] else {
            unreachable!()
        };
        s.test = Test::Categorical {
            categories,
            set_side: timber_codegen::ir::Side::Right,
            code: timber_codegen::ir::CategoryCode::RejectNegative,
        };
        t
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

// ---------------------------------------------------------------------------------------
// The `timber` CLI
// ---------------------------------------------------------------------------------------

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_input")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

fn timber(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run timber");
    Run {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The run failed cleanly: non-zero exit, `error:` first, no panic, and every needle named.
fn assert_clean_failure(run: &Run, needles: &[&str]) {
    assert!(!run.success, "expected failure; stderr:\n{}", run.stderr);
    assert!(
        run.stderr.starts_with("error:"),
        "stderr should start with `error:`:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "timber panicked:\n{}",
        run.stderr
    );
    assert_contains(&run.stderr, needles);
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

const TINY: &str = "models/tiny_reg/model.json";
const TINY_INPUT: &str = "models/tiny_reg/input.csv";

#[test]
fn cli_predict_on_a_truncated_model_fails_cleanly() {
    let dir = scratch("cli_predict_truncated");
    let bytes = fixture_bytes("tiny_reg");
    let model = write(&dir, "truncated.json", &bytes[..bytes.len() / 2]);
    let run = timber(&["predict", &model, "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[&model, "EOF while parsing", "line 1 column"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn cli_compile_on_a_truncated_model_fails_cleanly_and_writes_nothing() {
    let dir = scratch("cli_compile_truncated");
    let bytes = fixture_bytes("tiny_reg");
    let model = write(&dir, "truncated.json", &bytes[..bytes.len() / 2]);
    let out = dir.join("crate");
    let run = timber(&["compile", &model, "--out", out.to_str().unwrap()]);
    assert_clean_failure(&run, &[&model, "EOF while parsing"]);
    assert!(
        !out.exists(),
        "compile wrote {} for a bad model",
        out.display()
    );
}

#[test]
fn cli_inspect_on_a_structurally_invalid_model_fails_cleanly() {
    let dir = scratch("cli_inspect_invalid");
    let mut v = fixture("tiny_reg");
    tree(&mut v, 1)["left_children"][2] = json!(99);
    let model = write(&dir, "cyclic.json", &serde_json::to_vec(&v).unwrap());
    let run = timber(&["inspect", &model]);
    assert_clean_failure(&run, &[&model, "tree 1, node 2: child index 99"]);
}

#[test]
fn cli_missing_model_file_names_it() {
    let dir = scratch("cli_missing_model");
    let model = dir.join("nope.json");
    let run = timber(&["predict", model.to_str().unwrap(), "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[model.to_str().unwrap(), "cannot read the file"]);
}

#[test]
fn cli_unknown_objective_suggests_margin_and_margin_works() {
    let dir = scratch("cli_unknown_objective");
    let mut v = fixture("tiny_reg");
    v["learner"]["objective"]["name"] = json!("reg:frobnicate");
    let model = write(&dir, "frob.json", &serde_json::to_vec(&v).unwrap());
    let run = timber(&["predict", &model, "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[&model, "reg:frobnicate", "--margin"]);

    let run = timber(&["predict", &model, "--input", TINY_INPUT, "--margin"]);
    assert!(run.success, "{}", run.stderr);
    let expected =
        std::fs::read_to_string(workspace().join("models/tiny_reg/expected_margin.csv")).unwrap();
    assert_eq!(run.stdout.lines().count(), expected.lines().count());
}

/// Runs `timber predict` on the tiny model with `csv` as input; returns the run and the path.
fn predict_csv(test: &str, csv: &[u8]) -> (Run, String) {
    let dir = scratch(test);
    let input = write(&dir, "BAD.csv", csv);
    (timber(&["predict", TINY, "--input", &input]), input)
}

#[test]
fn cli_csv_good_input_is_scored() {
    // The control for the CSV tests below: the same shape of file, without the defect.
    let (run, _) = predict_csv("cli_csv_good", b"f0,f1,f2\n0.5,1,2\n,nan,NaN\n");
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 2);
}

#[test]
fn cli_csv_row_with_wrong_column_count_names_the_line() {
    let (run, input) = predict_csv("cli_csv_width", b"f0,f1,f2\n0.5,1,2\n0.5,1\n1,2,3\n");
    assert_clean_failure(&run, &[&input, "line 3: expected 3 columns, found 2"]);
}

#[test]
fn cli_csv_non_numeric_cell_names_line_column_and_feature() {
    let (run, input) = predict_csv("cli_csv_cell", b"f0,f1,f2\n0.5,1,2\n0.5,abc,2\n");
    assert_clean_failure(
        &run,
        &[&input, "line 3, column 2 (f1): `abc` is not a number"],
    );
}

#[test]
fn cli_csv_infinite_cell_is_rejected() {
    let (run, _) = predict_csv("cli_csv_inf", b"f0,f1,f2\n0.5,1,inf\n");
    assert_clean_failure(&run, &["line 2, column 3 (f2)", "not a finite number"]);
}

#[test]
fn cli_csv_header_without_feature_names_and_wrong_width_names_the_header() {
    let (run, input) = predict_csv("cli_csv_header", b"a,b\n1,2\n");
    assert_clean_failure(
        &run,
        &[
            &input,
            "header (line 1)",
            "the model has 3 features but the header has 2 columns",
            "(missing: f0, f1, f2)",
        ],
    );
}

#[test]
fn cli_csv_duplicate_header_column_is_named() {
    let (run, _) = predict_csv("cli_csv_dup", b"f0,f1,f2,f1\n1,2,3,4\n");
    assert_clean_failure(&run, &["header (line 1)", "`f1` appears twice"]);
}

#[test]
fn cli_csv_empty_file_names_the_header() {
    let (run, _) = predict_csv("cli_csv_empty", b"");
    assert_clean_failure(&run, &["header (line 1)", "0 columns"]);
}

#[test]
fn cli_csv_line_numbers_count_physical_lines() {
    // A quoted cell spanning two lines shifts every later row by one line.
    let (run, _) = predict_csv(
        "cli_csv_multiline",
        b"f0,f1,f2\n1,2,3\n\"4\n\",5,6\n7,x,9\n",
    );
    assert_clean_failure(&run, &["line 5, column 2 (f1)"]);
}

#[test]
fn cli_csv_invalid_utf8_names_the_line() {
    let (run, _) = predict_csv("cli_csv_utf8", b"f0,f1,f2\n1,2,3\n4,\xff\xfe,6\n");
    assert_clean_failure(&run, &["line 3"]);
}

#[test]
fn cli_csv_by_name_with_shuffled_and_extra_columns_matches_positional() {
    // named_features: columns by name in any order, extra columns ignored.
    let model = "models/named_features/model.json";
    let original =
        std::fs::read_to_string(workspace().join("models/named_features/input.csv")).unwrap();
    let rows: Vec<Vec<&str>> = original
        .lines()
        .take(20)
        .map(|l| l.split(',').collect())
        .collect();
    let mut shuffled = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut cells: Vec<&str> = row.iter().rev().copied().collect();
        cells.insert(3, if i == 0 { "id" } else { "zz" });
        shuffled.push_str(&cells.join(","));
        shuffled.push('\n');
    }
    let dir = scratch("cli_csv_by_name");
    let a = write(
        &dir,
        "a.csv",
        original
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let b = write(&dir, "b.csv", shuffled.as_bytes());
    let ra = timber(&["predict", model, "--input", &a]);
    let rb = timber(&["predict", model, "--input", &b]);
    assert!(ra.success && rb.success, "{}{}", ra.stderr, rb.stderr);
    assert_eq!(ra.stdout, rb.stdout);
    assert_eq!(ra.stdout.lines().count(), 19);
}
