//! The scorer: the command-line program of a generated model crate.
//!
//! A generated crate's `src/main.rs` is one call to [`main`]. `timber predict` (the
//! interpreter) shares [`predict`], so compiled and interpreted scoring read and write
//! exactly the same text.

use crate::modes::ServeArgs;
use crate::predict::open_input;
pub use crate::predict::{predict, predict_reader, InputFormat, PredictArgs, PredictSummary};
use crate::row::ColumnMap;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use timber_runtime::{Float, Model, ModelInfo};

#[derive(Parser)]
#[command(version, about = "Score rows with a Timber-compiled tree ensemble")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score a file or standard input (CSV with a header, JSON lines, or raw f32), on all cores.
    Predict(PredictArgs),
    /// Score a live stream: a TCP socket or a Kafka consumer group.
    Serve(ServeArgs),
    /// Print the model's metadata and the runtime version.
    Info,
    /// Measure scoring speed (rows/s) on the rows of a CSV file, decoded once up front.
    Bench(BenchArgs),
}

/// Arguments of `bench`, shared with `timber bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Input CSV with a header row.
    #[arg(long)]
    pub input: PathBuf,
    /// Keep scoring the rows for at least this many seconds.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Score all the rows in one batch call per pass (the model's batch kernels, what
    /// `predict` uses) instead of one row per call.
    #[arg(long)]
    pub batch: bool,
    /// With `--batch`: threads to split each batch between; 0 = one per core.
    #[arg(long, default_value_t = 1, requires = "batch")]
    pub threads: usize,
}

/// Runs the scorer CLI for `model` with the process arguments.
pub fn main<M: Model + 'static>(model: M) -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Predict(args) => predict(&model, &args),
        Command::Serve(args) => crate::modes::serve(model, args),
        Command::Bench(args) => bench(&model, &args).map(|r| println!("{r}")),
        Command::Info => {
            print!("{}", describe(model.info()));
            println!("runtime:     timber-runtime {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// Reads CSV rows from `input` and calls `f` with each decoded row (model feature order,
/// missing values as NaN). Stops at the first row that cannot be read or decoded, with an
/// error naming its line and column.
pub fn for_each_row<F: Float, R: Read>(
    info: &ModelInfo,
    input: R,
    mut f: impl FnMut(&[F]) -> Result<()>,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let map = ColumnMap::from_header(header.iter(), info)?;
    let mut row = vec![F::NAN; info.num_features()];
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(anyhow::anyhow!("line {line}: {e}"));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        row.fill(F::NAN);
        map.decode(record.iter(), record.len(), line, &mut row)?;
        f(&row)?;
    }
}

/// The outcome of [`fn@bench`].
#[derive(Debug, Clone, Copy)]
pub struct BenchReport {
    /// Distinct rows in the input.
    pub rows: usize,
    /// Rows scored in total (the input, repeated).
    pub scored: u64,
    /// Seconds spent scoring.
    pub seconds: f64,
}

impl BenchReport {
    /// Rows scored per second.
    pub fn rows_per_second(&self) -> f64 {
        self.scored as f64 / self.seconds
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "scored {} rows ({} distinct) in {:.3} s: {:.0} rows/s, {:.1} ns/row",
            self.scored,
            self.rows,
            self.seconds,
            self.rows_per_second(),
            self.seconds * 1e9 / self.scored as f64
        )
    }
}

/// Decodes every row of `args.input`, then scores them repeatedly for `args.seconds`: one
/// row at a time through [`Model::predict`], or with `args.batch` all rows per call through
/// [`timber_runtime::parallel::predict_batch`]. Parsing is not timed.
pub fn bench<M: Model>(model: &M, args: &BenchArgs) -> Result<BenchReport> {
    let info = model.info();
    let nf = info.num_features();
    let mut rows: Vec<M::Input> = Vec::new();
    for_each_row(info, open_input(&args.input)?.0, |row: &[M::Input]| {
        rows.extend_from_slice(row);
        Ok(())
    })?;
    let n = rows.len().checked_div(nf).unwrap_or(0);
    anyhow::ensure!(n > 0, "{}: no rows to score", args.input.display());
    let mut out = vec![M::Output::default(); info.num_outputs * if args.batch { n } else { 1 }];
    let mut checksum = 0.0f64;
    let mut scored = 0u64;
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < args.seconds || scored == 0 {
        if args.batch {
            timber_runtime::parallel::predict_batch(
                model,
                std::hint::black_box(&rows),
                &mut out,
                args.threads,
            );
            checksum += out.first().map_or(0.0, |v| v.to_f64());
        } else {
            for r in rows.chunks_exact(nf) {
                model.predict(std::hint::black_box(r), &mut out);
                checksum += out[0].to_f64();
            }
        }
        scored += n as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    Ok(BenchReport {
        rows: n,
        scored,
        seconds,
    })
}

/// A human-readable summary of a model, as `info` and `timber inspect` print it.
pub fn describe(info: &ModelInfo) -> String {
    let categorical = info
        .features
        .iter()
        .filter(|f| f.kind == timber_runtime::FeatureKind::Categorical)
        .count();
    let names: Vec<&str> = info.features.iter().map(|f| f.name.as_ref()).collect();
    let shown = if names.len() > 12 {
        format!(
            "{}, ... ({} more)",
            names[..12].join(", "),
            names.len() - 12
        )
    } else {
        names.join(", ")
    };
    // The levels of categorical features whose model records them (H2O domains, pandas
    // categories), a few of each.
    let mut levels = String::new();
    for f in info.features.iter().filter(|f| !f.categories.is_empty()) {
        let shown: Vec<&str> = f.categories.iter().take(8).map(|c| c.as_ref()).collect();
        let more = if f.categories.len() > 8 { ", ..." } else { "" };
        let label = if levels.is_empty() { "levels:" } else { "" };
        levels.push_str(&format!(
            "{label:<13}{}: {} ({}{more})\n",
            f.name,
            f.categories.len(),
            shown.join(", ")
        ));
    }
    format!(
        "model:       {}\nsource:      {} (sha256 {})\nformat:      {}\nobjective:   {} (transform: {})\n\
         trees:       {}\nnodes:       {}\nmax depth:   {}\nfeatures:    {} ({} categorical): {}\n{levels}\
         outputs:     {} (margins: {})\nprecision:   {}\ncompiled by: timber {}\n",
        info.name,
        info.source,
        info.source_sha256,
        info.format,
        info.objective,
        info.transform,
        info.num_trees,
        info.num_nodes,
        info.max_depth,
        info.num_features(),
        categorical,
        shown,
        info.num_outputs,
        info.num_margins,
        info.precision,
        info.timber_version,
    )
}
