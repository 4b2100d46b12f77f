//! Any bytes through the public loading entry point (`load_bytes`, every format: XGBoost
//! JSON, UBJSON and dump, LightGBM text and JSON, scikit-learn JSON), then, for what loads,
//! the reference interpreter on a few rows and the emitter. Nothing may panic, and what
//! loads must score and emit.

#![no_main]

use libfuzzer_sys::fuzz_target;
use timber_codegen::emit::{emit, render_files, EmitOptions, Layout};
use timber_codegen::interp::AnyInterpreter;
use timber_codegen::ir::Forest;
use timber_codegen::load::load_bytes;
use timber_codegen::load::xgboost::dump::DumpOptions;
use timber_codegen::{Iterations, LoadError, LoadOptions};
use timber_runtime::{Float, Model};

/// Loads `data` as a user would: plain options first; a dump gets the options it asks for;
/// an unknown objective is retried for margins only.
fn load(data: &[u8]) -> Option<Forest> {
    let mut options = LoadOptions::default();
    for _ in 0..3 {
        match load_bytes(data, "fuzz.model", &options) {
            Ok(forest) => return Some(forest),
            Err(LoadError::NeedsOption { .. }) if options.dump.objective.is_none() => {
                // Two classes when the data's first byte is odd: both dump code paths.
                let multi = data.first().is_some_and(|b| b % 2 == 1);
                options.dump = DumpOptions {
                    objective: Some(
                        if multi {
                            "multi:softprob"
                        } else {
                            "binary:logistic"
                        }
                        .into(),
                    ),
                    base_score: Some("0.5".into()),
                    num_class: multi.then_some(3),
                };
            }
            Err(LoadError::UnknownObjective { .. }) if !options.margin_only => {
                options.margin_only = true;
                options.iterations = Iterations::All;
            }
            Err(e) => {
                // Every error names the file.
                assert!(e.to_string().starts_with("fuzz.model"), "{e}");
                return None;
            }
        }
    }
    None
}

/// Scores rows of NaN, zeros, ones and large values of each sign.
fn score<M: Model>(model: &M) {
    let info = model.info();
    let nf = info.num_features();
    if nf > 1 << 16 {
        return;
    }
    let mut out = vec![M::Output::default(); info.num_outputs];
    let mut margins = vec![M::Output::default(); info.num_margins];
    let mut rows = Vec::new();
    for v in [f64::NAN, 0.0, 1.0, -1.0, 1e30, -1e30, 0.5] {
        let row = vec![M::Input::from_f64(v); nf];
        model.predict(&row, &mut out);
        model.predict_margin(&row, &mut margins);
        rows.extend_from_slice(&row);
    }
    let mut batch = vec![M::Output::default(); 7 * info.num_outputs];
    model.predict_batch(&rows, &mut batch);
}

fuzz_target!(|data: &[u8]| {
    let Some(forest) = load(data) else { return };
    // Cost bounds for one fuzz run, not limits of Timber.
    if forest.num_nodes() > 20_000 {
        return;
    }
    match AnyInterpreter::new(forest.clone()) {
        Ok(AnyInterpreter::F32(m)) => score(&m),
        Ok(AnyInterpreter::F64(m)) => score(&m),
        Ok(AnyInterpreter::F32InF64Sum(m)) => score(&m),
        Err(_) => {}
    }
    for layout in [Layout::Auto, Layout::Nested] {
        let options = EmitOptions {
            layout,
            ..EmitOptions::default()
        };
        let emitted = emit(&forest, &options).expect("a loaded model emits");
        render_files(&emitted, "model").expect("emitted code renders");
    }
});
