//! Generated code, compiled through the build-script path, against every fixture: every
//! layout (tables and nested `if`/`else`), every batch kernel, and one row at a time.

#[path = "../../support/fixtures.rs"]
mod fixtures;

use timber_runtime::tables::{with_kernel, Kernel};

#[test]
fn generated_code_is_bit_exact_on_every_fixture_in_every_layout_and_kernel() {
    let compiled = timber_buildscript_tests::all();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for case in fixture.cases() {
            let models: Vec<_> = compiled
                .iter()
                .filter(|(name, all_trees, _, _)| {
                    *name == fixture.name && *all_trees == case.all_trees
                })
                .collect();
            assert_eq!(
                models.len(),
                2,
                "{} was not compiled in both layouts",
                case.label
            );
            for &(_, _, layout, model) in models {
                let info = model.info();
                let rows = fixtures::read_rows(&case.input, info);
                let flat: Vec<f32> = rows.concat();
                let split = |v: Vec<f32>, n: usize| -> Vec<Vec<f32>> {
                    v.chunks(n).map(<[f32]>::to_vec).collect()
                };
                for kernel in [Kernel::Auto, Kernel::Avx2, Kernel::Scalar] {
                    let mut pred = vec![0.0; rows.len() * info.num_outputs];
                    let mut margin = vec![0.0; rows.len() * info.num_margins];
                    with_kernel(kernel, || {
                        model.predict_batch(&flat, &mut pred);
                        model.predict_margin_batch(&flat, &mut margin);
                    });
                    let mut case = case.clone();
                    case.label =
                        format!("{} ({layout} layout, {kernel:?} batch kernel)", case.label);
                    failures.extend(fixtures::check_case(
                        &case,
                        &split(pred, info.num_outputs),
                        &split(margin, info.num_margins),
                    ));
                }
                let (pred, margin) = fixtures::score_rows(model, &rows);
                let mut case = case.clone();
                case.label = format!("{} ({layout} layout, one row at a time)", case.label);
                failures.extend(fixtures::check_case(&case, &pred, &margin));
            }
            checked += 1;
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

#[test]
fn the_default_layout_uses_tables_where_they_apply() {
    // Categorical and deep-chain fixtures keep nested trees; plain numerical ones do not.
    let compiled = timber_buildscript_tests::all();
    assert!(compiled.iter().any(|(_, _, layout, _)| *layout == "Nested"));
    assert!(
        compiled
            .iter()
            .filter(|(_, _, layout, _)| *layout == "Auto")
            .count()
            >= 30
    );
}

#[test]
fn metadata_describes_the_source_model() {
    let compiled = timber_buildscript_tests::all();
    let (_, _, _, model) = compiled
        .iter()
        .find(|(n, _, _, _)| *n == "named_features")
        .expect("named_features");
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
