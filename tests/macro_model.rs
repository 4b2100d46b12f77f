//! The `timber::model!` macro: models compiled while this test crate builds, held to the
//! library's predictions bit for bit.

#[path = "support/fixtures.rs"]
mod fixtures;

use timber::Model;

timber::model!(pub TinyReg, "models/tiny_reg/model.json");
timber::model!(TinyMulti, "models/tiny_multi/model.json");
timber::model!(pub(crate) Categories, "models/categorical_large/model.json");
timber::model!(Dart, "models/dart/model.json");
timber::model!(DartNested, "models/dart/model.json", layout = "nested");
timber::model!(TinyRegAuto, "models/tiny_reg/model.json", layout = "auto",);

fn check_fixture<M: Model<Input = f32, Output = f32>>(model: &M, fixture: &str) {
    let dir = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let rows = fixtures::read_rows(&dir.join("input.csv"), model.info());
    let (pred, margin) = fixtures::score_rows(model, &rows);
    fixtures::check(
        fixture,
        &pred,
        &fixtures::read_expected(&dir.join("expected.csv")),
    )
    .unwrap();
    fixtures::check(
        fixture,
        &margin,
        &fixtures::read_expected(&dir.join("expected_margin.csv")),
    )
    .unwrap();
}

#[test]
fn macro_models_are_bit_exact() {
    check_fixture(&TinyReg, "tiny_reg");
    check_fixture(&TinyMulti, "tiny_multi");
    check_fixture(&Categories, "categorical_large");
    check_fixture(&Dart, "dart");
    check_fixture(&DartNested, "dart");
    check_fixture(&TinyRegAuto, "tiny_reg");
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
}
