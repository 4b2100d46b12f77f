//! The row codecs in process, on compiled fixture models: a [`Batch`] (one batch call to the
//! model, its fast kernels) gives, line for line, the training library's predictions and the
//! same text as scoring each row alone — with bad rows anywhere in the batch answered in
//! their own place.

mod common;

use common::*;
use timber_runtime::Model;
use timber_serve::codec::{Batch, Codec, CodecOptions, Format, RowFailure};
use timber_stream_tests::{BinaryLogistic, CategoricalSmall, MultiSoftprob};

/// Lines that no model accepts, in either format.
const BAD: [&str; 3] = ["1,2", "x,y,z", "{\"oops\""];

/// Scores `lines` (every `step`-th replaced by a bad line) in one batch and row by row;
/// returns the batch's result lines after checking both paths agree and the counts.
fn batch_and_single<M: Model>(model: &M, options: CodecOptions, lines: &[String]) -> Vec<String> {
    let codec = Codec::new(model, options);
    let step = 7;
    let input: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match i % step {
            3 => BAD[(i / step) % BAD.len()],
            _ => l.as_str(),
        })
        .collect();

    let mut batch: Batch<M> = codec.batch();
    for line in &input {
        codec.push_line(&mut batch, line.as_bytes());
    }
    assert_eq!(batch.len(), input.len());
    let mut out = Vec::new();
    let mut reasons = Vec::new();
    let (scored, failed) = codec.write_batch(&mut batch, &mut out, |f: &RowFailure| {
        reasons.push(f.reason.clone())
    });
    assert!(batch.is_empty());
    let bad = (0..input.len()).filter(|i| i % step == 3).count();
    assert_eq!((scored, failed), ((input.len() - bad) as u64, bad as u64));
    assert_eq!(reasons.len(), bad);

    let text = String::from_utf8(out).unwrap();
    let got: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(got.len(), input.len(), "one result line per input line");
    let mut scratch = codec.scratch();
    for (i, (line, result)) in input.iter().zip(&got).enumerate() {
        let mut single = Vec::new();
        if let Err(f) = codec.score(line.as_bytes(), &mut scratch, &mut single) {
            codec.write_failure(&f, &mut single);
        }
        assert_eq!(
            result,
            std::str::from_utf8(&single).unwrap(),
            "line {}: batch and single-row results differ",
            i + 1
        );
        assert_eq!(
            i % step == 3,
            result.contains("error"),
            "line {}: {result}",
            i + 1
        );
    }
    // A batch is reusable once written.
    codec.push_line(&mut batch, input[0].as_bytes());
    let mut again = Vec::new();
    codec.write_batch(&mut batch, &mut again, |_| {});
    assert_eq!(String::from_utf8(again).unwrap(), format!("{}\n", got[0]));
    got
}

fn check_csv<M: Model>(model: &M, fixture: &str, margin: bool) {
    let lines = rows(fixture, "input.csv");
    let want = expected(
        fixture,
        if margin {
            "expected_margin.csv"
        } else {
            "expected.csv"
        },
    );
    let options = CodecOptions {
        format: Format::Csv,
        margin,
        ignore_unknown: false,
    };
    let got = batch_and_single(model, options, &lines);
    for (i, line) in got.iter().enumerate() {
        if i % 7 != 3 {
            assert_bits(
                &format!("{fixture} line {}", i + 1),
                &parse_floats(line),
                &want[i],
            );
        }
    }
}

#[test]
fn csv_batches_match_the_library_and_single_rows() {
    for margin in [false, true] {
        check_csv(&BinaryLogistic, "binary_logistic", margin);
        check_csv(&MultiSoftprob, "multi_softprob", margin);
        check_csv(&CategoricalSmall, "categorical_small", margin);
    }
}

#[test]
fn json_object_batches_match_the_library_and_single_rows() {
    let names = header("categorical_small", "input_names.csv");
    let lines: Vec<String> = rows("categorical_small", "input_names.csv")
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut object = serde_json::Map::new();
            object.insert("id".into(), i.into());
            for (name, cell) in names.iter().zip(row.split(',')) {
                if !cell.is_empty() {
                    object.insert(name.clone(), cell.into());
                }
            }
            serde_json::Value::Object(object).to_string()
        })
        .collect();
    let options = CodecOptions {
        format: Format::Json,
        margin: true,
        ignore_unknown: false,
    };
    let got = batch_and_single(&CategoricalSmall, options, &lines);
    let want = expected("categorical_small", "expected_names.csv");
    let want_margin = expected("categorical_small", "expected_names_margin.csv");
    for (i, line) in got.iter().enumerate() {
        if i % 7 == 3 {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], serde_json::json!(i), "line {}", i + 1);
        assert_bits(
            &format!("line {}", i + 1),
            &json_floats(&v, "prediction"),
            &want[i],
        );
        assert_bits(
            &format!("line {} margin", i + 1),
            &json_floats(&v, "margin"),
            &want_margin[i],
        );
    }
}

#[test]
fn json_numbers_follow_the_csv_number_rule() {
    // One rule for every input (issue 14): any spelling of NaN is missing, and a value
    // that rounds to infinity in the model's f32 inputs is refused, not scored as +inf.
    // JSON numbers used to be cast to f32 unchecked: `1e39` was scored as infinity.
    let codec = Codec::new(
        &BinaryLogistic,
        CodecOptions {
            format: Format::Json,
            ..CodecOptions::default()
        },
    );
    let mut scratch = codec.scratch();
    let score = |line: &str, scratch: &mut _| {
        let mut out = Vec::new();
        codec
            .score(line.as_bytes(), scratch, &mut out)
            .map(|()| String::from_utf8(out).unwrap())
            .map_err(|f| f.reason)
    };
    let missing = score("{}", &mut scratch).unwrap();
    for cell in ["null", "\"NaN\"", "\"NAN\"", "\"-nan\"", "\"\""] {
        let line = format!("{{\"f0\": {cell}}}");
        assert_eq!(score(&line, &mut scratch).as_ref(), Ok(&missing), "{line}");
    }
    for cell in ["1e39", "-3.4028236e38", "\"1e39\""] {
        let line = format!("{{\"f0\": {cell}}}");
        let reason = score(&line, &mut scratch).unwrap_err();
        assert!(
            reason.starts_with("field `f0`: `")
                && reason.ends_with(
                    "` is too large for the model's 32-bit inputs (it rounds to infinity)"
                ),
            "{line}: {reason}"
        );
    }
    for cell in ["\"inf\"", "\"-Infinity\""] {
        let line = format!("{{\"f0\": {cell}}}");
        let reason = score(&line, &mut scratch).unwrap_err();
        assert!(
            reason.contains("is not a finite number"),
            "{line}: {reason}"
        );
    }
    // The largest f32 is a number like any other; arrays take the same rule.
    assert!(score("{\"f0\": 3.4028235e38}", &mut scratch).is_ok());
    let reason = score("[1e39,0,0,0,0,0,0,0]", &mut scratch).unwrap_err();
    assert!(reason.contains("rounds to infinity"), "{reason}");
}
