//! `NAME predict` of a compiled scorer on every input format: CSV (with and without a
//! header, on several threads), JSON lines and raw little-endian f32 — bit for bit against
//! XGBoost's predictions, with an error line in place of each bad row.

mod common;
#[path = "../../support/run.rs"]
mod run;

use common::*;
use run::Run;
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    run::scratch("predict", name)
}

/// `scorer-binary predict ARGS...`.
fn predict(args: &[&str]) -> Run {
    Run::of(Command::new(scorer_bin("binary")).arg("predict").args(args))
}

fn assert_expected(got: &str, offset_of: impl Fn(usize) -> usize) {
    let want = expected("binary_logistic", "expected.csv");
    for (i, line) in got.lines().enumerate() {
        assert_bits(
            &format!("line {}", i + 1),
            &parse_floats(line),
            &want[offset_of(i)],
        );
    }
}

#[test]
fn csv_on_several_threads_keeps_input_order() {
    let dir = scratch("threads");
    let rows = rows("binary_logistic", "input.csv");
    let n = 50_000;
    let mut text = header("binary_logistic", "input.csv").join(",") + "\n";
    for i in 0..n {
        text.push_str(&rows[(i * 7) % rows.len()]);
        text.push('\n');
    }
    let input = dir.join("many.csv");
    std::fs::write(&input, text).unwrap();
    for threads in ["1", "3"] {
        let run = predict(&["--input", input.to_str().unwrap(), "--threads", threads]);
        assert!(run.success, "{}", run.stderr);
        assert_eq!(run.stdout.lines().count(), n);
        assert_expected(&run.stdout, |i| (i * 7) % rows.len());
    }
}

#[test]
fn csv_without_a_header() {
    let dir = scratch("no_header");
    let rows = rows("binary_logistic", "input.csv");
    let input = dir.join("rows.csv");
    std::fs::write(&input, rows.join("\n") + "\n").unwrap();
    let run = predict(&["--input", input.to_str().unwrap(), "--no-header"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), rows.len());
    assert_expected(&run.stdout, |i| i);
}

#[test]
fn json_lines_with_a_bad_line_in_the_middle() {
    let dir = scratch("json");
    let rows = rows("binary_logistic", "input.csv");
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        let values: Vec<String> = row
            .split(',')
            .map(|c| {
                if c.is_empty() {
                    "null".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        text.push_str(&format!("[{}]\n", values.join(",")));
        if i == 10 {
            text.push_str("{\"id\": 5, \"f0\": \"zero\"}\n");
        }
    }
    let input = dir.join("rows.jsonl");
    std::fs::write(&input, text).unwrap();
    let run = predict(&["--input", input.to_str().unwrap(), "--format", "json"]);
    assert!(!run.success, "a bad row makes the run fail");
    assert!(
        run.stderr
            .contains("line 12: field `f0`: `zero` is not a number"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 of 361 rows could not be scored"),
        "{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), rows.len() + 1);
    let bad: serde_json::Value = serde_json::from_str(lines[11]).unwrap();
    assert_eq!(bad["id"], serde_json::json!(5));
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("`zero` is not a number"));
    let want = expected("binary_logistic", "expected.csv");
    for (i, line) in lines.iter().enumerate().filter(|(i, _)| *i != 11) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let p = v["prediction"][0].as_f64().unwrap() as f32;
        let row = if i < 11 { i } else { i - 1 };
        assert_bits(&format!("line {}", i + 1), &[p], &want[row]);
    }
}

#[test]
fn raw_f32_rows() {
    let dir = scratch("f32le");
    let rows = rows("binary_logistic", "input.csv");
    let mut bytes = Vec::new();
    for row in &rows {
        for cell in row.split(',') {
            let v = if cell.is_empty() {
                f32::NAN
            } else {
                cell.parse::<f64>().unwrap() as f32
            };
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let input = dir.join("rows.f32");
    std::fs::write(&input, &bytes).unwrap();
    let path = input.to_str().unwrap();
    let run = predict(&["--input", path, "--format", "f32le", "--features", "8"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), rows.len());
    assert_expected(&run.stdout, |i| i);

    let run = predict(&["--input", path, "--format", "f32le", "--features", "7"]);
    assert!(
        !run.success
            && run
                .stderr
                .contains("--features 7 does not match the model, which has 8 features"),
        "{}",
        run.stderr
    );
    let run = predict(&["--input", path, "--format", "f32le"]);
    assert!(
        !run.success && run.stderr.contains("needs --features"),
        "{}",
        run.stderr
    );

    let truncated = dir.join("short.f32");
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    let run = predict(&[
        "--input",
        truncated.to_str().unwrap(),
        "--format",
        "f32le",
        "--features",
        "8",
    ]);
    assert!(!run.success, "a truncated file fails");
    assert_eq!(
        run.stdout.lines().count(),
        rows.len() - 1,
        "the whole rows before it are scored"
    );
    assert_expected(&run.stdout, |i| i);
    assert!(
        run.stderr.contains(&format!(
            "row {}: the input ends after 29 of the row's 32 bytes",
            rows.len()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_headerless_csv_keeps_its_first_row() {
    // Three rows in, three predictions out: the first line (all numbers, naming no feature)
    // used to be taken for a header and silently dropped.
    let dir = scratch("headerless");
    let rows = rows("binary_logistic", "input.csv");
    let input = dir.join("rows.csv");
    std::fs::write(&input, rows[..3].join("\n") + "\n").unwrap();
    let run = predict(&["--input", input.to_str().unwrap()]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert_expected(&run.stdout, |i| i);
    assert!(
        run.stderr.contains("line 1 is all numbers and names no feature, so it was scored as a row; pass --header if it is a header"),
        "{}",
        run.stderr
    );
    // --header takes it for a header (naming no feature: columns by position).
    let run = predict(&["--input", input.to_str().unwrap(), "--header"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 2);
    assert_expected(&run.stdout, |i| i + 1);
}

#[test]
fn every_input_line_gets_one_output_line_blank_ones_included() {
    let dir = scratch("blank");
    let rows = rows("binary_logistic", "input.csv");
    let text = format!(
        "{}\n{}\n\n{}\nx,1,2,3,4,5,6,7\n{}\n",
        header("binary_logistic", "input.csv").join(","),
        rows[0],
        rows[1],
        rows[2]
    );
    let input = dir.join("rows.csv");
    std::fs::write(&input, text).unwrap();
    let run = predict(&["--input", input.to_str().unwrap()]);
    assert!(!run.success);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert_eq!(lines[1], "error: line 3: empty line");
    assert_eq!(
        lines[3],
        "error: line 5, column 1 (f0): `x` is not a number"
    );
    assert_expected(&[lines[0], lines[2], lines[4]].join("\n"), |i| i);
    assert!(
        run.stderr.contains("2 of 5 rows could not be scored"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreadable_input_is_named_once() {
    let run = predict(&["--input", "/nonexistent/rows.csv"]);
    assert!(!run.success);
    assert_eq!(
        run.stderr,
        "error: cannot open /nonexistent/rows.csv: No such file or directory (os error 2)\n"
    );
}

/// Runs `predict ARGS` of `model`'s scorer under GNU time and asserts its peak resident
/// memory stayed under `limit_mib` MiB (`what`: the input); returns its exit status, standard
/// output and standard error (which ends with GNU time's line).
fn predict_measured(
    model: &str,
    args: &[&str],
    limit_mib: u64,
    what: &str,
) -> (std::process::ExitStatus, String, String) {
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("maxrss_kib=%M")
        .arg(scorer_bin(model))
        .arg("predict")
        .args(args)
        .output()
        .expect("/usr/bin/time (Debian's `time` package; scripts/test.sh installs it)");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let rss: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no max RSS in:\n{stderr}"));
    eprintln!("peak RSS of predict: {} MiB", rss >> 10);
    assert!(rss < limit_mib << 10, "peak RSS {} MiB {what}", rss >> 10);
    (out.status, stdout, stderr)
}

#[test]
fn a_huge_line_costs_no_more_than_the_line_limit() {
    // One 200 MB line used to take ~900 MB; now it is skipped as it is read.
    let dir = scratch("huge_line");
    let rows = rows("binary_logistic", "input.csv");
    let mut text = header("binary_logistic", "input.csv").join(",") + "\n";
    text.push_str(&rows[0]);
    text.push('\n');
    text.push_str(&"7".repeat(200 << 20));
    text.push('\n');
    text.push_str(&rows[1]);
    text.push('\n');
    let input = dir.join("huge.csv");
    std::fs::write(&input, text).unwrap();
    drop(rows);
    let (_, stdout, stderr) = predict_measured(
        "binary",
        &["--input", input.to_str().unwrap()],
        100,
        "for a 200 MB line",
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert_eq!(
        lines[1],
        "error: line 3: longer than 1048576 bytes (--max-line-bytes)"
    );
    assert_expected(&[lines[0], lines[2]].join("\n"), |i| i);
    let _ = std::fs::remove_file(&input);
}

#[test]
fn a_huge_bad_cell_is_not_echoed_whole() {
    let dir = scratch("huge_cell");
    let rows = rows("binary_logistic", "input.csv");
    let cell = "y".repeat(500_000);
    let text = format!(
        "{}\n{cell},{}\n",
        header("binary_logistic", "input.csv").join(","),
        rows[0].split_once(',').unwrap().1
    );
    let input = dir.join("cell.csv");
    std::fs::write(&input, text).unwrap();
    let run = predict(&["--input", input.to_str().unwrap()]);
    assert!(!run.success);
    assert_eq!(
        run.stdout,
        format!(
            "error: line 2, column 1 (f0): `{}... (500000 bytes)` is not a number\n",
            "y".repeat(40)
        )
    );
    assert!(
        run.stderr.len() < 1000,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn a_wide_model_scores_in_batches_bounded_by_decoded_bytes() {
    // 20,000 features: each `{}` line (3 bytes) decodes to an 80 KB row. A batch of
    // 4 threads x 4,096 rows would hold 1.3 GB of them; batches hold at most 256 MiB.
    let dir = scratch("wide");
    let input = dir.join("empty.jsonl");
    std::fs::write(&input, "{}\n".repeat(20_000)).unwrap();
    let (status, stdout, stderr) = predict_measured(
        "wide",
        &[
            "--format",
            "json",
            "--threads",
            "4",
            "--input",
            input.to_str().unwrap(),
        ],
        600,
        "for 20,000 rows of a 20,000-feature model",
    );
    assert!(status.success(), "{stderr}");
    // The wide model is the binary classifier: every `{}` is its all-missing row.
    let mut want = [0.0f32];
    timber_runtime::Model::predict(
        &timber_stream_tests::BinaryLogistic,
        &[f32::NAN; 8],
        &mut want,
    );
    assert_eq!(stdout.lines().count(), 20_000);
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_bits(line, &json_floats(&v, "prediction"), &want);
    }
    let _ = std::fs::remove_file(&input);
}
