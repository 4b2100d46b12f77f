//! The `timber` CLI on bad input: damaged model files and CSV rows give one clean error
//! (`error: ...`, non-zero exit, no panic) naming the file, line, column or flag.

#[path = "../../tests/support/run.rs"]
mod run;

use run::Run;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the message:\n{haystack}"
        );
    }
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(workspace().join("models").join(name).join("model.json")).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
}

/// Tree `t` of an XGBoost model.
fn tree(v: &mut Value, t: usize) -> &mut Value {
    &mut v["learner"]["gradient_booster"]["model"]["trees"][t]
}

/// `timber ARGS...`: whether it succeeded, and its standard error.
fn status(args: &[&str]) -> (bool, String) {
    let run = timber(args);
    (run.success, run.stderr)
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    run::scratch("bad_input", test)
}

/// `timber ARGS...`, run from the repository root.
fn timber(args: &[&str]) -> Run {
    Run::of(
        Command::new(env!("CARGO_BIN_EXE_timber"))
            .args(args)
            .current_dir(workspace()),
    )
}

/// The run failed cleanly: non-zero exit, `error:` first, no panic, and every needle named.
fn assert_clean_failure(run: &Run, needles: &[&str]) {
    assert!(!run.success, "expected failure; stderr:\n{}", run.stderr);
    assert!(
        run.stderr.starts_with("error:"),
        "stderr should start with `error:`:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "timber panicked:\n{}",
        run.stderr
    );
    assert_contains(&run.stderr, needles);
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

/// The model of fixture `name` changed by `edit`, written as `file` in the scratch directory
/// of `test`: its path.
fn edited(test: &str, name: &str, file: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v = fixture(name);
    edit(&mut v);
    write(&scratch(test), file, &serde_json::to_vec(&v).unwrap())
}

const TINY: &str = "models/tiny_reg/model.json";
const TINY_INPUT: &str = "models/tiny_reg/input.csv";

#[test]
fn cli_predict_on_a_truncated_model_fails_cleanly() {
    let dir = scratch("cli_predict_truncated");
    let bytes = fixture_bytes("tiny_reg");
    let model = write(&dir, "truncated.json", &bytes[..bytes.len() / 2]);
    let run = timber(&["predict", &model, "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[&model, "EOF while parsing", "line 1 column"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn cli_compile_on_a_truncated_model_fails_cleanly_and_writes_nothing() {
    let dir = scratch("cli_compile_truncated");
    let bytes = fixture_bytes("tiny_reg");
    let model = write(&dir, "truncated.json", &bytes[..bytes.len() / 2]);
    let out = dir.join("crate");
    let run = timber(&["compile", &model, "--out", out.to_str().unwrap()]);
    assert_clean_failure(&run, &[&model, "EOF while parsing"]);
    assert!(
        !out.exists(),
        "compile wrote {} for a bad model",
        out.display()
    );
}

#[test]
fn cli_inspect_on_a_structurally_invalid_model_fails_cleanly() {
    let model = edited("cli_inspect_invalid", "tiny_reg", "cyclic.json", |v| {
        tree(v, 1)["left_children"][2] = json!(99);
    });
    let run = timber(&["inspect", &model]);
    assert_clean_failure(&run, &[&model, "tree 1, node 2: child index 99"]);
}

#[test]
fn cli_missing_model_file_names_it() {
    let dir = scratch("cli_missing_model");
    let model = dir.join("nope.json");
    let run = timber(&["predict", model.to_str().unwrap(), "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[model.to_str().unwrap(), "cannot read the file"]);
}

#[test]
fn cli_unknown_objective_suggests_margin_and_margin_works() {
    let model = edited("cli_unknown_objective", "tiny_reg", "frob.json", |v| {
        v["learner"]["objective"]["name"] = json!("reg:frobnicate");
    });
    let run = timber(&["predict", &model, "--input", TINY_INPUT]);
    assert_clean_failure(&run, &[&model, "reg:frobnicate", "--margin"]);

    let run = timber(&["predict", &model, "--input", TINY_INPUT, "--margin"]);
    assert!(run.success, "{}", run.stderr);
    let expected =
        std::fs::read_to_string(workspace().join("models/tiny_reg/expected_margin.csv")).unwrap();
    assert_eq!(run.stdout.lines().count(), expected.lines().count());
}

/// Runs `timber predict` on the tiny model with `csv` as input; returns the run and the path.
fn predict_csv(test: &str, csv: &[u8]) -> (Run, String) {
    let dir = scratch(test);
    let input = write(&dir, "BAD.csv", csv);
    (timber(&["predict", TINY, "--input", &input]), input)
}

#[test]
fn cli_csv_good_input_is_scored() {
    // The control for the CSV tests below: the same shape of file, without the defect.
    let (run, _) = predict_csv("cli_csv_good", b"f0,f1,f2\n0.5,1,2\n,nan,NaN\n");
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 2);
}

/// Bad CSV rows fail cleanly, naming the place: (case, CSV, whether the error names the
/// input file, what else it says).
#[test]
fn cli_csv_bad_input_fails_cleanly_naming_the_place() {
    let cases: &[(&str, &[u8], bool, &[&str])] = &[
        (
            "cli_csv_width",
            b"f0,f1,f2\n0.5,1,2\n0.5,1\n1,2,3\n",
            true,
            &["line 3: expected 3 columns, found 2"],
        ),
        (
            "cli_csv_cell",
            b"f0,f1,f2\n0.5,1,2\n0.5,abc,2\n",
            true,
            &["line 3, column 2 (f1): `abc` is not a number"],
        ),
        (
            "cli_csv_inf",
            b"f0,f1,f2\n0.5,1,inf\n",
            false,
            &["line 2, column 3 (f2)", "not a finite number"],
        ),
        (
            "cli_csv_header",
            b"a,b\n1,2\n",
            true,
            &[
                "header (line 1)",
                "the model has 3 features but the header has 2 columns",
                "(missing: f0, f1, f2)",
            ],
        ),
        (
            "cli_csv_dup",
            b"f0,f1,f2,f1\n1,2,3,4\n",
            false,
            &["header (line 1)", "`f1` appears twice"],
        ),
        (
            "cli_csv_empty",
            b"",
            false,
            &["header (line 1)", "0 columns"],
        ),
        // A quoted cell spanning two lines shifts every later row by one line.
        (
            "cli_csv_multiline",
            b"f0,f1,f2\n1,2,3\n\"4\n\",5,6\n7,x,9\n",
            false,
            &["line 5, column 2 (f1)"],
        ),
        (
            "cli_csv_utf8",
            b"f0,f1,f2\n1,2,3\n4,\xff\xfe,6\n",
            false,
            &["line 3"],
        ),
    ];
    for &(case, csv, names_input, needles) in cases {
        // Names the case in the test's output when an assertion below fails.
        eprintln!("case: {case}");
        let (run, input) = predict_csv(case, csv);
        assert_clean_failure(&run, needles);
        if names_input {
            assert_contains(&run.stderr, &[&input]);
        }
    }
}

#[test]
fn cli_csv_by_name_with_shuffled_and_extra_columns_matches_positional() {
    // named_features: columns by name in any order, extra columns ignored.
    let model = "models/named_features/model.json";
    let original =
        std::fs::read_to_string(workspace().join("models/named_features/input.csv")).unwrap();
    let rows: Vec<Vec<&str>> = original
        .lines()
        .take(20)
        .map(|l| l.split(',').collect())
        .collect();
    let mut shuffled = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut cells: Vec<&str> = row.iter().rev().copied().collect();
        cells.insert(3, if i == 0 { "id" } else { "zz" });
        shuffled.push_str(&cells.join(","));
        shuffled.push('\n');
    }
    let dir = scratch("cli_csv_by_name");
    let a = write(
        &dir,
        "a.csv",
        original
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let b = write(&dir, "b.csv", shuffled.as_bytes());
    let ra = timber(&["predict", model, "--input", &a]);
    let rb = timber(&["predict", model, "--input", &b]);
    assert!(ra.success && rb.success, "{}{}", ra.stderr, rb.stderr);
    assert_eq!(ra.stdout, rb.stdout);
    assert_eq!(ra.stdout.lines().count(), 19);
}

#[test]
fn cli_dump_without_options_names_the_flags() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_input_formats_dump_crate");
    let _ = std::fs::remove_dir_all(&out);
    let (ok, stderr) = status(&[
        "compile",
        "models/binary_logistic/model_dump.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.starts_with("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_contains(&stderr, &["model_dump.json", "--objective"]);
    assert!(!out.exists(), "nothing is written");
    let (ok, stderr) = status(&[
        "predict",
        "models/lgb_binary/model.txt",
        "--objective",
        "binary:logistic",
        "--input",
        "models/lgb_binary/input.csv",
    ]);
    assert!(!ok, "{stderr}");
    assert_contains(
        &stderr,
        &[
            "--objective applies only to XGBoost JSON dumps",
            "lightgbm-text",
        ],
    );
    let (ok, stderr) = status(&["inspect", "models/README.md"]);
    assert!(!ok, "{stderr}");
    assert_contains(
        &stderr,
        &["not a supported model file", "LightGBM text (`save_model`)"],
    );
}

#[test]
fn cli_errors_about_files_say_their_cause_once() {
    // The I/O error used to be printed twice: in the message and again as its source.
    let dir = scratch("cli_error_once");
    let missing = dir.join("nosuch").join("model.json");
    let missing = missing.to_str().unwrap();
    let run = timber(&["inspect", missing]);
    assert!(!run.success);
    assert_eq!(
        run.stderr,
        format!("error: {missing}: cannot read the file: No such file or directory (os error 2)\n")
    );
    let dir_path = dir.to_str().unwrap();
    let run = timber(&["inspect", dir_path]);
    assert_eq!(
        run.stderr,
        format!("error: {dir_path}: cannot read the file: Is a directory (os error 21)\n")
    );
    // A structural error of the model, likewise.
    let mut v = fixture("tiny_reg");
    let leaf = (0..)
        .find(|&n| tree(&mut v, 1)["left_children"][n] == json!(-1))
        .unwrap();
    tree(&mut v, 1)["split_conditions"][leaf] = json!(12345.678);
    let text = serde_json::to_string(&v)
        .unwrap()
        .replace("12345.678", "1e999");
    let model = write(&dir, "inf_leaf.json", text.as_bytes());
    let run = timber(&["inspect", &model]);
    assert_clean_failure(&run, &[&model, &format!("tree 1, node {leaf}: ")]);
    assert_eq!(
        run.stderr.matches("not a finite number").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn cli_inspect_refuses_declared_outputs_the_trees_do_not_have() {
    // `inspect` used to report "outputs: 65536" for this binary model, and scoring 10k rows
    // took minutes and 2.5 GB.
    let model = edited(
        "cli_inspect_outputs",
        "binary_logistic",
        "wide_target.json",
        |v| {
            v["learner"]["learner_model_param"]["num_target"] = json!("65536");
        },
    );
    let run = timber(&["inspect", &model]);
    assert_clean_failure(
        &run,
        &[
            &model,
            "declares 65536 outputs (classes or targets) but its trees add to only 1 of them",
        ],
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
