//! The `timber::model!` macro: models compiled while this test crate builds, held to the
//! library's predictions bit for bit.

#[path = "support/fixtures.rs"]
mod fixtures;

use timber::Model;

/// Declares each model with `timber::model!` (`VIS NAME(ARGS)` for `timber::model!(VIS NAME,
/// ARGS)`) and a test holding every one to its fixture with `check`: the fixture is the
/// directory of its model file.
macro_rules! models {
    ($test:ident($check:ident): $($vis:vis $name:ident($($args:tt)*);)*) => {
        $(timber::model!($vis $name, $($args)*);)*

        #[test]
        fn $test() {
            $($check(&$name);)*
        }
    };
}

models! { macro_models_are_bit_exact(check_fixture):
    pub TinyReg("models/tiny_reg/model.json");
    TinyMulti("models/tiny_multi/model.json");
    pub(crate) Categories("models/categorical_large/model.json");
    Dart("models/dart/model.json");
    DartUbj("models/dart/model.ubj");
    LgbLinear("models/lgb_linear/model.txt");
    LgbCategories("models/lgb_categorical/model.json");
    LgbRegression("models/lgb_regression/model.txt");
    SkMulticlass("models/sk_gb_multiclass/model.json");
    DartNested("models/dart/model.json", layout = "nested");
    TinyRegAuto("models/tiny_reg/model.json", layout = "auto",);
    LgbRegressionNested("models/lgb_regression/model.txt", layout = "nested");
}

// Every H2O fixture (MOJO zips), one nested too.
models! { macro_h2o_models_are_bit_exact(check_h2o):
    H2oDrfBinomial("models/h2o_drf_binomial/model.zip");
    H2oDrfBinomialDouble("models/h2o_drf_binomial_double/model.zip");
    H2oDrfCategorical("models/h2o_drf_categorical/model.zip");
    H2oDrfDepth20("models/h2o_drf_depth20/model.zip");
    H2oDrfMultinomial("models/h2o_drf_multinomial/model.zip");
    H2oDrfRegression("models/h2o_drf_regression/model.zip");
    H2oGbmBalanceClasses("models/h2o_gbm_balance_classes/model.zip");
    H2oGbmBernoulli("models/h2o_gbm_bernoulli/model.zip");
    H2oGbmCatBinned("models/h2o_gbm_cat_binned/model.zip");
    H2oGbmCategorical("models/h2o_gbm_categorical/model.zip");
    H2oGbmGamma("models/h2o_gbm_gamma/model.zip");
    H2oGbmGaussian("models/h2o_gbm_gaussian/model.zip");
    H2oGbmHuber("models/h2o_gbm_huber/model.zip");
    H2oGbmLaplace("models/h2o_gbm_laplace/model.zip");
    H2oGbmMultinomial("models/h2o_gbm_multinomial/model.zip");
    H2oGbmMultinomialBinary("models/h2o_gbm_multinomial_binary/model.zip");
    H2oGbmPoisson("models/h2o_gbm_poisson/model.zip");
    H2oGbmQuantile("models/h2o_gbm_quantile/model.zip");
    H2oGbmStumps("models/h2o_gbm_stumps/model.zip");
    H2oGbmTweedie("models/h2o_gbm_tweedie/model.zip");
    H2oGbmCatBinnedNested("models/h2o_gbm_cat_binned/model.zip", layout = "nested");
}

/// The cases of the fixture `model` was compiled from (`models/FIXTURE/model.*`).
fn cases_of<M: Model>(model: &M) -> Vec<fixtures::Case> {
    let source = std::path::Path::new(&*model.info().source);
    let name = source
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|d| d.to_str())
        .unwrap_or_else(|| panic!("{}: not models/FIXTURE/model.*", source.display()));
    let fixture = fixtures::Fixture {
        name: name.into(),
        dir: fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(name),
    };
    let cases = fixture.cases();
    assert!(!cases.is_empty(), "{}: no cases", fixture.name);
    cases
}

/// The fixture's main case: `input.csv` and the library's `expected.csv`.
fn check_fixture<M: Model>(model: &M)
where
    M::Output: std::str::FromStr,
{
    let cases = cases_of(model);
    let main = cases.iter().find(|c| c.expected.ends_with("expected.csv"));
    check_case(model, main.expect("expected.csv"));
}

/// Every case of an H2O fixture: its inputs, and the cells H2O reads its own way where the
/// fixture has them.
fn check_h2o<M: Model>(model: &M)
where
    M::Output: std::str::FromStr,
{
    for case in cases_of(model) {
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
