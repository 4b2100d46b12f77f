//! A compiled model in WebAssembly: `timber compile` writes the crate, its library builds
//! without `std` (`timber-runtime` as `no_std` + `alloc`) into a `wasm32-unknown-unknown`
//! module, and Node.js runs the module on every fixture row, one row at a time and in
//! batches. The margins must equal the training library's to the bit, as natively; so must
//! predictions whose transform needs no `exp` (the forest's averages). Without a C library
//! the transforms' `exp` is the `libm` crate's, which rounds differently from glibc's in the
//! last bit for some inputs (see `timber_runtime::math`), and a transform compounds that
//! (sigmoid divides by `1 + exp`, softmax sums several): those predictions must be within
//! four units in the last place, and the test reports how many differ.
//!
//! Needs the `wasm32-unknown-unknown` target (`rustup target add wasm32-unknown-unknown`) and
//! `node` on the PATH; `scripts/test.sh` installs both.

#[path = "../../tests/support/fixtures.rs"]
mod fixtures;

use std::path::Path;
use std::process::Command;
use timber_codegen::interp::model_info;

/// The models run in WebAssembly: an `f32` XGBoost model with tables, an `f64` LightGBM
/// multi-class model (softmax), and a scikit-learn forest (`f32` inputs, `f64` sums, nested
/// code, averaged), so every precision and both layouts are covered.
const MODELS: [(&str, &str); 3] = [
    ("binary_logistic", "model.json"),
    ("lgb_multiclass", "model.txt"),
    ("sk_rf_multiclass", "model.json"),
];

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One model's wrapper functions: rows (as `f64`, narrowed to the model's input type) in,
/// predictions then margins (widened to `f64`) out, scored one row at a time and as a batch.
fn exports(krate: &str, ty: &str, input: &str) -> String {
    format!(
        r#"
#[no_mangle]
pub extern "C" fn {krate}_score(rows: *const f64, n: usize, batch: bool, out: *mut f64) {{
    use {krate}::{ty} as M;
    let (nf, no, nm) = (M::NUM_FEATURES, M::NUM_OUTPUTS, M::NUM_MARGINS);
    // SAFETY: the caller passes `n * nf` rows and room for `n * (no + nm)` results.
    let (rows, out) = unsafe {{
        (
            std::slice::from_raw_parts(rows, n * nf),
            std::slice::from_raw_parts_mut(out, n * (no + nm)),
        )
    }};
    let x: Vec<{input}> = rows.iter().map(|&v| v as {input}).collect();
    let (mut p, mut m) = (vec![Default::default(); n * no], vec![Default::default(); n * nm]);
    if batch {{
        M.predict_batch(&x, &mut p);
        M.predict_margin_batch(&x, &mut m);
    }} else {{
        for r in 0..n {{
            M.predict(&x[r * nf..(r + 1) * nf], &mut p[r * no..(r + 1) * no]);
            M.predict_margin(&x[r * nf..(r + 1) * nf], &mut m[r * nm..(r + 1) * nm]);
        }}
    }}
    for (o, v) in out.iter_mut().zip(p.iter().chain(&m)) {{
        *o = f64::from(*v);
    }}
}}
"#
    )
}

/// Runs `{krate}_score` of the module in Node.js on the rows in `rows_file` (little-endian
/// `f64`), writing the results to `out_file`.
const NODE_SCRIPT: &str = r#"
const fs = require('fs');
const [wasmFile, fn, rowsFile, n, perRow, batch, outFile] = process.argv.slice(2);
const compiled = new WebAssembly.Module(fs.readFileSync(wasmFile));
const wasm = new WebAssembly.Instance(compiled, {}).exports;
const rows = new Float64Array(new Uint8Array(fs.readFileSync(rowsFile)).buffer);
const rowsPtr = wasm.alloc(rows.length * 8);
const outLen = Number(n) * Number(perRow);
const outPtr = wasm.alloc(outLen * 8);
new Float64Array(wasm.memory.buffer, rowsPtr, rows.length).set(rows);
wasm[fn](rowsPtr, Number(n), batch === 'batch' ? 1 : 0, outPtr);
const out = new Float64Array(wasm.memory.buffer, outPtr, outLen);
fs.writeFileSync(outFile, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
"#;

/// Checks `got` against `expected` (values of the output precision, widened): bit for bit
/// when `exact`, else within four units in the last place of that precision. Returns how
/// many differ.
fn compare(label: &str, got: &[f64], expected: &[f64], exact: bool) -> usize {
    assert_eq!(got.len(), expected.len(), "{label}: result count");
    let mut differ = 0;
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        if g.to_bits() == e.to_bits() {
            continue;
        }
        // The distance in units in the last place of the output type (f32 values widened
        // exactly; both have the same sign here).
        let f32_values = f64::from(g as f32) == g && f64::from(e as f32) == e;
        let ulps = if f32_values {
            u64::from((g as f32).to_bits().abs_diff((e as f32).to_bits()))
        } else {
            g.to_bits().abs_diff(e.to_bits())
        };
        assert!(
            !exact && ulps <= 4,
            "{label}: value {i} is {g:e}, the library's {e:e} ({ulps} ulps apart)"
        );
        differ += 1;
    }
    differ
}

#[test]
fn compiled_models_score_in_webassembly_with_bit_exact_margins() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "this test needs Node.js (`node`) to run WebAssembly; scripts/test.sh installs it"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    // The generated crates, and a cdylib wrapping them all.
    let mut deps = String::new();
    let mut wrapper = String::from(
        "#[no_mangle]\npub extern \"C\" fn alloc(bytes: usize) -> *mut u8 {\n    \
         Vec::<u64>::with_capacity(bytes.div_ceil(8)).leak().as_mut_ptr().cast()\n}\n\
         use timber_runtime::Model;\n",
    );
    for (fixture, file) in MODELS {
        let name = fixture.replace('_', "-");
        let krate = fixture.to_string();
        let model = root.join("models").join(fixture).join(file);
        run(Command::new(env!("CARGO_BIN_EXE_timber"))
            .arg("compile")
            .arg(&model)
            .arg("--out")
            .arg(work.join(&name))
            .arg("--name")
            .arg(&name));
        let forest = timber_codegen::load_file(&model, &Default::default()).unwrap();
        let input = if forest.precision.f64_input() {
            "f64"
        } else {
            "f32"
        };
        deps.push_str(&format!(
            "{name} = {{ path = \"../{name}\", default-features = false }}\n"
        ));
        wrapper.push_str(&exports(
            &krate,
            &timber_codegen::type_name_for(&name),
            input,
        ));
    }
    let wrapper_dir = work.join("wasm-scorer");
    std::fs::create_dir_all(wrapper_dir.join("src")).unwrap();
    std::fs::write(
        wrapper_dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"wasm-scorer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n{deps}\
             timber-runtime = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
            root.join("runtime").canonicalize().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(wrapper_dir.join("src/lib.rs"), wrapper).unwrap();
    std::fs::copy(root.join("Cargo.lock"), wrapper_dir.join("Cargo.lock")).unwrap();
    let target = work.join("target");
    run(Command::new(env!("CARGO"))
        .args([
            "build",
            "--offline",
            "--quiet",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(wrapper_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target));
    let wasm = target.join("wasm32-unknown-unknown/release/wasm_scorer.wasm");
    let script = work.join("score.cjs");
    std::fs::write(&script, NODE_SCRIPT).unwrap();

    let mut checked = 0;
    for (fixture, file) in MODELS {
        let model = root.join("models").join(fixture).join(file);
        let forest = timber_codegen::load_file(&model, &Default::default()).unwrap();
        let info = model_info(&forest, "M".into());
        let dir = root.join("models").join(fixture);
        let rows: Vec<Vec<f64>> = if forest.precision.f64_input() {
            fixtures::read_rows::<f64>(&dir.join("input.csv"), &info)
        } else {
            fixtures::read_rows::<f32>(&dir.join("input.csv"), &info)
                .into_iter()
                .map(|r| r.into_iter().map(f64::from).collect())
                .collect()
        };
        let rows_file = work.join(format!("{fixture}.rows"));
        let bytes: Vec<u8> = rows
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(&rows_file, bytes).unwrap();
        let (no, nm) = (info.num_outputs, info.num_margins);
        for mode in ["row", "batch"] {
            let out_file = work.join(format!("{fixture}.{mode}.out"));
            run(Command::new("node")
                .arg(&script)
                .arg(&wasm)
                .arg(format!("{fixture}_score"))
                .arg(&rows_file)
                .arg(rows.len().to_string())
                .arg((no + nm).to_string())
                .arg(mode)
                .arg(&out_file));
            let out: Vec<f64> = std::fs::read(&out_file)
                .unwrap()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            let n = rows.len();
            let (predictions, margins) = out.split_at(n * no);
            let label = format!("{fixture} in WebAssembly ({mode})");
            let expected = |file: &str| -> Vec<f64> {
                let path = dir.join(file);
                if forest.precision.f64_sum() {
                    fixtures::read_expected::<f64>(&path).concat()
                } else {
                    fixtures::read_expected::<f32>(&path)
                        .concat()
                        .into_iter()
                        .map(f64::from)
                        .collect()
                }
            };
            let exact = forest.transform == timber_codegen::ir::Transform::Identity;
            let last_bit = compare(&label, margins, &expected("expected_margin.csv"), true);
            assert_eq!(last_bit, 0);
            let last_bit = compare(&label, predictions, &expected("expected.csv"), exact);
            eprintln!(
                "{label}: margins bit-exact; {last_bit} of {} predictions differ in the last bits",
                predictions.len()
            );
            checked += n;
        }
    }
    assert!(checked > 1000, "only {checked} rows checked");
}
