//! Generated code, compiled through the build-script path, against every fixture.

#[path = "../../support/fixtures.rs"]
mod fixtures;

use std::str::FromStr;
use timber_buildscript_tests::{Compiled, Scorer};
use timber_runtime::Model;

/// Scores a case's rows through the batch API and checks them against the references.
fn check_batch<M: Model + ?Sized>(model: &M, case: &fixtures::Case, what: &str) -> Vec<String>
where
    M::Output: FromStr,
{
    let info = model.info();
    let rows: Vec<Vec<M::Input>> = fixtures::read_rows(&case.input, info);
    let flat: Vec<M::Input> = rows.concat();
    let mut pred = vec![M::Output::default(); rows.len() * info.num_outputs];
    let mut margin = vec![M::Output::default(); rows.len() * info.num_margins];
    model.predict_batch(&flat, &mut pred);
    model.predict_margin_batch(&flat, &mut margin);
    let pred: Vec<Vec<M::Output>> = pred.chunks(info.num_outputs).map(<[_]>::to_vec).collect();
    let margin: Vec<Vec<M::Output>> = margin.chunks(info.num_margins).map(<[_]>::to_vec).collect();
    fixtures::check_case(case, what, &pred, &margin)
}

#[test]
fn generated_code_is_bit_exact_on_every_fixture_and_model_file() {
    let compiled = timber_buildscript_tests::all();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for file in fixture.models() {
            for case in fixture.cases_for(&file) {
                let found = compiled
                    .iter()
                    .find(|c| {
                        c.fixture == fixture.name
                            && c.kind == file.kind
                            && c.all_trees == case.all_trees
                    })
                    .unwrap_or_else(|| {
                        panic!(
                            "{} ({}) was not compiled by build.rs",
                            case.label, file.kind
                        )
                    });
                let what = format!("compiled {}", file.kind);
                failures.extend(match found.model {
                    Scorer::F32(m) => check_batch(m, &case, &what),
                    Scorer::F64(m) => check_batch(m, &case, &what),
                    Scorer::F32InF64Sum(m) => check_batch(m, &case, &what),
                });
                checked += 1;
            }
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

fn find(fixture: &str, kind: &str) -> Compiled {
    timber_buildscript_tests::all()
        .into_iter()
        .find(|c| c.fixture == fixture && c.kind == kind && !c.all_trees)
        .unwrap_or_else(|| panic!("{fixture} {kind}"))
}

#[test]
fn metadata_describes_the_source_model() {
    let Scorer::F32(model) = find("named_features", "json").model else {
        panic!("named_features is an f32 model");
    };
    let info = model.info();
    assert_eq!(info.format, "xgboost-json");
    assert!(
        info.source.ends_with("named_features/model.json"),
        "{}",
        info.source
    );
    assert_eq!(info.source_sha256.len(), 64);
    assert_eq!(info.features[0].name, "age");
}

#[test]
fn each_library_compiles_to_its_own_types() {
    let Scorer::F64(lgb) = find("lgb_categorical", "txt").model else {
        panic!("LightGBM models read and sum f64");
    };
    assert_eq!(lgb.info().format, "lightgbm-text");
    assert_eq!(lgb.info().precision, "f64");
    assert_eq!(lgb.info().features[3].categories[0], "red");
    let Scorer::F32InF64Sum(sk) = find("sk_rf_named", "json").model else {
        panic!("scikit-learn models read f32 and sum f64");
    };
    assert_eq!(sk.info().format, "sklearn-json");
    assert_eq!(sk.info().precision, "f32/f64");
    assert_eq!(sk.info().features[1].name, "income");
    let Scorer::F32(dump) = find("categorical_small", "dump").model else {
        panic!("XGBoost dumps are f32 models");
    };
    assert_eq!(dump.info().format, "xgboost-dump");
}
