//! The reference interpreter against every fixture, bit for bit.

#[path = "../../tests/support/fixtures.rs"]
mod fixtures;

use timber_codegen::interp::{AnyInterpreter, Interpreter};
use timber_codegen::ir::{Forest, Node};
use timber_codegen::{load_file, Iterations, LoadOptions};
use timber_runtime::Model;

#[test]
fn interpreter_is_bit_exact_on_every_fixture_and_model_file() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for model in fixture.models() {
            for case in fixture.cases_for(&model) {
                let forest = load_file(&model.path, &model.load_options(case.all_trees))
                    .unwrap_or_else(|e| panic!("{e}"));
                let what = format!("interpreted {}", model.kind);
                failures.extend(match AnyInterpreter::new(forest).expect("interpretable") {
                    AnyInterpreter::F32(m) => fixtures::score_and_check(&m, &case, &what),
                    AnyInterpreter::F64(m) => fixtures::score_and_check(&m, &case, &what),
                    AnyInterpreter::F32InF64Sum(m) => fixtures::score_and_check(&m, &case, &what),
                });
                checked += 1;
            }
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

#[test]
fn every_library_and_format_is_covered() {
    let mut formats = std::collections::BTreeSet::new();
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for model in fixture.models() {
            let forest = load_file(&model.path, &model.load_options(false)).unwrap();
            formats.insert(forest.origin.format);
        }
    }
    let expected = [
        "h2o-mojo",
        "lightgbm-json",
        "lightgbm-text",
        "sklearn-json",
        "sklearn-npz",
        "xgboost-dump",
        "xgboost-json",
        "xgboost-ubjson",
    ];
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), expected);
}

/// Each tree written out in pre-order, features by name: equal for forests whose nodes or
/// features are numbered differently (a dump numbers features in order of use; LightGBM's
/// text file lists splits before leaves, its JSON nests them).
fn canonical_trees(forest: &Forest) -> Vec<String> {
    forest
        .trees
        .iter()
        .map(|t| {
            let mut out = format!("group {} weight {:?}:", t.group, t.weight);
            let mut stack = vec![0];
            while let Some(n) = stack.pop() {
                match &t.nodes[n] {
                    Node::Leaf(l) => out.push_str(&format!(" leaf {l:?};")),
                    Node::Split(s) => {
                        out.push_str(&format!(
                            " split {} {:?} default_left {};",
                            forest.features[s.feature].name, s.test, s.default_left
                        ));
                        stack.push(s.right);
                        stack.push(s.left);
                    }
                }
            }
            out
        })
        .collect()
}

#[test]
fn every_model_file_of_a_fixture_loads_to_the_same_trees() {
    // UBJSON is the same tree as JSON; a dump has the same trees (its features numbered in
    // order of use); LightGBM's text and JSON files hold the same model.
    let mut compared = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        let models = fixture.models();
        let forests: Vec<_> = models
            .iter()
            .map(|m| load_file(&m.path, &m.load_options(false)).unwrap())
            .collect();
        for (m, f) in models.iter().zip(&forests).skip(1) {
            let first = &forests[0];
            let label = format!("{}: {} vs {}", fixture.name, m.kind, models[0].kind);
            assert_eq!(canonical_trees(f), canonical_trees(first), "{label}");
            assert_eq!(f.base_margin, first.base_margin, "{label}");
            assert_eq!(f.transform, first.transform, "{label}");
            assert_eq!(f.average_over, first.average_over, "{label}");
            compared += 1;
        }
    }
    assert!(compared >= 35, "only {compared} second model files");
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
    let rows: Vec<Vec<f32>> = fixtures::read_rows(&dir.join("input.csv"), interp.info());
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
        &fixtures::read_expected::<f32>(&dir.join("expected.csv")),
    )
    .unwrap();
}
