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
    let (options, needle) = (LoadOptions::default(), "EOF while parsing");
    truncations_fail(("sk_rf_multiclass", "model.json"), 499, 2, &options, needle);
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
    // (case, fixture, damage, what the error says)
    let cases: &[Damage] = &[
        (
            "schema version",
            "sk_tree_regressor",
            |v| v["timber_sklearn"] = json!(2),
            &["`timber_sklearn` = 2", "schema version 1"],
        ),
        (
            "missing_go_to_left",
            "sk_tree_regressor",
            |v| v["trees"][0]["missing_go_to_left"][0] = json!(2),
            &["tree 0, node 0", "`missing_go_to_left` = 2"],
        ),
        (
            "threshold below f32",
            "sk_tree_regressor",
            |v| v["trees"][0]["threshold"][0] = json!(-1e300),
            &["tree 0, node 0", "below every f32"],
        ),
        (
            "child out of range",
            "sk_tree_regressor",
            |v| v["trees"][0]["children_left"][0] = json!(100_000),
            &["tree 0, node 0", "child index 100000 is out of range"],
        ),
        (
            "one child",
            "sk_tree_regressor",
            |v| v["trees"][0]["children_right"][0] = json!(-1),
            &["tree 0, node 0", "a split needs two children"],
        ),
        (
            "feature out of range",
            "sk_tree_regressor",
            |v| v["trees"][0]["feature"][0] = json!(17),
            &["tree 0, node 0", "feature index 17 is out of range"],
        ),
        (
            "init length",
            "sk_gb_multiclass",
            |v| v["init"] = json!([0.1, 0.2]),
            &["`init` has 2 values for 3 outputs"],
        ),
        (
            "no learning_rate",
            "sk_gb_multiclass",
            |v| {
                v.as_object_mut().unwrap().remove("learning_rate");
            },
            &["`learning_rate`: missing"],
        ),
        (
            "output out of range",
            "sk_gb_multiclass",
            |v| v["trees"][7]["output"] = json!(3),
            &["tree 7: `output` 3 is out of range"],
        ),
        (
            "unknown transform",
            "sk_gb_binary",
            |v| v["transform"] = json!("tanh"),
            &["at `transform`", "unknown variant `tanh`"],
        ),
        (
            "value not a number",
            "sk_gb_binary",
            |v| v["trees"][0]["value"][0][0] = json!("x"),
            &["trees[0].value[0][0]"],
        ),
    ];
    check_damages(cases, sk, error);
}
