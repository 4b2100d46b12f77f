//! Scoring speed, side by side in one run: Timber's generated code (default layout, and
//! forced variants for comparison), Timber's interpreter, and XGBoost's own in-place
//! predict, on the bench models (`small`, `bench500`, `multi`, and `large` with
//! `--features bench-large`), and with `--features bench-shapes` on models of other tree
//! shapes (leaf-wise LightGBM, lossguide XGBoost, a fully grown scikit-learn forest: see
//! `scoring/shapes.rs`, which checks them against the libraries' own predictions).
//!
//! Per model and input set (`random`: uniform in each feature's training range with 2% NaN;
//! `train`: rows drawn from the training data), three call shapes:
//!
//! - `batch_1thread`: 100,000 rows, one thread;
//! - `batch_allthreads`: 100,000 rows on every core (`timber_runtime::parallel` for Timber,
//!   `nthread` for XGBoost);
//! - `row`: one row per call, cycling through 4,096 different rows (latency).
//!
//! Before timing, every scorer's output on the batch is checked bit for bit against
//! Timber's (the benches fail otherwise). Run through `scripts/bench.sh`, which prepares the
//! data and the XGBoost library and turns criterion's estimates into the table of docs/benchmarks.md.
//! Environment: `TIMBER_BENCH_MODELS` (comma-separated subset), `TIMBER_BENCH_ROWS`
//! (default 100000), `TIMBER_XGBOOST_LIB` (else the XGBoost column is skipped, with a note).

#[path = "../tests/support/xgboost.rs"]
mod xgboost;

/// Declares `$name`, a model of `$path` in the default layout, and `$other`, the same model
/// in `layout = $layout`.
macro_rules! model_in_two_layouts {
    ($name:ident, $other:ident = $layout:tt, $path:tt) => {
        timber::model!($name, $path);
        timber::model!($other, $path, layout = $layout);
    };
}

#[cfg(feature = "bench-shapes")]
#[path = "scoring/shapes.rs"]
mod shapes;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use timber::kernel::{with_kernel, Kernel};
use timber::{parallel, Model};
use timber_codegen::interp::Interpreter;
use xgboost::{Booster, Output, XgbLib};

model_in_two_layouts!(Small, SmallNested = "nested", "models/small/model.json");
model_in_two_layouts!(
    Bench500,
    Bench500Nested = "nested",
    "models/bench500/model.json"
);
model_in_two_layouts!(Multi, MultiNested = "nested", "models/multi/model.json");
#[cfg(feature = "bench-large")]
timber::model!(Large, "target/bench-data/large/model.json");

type Dyn = &'static dyn Model<Input = f32, Output = f32>;

struct BenchModel {
    name: &'static str,
    timber: Dyn,
    nested: Option<Dyn>,
    /// The model file and the directory of its fixture files.
    dir: PathBuf,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn models() -> Vec<BenchModel> {
    let m = |name, timber: Dyn, nested: Option<Dyn>, dir: &str| BenchModel {
        name,
        timber,
        nested,
        dir: root().join(dir),
    };
    #[allow(unused_mut)]
    let mut all = vec![
        m("small", &Small, Some(&SmallNested), "models/small"),
        m(
            "bench500",
            &Bench500,
            Some(&Bench500Nested),
            "models/bench500",
        ),
        m("multi", &Multi, Some(&MultiNested), "models/multi"),
    ];
    #[cfg(feature = "bench-large")]
    all.push(m("large", &Large, None, "target/bench-data/large"));
    all.retain(|b| wanted(b.name));
    all
}

/// Whether `TIMBER_BENCH_MODELS` (when set) names the model `name`.
fn wanted(name: &str) -> bool {
    std::env::var("TIMBER_BENCH_MODELS")
        .map_or(true, |only| only.split(',').any(|o| o.trim() == name))
}

/// A group for batches of `n` rows: a few slow samples, each one flat call.
fn batch_group(c: &mut Criterion, name: String, n: usize) -> BenchmarkGroup<'_, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(n as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g
}

/// xorshift64*: deterministic inputs, the generator the runtime's kernel tests use.
#[path = "../runtime/src/testing/rng.rs"]
#[allow(dead_code)] // The benchmarks draw only `below` and `unit_f32`.
mod rng;
use rng::Rng;

/// The training rows written by `make_fixtures.py --bench-data`, else the fixture's test rows
/// (same distribution, fewer distinct rows).
fn source_rows(b: &BenchModel, nf: usize) -> (Vec<f32>, String) {
    let train = root()
        .join("target/bench-data")
        .join(b.name)
        .join("train.f32");
    if let Ok(bytes) = std::fs::read(&train) {
        if bytes.len() % (4 * nf) == 0 && !bytes.is_empty() {
            let rows = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<_>>();
            let n = rows.len() / nf;
            return (rows, format!("{n} training rows ({})", train.display()));
        }
    }
    let info = b.timber.info();
    let file = std::fs::File::open(b.dir.join("input.csv")).expect("fixture input.csv");
    let mut rows = Vec::new();
    timber_serve::scorer::for_each_row(info, file, |r: &[f32]| {
        rows.extend_from_slice(r);
        Ok(())
    })
    .expect("decode input.csv");
    let n = rows.len() / nf;
    (
        rows,
        format!(
            "{n} fixture test rows ({} missing: run scripts/bench.sh)",
            train.display()
        ),
    )
}

/// `(input set name, rows)`: random rows and rows drawn from the training data.
fn input_sets(b: &BenchModel, n: usize) -> Vec<(&'static str, Vec<f32>)> {
    let nf = b.timber.info().num_features();
    let (train, what) = source_rows(b, nf);
    let m = train.len() / nf;
    eprintln!("{}: train input set drawn from {what}", b.name);
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let drawn: Vec<f32> = (0..n)
        .flat_map(|_| {
            let r = rng.below(m);
            train[r * nf..(r + 1) * nf].to_vec()
        })
        .collect();
    let (mut lo, mut hi) = (vec![f32::INFINITY; nf], vec![f32::NEG_INFINITY; nf]);
    for row in train.chunks_exact(nf) {
        for (f, &x) in row.iter().enumerate() {
            if !x.is_nan() {
                lo[f] = lo[f].min(x);
                hi[f] = hi[f].max(x);
            }
        }
    }
    let random: Vec<f32> = (0..n * nf)
        .map(|i| {
            let f = i % nf;
            if rng.unit_f32() < 0.02 || lo[f] > hi[f] {
                f32::NAN
            } else {
                lo[f] + rng.unit_f32() * (hi[f] - lo[f])
            }
        })
        .collect();
    vec![("random", random), ("train", drawn)]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Panics unless every scorer gives Timber's bits on `rows`.
fn check_agreement(
    b: &BenchModel,
    interp: &Interpreter,
    xgb: Option<&mut Booster<'_>>,
    rows: &[f32],
    set: &str,
) {
    let info = b.timber.info();
    let n = rows.len() / info.num_features();
    let mut timber = vec![0.0; n * info.num_outputs];
    b.timber.predict_batch(rows, &mut timber);
    let mut other = vec![0.0; timber.len()];
    for kernel in [Kernel::Avx2, Kernel::Scalar] {
        with_kernel(kernel, || b.timber.predict_batch(rows, &mut other));
        assert_eq!(
            bits(&other),
            bits(&timber),
            "{}/{set}: {kernel:?} kernel",
            b.name
        );
    }
    parallel::predict_batch(b.timber, rows, &mut other, 0);
    assert_eq!(bits(&other), bits(&timber), "{}/{set}: threads", b.name);
    interp.predict_batch(rows, &mut other);
    assert_eq!(bits(&other), bits(&timber), "{}/{set}: interpreter", b.name);
    if let Some(nested) = b.nested {
        nested.predict_batch(rows, &mut other);
        assert_eq!(
            bits(&other),
            bits(&timber),
            "{}/{set}: nested layout",
            b.name
        );
    }
    for r in 0..n.min(4096) {
        b.timber.predict(
            &rows[r * info.num_features()..(r + 1) * info.num_features()],
            &mut other[..info.num_outputs],
        );
        let want = &timber[r * info.num_outputs..(r + 1) * info.num_outputs];
        assert_eq!(
            bits(&other[..info.num_outputs]),
            bits(want),
            "{}/{set}: one row",
            b.name
        );
    }
    if let Some(xgb) = xgb {
        let got = xgb
            .predict(rows, Output::Value, 0)
            .expect("XGBoost predict");
        assert_eq!(
            bits(got),
            bits(&timber),
            "{}/{set}: XGBoost in-place predict",
            b.name
        );
    }
    eprintln!(
        "{}/{set}: all scorers agree bit for bit on {n} rows",
        b.name
    );
}

fn xgb_lib() -> Option<&'static XgbLib> {
    match XgbLib::load(root()) {
        Ok(lib) => {
            eprintln!("XGBoost {} from {}", lib.version(), lib.path().display());
            Some(Box::leak(Box::new(lib)))
        }
        Err(why) => {
            eprintln!("NOTE: the XGBoost column is skipped: {why}");
            None
        }
    }
}

fn bench_all(c: &mut Criterion) {
    let n: usize = std::env::var("TIMBER_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let threads = parallel::available_threads();
    eprintln!(
        "{threads} threads; Timber batch kernel: {}",
        timber::kernel::kernel_name()
    );
    let lib = xgb_lib();
    for b in models() {
        let info = b.timber.info();
        let (nf, no) = (info.num_features(), info.num_outputs);
        let forest = timber_codegen::load_file(b.dir.join("model.json"), &Default::default())
            .expect("load model");
        let interp = Interpreter::new(forest).expect("f32 model");
        let load = |t: usize| {
            lib.map(|lib| {
                let mut x =
                    Booster::load(lib, &b.dir.join("model.json"), nf).expect("XGBoost load");
                x.set_threads(t).expect("nthread");
                x
            })
        };
        let (mut xgb1, mut xgb_all) = (load(1), load(threads));
        for (set, rows) in input_sets(&b, n) {
            check_agreement(&b, &interp, xgb1.as_mut(), &rows, set);
            let mut out = vec![0.0f32; n * no];

            let mut g = batch_group(c, format!("{}/{set}/batch_1thread", b.name), n);
            g.bench_function("timber", |bn| {
                bn.iter(|| b.timber.predict_batch(&rows, &mut out))
            });
            g.bench_function("timber_avx2_kernel", |bn| {
                bn.iter(|| with_kernel(Kernel::Avx2, || b.timber.predict_batch(&rows, &mut out)))
            });
            g.bench_function("timber_scalar_kernel", |bn| {
                bn.iter(|| with_kernel(Kernel::Scalar, || b.timber.predict_batch(&rows, &mut out)))
            });
            if let Some(nested) = b.nested {
                g.bench_function("timber_nested", |bn| {
                    bn.iter(|| nested.predict_batch(&rows, &mut out))
                });
            }
            g.bench_function("interpreter", |bn| {
                bn.iter(|| interp.predict_batch(&rows, &mut out))
            });
            if let Some(x) = xgb1.as_mut() {
                g.bench_function("xgboost", |bn| {
                    bn.iter(|| x.predict(&rows, Output::Value, 0).map(<[f32]>::len))
                });
            }
            g.finish();

            let mut g = batch_group(c, format!("{}/{set}/batch_allthreads", b.name), n);
            g.bench_function("timber", |bn| {
                bn.iter(|| parallel::predict_batch(b.timber, &rows, &mut out, threads))
            });
            g.bench_function("interpreter", |bn| {
                bn.iter(|| parallel::predict_batch(&interp, &rows, &mut out, threads))
            });
            if let Some(x) = xgb_all.as_mut() {
                g.bench_function("xgboost", |bn| {
                    bn.iter(|| x.predict(&rows, Output::Value, 0).map(<[f32]>::len))
                });
            }
            g.finish();

            let pool = n.min(4096);
            let mut g = c.benchmark_group(format!("{}/{set}/row", b.name));
            g.throughput(Throughput::Elements(1))
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            let row = |i: usize| &rows[(i % pool) * nf..(i % pool + 1) * nf];
            let mut one = vec![0.0f32; no];
            let mut i = 0;
            g.bench_function("timber", |bn| {
                bn.iter(|| {
                    i += 1;
                    b.timber.predict(row(i), &mut one)
                })
            });
            if let Some(nested) = b.nested {
                g.bench_function("timber_nested", |bn| {
                    bn.iter(|| {
                        i += 1;
                        nested.predict(row(i), &mut one)
                    })
                });
            }
            g.bench_function("interpreter", |bn| {
                bn.iter(|| {
                    i += 1;
                    interp.predict(row(i), &mut one)
                })
            });
            if let Some(x) = xgb1.as_mut() {
                g.bench_function("xgboost", |bn| {
                    bn.iter(|| {
                        i += 1;
                        x.predict(row(i), Output::Value, 0).map(|v| v[0])
                    })
                });
            }
            g.finish();
        }
    }
    #[cfg(feature = "bench-shapes")]
    shapes::bench(c, lib, n, threads);
}

criterion_group!(benches, bench_all);
criterion_main!(benches);
