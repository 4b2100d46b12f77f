//! `ColumnMap`: mapping CSV headers onto features and decoding cells, including every way a
//! row can be wrong. Also `predict_csv` end to end with a trivial model, for line numbers.

mod common;

use common::FnModel;
use std::borrow::Cow;
use timber_runtime::{FeatureInfo, FeatureKind, ModelInfo, TextRule};
use timber_serve::predict::{predict_reader, PredictArgs};
use timber_serve::row::{ColumnMap, RowError};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const fn numerical(name: &'static str) -> FeatureInfo {
    FeatureInfo {
        name: Cow::Borrowed(name),
        kind: FeatureKind::Numerical,
        categories: Cow::Borrowed(&[]),
        text: TextRule::Standard,
    }
}

const COLORS: &[Cow<'static, str>] = &[
    Cow::Borrowed("red"),
    Cow::Borrowed("green"),
    Cow::Borrowed("blue"),
];

/// Features `x`, `y`, `color` (categorical with labels red/green/blue) and `code`
/// (categorical without labels).
const FEATURES: &[FeatureInfo] = &[
    numerical("x"),
    numerical("y"),
    FeatureInfo {
        name: Cow::Borrowed("color"),
        kind: FeatureKind::Categorical,
        categories: Cow::Borrowed(COLORS),
        text: TextRule::Standard,
    },
    FeatureInfo {
        name: Cow::Borrowed("code"),
        kind: FeatureKind::Categorical,
        categories: Cow::Borrowed(&[]),
        text: TextRule::Standard,
    },
];

fn info(features: &'static [FeatureInfo]) -> ModelInfo {
    common::info(features, 1, "f32")
}

fn map(header: &[&str]) -> ColumnMap {
    ColumnMap::from_header(header.iter().copied(), &info(FEATURES))
        .unwrap_or_else(|e| panic!("header {header:?}: {e}"))
}

fn header_error(header: &[&str], features: &'static [FeatureInfo]) -> String {
    match ColumnMap::from_header(header.iter().copied(), &info(features)) {
        Err(e @ RowError::Header(_)) => {
            let message = e.to_string();
            assert!(message.starts_with("header (line 1): "), "{message}");
            message
        }
        Err(e) => panic!("expected RowError::Header, got {e:?}"),
        Ok(_) => panic!("header {header:?} was accepted"),
    }
}

/// Decodes one row as `f32`; `line` is only used in errors.
fn decode(map: &ColumnMap, cells: &[&str], line: u64) -> Result<Vec<f32>, RowError> {
    let mut out = vec![-999.0f32; FEATURES.len()];
    map.decode(cells.iter().copied(), cells.len(), line, &mut out)?;
    Ok(out)
}

fn decode_one(cell: &str) -> Result<f32, RowError> {
    decode(
        &map(&["x", "y", "color", "code"]),
        &[cell, "0", "0", "0"],
        2,
    )
    .map(|row| row[0])
}

fn cell_error(result: Result<Vec<f32>, RowError>) -> (RowError, String) {
    match result {
        Err(e @ RowError::Cell { .. }) => {
            let message = e.to_string();
            (e, message)
        }
        other => panic!("expected RowError::Cell, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Header mapping
// ---------------------------------------------------------------------------------------

#[test]
fn by_name_with_shuffled_columns_and_extra_columns_ignored() {
    let m = map(&["id", "color", "y", "note", "code", "x"]);
    assert_eq!(m.width(), 6);
    // The extra columns hold values no feature would accept: they must not be parsed.
    let row = decode(&m, &["row-7", "blue", "2.5", "n/a", "4", "-1.25"], 2).unwrap();
    assert_eq!(row, vec![-1.25, 2.5, 2.0, 4.0]);
}

#[test]
fn header_names_are_trimmed() {
    let m = map(&[" code", "x ", " color ", "y"]);
    let row = decode(&m, &["1", "2", "red", "3"], 2).unwrap();
    assert_eq!(row, vec![2.0, 3.0, 0.0, 1.0]);
}

#[test]
fn by_position_when_the_header_lacks_names_but_has_the_right_width() {
    let m = map(&["a", "b", "c", "d"]);
    assert_eq!(m.width(), 4);
    let row = decode(&m, &["1", "2", "green", "3"], 2).unwrap();
    assert_eq!(row, vec![1.0, 2.0, 1.0, 3.0]);
}

#[test]
fn duplicate_header_name_is_an_error() {
    let message = header_error(&["x", "y", "color", "x", "code"], FEATURES);
    assert_eq!(message, "header (line 1): column `x` appears twice");
}

#[test]
fn header_of_the_wrong_width_without_names_lists_the_missing_names() {
    let message = header_error(&["x", "b"], FEATURES);
    assert_eq!(
        message,
        "header (line 1): the header names 1 of the model's 4 features; give every feature \
         name, or no feature names and exactly 4 columns (missing: y, color, code)"
    );
}

#[test]
fn header_naming_some_features_is_not_read_by_position() {
    // Four columns for four features, but `y` and `x` swapped and two unknown names: reading
    // it by position would feed column `y` into feature `x`.
    let message = header_error(&["y", "x", "colour", "kode"], FEATURES);
    assert!(
        message.contains("the header names 2 of the model's 4 features"),
        "{message}"
    );
    assert!(message.contains("(missing: color, code)"), "{message}");
}

#[test]
fn missing_names_are_listed_up_to_five() {
    const MANY: &[FeatureInfo] = &[
        numerical("a"),
        numerical("b"),
        numerical("c"),
        numerical("d"),
        numerical("e"),
        numerical("f"),
        numerical("g"),
    ];
    let message = header_error(&["a"], MANY);
    assert!(
        message.ends_with("(missing: b, c, d, e, f, ...)"),
        "{message}"
    );
    let message = header_error(&["a", "b", "c"], MANY);
    assert!(message.ends_with("(missing: d, e, f, g)"), "{message}");
}

#[test]
fn empty_header_is_an_error() {
    let message = header_error(&[], FEATURES);
    assert!(message.contains("the header has 0 columns"), "{message}");
}

#[test]
fn one_column_is_said_in_the_singular() {
    // "the header has 1 columns" (issue 16).
    let message = header_error(&["a"], FEATURES);
    assert!(
        message.contains("the model has 4 features but the header has 1 column;"),
        "{message}"
    );
    const ONE: &[FeatureInfo] = &[numerical("x")];
    let message = header_error(&["a", "b"], ONE);
    assert!(
        message.contains("the model has 1 feature but the header has 2 columns;")
            && message.ends_with("exactly 1 column (missing: x)"),
        "{message}"
    );
    let one = ColumnMap::from_header(["x"], &info(ONE)).unwrap();
    let mut out = [0.0f32];
    let err = one.decode(["1", "2"], 2, 3, &mut out).unwrap_err();
    assert_eq!(err.to_string(), "line 3: expected 1 column, found 2");
}

// ---------------------------------------------------------------------------------------
// Row width
// ---------------------------------------------------------------------------------------

#[test]
fn row_with_the_wrong_width_names_the_line() {
    let m = map(&["x", "y", "color", "code"]);
    for cells in [&["1", "2", "3"][..], &["1", "2", "3", "4", "5"]] {
        let err = decode(&m, cells, 17).unwrap_err();
        assert_eq!(
            err,
            RowError::Width {
                line: 17,
                expected: 4,
                found: cells.len()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("line 17: expected 4 columns, found {}", cells.len())
        );
    }
}

// ---------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------

#[test]
fn missing_values_are_nan() {
    for cell in ["", "   ", "NaN", "nan", " NaN "] {
        let v = decode_one(cell).unwrap_or_else(|e| panic!("{cell:?}: {e}"));
        assert!(v.is_nan(), "{cell:?} gave {v}");
    }
}

#[test]
fn infinities_are_rejected_with_a_hint() {
    for cell in ["inf", "-inf", "+inf", "infinity", "-Infinity", "1e999"] {
        let (err, message) = cell_error(decode(
            &map(&["x", "y", "color", "code"]),
            &["0", cell, "0", "0"],
            9,
        ));
        assert_eq!(
            err,
            RowError::Cell {
                line: 9,
                column: 2,
                feature: "y".into(),
                reason: format!(
                    "`{cell}` is not a finite number (use an empty cell or NaN for missing)"
                ),
            }
        );
        assert!(message.starts_with("line 9, column 2 (y): "), "{message}");
    }
}

#[test]
fn every_spelling_of_nan_is_missing() {
    // What Python's float() (and so numpy) reads as NaN.
    for cell in ["NAN", "Nan", "nAn", "-nan", "+NaN", " -NAN "] {
        let v = decode_one(cell).unwrap_or_else(|e| panic!("{cell:?}: {e}"));
        assert!(v.is_nan(), "{cell:?} gave {v}");
    }
    for cell in ["NA", "null", "None", "nanx", "n an"] {
        assert!(decode_one(cell).is_err(), "{cell:?} is not a NaN");
    }
}

#[test]
fn numbers_that_round_to_infinity_in_f32_are_rejected_and_f64_models_keep_them() {
    // float64 -> float32 overflows to inf (numpy), which XGBoost refuses as input.
    for cell in ["1e39", "3.4028236e38", "-1e39"] {
        let (_, message) = cell_error(decode(
            &map(&["x", "y", "color", "code"]),
            &["0", cell, "0", "0"],
            5,
        ));
        assert_eq!(
            message,
            format!(
                "line 5, column 2 (y): `{cell}` is too large for the model's 32-bit inputs (it rounds to infinity)"
            )
        );
    }
    // The largest f32 and the values that round down to it are fine.
    assert_eq!(decode_one("3.4028235e38").unwrap(), f32::MAX);
    assert_eq!(decode_one("3.40282356e38").unwrap(), f32::MAX);
    // An f64 model takes 1e39 as it is.
    let m = map(&["x", "y", "color", "code"]);
    let mut out = [0.0f64; 4];
    m.decode(["1e39", "0", "0", "0"], 4, 2, &mut out).unwrap();
    assert_eq!(out[0], 1e39);
    assert!(m.decode(["1e400", "0", "0", "0"], 4, 2, &mut out).is_err());
}

#[test]
fn non_numeric_cell_names_line_column_and_feature() {
    let m = map(&["id", "y", "x", "color", "code"]);
    let (err, message) = cell_error(decode(&m, &["a", "1", "abc", "red", "2"], 42));
    assert_eq!(
        message, "line 42, column 3 (x): `abc` is not a number",
        "{err:?}"
    );
}

#[test]
fn the_first_bad_cell_is_reported() {
    let m = map(&["x", "y", "color", "code"]);
    let (_, message) = cell_error(decode(&m, &["1", "oops", "purple", "?"], 3));
    assert!(message.starts_with("line 3, column 2 (y): "), "{message}");
}

#[test]
fn decimals_are_parsed_as_f64_then_rounded_to_f32() {
    // This decimal lies just above the midpoint of two f32s, but its nearest f64 is the
    // midpoint itself, which then rounds to even: numpy's float64 -> float32 result differs
    // from parsing the text straight to f32.
    let text = "1.000000059604644775390625000001";
    let via_f64 = text.parse::<f64>().unwrap() as f32;
    let direct = text.parse::<f32>().unwrap();
    assert_ne!(via_f64.to_bits(), direct.to_bits(), "bad test decimal");
    let v = decode_one(text).unwrap();
    assert_eq!(v.to_bits(), via_f64.to_bits());
    assert_eq!(v, 1.0);
}

#[test]
fn f64_models_keep_the_full_f64_value() {
    let m = map(&["x", "y", "color", "code"]);
    let text = "0.1000000000000000055511151231257827";
    let mut out = [0.0f64; 4];
    m.decode([text, "0", "0", "0"], 4, 2, &mut out).unwrap();
    assert_eq!(out[0], 0.1f64);
    assert_ne!(out[0], f64::from(0.1f32));
}

#[test]
fn cells_are_trimmed_and_keep_their_sign() {
    assert_eq!(decode_one("  1.5\t").unwrap(), 1.5);
    assert_eq!(decode_one("-0.0").unwrap().to_bits(), (-0.0f32).to_bits());
    assert_eq!(decode_one("1e3").unwrap(), 1000.0);
}

#[test]
fn categorical_labels_map_to_their_codes() {
    let m = map(&["x", "y", "color", "code"]);
    for (label, code) in [("red", 0.0), ("green", 1.0), ("blue", 2.0), (" blue ", 2.0)] {
        let row = decode(&m, &["0", "0", label, "0"], 2).unwrap();
        assert_eq!(row[2], code, "{label:?}");
    }
    // A number is still a code, even for a labelled feature.
    let row = decode(&m, &["0", "0", "2", "0"], 2).unwrap();
    assert_eq!(row[2], 2.0);
}

#[test]
fn unknown_category_label_is_an_error() {
    let m = map(&["color", "x", "y", "code"]);
    let (err, message) = cell_error(decode(&m, &["purple", "0", "0", "0"], 4));
    assert_eq!(
        err,
        RowError::Cell {
            line: 4,
            column: 1,
            feature: "color".into(),
            reason: "`purple` is neither a number nor a category the model was trained on".into(),
        }
    );
    assert!(
        message.starts_with("line 4, column 1 (color): "),
        "{message}"
    );
}

#[test]
fn labels_are_case_sensitive() {
    let m = map(&["x", "y", "color", "code"]);
    let (_, message) = cell_error(decode(&m, &["0", "0", "Red", "0"], 2));
    assert!(message.contains("`Red` is neither a number nor a category"));
}

#[test]
fn label_for_a_categorical_feature_without_labels_is_not_a_number() {
    let m = map(&["x", "y", "color", "code"]);
    let (_, message) = cell_error(decode(&m, &["0", "0", "red", "red"], 6));
    assert_eq!(message, "line 6, column 4 (code): `red` is not a number");
}

#[test]
fn label_for_a_numerical_feature_is_not_a_number() {
    let m = map(&["x", "y", "color", "code"]);
    let (_, message) = cell_error(decode(&m, &["red", "0", "0", "0"], 2));
    assert_eq!(message, "line 2, column 1 (x): `red` is not a number");
}

// ---------------------------------------------------------------------------------------
// predict_csv end to end: line numbers as an editor shows them
// ---------------------------------------------------------------------------------------

/// Predicts the sum of the row (NaN counted as 0).
fn sum(features: &'static [FeatureInfo]) -> FnModel<f32, f32> {
    FnModel {
        info: info(features),
        score: |row, out| out[0] = row.iter().filter(|v| !v.is_nan()).fold(0.0, |a, v| a + v),
    }
}

/// Runs `predict` (one thread, so failures are reported in row order) over `csv`:
/// the output text and the failures, or the error that stopped the run.
fn score_with(csv: &[u8], threads: usize) -> Result<(String, Vec<String>), String> {
    let model = sum(FEATURES);
    let mut out = Vec::new();
    let mut args = PredictArgs::new("-");
    args.threads = threads;
    match predict_reader(&model, csv, &mut out, &args, |_| {}) {
        Ok(summary) => {
            let shown = summary.failures.len() as u64;
            assert!(shown == summary.failed || shown == 10, "{summary:?}");
            Ok((String::from_utf8(out).unwrap(), summary.failures))
        }
        Err(e) => Err(format!("{e:#}")),
    }
}

fn score(csv: &str) -> Result<(String, Vec<String>), String> {
    score_with(csv.as_bytes(), 1)
}

#[test]
fn predict_scores_good_rows() {
    let (out, failures) = score("code,color,y,x\n1,blue,2,3\n,,,\n").unwrap();
    assert_eq!(out, "8\n0\n");
    assert!(failures.is_empty());
}

#[test]
fn predict_gives_a_bad_row_an_error_line_and_scores_the_rest() {
    let (out, failures) =
        score("x,y,color,code\n1,2,red,3\n1,2,red,3\n1,two,red,3\n4,4,red,4\n").unwrap();
    let message = "line 4, column 2 (y): `two` is not a number";
    assert_eq!(failures, vec![message.to_string()]);
    assert_eq!(out, format!("6\n6\nerror: {message}\n12\n"));
}

#[test]
fn predict_results_stay_in_order_across_threads() {
    // Enough rows for several threads, with bad rows scattered through them.
    let mut csv = String::from("x,y,color,code\n");
    let mut want = String::new();
    for i in 0..20_000u32 {
        if i % 997 == 0 {
            csv.push_str("1,oops,red,0\n");
            want.push_str(&format!(
                "error: line {}, column 2 (y): `oops` is not a number\n",
                i + 2
            ));
        } else {
            csv.push_str(&format!("{i},1,red,0\n"));
            want.push_str(&format!("{}\n", i as f32 + 1.0));
        }
    }
    let (out, failures) = score_with(csv.as_bytes(), 3).unwrap();
    assert_eq!(failures.len(), 10, "the first ten failures are kept");
    assert!(failures[0].starts_with("line 2,"), "{failures:?}");
    assert_eq!(out, want);
}

#[test]
fn predict_reads_every_line_as_a_row_even_inside_quotes() {
    // A quoted cell cannot span lines: each line is its own row with its own result, so
    // output line N answers input line N and errors carry the file's line numbers.
    let (out, failures) = score("x,y,color,code\n\"1\n\",2,red,3\n1,2,mauve,3\n").unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(failures[0], "line 2: expected 4 columns, found 1");
    assert_eq!(failures[1], "line 3: expected 4 columns, found 1");
    assert!(
        failures[2].contains("line 4, column 3 (color)"),
        "{failures:?}"
    );
}

#[test]
fn predict_answers_a_blank_line_with_an_error_line_in_its_place() {
    // Blank lines used to be skipped, which shifted every later result and line number.
    let (out, failures) =
        score("x,y,color,code\n1,2,red,3\n\n  \r\n1,x,red,3\n4,4,red,4\n").unwrap();
    assert_eq!(
        out,
        "6\nerror: line 3: empty line\nerror: line 4: empty line\n\
         error: line 5, column 2 (y): `x` is not a number\n12\n"
    );
    assert_eq!(failures.len(), 3);
}

#[test]
fn predict_reads_a_first_line_of_numbers_as_a_row() {
    // A headerless file: its first row is scored, not taken for a header and dropped.
    let (out, failures) = score("1,2,0,3\n1,2,red,3\n,,,\n").unwrap();
    assert_eq!(out, "6\n6\n0\n");
    assert!(failures.is_empty(), "{failures:?}");
    // With --header the same line is a header (naming no feature: columns by position),
    // and with --no-header every line is a row.
    let model = sum(FEATURES);
    let mut args = PredictArgs::new("-");
    args.threads = 1;
    args.header = true;
    let mut out = Vec::new();
    let summary = predict_reader(
        &model,
        &b"1,2,0,3\n1,2,red,3\n"[..],
        &mut out,
        &args,
        |_| {},
    )
    .unwrap();
    assert_eq!(
        (String::from_utf8(out).unwrap(), summary.rows),
        ("6\n".to_string(), 1)
    );
    assert!(!summary.first_line_is_a_row);
    args.header = false;
    args.no_header = true;
    let mut out = Vec::new();
    let summary = predict_reader(&model, &b"1,2,0,3\n"[..], &mut out, &args, |_| {}).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "6\n");
    assert!(!summary.first_line_is_a_row, "no guessing was needed");
    // A header of feature names is a header, and a row of text is not a row.
    let (out, _) = score("x,y,color,code\n1,2,0,3\n").unwrap();
    assert_eq!(out, "6\n");
}

#[test]
fn predict_first_line_naming_features_is_a_header_even_when_numeric() {
    // Feature names that are numbers (a model trained on a numpy array with string column
    // names "0".."3") still make a header.
    const NUMERIC: &[FeatureInfo] = &[
        numerical("0"),
        numerical("1"),
        numerical("2"),
        numerical("3"),
    ];
    let model = sum(NUMERIC);
    let mut args = PredictArgs::new("-");
    args.threads = 1;
    let mut out = Vec::new();
    predict_reader(&model, &b"3,2,1,0\n1,2,3,4\n"[..], &mut out, &args, |_| {}).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "10\n");
}

#[test]
fn predict_answers_an_overlong_line_with_an_error_and_goes_on() {
    let model = sum(FEATURES);
    let mut args = PredictArgs::new("-");
    args.threads = 1;
    args.max_line_bytes = 64;
    let long = format!("{}1,2,red,3", " ".repeat(10_000));
    let csv = format!("x,y,color,code\n1,2,red,3\n{long}\n4,4,red,4\n{long}");
    let mut out = Vec::new();
    let summary = predict_reader(&model, csv.as_bytes(), &mut out, &args, |_| {}).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "6\nerror: line 3: longer than 64 bytes (--max-line-bytes)\n12\n\
         error: line 5: longer than 64 bytes (--max-line-bytes)\n"
    );
    assert_eq!((summary.rows, summary.failed), (4, 2));
}

#[test]
fn a_huge_bad_cell_is_quoted_shortened_in_the_message() {
    let m = map(&["x", "y", "color", "code"]);
    let cell = "z".repeat(50_000);
    let (_, message) = cell_error(decode(&m, &[&cell, "0", "0", "0"], 2));
    assert_eq!(
        message,
        format!(
            "line 2, column 1 (x): `{}... (50000 bytes)` is not a number",
            "z".repeat(40)
        )
    );
}

#[test]
fn predict_names_the_line_of_a_short_row() {
    let (_, failures) = score("x,y,color,code\n1,2,red,3\n1,2\n").unwrap();
    assert_eq!(
        failures,
        vec!["line 3: expected 4 columns, found 2".to_string()]
    );
}

#[test]
fn predict_stops_at_a_bad_header() {
    let err = score("a,b\n1,2\n").unwrap_err();
    assert!(err.contains("header (line 1)"), "{err}");
}

#[test]
fn predict_names_the_line_of_invalid_utf8() {
    let (out, failures) = score_with(b"x,y,color,code\n1,2,red,3\n1,\xff,red,3\n", 1).unwrap();
    assert_eq!(failures, vec!["line 3, column 2: not UTF-8".to_string()]);
    assert_eq!(out.lines().count(), 2);
}
