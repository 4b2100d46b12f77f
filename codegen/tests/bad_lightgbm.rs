//! Bad LightGBM models (text and JSON): damaged real fixture files give an error naming the
//! file, the line or tree, and the field; never a panic.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::ir::Forest;
use timber_codegen::{LoadError, LoadOptions};

// ---------------------------------------------------------------------------------------
// LightGBM text
// ---------------------------------------------------------------------------------------

/// Replaces the first line starting with `key=` after the line `Tree=<tree>`.
fn edit_tree_line(text: &str, tree: usize, key: &str, value: &str) -> String {
    let mut in_tree = false;
    let mut done = false;
    text.lines()
        .map(|l| {
            if l == format!("Tree={tree}") {
                in_tree = true;
            } else if l.starts_with("Tree=") {
                in_tree = false;
            }
            if in_tree && !done && l.starts_with(&format!("{key}=")) {
                done = true;
                format!("{key}={value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tree_line(text: &str, tree: usize, key: &str) -> String {
    let start = text.find(&format!("Tree={tree}\n")).unwrap();
    let line = text[start..]
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap();
    line[key.len() + 1..].to_string()
}

fn load_text(text: &str) -> Result<Forest, LoadError> {
    load(text.as_bytes())
}

#[test]
fn every_truncation_of_a_lightgbm_text_model_is_an_error() {
    let text = fixture_text("lgb_categorical", "model.txt");
    let end = text.find("end of trees").unwrap();
    // Cuts inside the trees: at every line end, and inside lines.
    for (i, _) in text[..end].match_indices('\n') {
        assert!(load_text(&text[..i]).is_err(), "cut at byte {i} loaded");
    }
    every_truncation_fails(&text.as_bytes()[..end], 61, &LoadOptions::default());
    assert_contains(
        &error(load_text(&text[..end / 2])),
        &["no `end of trees` line"],
    );
}

#[test]
fn wrong_array_lengths_name_line_tree_and_key() {
    let text = fixture_text("lgb_regression", "model.txt");
    let threshold = tree_line(&text, 3, "threshold");
    let n = threshold.split(' ').count();
    let shorter = threshold.rsplit_once(' ').unwrap().0;
    let damaged = edit_tree_line(&text, 3, "threshold", shorter);
    let line = 1 + damaged
        .lines()
        .position(|l| l == format!("threshold={shorter}"))
        .unwrap();
    assert_contains(
        &error(load_text(&damaged)),
        &[
            &format!("line {line} (tree 3, `threshold`)"),
            &format!("{} values, expected {n}", n - 1),
        ],
    );
    let leaves = tree_line(&text, 0, "leaf_value").split(' ').count();
    let damaged = edit_tree_line(&text, 0, "leaf_value", "1 2 3");
    assert_contains(
        &error(load_text(&damaged)),
        &[
            "tree 0, `leaf_value`",
            &format!("3 values, expected {leaves}"),
        ],
    );
    let types = tree_line(&text, 5, "decision_type");
    let damaged = edit_tree_line(
        &text,
        5,
        "decision_type",
        &format!("x{}", &types[types.find(' ').unwrap()..]),
    );
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 5, `decision_type`", "value 0 `x` is not valid"],
    );
}

#[test]
fn bad_children_decision_types_and_counts_are_named() {
    let text = fixture_text("lgb_regression", "model.txt");
    let left = tree_line(&text, 2, "left_child");
    let mut children: Vec<String> = left.split(' ').map(str::to_string).collect();
    children[0] = "-40".into();
    let damaged = edit_tree_line(&text, 2, "left_child", &children.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 2, node 0", "`left_child` -40 is out of range"],
    );
    let mut types: Vec<String> = tree_line(&text, 1, "decision_type")
        .split(' ')
        .map(str::to_string)
        .collect();
    types[3] = "99".into();
    let damaged = edit_tree_line(&text, 1, "decision_type", &types.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 1, node 3", "`decision_type` 99"],
    );
    types[3] = "12".into(); // missing type 3 does not exist
    let damaged = edit_tree_line(&text, 1, "decision_type", &types.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 1, node 3", "unknown missing type"],
    );
    let damaged = edit_tree_line(&text, 4, "num_leaves", "0");
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 4, `num_leaves`", "0 leaves"],
    );
    let damaged = text.replacen("max_feature_idx=5", "max_feature_idx=7", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["`feature_names` has 6 names", "8 features"],
    );
    let damaged = text.replacen("num_tree_per_iteration=1", "num_tree_per_iteration=3", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["20 trees is not a whole number of iterations of 3"],
    );
    let damaged = text.replacen("Tree=7\n", "Tree=9\n", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["`Tree=9` where `Tree=7` was expected"],
    );
}

#[test]
fn bad_bitsets_are_named() {
    let text = fixture_text("lgb_categorical", "model.txt");
    let tree = (0..25)
        .find(|&t| tree_line(&text, t, "num_cat") != "0")
        .unwrap();
    // Boundaries that do not cover the words.
    let words = tree_line(&text, tree, "cat_threshold");
    let fewer = words.rsplit_once(' ').unwrap().0;
    let damaged = edit_tree_line(&text, tree, "cat_threshold", fewer);
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `cat_boundaries`"), "do not cover"],
    );
    // A categorical threshold that is no bitset index.
    let types = tree_line(&text, tree, "decision_type");
    let node = types
        .split(' ')
        .position(|d| d.parse::<i64>().unwrap() & 1 == 1)
        .unwrap();
    let mut thresholds: Vec<String> = tree_line(&text, tree, "threshold")
        .split(' ')
        .map(str::to_string)
        .collect();
    thresholds[node] = "77".into();
    let damaged = edit_tree_line(&text, tree, "threshold", &thresholds.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, node {node}"), "not a bitset index"],
    );
    // A bitset word far past 2^24 categories is no valid category set.
    let boundaries = tree_line(&text, tree, "cat_boundaries");
    let last: usize = boundaries.rsplit(' ').next().unwrap().parse().unwrap();
    let mut b: Vec<String> = boundaries.split(' ').map(str::to_string).collect();
    let n = b.len();
    b[n - 1] = (last + 600_000).to_string();
    let damaged = edit_tree_line(&text, tree, "cat_boundaries", &b.join(" "));
    let damaged = edit_tree_line(
        &damaged,
        tree,
        "cat_threshold",
        &format!("{words}{}", " 1".repeat(600_000)),
    );
    assert_contains(
        &error(load_text(&damaged)),
        &[
            &format!("tree {tree}"),
            "out of range (codes are below 2^24)",
        ],
    );
}

#[test]
fn bad_linear_leaves_and_objectives_are_named() {
    let text = fixture_text("lgb_linear", "model.txt");
    let tree = (0..10)
        .find(|&t| {
            tree_line(&text, t, "num_features")
                .split(' ')
                .any(|n| n != "0")
        })
        .unwrap();
    let damaged = edit_tree_line(&text, tree, "leaf_coeff", "");
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `leaf_coeff`"), "0 values, expected"],
    );
    let damaged = edit_tree_line(&text, tree, "num_features", "1 2");
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `num_features`")],
    );
    let binary = fixture_text("lgb_binary", "model.txt");
    let damaged = binary.replacen("objective=binary sigmoid:1", "objective=binary", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["objective `binary`: no `sigmoid:` factor"],
    );
    let damaged = binary.replacen(
        "objective=binary sigmoid:1",
        "objective=binary sigmoid:-2",
        1,
    );
    assert_contains(&error(load_text(&damaged)), &["bad `sigmoid:` factor `-2`"]);
    let damaged = binary.replacen("objective=binary sigmoid:1", "objective=softsign", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["unsupported objective `softsign`", "--margin"],
    );
    let margins = LoadOptions {
        margin_only: true,
        ..LoadOptions::default()
    };
    assert!(load_with(damaged.as_bytes(), &margins).is_ok());
}

// ---------------------------------------------------------------------------------------
// LightGBM JSON
// ---------------------------------------------------------------------------------------

fn lgb_json() -> Value {
    fixture_json("lgb_categorical", "model.json")
}

fn first_categorical(node: &mut Value) -> Option<&mut Value> {
    if node["decision_type"] == "==" {
        return Some(node);
    }
    node.get("left_child")?;
    // Look left first, then right.
    let found_left = first_categorical(&mut node["left_child"]).is_some();
    if found_left {
        return first_categorical(&mut node["left_child"]);
    }
    first_categorical(&mut node["right_child"])
}

#[test]
fn truncated_lightgbm_json_is_an_error() {
    let (options, needle) = (LoadOptions::default(), "EOF while parsing");
    truncations_fail(("lgb_categorical", "model.json"), 997, 3, &options, needle);
}

#[test]
fn damaged_lightgbm_json_nodes_name_their_path() {
    let mut v = lgb_json();
    let tree = (0..25)
        .find(|&t| first_categorical(&mut v["tree_info"][t]["tree_structure"]).is_some())
        .unwrap();
    let node = first_categorical(&mut v["tree_info"][tree]["tree_structure"]).unwrap();
    node["threshold"] = json!("1||x||3");
    assert_contains(
        &error(load_value(&v)),
        &[
            &format!("tree {tree}, `tree_structure"),
            "`x` is not a category code",
        ],
    );
    let mut v = lgb_json();
    v["tree_info"][0]["tree_structure"]["decision_type"] = json!("==");
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, `tree_structure`", "does not fit its `threshold`"],
    );
    let mut v = lgb_json();
    v["tree_info"][1]["tree_structure"]["missing_type"] = json!("Sometimes");
    assert_contains(
        &error(load_value(&v)),
        &[
            "tree 1, `tree_structure`",
            "unknown `missing_type` `Sometimes`",
        ],
    );
    let mut v = lgb_json();
    v["tree_info"][2]["tree_structure"]["left_child"] = json!({"split_feature": 0});
    assert_contains(
        &error(load_value(&v)),
        &["tree 2, `tree_structure.left_child`", "without `threshold`"],
    );
    let mut v = lgb_json();
    v["tree_info"][2]["tree_structure"]["split_feature"] = json!(40);
    assert_contains(
        &error(load_value(&v)),
        &["tree 2, node 0", "feature index 40 is out of range"],
    );
    let mut v = lgb_json();
    v["feature_names"] = json!(["a"]);
    assert_contains(&error(load_value(&v)), &["`feature_names` has 1 names"]);
    let mut v = lgb_json();
    v["tree_info"][0]["tree_structure"]["threshold"] = json!("big");
    assert_contains(&error(load_value(&v)), &["does not fit its `threshold`"]);
}

#[test]
fn damaged_linear_leaves_in_lightgbm_json_are_named() {
    let mut v = fixture_json("lgb_linear", "model.json");
    let mut node = &mut v["tree_info"][4]["tree_structure"];
    while node.get("left_child").is_some() {
        node = &mut node["left_child"];
    }
    let mut partial = node.clone();
    partial.as_object_mut().unwrap().remove("leaf_coeff");
    *node = partial;
    assert_contains(
        &error(load_value(&v)),
        &[
            "tree 4",
            "needs all of `leaf_const`, `leaf_features` and `leaf_coeff`",
        ],
    );
    let mut v = fixture_json("lgb_linear", "model.json");
    let mut node = &mut v["tree_info"][4]["tree_structure"];
    while node.get("left_child").is_some() {
        node = &mut node["left_child"];
    }
    node["leaf_features"] = json!([0, 1, 2]);
    node["leaf_coeff"] = json!([0.5]);
    assert_contains(
        &error(load_value(&v)),
        &["tree 4", "3 `leaf_features` but 1 `leaf_coeff`"],
    );
}
