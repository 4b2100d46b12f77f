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
    // The workspace's lock file pins the runtime's dependencies: no resolution, no network.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).expect("copy Cargo.lock");
    let target = work.join("target");
    run(Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target));
    target.join("debug").join(name)
}

#[test]
fn compiled_scorer_is_bit_exact_on_every_fixture() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_e2e");
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        let mut built: Vec<(bool, PathBuf)> = Vec::new();
        for case in fixture.cases() {
            let bin = match built.iter().find(|(all, _)| *all == case.all_trees) {
                Some((_, bin)) => bin.clone(),
                None => {
                    let (name, extra): (String, &[&str]) = if case.all_trees {
                        (
                            format!("{}-all", fixture.name.replace('_', "-")),
                            &["--all-trees"],
                        )
                    } else {
                        (fixture.name.replace('_', "-"), &[])
                    };
                    let bin = compile_and_build(&fixture.model(), &name, extra, &work);
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
                fixtures::parse_outputs(&run(&mut cmd))
            };
            failures.extend(fixtures::check_case(&case, &score(false), &score(true)));
            checked += 1;
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
        let got = fixtures::parse_outputs(&std::fs::read_to_string(&out).unwrap());
        fixtures::check(
            name,
            &got,
            &fixtures::read_expected(&fixture.join("expected.csv")),
        )
        .unwrap();
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
}
