//! The fixtures under `models/`: each a model trained by the real library, test inputs, and
//! the library's own predictions and margins. Shared by the test suites of several crates
//! (included with `#[path]`), so it depends only on `timber-runtime` and `csv`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use timber_runtime::{Model, ModelInfo};

/// Fewer fixtures than this means `models/` is missing or broken, not that all is well.
pub const MIN_FIXTURES: usize = 30;

/// One fixture directory.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The directory name, e.g. `binary_logistic`.
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
}

/// One input file with its expected outputs.
#[derive(Debug, Clone)]
pub struct Case {
    /// For messages: `fixture/input file`.
    pub label: String,
    /// The input CSV.
    pub input: PathBuf,
    /// The library's predictions.
    pub expected: PathBuf,
    /// The library's raw margins.
    pub expected_margin: PathBuf,
    /// Whether the references score every tree (`Booster.predict`) rather than stopping at
    /// `best_iteration`.
    pub all_trees: bool,
}

/// Finds `models/` above a crate's manifest directory.
pub fn models_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir)
        .ancestors()
        .map(|p| p.join("models"))
        .find(|p| p.join("README.md").is_file())
        .expect("no models/ directory above the crate")
}

/// Every fixture with a `model.json`, sorted by name.
pub fn all(manifest_dir: &str) -> Vec<Fixture> {
    let dir = models_dir(manifest_dir);
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .expect("read models/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("model.json").is_file())
        .map(|p| Fixture {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            dir: p,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= MIN_FIXTURES,
        "only {} fixtures in {}",
        out.len(),
        dir.display()
    );
    out
}

impl Fixture {
    /// The model file.
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.json")
    }

    /// Every input/reference pair the fixture has.
    pub fn cases(&self) -> Vec<Case> {
        let variants = [
            ("input.csv", "expected.csv", "expected_margin.csv", false),
            (
                "input_names.csv",
                "expected_names.csv",
                "expected_names_margin.csv",
                false,
            ),
            (
                "input.csv",
                "expected_all.csv",
                "expected_all_margin.csv",
                true,
            ),
        ];
        variants
            .iter()
            .filter(|(i, e, _, _)| self.dir.join(i).is_file() && self.dir.join(e).is_file())
            .map(|(i, e, m, all_trees)| Case {
                label: format!("{}/{e}", self.name),
                input: self.dir.join(i),
                expected: self.dir.join(e),
                expected_margin: self.dir.join(m),
                all_trees: *all_trees,
            })
            .collect()
    }
}

/// Decodes an input CSV with the runtime's own row reader, as the scorer does.
pub fn read_rows(input: &Path, info: &ModelInfo) -> Vec<Vec<f32>> {
    let file = std::fs::File::open(input).expect("open input");
    let mut rows = Vec::new();
    timber_runtime::scorer::for_each_row(info, file, |row: &[f32]| {
        rows.push(row.to_vec());
        Ok(())
    })
    .expect("decode input");
    rows
}

/// Scores rows one at a time: (predictions, margins) per row.
pub fn score_rows<M: Model<Input = f32, Output = f32> + ?Sized>(
    model: &M,
    rows: &[Vec<f32>],
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let info = model.info();
    rows.iter()
        .map(|row| {
            let mut p = vec![0.0; info.num_outputs];
            let mut m = vec![0.0; info.num_margins];
            model.predict(row, &mut p);
            model.predict_margin(row, &mut m);
            (p, m)
        })
        .unzip()
}

/// Reads a reference file: one line per row, comma-separated floats.
pub fn read_expected(path: &Path) -> Vec<Vec<f32>> {
    parse_outputs(&std::fs::read_to_string(path).expect("read expected"))
}

/// Parses scorer output text: one line per row, comma-separated floats.
pub fn parse_outputs(text: &str) -> Vec<Vec<f32>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f32>().expect("float"))
                .collect()
        })
        .collect()
}

/// Compares outputs bit for bit; the error names the first differing row.
pub fn check(label: &str, got: &[Vec<f32>], expected: &[Vec<f32>]) -> Result<(), String> {
    if got.len() != expected.len() {
        return Err(format!(
            "{label}: {} rows, expected {}",
            got.len(),
            expected.len()
        ));
    }
    let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let bad: Vec<usize> = (0..got.len())
        .filter(|&i| bits(&got[i]) != bits(&expected[i]))
        .collect();
    match bad.first() {
        None => Ok(()),
        Some(&i) => Err(format!(
            "{label}: {} of {} rows differ; first is row {} (line {} of the input): got {:?}, expected {:?}",
            bad.len(),
            got.len(),
            i + 1,
            i + 2,
            got[i],
            expected[i]
        )),
    }
}

/// Checks a case's predictions and margins against its references; returns the mismatches.
pub fn check_case(case: &Case, pred: &[Vec<f32>], margin: &[Vec<f32>]) -> Vec<String> {
    [
        ("predictions", pred, &case.expected),
        ("margins", margin, &case.expected_margin),
    ]
    .into_iter()
    .filter_map(|(what, got, file)| {
        check(&format!("{} {what}", case.label), got, &read_expected(file)).err()
    })
    .collect()
}

/// Fails with every mismatch found, or if fewer cases ran than there are fixtures.
pub fn assert_all_matched(failures: &[String], checked: usize) {
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= MIN_FIXTURES, "only {checked} cases checked");
}
