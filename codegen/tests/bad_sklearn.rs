//! Bad scikit-learn JSON models: damaged real fixture files give an error naming the file, the
//! tree and the field; never a panic.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::LoadOptions;

// ---------------------------------------------------------------------------------------
// scikit-learn JSON
// ---------------------------------------------------------------------------------------

fn sk(fixture: &str) -> Value {
    fixture_json(fixture, "model.json")
}

#[test]
fn truncated_sklearn_json_is_an_error() {
    let bytes = fixture_file("sk_rf_multiclass", "model.json");
    every_truncation_fails(&bytes, 499, &LoadOptions::default());
    assert_contains(
        &error(load(&bytes[..bytes.len() / 2])),
        &["EOF while parsing"],
    );
}

#[test]
fn wrong_sklearn_array_lengths_name_tree_and_field() {
    for field in [
        "children_right",
        "feature",
        "threshold",
        "missing_go_to_left",
        "value",
    ] {
        let mut v = sk("sk_rf_regressor");
        v["trees"][3][field].as_array_mut().unwrap().pop();
        assert_contains(
            &error(load_value(&v)),
            &[
                "tree 3: ",
                &format!("`{field}` has"),
                "but `children_left` has",
            ],
        );
    }
    let mut v = sk("sk_rf_multiclass");
    let leaf = v["trees"][2]["children_left"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == -1)
        .unwrap();
    v["trees"][2]["value"][leaf] = json!([0.5, 0.5]);
    assert_contains(
        &error(load_value(&v)),
        &[
            &format!("tree 2, node {leaf}"),
            "`value` has 2 entries, expected 4",
        ],
    );
    let mut v = sk("sk_rf_named");
    v["feature_names"] = json!(["a", "b"]);
    assert_contains(
        &error(load_value(&v)),
        &["`feature_names` has 2 names for 6 features"],
    );
}

#[test]
fn bad_sklearn_values_are_named() {
    let mut v = sk("sk_tree_regressor");
    v["timber_sklearn"] = json!(2);
    assert_contains(
        &error(load_value(&v)),
        &["`timber_sklearn` = 2", "schema version 1"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["missing_go_to_left"][0] = json!(2);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "`missing_go_to_left` = 2"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["threshold"][0] = json!(-1e300);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "below every f32"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["children_left"][0] = json!(100_000);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "child index 100000 is out of range"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["children_right"][0] = json!(-1);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "a split needs two children"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["feature"][0] = json!(17);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "feature index 17 is out of range"],
    );
    let mut v = sk("sk_gb_multiclass");
    v["init"] = json!([0.1, 0.2]);
    assert_contains(
        &error(load_value(&v)),
        &["`init` has 2 values for 3 outputs"],
    );
    let mut v = sk("sk_gb_multiclass");
    v.as_object_mut().unwrap().remove("learning_rate");
    assert_contains(&error(load_value(&v)), &["`learning_rate`: missing"]);
    let mut v = sk("sk_gb_multiclass");
    v["trees"][7]["output"] = json!(3);
    assert_contains(
        &error(load_value(&v)),
        &["tree 7: `output` 3 is out of range"],
    );
    let mut v = sk("sk_gb_binary");
    v["transform"] = json!("tanh");
    assert_contains(
        &error(load_value(&v)),
        &["at `transform`", "unknown variant `tanh`"],
    );
    let mut v = sk("sk_gb_binary");
    v["trees"][0]["value"][0][0] = json!("x");
    assert_contains(&error(load_value(&v)), &["trees[0].value[0][0]"]);
}
