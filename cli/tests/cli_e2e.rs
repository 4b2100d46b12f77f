//! End to end through the CLI, as a user works: `timber compile` writes a crate,
//! `cargo build` compiles it, and the crate's scorer binary `predict`s every fixture's
//! inputs; its output must equal the library's predictions bit for bit.

#[path = "../../tests/support/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

fn timber() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timber"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The one generated crate built with its `kafka` feature (librdkafka linked in).
const KAFKA_BUILD: &str = "binary-logistic-json";

/// Writes, builds and returns the scorer binary of a generated crate.
fn compile_and_build(model: &Path, name: &str, extra: &[&str], work: &Path) -> PathBuf {
    let dir = work.join(name);
    run(timber()
        .arg("compile")
        .arg(model)
        .arg("--out")
        .arg(&dir)
        .arg("--name")
        .arg(name)
        .args(extra));
    // `timber compile` gives the crate the workspace's lock file: no resolution, no network.
    assert!(
        dir.join("Cargo.lock").is_file(),
        "timber compile wrote no Cargo.lock into {}",
        dir.display()
    );
    let target = work.join("target");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--offline", "--quiet", "--manifest-path"]);
    build.arg(dir.join("Cargo.toml"));
    // One crate is built with the `kafka` feature (librdkafka) too; the others as generated,
    // sparing ~80 binaries the librdkafka link.
    if name == KAFKA_BUILD {
        build.args(["--features", "kafka"]);
    }
    // ~90 scorers are built: without debug info and incremental caches they take a fifth of
    // the disk (a CI run once died of a full disk) and link faster.
    build
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_INCREMENTAL", "0");
    run(build.env("CARGO_TARGET_DIR", &target));
    target.join("debug").join(name)
}

/// Model files other than each fixture's primary one that also go through the CLI: one of
/// each other format, and dumps, which need `--objective` and `--base-score`.
const EXTRA_FILES: [(&str, &str); 5] = [
    ("binary_logistic", "ubj"),
    ("categorical_small", "dump"),
    ("multi_softmax", "dump"),
    ("lgb_categorical", "json"),
    ("lgb_linear", "json"),
];

/// Whether a model's predictions are `f64` (LightGBM, scikit-learn) rather than `f32`.
fn f64_outputs(file: &fixtures::ModelFile) -> bool {
    let forest = timber_codegen::load_file(&file.path, &file.load_options(false)).unwrap();
    forest.precision.f64_sum()
}

/// Checks a scorer's text output against a case's references, in the output precision.
fn check_text(
    case: &fixtures::Case,
    what: &str,
    f64_out: bool,
    pred: &str,
    margin: &str,
) -> Vec<String> {
    if f64_out {
        let (p, m) = (
            fixtures::parse_outputs::<f64>(pred),
            fixtures::parse_outputs::<f64>(margin),
        );
        fixtures::check_case(case, what, &p, &m)
    } else {
        let (p, m) = (
            fixtures::parse_outputs::<f32>(pred),
            fixtures::parse_outputs::<f32>(margin),
        );
        fixtures::check_case(case, what, &p, &m)
    }
}

#[test]
fn compiled_scorer_is_bit_exact_on_every_fixture() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_e2e");
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        let files: Vec<_> = fixture
            .models()
            .into_iter()
            .enumerate()
            .filter(|(i, f)| *i == 0 || EXTRA_FILES.contains(&(fixture.name.as_str(), f.kind)))
            .map(|(_, f)| f)
            .collect();
        for file in files {
            let f64_out = f64_outputs(&file);
            let mut built: Vec<(bool, PathBuf)> = Vec::new();
            for case in fixture.cases_for(&file) {
                let bin = match built.iter().find(|(all, _)| *all == case.all_trees) {
                    Some((_, bin)) => bin.clone(),
                    None => {
                        let mut name = format!("{}-{}", fixture.name.replace('_', "-"), file.kind);
                        let mut extra = file.cli_args();
                        if case.all_trees {
                            name.push_str("-all");
                            extra.push("--all-trees".into());
                        }
                        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                        let bin = compile_and_build(&file.path, &name, &extra, &work);
                        built.push((case.all_trees, bin.clone()));
                        bin
                    }
                };
                let score = |margin: bool| {
                    let mut cmd = Command::new(&bin);
                    cmd.arg("predict").arg("--input").arg(&case.input);
                    if margin {
                        cmd.arg("--margin");
                    }
                    run(&mut cmd)
                };
                let what = format!("compiled by the CLI from {}", file.kind);
                failures.extend(check_text(
                    &case,
                    &what,
                    f64_out,
                    &score(false),
                    &score(true),
                ));
                checked += 1;
            }
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

#[test]
fn interpreted_predict_prints_the_same_text_as_the_library_references() {
    // `timber predict` and the generated scorer share one writer; check the interpreter's
    // text output too, including `--output FILE`.
    let dir = tempfile::tempdir().unwrap();
    for name in ["multi_softmax", "categorical_large", "named_features"] {
        let fixture = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(name);
        let out = dir.path().join(format!("{name}.csv"));
        run(timber()
            .arg("predict")
            .arg(fixture.join("model.json"))
            .arg("--input")
            .arg(fixture.join("input.csv"))
            .arg("--output")
            .arg(&out));
        let got = fixtures::parse_outputs::<f32>(&std::fs::read_to_string(&out).unwrap());
        fixtures::check(
            name,
            &got,
            &fixtures::read_expected(&fixture.join("expected.csv")),
        )
        .unwrap();
    }
    // f64 outputs (LightGBM, scikit-learn) print the shortest text that reads back to the
    // same f64; a dump is scored with the flags it needs.
    for (name, file, flags) in [
        ("lgb_multiclass", "model.txt", &[][..]),
        ("sk_gb_multiclass9", "model.json", &[][..]),
        (
            "binary_logistic",
            "model_dump.json",
            &["--objective", "binary:logistic", "--base-score", "4.335E-1"][..],
        ),
    ] {
        let fixture = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(name);
        let text = run(timber()
            .arg("predict")
            .arg(fixture.join(file))
            .args(flags)
            .arg("--input")
            .arg(fixture.join("input.csv")));
        let expected = std::fs::read_to_string(fixture.join("expected.csv")).unwrap();
        if name.starts_with("binary") {
            fixtures::check(
                name,
                &fixtures::parse_outputs::<f32>(&text),
                &fixtures::parse_outputs(&expected),
            )
            .unwrap();
        } else {
            fixtures::check(
                name,
                &fixtures::parse_outputs::<f64>(&text),
                &fixtures::parse_outputs(&expected),
            )
            .unwrap();
        }
    }
}

#[test]
fn inspect_describes_the_model() {
    let model = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join("multi_softprob/model.json");
    let text = run(timber().arg("inspect").arg(&model));
    for needle in [
        "format:      xgboost-json",
        "objective:   multi:softprob (transform: softmax)",
        "outputs:     4",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(text.contains("trees:       80"), "{text}");
    for (model, needles) in [
        (
            "lgb_rf_multiclass/model.txt",
            &[
                "format:      lightgbm-text",
                "precision:   f64",
                "softmax (f64)",
            ][..],
        ),
        (
            "sk_rf_named/model.json",
            &[
                "format:      sklearn-json",
                "precision:   f32/f64",
                "age, income",
            ][..],
        ),
        ("tiny_reg/model.ubj", &["format:      xgboost-ubjson"][..]),
        (
            "h2o_gbm_categorical/model.zip",
            &[
                "format:      h2o-mojo",
                "gbm bernoulli (logit link), 30 iterations of 1 tree, init_f 0.0; response `response`: no, yes",
                "transform: logistic (java exp, 1e19 clamp)",
                "features:    5 (2 categorical): x1, color, x2, city, x3",
                "levels:      color: 6 (",
                "             city: 64 (city00, city01,",
                "outputs:     1 (margins: 1)",
                "precision:   f64",
            ][..],
        ),
        (
            "h2o_drf_multinomial/model.zip",
            &[
                "drf multinomial",
                "iterations of 3 trees (one per class)",
                "divided by their sum",
                "outputs:     3 (margins: 3)",
            ][..],
        ),
    ] {
        let path = fixtures::models_dir(env!("CARGO_MANIFEST_DIR")).join(model);
        let text = run(timber().arg("inspect").arg(&path));
        for needle in needles {
            assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
        }
    }
}
