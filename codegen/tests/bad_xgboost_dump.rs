//! Bad XGBoost JSON dumps, and dumps without the options they need: errors name the file,
//! the tree and node, or the flag to pass; never a panic.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::ir::Forest;
use timber_codegen::load::xgboost::dump::DumpOptions;
use timber_codegen::{LoadError, LoadOptions};

// ---------------------------------------------------------------------------------------
// XGBoost JSON dump
// ---------------------------------------------------------------------------------------

fn dump_options(objective: &str, base: &str, classes: Option<usize>) -> LoadOptions {
    LoadOptions {
        dump: DumpOptions {
            objective: Some(objective.into()),
            base_score: Some(base.into()),
            num_class: classes,
        },
        ..LoadOptions::default()
    }
}

fn binary_dump() -> Value {
    fixture_json("binary_logistic", "model_dump.json")
}

fn load_dump(v: &Value) -> Result<Forest, LoadError> {
    load_with(
        &serde_json::to_vec(v).unwrap(),
        &dump_options("binary:logistic", "0.4335", None),
    )
}

#[test]
fn a_dump_without_its_options_says_what_to_pass() {
    let bytes = fixture_file("binary_logistic", "model_dump.json");
    assert_contains(
        &error(load(&bytes)),
        &[
            "does not record the objective",
            "--objective",
            "binary:logistic",
        ],
    );
    let no_base = LoadOptions {
        dump: DumpOptions {
            objective: Some("binary:logistic".into()),
            ..DumpOptions::default()
        },
        ..LoadOptions::default()
    };
    assert_contains(
        &error(load_with(&bytes, &no_base)),
        &[
            "does not record the base score",
            "--base-score",
            "save_config",
        ],
    );
    let multi = fixture_file("multi_softmax", "model_dump.json");
    assert_contains(
        &error(load_with(&multi, &dump_options("multi:softmax", "0", None))),
        &["number of classes", "--num-class"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "0.1,0.2", None),
        )),
        &["`base_score` has 2 values but the model has 1 outputs"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "half", None),
        )),
        &["--base-score", "`half` is not a number"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "1", None),
        )),
        &["--base-score", "outside the domain"],
    );
    assert!(matches!(
        load_with(&bytes, &dump_options("reg:what", "0", None)),
        Err(LoadError::UnknownObjective { .. })
    ));
}

#[test]
fn dump_options_on_other_formats_are_refused() {
    for (fixture, file, format) in [
        ("binary_logistic", "model.json", "xgboost-json"),
        ("binary_logistic", "model.ubj", "xgboost-ubjson"),
        ("lgb_binary", "model.txt", "lightgbm-text"),
        ("sk_gb_binary", "model.json", "sklearn-json"),
    ] {
        let bytes = fixture_file(fixture, file);
        let options = LoadOptions {
            dump: DumpOptions {
                num_class: Some(2),
                ..DumpOptions::default()
            },
            ..LoadOptions::default()
        };
        assert_contains(
            &error(load_with(&bytes, &options)),
            &["--num-class applies only to XGBoost JSON dumps", format],
        );
    }
}

#[test]
fn truncated_dumps_are_errors() {
    let options = dump_options("reg:squarederror", "1.8", None);
    let file = ("categorical_small", "model_dump.json");
    let cuts = truncations_fail(file, 97, 2, &options, "EOF while parsing");
    assert!(cuts > 100);
}

#[test]
fn damaged_dump_nodes_name_tree_and_node() {
    let mut v = binary_dump();
    v[1]["yes"] = json!(99);
    assert_contains(
        &error(load_dump(&v)),
        &[
            "tree 1, node 0",
            "`yes` (99) and `no` (2) are not its children",
        ],
    );
    let mut v = binary_dump();
    v[1]["missing"] = json!(5);
    assert_contains(&error(load_dump(&v)), &["tree 1, node 0", "`missing` (5)"]);
    let mut v = binary_dump();
    v[2]["children"][0]["nodeid"] = json!(2);
    assert_contains(&error(load_dump(&v)), &["tree 2: node id 2 appears twice"]);
    let mut v = binary_dump();
    v[0]["children"][1]["nodeid"] = json!(1000);
    assert_contains(
        &error(load_dump(&v)),
        &["tree 0: node id 1000 is out of range"],
    );
    for field in ["split", "split_condition", "yes", "no", "missing"] {
        let mut v = binary_dump();
        v[1].as_object_mut().unwrap().remove(field);
        let without = format!("a split without `{field}`");
        assert_contains(&error(load_dump(&v)), &["tree 1, node 0: ", &without]);
    }
    let mut v = binary_dump();
    v[0]["children"][0]["children"][0]["children"][0]["leaf"] = json!("x");
    assert_contains(
        &error(load_dump(&v)),
        &["[0].children[0].children[0].children[0].leaf"],
    );
    let mut v = binary_dump();
    v[0]["split_condition"] = json!([1, -3]);
    assert_contains(
        &error(load_dump(&v)),
        &["tree 0, node 0", "negative category -3"],
    );
    let mut v = binary_dump();
    v[0]["split_condition"] = json!("0.5");
    assert_contains(
        &error(load_dump(&v)),
        &["[0].split_condition", "a number or a list"],
    );
}

#[test]
fn a_dump_too_deep_to_parse_is_an_error_not_a_crash() {
    let mut node = json!({"nodeid": 0, "leaf": 1.0});
    for _ in 0..200 {
        node = json!({"nodeid": 0, "split": "f0", "split_condition": 0.5, "yes": 1, "no": 2,
                      "missing": 1, "children": [node, {"nodeid": 2, "leaf": 0.0}]});
    }
    let bytes = serde_json::to_vec(&json!([node])).unwrap();
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("reg:squarederror", "0", None),
        )),
        &["recursion limit"],
    );
}
