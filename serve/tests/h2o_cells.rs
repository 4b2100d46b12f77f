//! Features with H2O's text rule (`TextRule::H2o`): cells are read as H2O's `PredictCsv`
//! reads them, in CSV files, CSV stream lines and JSON rows alike, while features of other
//! models keep Timber's rule.

mod common;

use common::FnModel;
use std::borrow::Cow;
use timber_runtime::{FeatureInfo, FeatureKind, ModelInfo, TextRule};
use timber_serve::codec::{Codec, CodecOptions, Format};
use timber_serve::row::ColumnMap;

const LEVELS: &[Cow<'static, str>] = &[
    Cow::Borrowed("red"),
    Cow::Borrowed("blue"),
    Cow::Borrowed("7"),
    Cow::Borrowed("color.x"),
];

/// A numerical `x` and a categorical `color` (of [`LEVELS`]) whose cells are read by `text`.
const fn features(text: TextRule) -> [FeatureInfo; 2] {
    [
        FeatureInfo {
            name: Cow::Borrowed("x"),
            kind: FeatureKind::Numerical,
            categories: Cow::Borrowed(&[]),
            text,
        },
        FeatureInfo {
            name: Cow::Borrowed("color"),
            kind: FeatureKind::Categorical,
            categories: Cow::Borrowed(LEVELS),
            text,
        },
    ]
}

const H2O: &[FeatureInfo] = &features(TextRule::H2o);

const STANDARD: &[FeatureInfo] = &features(TextRule::Standard);

fn info(features: &'static [FeatureInfo]) -> ModelInfo {
    common::info(features, 2, "f64")
}

/// Predictions are the row itself.
fn echo(features: &'static [FeatureInfo]) -> FnModel<f64, f64> {
    FnModel {
        info: info(features),
        score: |row, out| out.copy_from_slice(row),
    }
}

fn cells(features: &'static [FeatureInfo], x: &str, color: &str) -> Result<[f64; 2], String> {
    let map = ColumnMap::from_header(["x", "color"], &info(features)).unwrap();
    let mut out = [0.0f64; 2];
    map.decode([x, color], 2, 2, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn bits(v: [f64; 2]) -> [u64; 2] {
    v.map(f64::to_bits)
}

#[test]
fn numbers_are_read_as_java_reads_them() {
    let x = |cell| cells(H2O, cell, "red").map(|r| r[0]);
    assert_eq!(x("Infinity"), Ok(f64::INFINITY));
    assert_eq!(x("-Infinity"), Ok(f64::NEG_INFINITY));
    assert_eq!(x("1e400"), Ok(f64::INFINITY));
    assert_eq!(x(" 0.25"), Ok(0.25));
    assert_eq!(x("0.25 "), Ok(0.25));
    assert_eq!(x("+0.25"), Ok(0.25));
    assert_eq!(x("-0.0").map(f64::to_bits), Ok((-0.0f64).to_bits()));
    assert_eq!(x("4.9e-324"), Ok(f64::from_bits(1)));
    for missing in ["", "NA", "N/A", "-", "NaN"] {
        assert!(x(missing).unwrap().is_nan(), "{missing:?}");
    }
    let message = x("inf").unwrap_err();
    assert!(
        message.contains("column 1 (x): `inf` is not a number"),
        "{message}"
    );
    // Timber's own rule for other models: infinity is refused, `NA` is not a number.
    assert!(cells(STANDARD, "Infinity", "red").is_err());
    assert!(cells(STANDARD, "NA", "red").is_err());
}

#[test]
fn categorical_cells_are_level_names_and_unknown_levels_are_missing() {
    let color = |cell| cells(H2O, "1", cell).unwrap()[1];
    assert_eq!(color("red"), 0.0);
    assert_eq!(color("blue"), 1.0);
    // A number is a level name, never a code.
    assert_eq!(color("7"), 2.0);
    assert!(color("1").is_nan());
    // H2O retries an unknown level as `COLUMN.LEVEL`.
    assert_eq!(color("x"), 3.0);
    for unknown in [" red", "red ", "RED", "purple", "NA", "-", ""] {
        assert!(color(unknown).is_nan(), "{unknown:?}");
    }
    // Timber's rule: a number is the code, an unknown label an error.
    assert_eq!(cells(STANDARD, "1", "1").unwrap()[1], 1.0);
    assert!(cells(STANDARD, "1", "purple").is_err());
}

#[test]
fn stream_rows_follow_the_same_rules() {
    let model = echo(H2O);
    let csv = Codec::new(&model, CodecOptions::default());
    let mut scratch = csv.scratch();
    let mut out = Vec::new();
    csv.score(b"Infinity,BLUE", &mut scratch, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "inf,NaN");

    let json = Codec::new(
        &model,
        CodecOptions {
            format: Format::Json,
            ..CodecOptions::default()
        },
    );
    let mut row = [0.0f64; 2];
    json.decode(br#"{"x": 1.5, "color": "blue"}"#, &mut row)
        .unwrap();
    assert_eq!(bits(row), bits([1.5, 1.0]));
    json.decode(br#"{"x": "NA", "color": "purple"}"#, &mut row)
        .unwrap();
    assert!(row[0].is_nan() && row[1].is_nan());
    json.decode(br#"{"x": null, "color": null}"#, &mut row)
        .unwrap();
    assert!(row[0].is_nan() && row[1].is_nan());
    let failure = json
        .decode(br#"{"x": 1, "color": 1}"#, &mut row)
        .unwrap_err();
    assert!(
        failure
            .reason
            .contains("field `color`: `1` is a number, but this categorical feature takes its level name as a string"),
        "{}",
        failure.reason
    );
    json.decode(br#"[2.0, "7"]"#, &mut row).unwrap();
    assert_eq!(bits(row), bits([2.0, 2.0]));
}
