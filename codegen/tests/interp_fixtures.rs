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
            let info = interp.info().clone();
            let rows = fixtures::read_rows(&case.input, &info);
            let mut pred = Vec::new();
            let mut margin = Vec::new();
            for row in &rows {
                let mut p = vec![0.0; info.num_outputs];
                let mut m = vec![0.0; info.num_margins];
                interp.predict(row, &mut p);
                interp.predict_margin(row, &mut m);
                pred.push(p);
                margin.push(m);
            }
            for (label, got, file) in [
                ("predictions", &pred, &case.expected),
                ("margins", &margin, &case.expected_margin),
            ] {
                if let Err(e) = fixtures::check(
                    &format!("{} {label}", case.label),
                    got,
                    &fixtures::read_expected(file),
                ) {
                    failures.push(e);
                }
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= fixtures::MIN_FIXTURES);
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
