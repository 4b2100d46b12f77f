//! Any bytes as rows through the codecs on real models (the interpreter of fixtures with
//! numerical, categorical and labelled features): CSV and JSON lines scored one at a time
//! and as one batch must give the same text, one result line per input line; `predict`
//! over the same bytes as CSV (with and without header), JSON lines and raw f32 must answer
//! every line (row) exactly once. Nothing may panic.
//!
//! The first byte chooses the model and the options; the rest is the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use timber_codegen::interp::AnyInterpreter;
use timber_codegen::load::load_bytes;
use timber_codegen::LoadOptions;
use timber_runtime::Model;
use timber_serve::codec::{Codec, CodecOptions, Format};
use timber_serve::predict::{predict_reader, InputFormat, PredictArgs};

const MODELS: [&[u8]; 3] = [
    include_bytes!("../../models/binary_logistic/model.json"),
    include_bytes!("../../models/categorical_small/model.json"),
    include_bytes!("../../models/lgb_categorical/model.txt"),
];

fn models() -> &'static [AnyInterpreter] {
    static MODELS_LOADED: OnceLock<Vec<AnyInterpreter>> = OnceLock::new();
    MODELS_LOADED.get_or_init(|| {
        MODELS
            .iter()
            .map(|bytes| {
                let forest = load_bytes(bytes, "fixture", &LoadOptions::default()).unwrap();
                AnyInterpreter::new(forest).unwrap()
            })
            .collect()
    })
}

/// The lines of `data` as a line reader sees them: split at `\n`; a last line without one
/// counts; nothing after a final `\n`.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&b| b == b'\n').collect()
}

fn check<M: Model>(model: &M, selector: u8, data: &[u8]) {
    let options = CodecOptions {
        format: if selector & 1 == 0 {
            Format::Csv
        } else {
            Format::Json
        },
        margin: selector & 2 != 0,
        ignore_unknown: selector & 4 != 0,
    };
    let codec = Codec::new(model, options);
    let lines = lines(data);

    // One at a time.
    let mut scratch = codec.scratch();
    let mut single = Vec::new();
    for line in &lines {
        if let Err(failure) = codec.score(line, &mut scratch, &mut single) {
            codec.write_failure(&failure, &mut single);
        }
        single.push(b'\n');
    }
    // As one batch.
    let mut batch = codec.batch();
    for line in &lines {
        codec.push_line(&mut batch, line);
    }
    let mut batched = Vec::new();
    let (scored, failed) = codec.write_batch(&mut batch, &mut batched, |_| {});
    assert_eq!((scored + failed) as usize, lines.len());
    assert_eq!(single, batched, "batch and single-row results differ");
    assert_eq!(batched.iter().filter(|&&b| b == b'\n').count(), lines.len());

    // `predict`, every input format.
    let nf = model.info().num_features();
    for (format, header) in [
        (InputFormat::Csv, None),
        (InputFormat::Csv, Some(false)),
        (InputFormat::Json, None),
        (InputFormat::F32le, None),
    ] {
        let mut args = PredictArgs::new("-");
        args.format = format;
        args.threads = 1 + usize::from(selector & 8 != 0);
        args.features = Some(nf);
        args.max_line_bytes = 1 << 12;
        args.no_header = header == Some(false);
        args.margin = options.margin;
        args.ignore_unknown = options.ignore_unknown;
        let mut out = Vec::new();
        let Ok(summary) = predict_reader(model, data, &mut out, &args, |_| {}) else {
            // Only a bad CSV header (or a truncated f32 row) stops a run.
            continue;
        };
        let results = out.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(results, summary.rows, "one result line per row");
        let want = match format {
            InputFormat::F32le => (data.len() / (4 * nf.max(1))) as u64,
            InputFormat::Json => lines.len() as u64,
            // The header, unless it was read as a row, is not a row.
            InputFormat::Csv if args.no_header || summary.first_line_is_a_row => lines.len() as u64,
            InputFormat::Csv => lines.len().saturating_sub(1) as u64,
        };
        assert_eq!(summary.rows, want, "{format:?}: rows scored vs lines");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let models = models();
    match &models[usize::from(selector >> 4) % models.len()] {
        AnyInterpreter::F32(m) => check(m, selector, data),
        AnyInterpreter::F64(m) => check(m, selector, data),
        AnyInterpreter::F32InF64Sum(m) => check(m, selector, data),
    }
});
