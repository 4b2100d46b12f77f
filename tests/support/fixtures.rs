//! The fixtures under `models/`: each a model trained by the real library (XGBoost, LightGBM,
//! scikit-learn or H2O), possibly in several files (`model.json`, `model.ubj`, `model.txt`,
//! `model_dump.json`, `model.zip`), test inputs, and the library's own predictions and
//! margins. Shared by
//! the test suites of several crates (included with `#[path]`), so it depends only on
//! `timber-runtime` and `csv`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use timber_runtime::{Float, Model, ModelInfo};

/// Fewer fixtures than this means `models/` is missing or broken, not that all is well.
pub const MIN_FIXTURES: usize = 70;

/// The model files a fixture may hold, in this order; the first one present is its primary
/// file.
pub const MODEL_FILES: [&str; 6] = [
    "model.json",
    "model.txt",
    "model.ubj",
    "model_dump.json",
    "model.npz",
    "model.zip",
];

/// One fixture directory.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The directory name, e.g. `binary_logistic`.
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
}

/// One model file of a fixture, with the options it must be loaded with.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The file.
    pub path: PathBuf,
    /// A short name for messages and generated names: `json`, `txt`, `ubj`, `dump`, `zip`.
    pub kind: &'static str,
    /// CLI flags it needs (`model_dump.args` for a dump): `--objective`, `--base-score`,
    /// `--num-class`, as (flag, value) pairs.
    pub args: Vec<(String, String)>,
}

impl ModelFile {
    /// The flags as command-line arguments.
    pub fn cli_args(&self) -> Vec<String> {
        self.args
            .iter()
            .flat_map(|(f, v)| [f.clone(), v.clone()])
            .collect()
    }

    /// The value of a flag, if given.
    pub fn arg(&self, flag: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
    }

    /// The options the file is loaded with: its flags, and every tree or up to the best
    /// iteration.
    pub fn load_options(&self, all_trees: bool) -> timber_codegen::LoadOptions {
        timber_codegen::LoadOptions {
            iterations: if all_trees {
                timber_codegen::Iterations::All
            } else {
                timber_codegen::Iterations::Best
            },
            dump: timber_codegen::load::xgboost::dump::DumpOptions {
                objective: self.arg("--objective").map(str::to_string),
                base_score: self.arg("--base-score").map(str::to_string),
                num_class: self.arg("--num-class").map(|n| n.parse().unwrap()),
            },
            ..Default::default()
        }
    }
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

/// Every fixture with a model file, sorted by name.
pub fn all(manifest_dir: &str) -> Vec<Fixture> {
    let dir = models_dir(manifest_dir);
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .expect("read models/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| MODEL_FILES.iter().any(|m| p.join(m).is_file()))
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

/// Parses `--flag value` pairs from an args file.
pub fn parse_args(text: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .chunks(2)
        .map(|p| match p {
            [flag, value] => (flag.to_string(), value.to_string()),
            _ => panic!("args come in `--flag value` pairs: {text}"),
        })
        .collect()
}

impl Fixture {
    /// Every model file the fixture has, the primary one first.
    pub fn models(&self) -> Vec<ModelFile> {
        MODEL_FILES
            .iter()
            .filter(|m| self.dir.join(m).is_file())
            .map(|m| {
                let args = if *m == "model_dump.json" {
                    let text = std::fs::read_to_string(self.dir.join("model_dump.args"))
                        .expect("a dump fixture has model_dump.args");
                    parse_args(&text)
                } else {
                    Vec::new()
                };
                ModelFile {
                    path: self.dir.join(m),
                    kind: match *m {
                        "model.json" => "json",
                        "model.txt" => "txt",
                        "model.ubj" => "ubj",
                        "model.npz" => "npz",
                        "model.zip" => "zip",
                        _ => "dump",
                    },
                    args,
                }
            })
            .collect()
    }

    /// The primary model file.
    pub fn model(&self) -> PathBuf {
        self.models()[0].path.clone()
    }

    /// The cases a model file can be checked on: all but those naming categories by label
    /// for a dump, which does not record the labels.
    pub fn cases_for(&self, model: &ModelFile) -> Vec<Case> {
        self.cases()
            .into_iter()
            .filter(|c| model.kind != "dump" || !c.input.ends_with("input_names.csv"))
            .collect()
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
            // H2O: cells its scorer reads its own way (`NA`, `Infinity`, padded levels).
            (
                "input_quirks.csv",
                "expected_quirks.csv",
                "expected_quirks_margin.csv",
                false,
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
pub fn read_rows<F: Float>(input: &Path, info: &ModelInfo) -> Vec<Vec<F>> {
    let file = std::fs::File::open(input).expect("open input");
    let mut rows = Vec::new();
    timber_serve::scorer::for_each_row(info, file, |row: &[F]| {
        rows.push(row.to_vec());
        Ok(())
    })
    .expect("decode input");
    rows
}

/// Rows of values, one `Vec` per row.
pub type Rows<F> = Vec<Vec<F>>;

/// Scores rows one at a time: (predictions, margins) per row.
pub fn score_rows<M: Model + ?Sized>(
    model: &M,
    rows: &[Vec<M::Input>],
) -> (Rows<M::Output>, Rows<M::Output>) {
    let info = model.info();
    rows.iter()
        .map(|row| {
            let mut p = vec![M::Output::default(); info.num_outputs];
            let mut m = vec![M::Output::default(); info.num_margins];
            model.predict(row, &mut p);
            model.predict_margin(row, &mut m);
            (p, m)
        })
        .unzip()
}

/// Reads a reference file: one line per row, comma-separated floats.
pub fn read_expected<F: Float + FromStr>(path: &Path) -> Vec<Vec<F>> {
    parse_outputs(&std::fs::read_to_string(path).expect("read expected"))
}

/// Parses scorer output text: one line per row, comma-separated floats, each parsed
/// straight to `F` (never through another precision).
pub fn parse_outputs<F: Float + FromStr>(text: &str) -> Vec<Vec<F>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<F>().ok().expect("float"))
                .collect()
        })
        .collect()
}

/// Compares outputs bit for bit; the error names the first differing row.
pub fn check<F: Float>(label: &str, got: &[Vec<F>], expected: &[Vec<F>]) -> Result<(), String> {
    if got.len() != expected.len() {
        return Err(format!(
            "{label}: {} rows, expected {}",
            got.len(),
            expected.len()
        ));
    }
    // Widening to f64 is exact and keeps every bit of an f32.
    let bits = |r: &[F]| r.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
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
pub fn check_case<F: Float + FromStr>(
    case: &Case,
    what: &str,
    pred: &[Vec<F>],
    margin: &[Vec<F>],
) -> Vec<String> {
    [
        ("predictions", pred, &case.expected),
        ("margins", margin, &case.expected_margin),
    ]
    .into_iter()
    .filter_map(|(kind, got, file)| {
        check(
            &format!("{} ({what}) {kind}", case.label),
            got,
            &read_expected(file),
        )
        .err()
    })
    .collect()
}

/// Reads a case's rows, scores them with `model` and checks them; returns the mismatches.
pub fn score_and_check<M: Model + ?Sized>(model: &M, case: &Case, what: &str) -> Vec<String>
where
    M::Output: FromStr,
{
    let rows = read_rows(&case.input, model.info());
    let (pred, margin) = score_rows(model, &rows);
    check_case(case, what, &pred, &margin)
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
