//! The `timber::model!` macro: models compiled while this test crate builds, held to the
//! library's predictions bit for bit.

#[path = "support/fixtures.rs"]
mod fixtures;

use timber::Model;

timber::model!(pub TinyReg, "models/tiny_reg/model.json");
timber::model!(TinyMulti, "models/tiny_multi/model.json");
timber::model!(pub(crate) Categories, "models/categorical_large/model.json");
timber::model!(Dart, "models/dart/model.json");
timber::model!(DartUbj, "models/dart/model.ubj");
timber::model!(LgbLinear, "models/lgb_linear/model.txt");
timber::model!(LgbCategories, "models/lgb_categorical/model.json");
timber::model!(LgbRegression, "models/lgb_regression/model.txt");
timber::model!(SkMulticlass, "models/sk_gb_multiclass/model.json");
timber::model!(DartNested, "models/dart/model.json", layout = "nested");
timber::model!(TinyRegAuto, "models/tiny_reg/model.json", layout = "auto",);
timber::model!(
    LgbRegressionNested,
    "models/lgb_regression/model.txt",
    layout = "nested"
);

fn check_fixture<M: Model>(model: &M, fixture: &str)
where
    M::Output: std::str::FromStr,
{
    let dir = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let case = fixtures::Case {
        label: fixture.into(),
        input: dir.join("input.csv"),
        expected: dir.join("expected.csv"),
        expected_margin: dir.join("expected_margin.csv"),
        all_trees: false,
    };
    let mut failures = fixtures::score_and_check(model, &case, "macro, one row at a time");
    // The batch API too: table models override it with the runtime's block kernels.
    let info = model.info();
    let rows: Vec<Vec<M::Input>> = fixtures::read_rows(&case.input, info);
    let flat: Vec<M::Input> = rows.concat();
    let mut pred = vec![M::Output::default(); rows.len() * info.num_outputs];
    let mut margin = vec![M::Output::default(); rows.len() * info.num_margins];
    model.predict_batch(&flat, &mut pred);
    model.predict_margin_batch(&flat, &mut margin);
    let split = |v: Vec<M::Output>, n: usize| -> Vec<Vec<M::Output>> {
        v.chunks(n).map(<[_]>::to_vec).collect()
    };
    failures.extend(fixtures::check_case(
        &case,
        "macro, batch",
        &split(pred, info.num_outputs),
        &split(margin, info.num_margins),
    ));
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn macro_models_are_bit_exact() {
    check_fixture(&TinyReg, "tiny_reg");
    check_fixture(&TinyMulti, "tiny_multi");
    check_fixture(&Categories, "categorical_large");
    check_fixture(&Dart, "dart");
    check_fixture(&DartUbj, "dart");
    check_fixture(&LgbLinear, "lgb_linear");
    check_fixture(&LgbCategories, "lgb_categorical");
    check_fixture(&LgbRegression, "lgb_regression");
    check_fixture(&SkMulticlass, "sk_gb_multiclass");
    check_fixture(&DartNested, "dart");
    check_fixture(&TinyRegAuto, "tiny_reg");
    check_fixture(&LgbRegressionNested, "lgb_regression");
}

#[test]
fn macro_models_expose_fixed_size_inherent_functions() {
    assert_eq!(TinyReg::NUM_FEATURES, 3);
    assert_eq!(TinyMulti::NUM_OUTPUTS, 3);
    let probs = TinyMulti::predict_row(&[0.5, -1.0, 2.0]);
    let margins = TinyMulti::margins(&[0.5, -1.0, 2.0]);
    let mut expected = margins;
    timber::transform::xgb_softmax(&mut expected);
    assert_eq!(probs, expected);
    assert_eq!(TinyReg.info().source, "models/tiny_reg/model.json");
    // LightGBM reads and sums f64; scikit-learn reads f32 and sums f64.
    let lgb: [f64; 1] = LgbLinear::predict_row(&[0.5; LgbLinear::NUM_FEATURES]);
    let sk: [f64; 3] = SkMulticlass::predict_row(&[0.5f32; SkMulticlass::NUM_FEATURES]);
    assert!(lgb[0].is_finite());
    assert!((sk.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}
