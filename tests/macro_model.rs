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
// Every H2O fixture (MOJO zips), one nested too.
timber::model!(H2oDrfBinomial, "models/h2o_drf_binomial/model.zip");
timber::model!(
    H2oDrfBinomialDouble,
    "models/h2o_drf_binomial_double/model.zip"
);
timber::model!(H2oDrfCategorical, "models/h2o_drf_categorical/model.zip");
timber::model!(H2oDrfDepth20, "models/h2o_drf_depth20/model.zip");
timber::model!(H2oDrfMultinomial, "models/h2o_drf_multinomial/model.zip");
timber::model!(H2oDrfRegression, "models/h2o_drf_regression/model.zip");
timber::model!(
    H2oGbmBalanceClasses,
    "models/h2o_gbm_balance_classes/model.zip"
);
timber::model!(H2oGbmBernoulli, "models/h2o_gbm_bernoulli/model.zip");
timber::model!(H2oGbmCatBinned, "models/h2o_gbm_cat_binned/model.zip");
timber::model!(H2oGbmCategorical, "models/h2o_gbm_categorical/model.zip");
timber::model!(H2oGbmGamma, "models/h2o_gbm_gamma/model.zip");
timber::model!(H2oGbmGaussian, "models/h2o_gbm_gaussian/model.zip");
timber::model!(H2oGbmHuber, "models/h2o_gbm_huber/model.zip");
timber::model!(H2oGbmLaplace, "models/h2o_gbm_laplace/model.zip");
timber::model!(H2oGbmMultinomial, "models/h2o_gbm_multinomial/model.zip");
timber::model!(
    H2oGbmMultinomialBinary,
    "models/h2o_gbm_multinomial_binary/model.zip"
);
timber::model!(H2oGbmPoisson, "models/h2o_gbm_poisson/model.zip");
timber::model!(H2oGbmQuantile, "models/h2o_gbm_quantile/model.zip");
timber::model!(H2oGbmStumps, "models/h2o_gbm_stumps/model.zip");
timber::model!(H2oGbmTweedie, "models/h2o_gbm_tweedie/model.zip");
timber::model!(
    H2oGbmCatBinnedNested,
    "models/h2o_gbm_cat_binned/model.zip",
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
    check_case(model, &case);
}

/// Every case of an H2O fixture: its inputs, and the cells H2O reads its own way where the
/// fixture has them.
fn check_h2o<M: Model>(model: &M, fixture: &str)
where
    M::Output: std::str::FromStr,
{
    let dir = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let fixture = fixtures::Fixture {
        name: fixture.into(),
        dir,
    };
    let cases = fixture.cases();
    assert!(!cases.is_empty(), "{}", fixture.name);
    for case in cases {
        check_case(model, &case);
    }
}

fn check_case<M: Model>(model: &M, case: &fixtures::Case)
where
    M::Output: std::str::FromStr,
{
    let mut failures = fixtures::score_and_check(model, case, "macro, one row at a time");
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
        case,
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
fn macro_h2o_models_are_bit_exact() {
    check_h2o(&H2oDrfBinomial, "h2o_drf_binomial");
    check_h2o(&H2oDrfBinomialDouble, "h2o_drf_binomial_double");
    check_h2o(&H2oDrfCategorical, "h2o_drf_categorical");
    check_h2o(&H2oDrfDepth20, "h2o_drf_depth20");
    check_h2o(&H2oDrfMultinomial, "h2o_drf_multinomial");
    check_h2o(&H2oDrfRegression, "h2o_drf_regression");
    check_h2o(&H2oGbmBalanceClasses, "h2o_gbm_balance_classes");
    check_h2o(&H2oGbmBernoulli, "h2o_gbm_bernoulli");
    check_h2o(&H2oGbmCatBinned, "h2o_gbm_cat_binned");
    check_h2o(&H2oGbmCategorical, "h2o_gbm_categorical");
    check_h2o(&H2oGbmGamma, "h2o_gbm_gamma");
    check_h2o(&H2oGbmGaussian, "h2o_gbm_gaussian");
    check_h2o(&H2oGbmHuber, "h2o_gbm_huber");
    check_h2o(&H2oGbmLaplace, "h2o_gbm_laplace");
    check_h2o(&H2oGbmMultinomial, "h2o_gbm_multinomial");
    check_h2o(&H2oGbmMultinomialBinary, "h2o_gbm_multinomial_binary");
    check_h2o(&H2oGbmPoisson, "h2o_gbm_poisson");
    check_h2o(&H2oGbmQuantile, "h2o_gbm_quantile");
    check_h2o(&H2oGbmStumps, "h2o_gbm_stumps");
    check_h2o(&H2oGbmTweedie, "h2o_gbm_tweedie");
    check_h2o(&H2oGbmCatBinnedNested, "h2o_gbm_cat_binned");
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
