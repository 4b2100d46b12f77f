//! Golden files: the exact generated source for four tiny models (XGBoost regression and
//! multi-class, LightGBM with categorical splits and linear leaves, a scikit-learn forest) in
//! the default layout, and the XGBoost regression also all nested `if`/`else`, checked in.
//! The LightGBM and scikit-learn files also pin down which of their trees get tables. A
//! change to the emitter shows up here as a diff to review. Regenerate with
//! `TIMBER_BLESS=1 cargo test -p timber-codegen --test golden` and read the diff before
//! committing it.

mod common;

use common::check_cases;
use std::path::Path;
use timber_codegen::emit::{emit, render_files, EmitOptions, Layout};
use timber_codegen::load::load_bytes;
use timber_codegen::LoadOptions;

/// The generated files of a fixture model, concatenated with a marker line per file.
fn generate(fixture: &str, type_name: &str, layout: Layout) -> String {
    generate_from(fixture, "model.json", type_name, layout)
}

fn generate_from(fixture: &str, file: &str, type_name: &str, layout: Layout) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rel = format!("models/{fixture}/{file}");
    let bytes = std::fs::read(root.join(&rel)).expect("read fixture");
    let forest = load_bytes(&bytes, &rel, &LoadOptions::default()).expect("load");
    let options = EmitOptions {
        type_name: type_name.into(),
        layout,
        ..EmitOptions::default()
    };
    let files = render_files(&emit(&forest, &options).expect("emit"), fixture).expect("render");
    files
        .into_iter()
        .map(|file| {
            let path = if file.path.is_empty() {
                format!("{fixture}.rs")
            } else {
                file.path
            };
            if path.ends_with(".bin") {
                // A blob: its size and a hash of its bytes stand for it.
                return format!(
                    "// ==== file: {path} ({} bytes, FNV-1a {:016x}) ====\n",
                    file.contents.len(),
                    fnv1a(&file.contents)
                );
            }
            let text = String::from_utf8(file.contents).expect("source is UTF-8");
            format!("// ==== file: {path} ====\n{text}")
        })
        .collect()
}

/// The 64-bit FNV-1a hash of some bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn check_golden_from(fixture: &str, file: &str, type_name: &str, layout: Layout) {
    let got = generate_from(fixture, file, type_name, layout);
    let suffix = match layout {
        Layout::Auto => String::new(),
        other => format!("_{}", other.name()),
    };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{fixture}{suffix}.rs.txt"));
    if std::env::var_os("TIMBER_BLESS").is_some() {
        std::fs::write(&golden, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (bless with TIMBER_BLESS=1)");
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{fixture}: generated code differs from {} at line {}:\n  got:  {:?}\n  want: {:?}",
            golden.display(),
            line + 1,
            got.lines().nth(line),
            want.lines().nth(line)
        );
    }
}

/// Every golden file: (case, fixture, model file, type name, layout).
#[test]
fn tiny_models_match_their_golden_files() {
    let cases = [
        (
            "tiny regression",
            "tiny_reg",
            "model.json",
            "TinyReg",
            Layout::Auto,
        ),
        (
            "tiny regression nested",
            "tiny_reg",
            "model.json",
            "TinyReg",
            Layout::Nested,
        ),
        (
            "tiny multiclass",
            "tiny_multi",
            "model.json",
            "TinyMulti",
            Layout::Auto,
        ),
        (
            "tiny LightGBM model",
            "lgb_tiny",
            "model.txt",
            "LgbTiny",
            Layout::Auto,
        ),
        (
            "tiny scikit-learn forest",
            "sk_tiny",
            "model.json",
            "SkTiny",
            Layout::Auto,
        ),
        (
            "tiny regression as node arrays",
            "tiny_reg",
            "model.json",
            "TinyReg",
            Layout::Nodes,
        ),
        // H2O GBM gaussian: f64 inputs and sums, f32 split values widened, init_f added after
        // the trees as a single-leaf tree.
        (
            "tiny H2O model",
            "h2o_gbm_stumps",
            "model.zip",
            "H2oStumps",
            Layout::Nested,
        ),
    ];
    check_cases(
        &cases,
        |case| case.0,
        |&(_, fixture, file, type_name, layout)| {
            check_golden_from(fixture, file, type_name, layout);
        },
    );
}

#[test]
fn output_is_deterministic() {
    for layout in Layout::ALL {
        assert_eq!(
            generate("categorical_large", "Cats", layout),
            generate("categorical_large", "Cats", layout)
        );
        assert_eq!(
            generate("dart", "Dart", layout),
            generate("dart", "Dart", layout)
        );
    }
}
