//! The reference interpreter against every fixture, bit for bit.

#[path = "../../tests/support/fixtures.rs"]
mod fixtures;

use timber_codegen::interp::Interpreter;
use timber_codegen::{load_file, Iterations, LoadOptions};
use timber_runtime::Model;

#[test]
fn interpreter_is_bit_exact_on_every_fixture() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for case in fixture.cases() {
            let options = LoadOptions {
                iterations: if case.all_trees {
                    Iterations::All
                } else {
                    Iterations::Best
                },
                ..LoadOptions::default()
            };
            let interp =
                Interpreter::new(load_file(fixture.model(), &options).expect("load")).expect("f32");
            let rows = fixtures::read_rows(&case.input, interp.info());
            let (pred, margin) = fixtures::score_rows(&interp, &rows);
            failures.extend(fixtures::check_case(&case, &pred, &margin));
            checked += 1;
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

#[test]
fn best_iteration_is_honoured_unless_all_trees_is_asked_for() {
    let model = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join("early_stop/model.json");
    let best = load_file(&model, &LoadOptions::default()).unwrap();
    let all = load_file(
        &model,
        &LoadOptions {
            iterations: Iterations::All,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    // best_iteration = 10 in a binary model: 11 trees, out of 31.
    assert_eq!(best.trees.len(), 11);
    assert_eq!(all.trees.len(), 31);
}

#[test]
fn older_files_with_a_bare_nan_threshold_on_categorical_nodes_load_and_score_the_same() {
    // XGBoost before 2.x wrote `NaN` (not valid JSON) as the dummy threshold of categorical
    // nodes. Rewrite a 3.2 fixture's categorical thresholds that way and score it.
    let dir = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join("categorical_large");
    let text = std::fs::read_to_string(dir.join("model.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let trees = json["learner"]["gradient_booster"]["model"]["trees"]
        .as_array_mut()
        .unwrap();
    let mut replaced = 0;
    for tree in trees {
        let types: Vec<i64> = tree["split_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        for (i, t) in types.iter().enumerate() {
            if *t == 1 {
                tree["split_conditions"][i] = serde_json::Value::String("@NAN@".into());
                replaced += 1;
            }
        }
    }
    assert!(replaced > 10, "the fixture has categorical nodes");
    let with_nan = serde_json::to_string(&json)
        .unwrap()
        .replace("\"@NAN@\"", "NaN");
    assert!(
        serde_json::from_str::<serde_json::Value>(&with_nan).is_err(),
        "strict JSON rejects it"
    );

    let forest =
        timber_codegen::load::load_bytes(with_nan.as_bytes(), "old.json", &LoadOptions::default())
            .unwrap();
    let interp = Interpreter::new(forest).unwrap();
    let rows = fixtures::read_rows(&dir.join("input.csv"), interp.info());
    let got: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| {
            let mut p = vec![0.0];
            interp.predict(r, &mut p);
            p
        })
        .collect();
    fixtures::check(
        "bare NaN",
        &got,
        &fixtures::read_expected(&dir.join("expected.csv")),
    )
    .unwrap();
}
