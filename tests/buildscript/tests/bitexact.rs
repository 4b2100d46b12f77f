//! Generated code, compiled through the build-script path, against every fixture.

#[path = "../../support/fixtures.rs"]
mod fixtures;

#[test]
fn generated_code_is_bit_exact_on_every_fixture() {
    let compiled = timber_buildscript_tests::all();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for case in fixture.cases() {
            let model = compiled
                .iter()
                .find(|(name, all_trees, _)| *name == fixture.name && *all_trees == case.all_trees)
                .map(|(_, _, m)| *m)
                .unwrap_or_else(|| panic!("{} was not compiled by build.rs", case.label));
            let info = model.info();
            let rows = fixtures::read_rows(&case.input, info);
            let flat: Vec<f32> = rows.concat();
            let mut pred = vec![0.0; rows.len() * info.num_outputs];
            let mut margin = vec![0.0; rows.len() * info.num_margins];
            model.predict_batch(&flat, &mut pred);
            model.predict_margin_batch(&flat, &mut margin);
            let pred: Vec<Vec<f32>> = pred.chunks(info.num_outputs).map(<[f32]>::to_vec).collect();
            let margin: Vec<Vec<f32>> = margin
                .chunks(info.num_margins)
                .map(<[f32]>::to_vec)
                .collect();
            failures.extend(fixtures::check_case(&case, &pred, &margin));
            checked += 1;
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

#[test]
fn metadata_describes_the_source_model() {
    let compiled = timber_buildscript_tests::all();
    let (_, _, model) = compiled
        .iter()
        .find(|(n, _, _)| *n == "named_features")
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
