//! Declared sizes the model's trees contradict are refused, so a file cannot make every row
//! cost what its header claims (issue 14, item 5): 65,536 outputs on a binary objective
//! (scoring 10k rows took minutes and 2.5 GB), `--num-class 65536` on a dump, 16,777,216
//! features for trees that use eight.

mod common;

use common::*;
use serde_json::{json, Value};
use timber_codegen::load::xgboost::dump::DumpOptions;
use timber_codegen::LoadOptions;

fn param(v: &mut Value) -> &mut Value {
    &mut v["learner"]["learner_model_param"]
}

/// Declared sizes in a JSON model that its trees contradict: (case, fixture, damage, what the
/// `Malformed` error says).
#[test]
fn json_sizes_the_trees_contradict_are_refused() {
    let cases: &[Damage] = &[
        (
            "xgboost num_class on a binary objective",
            "binary_logistic",
            |v| param(v)["num_class"] = json!("65536"),
            &["`learner_model_param.num_class` = 65536 contradicts the objective `binary:logistic`"],
        ),
        (
            "xgboost num_target the trees do not cover",
            "binary_logistic",
            |v| param(v)["num_target"] = json!("65536"),
            &["declares 65536 outputs (classes or targets) but its trees add to only 1 of them"],
        ),
        (
            "xgboost classes and targets together",
            "multi_softprob",
            |v| param(v)["num_target"] = json!("3"),
            &["declares both num_class = 4 and num_target = 3"],
        ),
        (
            "xgboost features far beyond what the trees use, without names",
            "binary_logistic",
            |v| param(v)["num_feature"] = json!("16777216"),
            &["declares 16777216 features but its trees use only the first 8, and it names none"],
        ),
        (
            "sklearn softmax over one output",
            "sk_gb_binary",
            |v| v["transform"] = json!("softmax"),
            &["`transform` softmax needs 2 or more outputs, but `n_outputs` = 1"],
        ),
    ];
    check_damages(cases, |name| fixture_json(name, "model.json"), malformed);
}

/// What the refusals above must not catch.
#[test]
fn real_models_of_many_outputs_or_features_still_load() {
    // A real multi-target model (one tree per target per round) still loads.
    let forest = load(&fixture_file("reg_quantile_multi", "model.json")).unwrap();
    assert!(forest.num_groups() > 1);
    // A wide table whose trees use a few columns is a real model.
    let mut v = fixture_json("binary_logistic", "model.json");
    param(&mut v)["num_feature"] = json!("20000");
    assert_eq!(load_value(&v).unwrap().num_features(), 20_000);
}

#[test]
fn a_dump_with_more_classes_than_trees_is_refused() {
    let options = LoadOptions {
        dump: DumpOptions {
            objective: Some("binary:logistic".into()),
            base_score: Some("0.4335".into()),
            num_class: Some(65536),
        },
        ..LoadOptions::default()
    };
    let bytes = fixture_file("binary_logistic", "model_dump.json");
    assert_contains(
        &malformed(load_with(&bytes, &options)),
        &["declares 65536 outputs (classes or targets) but its trees add to only 20 of them"],
    );
}

#[test]
fn lightgbm_classes_on_a_one_output_objective_are_refused() {
    let text =
        fixture_text("lgb_binary", "model.txt").replacen("num_class=1\n", "num_class=65536\n", 1);
    assert_contains(
        &error(load(text.as_bytes())),
        &["has one output but the model declares `num_class=65536`"],
    );
}
