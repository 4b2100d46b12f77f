//! The tree shapes of issue 10 (`--features bench-shapes`): models whose trees the
//! complete-tree tables cannot hold, generated into `target/bench-data/NAME/` by
//! `scripts/bench-data.sh peers` (too big to commit):
//!
//! - `lgb_leafwise`: LightGBM binary, 500 trees of up to 63 leaves grown leaf-wise (`f64`);
//! - `xgb_lossguide`: XGBoost `binary:logistic`, `grow_policy="lossguide"`, 500 trees of up
//!   to 63 leaves (`f32`);
//! - `sk_rf_full`: scikit-learn `RandomForestClassifier`, 100 fully grown trees, 3 classes,
//!   ~1 million nodes (`f32` in, `f64` sums), compiled from `tools/export_sklearn.py`'s npz.
//!
//! One input set, `heldout`: the 100,000 rows of `rows.npy` (fresh rows from the training
//! distribution, 2% NaN, in the dtype the library reads), the rows `scripts/peer-bench.sh`
//! times the peers on. Before timing, every Timber scorer — default layout (`auto`) and, where
//! it differs, all node arrays (`nodes`), in every batch kernel, on all threads and one row at
//! a time — and Timber's interpreter, and for `xgb_lossguide` XGBoost's in-place predict,
//! must reproduce `expected.npy` (the library's own predictions for those rows) bit for bit;
//! the bench stops otherwise. Then the same three call shapes as the other models are timed.

use super::xgboost::{Booster, Output, XgbLib};
use super::{batch_group, root, wanted};
use criterion::{Criterion, Throughput};
use std::path::{Path, PathBuf};
use std::time::Duration;
use timber::kernel::{with_kernel, Kernel};
use timber::{parallel, Float, Model};
use timber_codegen::emit::{emit, EmitOptions};
use timber_codegen::interp::{Interpreter, Scalar, Sum};

model_in_two_layouts!(
    LgbLeafwise,
    LgbLeafwiseNodes = "nodes",
    "target/bench-data/lgb_leafwise/model.txt"
);
model_in_two_layouts!(
    XgbLossguide,
    XgbLossguideNodes = "nodes",
    "target/bench-data/xgb_lossguide/model.json"
);
// The npz, not the JSON export: the same forest, half the bytes, read several times faster
// by the macro. `auto` puts every one of its trees (thousands of leaves each) in node
// arrays, so there is no separate `nodes` variant.
timber::model!(SkRfFull, "target/bench-data/sk_rf_full/model.npz");

type Dyn<I, O> = &'static dyn Model<Input = I, Output = O>;

/// One bench model of this family.
struct Shape<I: 'static, O: 'static> {
    /// The directory name in `target/bench-data/`.
    name: String,
    /// The default layout.
    auto: Dyn<I, O>,
    /// All trees as node arrays, when that is not what `auto` chose.
    nodes: Option<Dyn<I, O>>,
    /// The model file (in `target/bench-data/NAME/`), for the interpreter (and XGBoost).
    model_file: PathBuf,
    /// Whether XGBoost's in-place predict is a scorer of this model.
    xgboost: bool,
}

impl<I, O> Shape<I, O> {
    /// The shape of `auto`, named after the directory of the model file it was compiled from.
    fn new<M: Model<Input = I, Output = O>>(
        auto: &'static M,
        nodes: Option<Dyn<I, O>>,
        xgboost: bool,
    ) -> Self {
        let model_file = root().join(&*auto.info().source);
        let name = model_file
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|d| d.to_str())
            .expect("target/bench-data/NAME/model")
            .to_string();
        Shape {
            name,
            auto,
            nodes,
            model_file,
            xgboost,
        }
    }
}

/// Benches every shape model that `TIMBER_BENCH_MODELS` (when set) names.
pub fn bench(c: &mut Criterion, lib: Option<&'static XgbLib>, n: usize, threads: usize) {
    let lgb_leafwise = Shape::new(&LgbLeafwise, Some(&LgbLeafwiseNodes), false);
    bench_shape(c, &lgb_leafwise, lib, n, threads);
    let xgb_lossguide = Shape::new(&XgbLossguide, Some(&XgbLossguideNodes), true);
    bench_shape(c, &xgb_lossguide, lib, n, threads);
    bench_shape(c, &Shape::new(&SkRfFull, None, false), lib, n, threads);
}

/// A `.npy` file: its dtype (`<f4`, `<f8`, ...), shape and little-endian data.
struct Npy {
    descr: String,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// Reads a C-order `.npy` file (format versions 1 to 3).
fn read_npy(path: &Path) -> Npy {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/bench-data.sh peers)", path.display()));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        not_npy(path, "no NUMPY magic");
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => not_npy(path, &format!("format version {v}")),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .unwrap_or_else(|| not_npy(path, "truncated header"));
    let value = |key: &str| {
        let at = header
            .find(&format!("'{key}':"))
            .unwrap_or_else(|| not_npy(path, &format!("no {key} in the header")));
        header[at + key.len() + 3..].trim_start()
    };
    let descr = value("descr")
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .unwrap_or_else(|| not_npy(path, "descr"))
        .to_string();
    if !value("fortran_order").starts_with("False") {
        not_npy(path, "Fortran order");
    }
    let shape = value("shape")
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| not_npy(path, "shape"))
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().unwrap_or_else(|_| not_npy(path, "shape")))
        .collect();
    Npy {
        descr,
        shape,
        data: bytes[start + len..].to_vec(),
    }
}

fn not_npy(path: &Path, why: &str) -> ! {
    panic!("{}: not a readable .npy file: {why}", path.display())
}

/// The values of a `.npy` file of `T`'s dtype, and its shape.
fn read_values<T: Scalar>(path: &Path) -> (Vec<T>, Vec<usize>) {
    let npy = read_npy(path);
    let want = if T::IS_F64 { "<f8" } else { "<f4" };
    assert_eq!(
        npy.descr,
        want,
        "{}: dtype {} where the model reads or writes {}",
        path.display(),
        npy.descr,
        T::NAME
    );
    let size = if T::IS_F64 { 8 } else { 4 };
    let count: usize = npy.shape.iter().product();
    assert_eq!(
        npy.data.len(),
        count * size,
        "{}: {} data bytes for shape {:?}",
        path.display(),
        npy.data.len(),
        npy.shape
    );
    let values = npy
        .data
        .chunks_exact(size)
        .map(|b| {
            // Widening to f64 and back is exact for both types.
            T::from_f64(if T::IS_F64 {
                f64::from_le_bytes(b.try_into().expect("8 bytes"))
            } else {
                f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))
            })
        })
        .collect();
    (values, npy.shape)
}

/// Panics unless `got` equals the library's `want` bit for bit.
fn check<O: Float>(name: &str, what: &str, got: &[O], want: &[O], per_row: usize) {
    assert_eq!(got.len(), want.len(), "{name}: {what}: output length");
    let differ: Vec<usize> = (0..got.len())
        .filter(|&i| got[i].to_f64().to_bits() != want[i].to_f64().to_bits())
        .collect();
    if let Some(&first) = differ.first() {
        panic!(
            "{name}: {what}: {} of {} outputs differ from the library's expected.npy \
             (first: row {}, output {}: {:?}, expected {:?}); the bench stops",
            differ.len(),
            got.len(),
            first / per_row,
            first % per_row,
            got[first],
            want[first]
        );
    }
}

/// Checks every scorer against the library's predictions, then times them (when
/// `TIMBER_BENCH_MODELS` names the model). XGBoost (`lib`) is a scorer of `xgboost` shapes.
fn bench_shape<I: Scalar, O: Sum>(
    c: &mut Criterion,
    s: &Shape<I, O>,
    lib: Option<&'static XgbLib>,
    n: usize,
    threads: usize,
) {
    if !wanted(&s.name) {
        return;
    }
    let dir = s.model_file.parent().expect("the model's directory");
    let info = s.auto.info();
    let (nf, no) = (info.num_features(), info.num_outputs);
    let forest = timber_codegen::load_file(&s.model_file, &Default::default()).expect("load model");
    // What `auto` chose, for the log (emitting again costs about a second on sk_rf_full).
    if let Ok(e) = emit(&forest, &EmitOptions::default()) {
        if let Some(line) = e.header.iter().find(|l| l.starts_with(" - layout:")) {
            eprintln!("{}: auto {}", s.name, line.trim_start_matches(" - "));
        }
    }
    let interp = Interpreter::<I, O>::typed(forest).expect("interpreter types");

    let (all_rows, shape) = read_values::<I>(&dir.join("rows.npy"));
    assert_eq!(
        shape.get(1),
        Some(&nf),
        "{}: rows.npy has shape {shape:?}, the model {nf} features",
        s.name
    );
    let (expected, eshape) = read_values::<O>(&dir.join("expected.npy"));
    assert_eq!(
        eshape.iter().skip(1).product::<usize>(),
        no,
        "{}: expected.npy has shape {eshape:?}, the model {no} outputs",
        s.name
    );
    assert_eq!(eshape[0], shape[0], "{}: rows and expected", s.name);
    let n = if n > shape[0] {
        eprintln!(
            "NOTE: {}: rows.npy holds {} rows, fewer than {n}: batches are that size",
            s.name, shape[0]
        );
        shape[0]
    } else {
        n
    };
    let rows = &all_rows[..n * nf];
    let want = &expected[..n * no];
    let set = "heldout";
    let label = format!("{}/{set}", s.name);

    // XGBoost reads f32 rows: only `f32` models have it as a scorer.
    let xgb_rows: Option<Vec<f32>> = (s.xgboost && lib.is_some() && !I::IS_F64)
        .then(|| rows.iter().map(|&x| x.to_f64() as f32).collect());
    let load = |t: usize| {
        lib.filter(|_| xgb_rows.is_some()).map(|lib| {
            let mut x = Booster::load(lib, &s.model_file, nf).expect("XGBoost load");
            x.set_threads(t).expect("nthread");
            x
        })
    };
    let (mut xgb1, mut xgb_all) = (load(1), load(threads));
    if s.xgboost && xgb1.is_none() {
        eprintln!("NOTE: {label}: the XGBoost column is skipped (no XGBoost library)");
    }

    let mut out = vec![O::default(); n * no];
    let layouts: Vec<(&str, Dyn<I, O>)> = std::iter::once(("auto", s.auto))
        .chain(s.nodes.map(|m| ("nodes", m)))
        .collect();
    for &(layout, m) in &layouts {
        m.predict_batch(rows, &mut out);
        check(&label, &format!("{layout} layout"), &out, want, no);
        for kernel in [Kernel::Avx2, Kernel::Scalar] {
            with_kernel(kernel, || m.predict_batch(rows, &mut out));
            check(
                &label,
                &format!("{layout} layout, {kernel:?} kernel"),
                &out,
                want,
                no,
            );
        }
        parallel::predict_batch(m, rows, &mut out, threads);
        check(&label, &format!("{layout} layout, threads"), &out, want, no);
        for (r, (row, o)) in rows
            .chunks_exact(nf)
            .zip(out.chunks_exact_mut(no))
            .enumerate()
            .take(4096)
        {
            m.predict(row, o);
            check(
                &label,
                &format!("{layout} layout, one row ({r})"),
                o,
                &want[r * no..(r + 1) * no],
                no,
            );
        }
    }
    interp.predict_batch(rows, &mut out);
    check(&label, "interpreter", &out, want, no);
    if let (Some(x), Some(xr)) = (xgb1.as_mut(), xgb_rows.as_ref()) {
        let got: Vec<O> = x
            .predict(xr, Output::Value, 0)
            .expect("XGBoost predict")
            .iter()
            .map(|&v| O::from_f64(f64::from(v)))
            .collect();
        check(&label, "XGBoost in-place predict", &got, want, no);
    }
    eprintln!(
        "{label}: every scorer reproduces the library's expected.npy bit for bit on {n} rows"
    );

    let timber_name = |layout: &str| {
        if layout == "auto" {
            "timber".to_string()
        } else {
            format!("timber_{layout}")
        }
    };
    let mut g = batch_group(c, format!("{label}/batch_1thread"), n);
    for &(layout, m) in &layouts {
        g.bench_function(timber_name(layout), |bn| {
            bn.iter(|| m.predict_batch(rows, &mut out))
        });
    }
    g.bench_function("interpreter", |bn| {
        bn.iter(|| interp.predict_batch(rows, &mut out))
    });
    if let (Some(x), Some(xr)) = (xgb1.as_mut(), xgb_rows.as_ref()) {
        g.bench_function("xgboost", |bn| {
            bn.iter(|| x.predict(xr, Output::Value, 0).map(<[f32]>::len))
        });
    }
    g.finish();

    let mut g = batch_group(c, format!("{label}/batch_allthreads"), n);
    for &(layout, m) in &layouts {
        g.bench_function(timber_name(layout), |bn| {
            bn.iter(|| parallel::predict_batch(m, rows, &mut out, threads))
        });
    }
    g.bench_function("interpreter", |bn| {
        bn.iter(|| parallel::predict_batch(&interp, rows, &mut out, threads))
    });
    if let (Some(x), Some(xr)) = (xgb_all.as_mut(), xgb_rows.as_ref()) {
        g.bench_function("xgboost", |bn| {
            bn.iter(|| x.predict(xr, Output::Value, 0).map(<[f32]>::len))
        });
    }
    g.finish();

    // One row per call, cycling through 4,096 different rows so that branch predictors
    // cannot learn them.
    let pool = n.min(4096);
    let mut g = c.benchmark_group(format!("{label}/row"));
    g.throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut one = vec![O::default(); no];
    let mut i = 0;
    for &(layout, m) in &layouts {
        g.bench_function(timber_name(layout), |bn| {
            bn.iter(|| {
                i = (i + 1) % pool;
                m.predict(&rows[i * nf..(i + 1) * nf], &mut one)
            })
        });
    }
    g.bench_function("interpreter", |bn| {
        bn.iter(|| {
            i = (i + 1) % pool;
            interp.predict(&rows[i * nf..(i + 1) * nf], &mut one)
        })
    });
    if let (Some(x), Some(xr)) = (xgb1.as_mut(), xgb_rows.as_ref()) {
        g.bench_function("xgboost", |bn| {
            bn.iter(|| {
                i = (i + 1) % pool;
                x.predict(&xr[i * nf..(i + 1) * nf], Output::Value, 0)
                    .map(|v| v[0])
            })
        });
    }
    g.finish();
}
