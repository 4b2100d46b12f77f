//! The scorer: the command-line program of a generated model crate.
//!
//! A generated crate's `src/main.rs` is one call to [`main`]. `timber predict` (the
//! interpreter) shares [`predict_csv`], so compiled and interpreted scoring read and write
//! exactly the same text.

use crate::model::{Float, Model, ModelInfo};
use crate::output::write_csv_line;
use crate::row::ColumnMap;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "Score rows with a Timber-compiled tree ensemble")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score a CSV file (header row; columns by feature name or by position).
    Predict(PredictArgs),
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
}

/// Arguments of `predict`, shared with `timber predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    /// Input CSV with a header row; `-` for standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// Where predictions go (one line per row); standard output when absent or `-`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print raw margins instead of transformed predictions.
    #[arg(long)]
    pub margin: bool,
}

/// Runs the scorer CLI for `model` with the process arguments.
pub fn main<M: Model>(model: M) -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Predict(args) => predict(&model, &args),
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
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Scores `args.input` into `args.output` (or standard output).
pub fn predict<M: Model>(model: &M, args: &PredictArgs) -> Result<()> {
    let input = open_input(&args.input)?;
    let out: Box<dyn Write> = match args.output.as_deref() {
        None => Box::new(io::stdout().lock()),
        Some(p) if p == Path::new("-") => Box::new(io::stdout().lock()),
        Some(p) => {
            Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
    };
    let mut out = BufWriter::new(out);
    predict_csv(model, input, &mut out, args.margin)
        .with_context(|| format!("while scoring {}", args.input.display()))?;
    out.flush().context("cannot write predictions")?;
    Ok(())
}

fn open_input(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
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

/// Reads CSV rows from `input`, scores each, and writes one line per row to `out`.
/// Stops at the first row that cannot be decoded, with an error naming its line and column.
pub fn predict_csv<M: Model, R: Read, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    margin: bool,
) -> Result<()> {
    let info = model.info();
    let width = if margin {
        info.num_margins
    } else {
        info.num_outputs
    };
    let mut result = vec![M::Output::default(); width];
    for_each_row(info, input, |row: &[M::Input]| {
        if margin {
            model.predict_margin(row, &mut result);
        } else {
            model.predict(row, &mut result);
        }
        Ok(write_csv_line(out, &result)?)
    })
}

/// The outcome of [`bench`].
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

/// Decodes every row of `args.input`, then scores them repeatedly for `args.seconds`,
/// one row at a time through [`Model::predict`]. Parsing is not timed.
pub fn bench<M: Model>(model: &M, args: &BenchArgs) -> Result<BenchReport> {
    let info = model.info();
    let nf = info.num_features();
    let mut rows: Vec<M::Input> = Vec::new();
    for_each_row(info, open_input(&args.input)?, |row: &[M::Input]| {
        rows.extend_from_slice(row);
        Ok(())
    })?;
    let n = rows.len().checked_div(nf).unwrap_or(0);
    anyhow::ensure!(n > 0, "{}: no rows to score", args.input.display());
    let mut out = vec![M::Output::default(); info.num_outputs];
    let mut checksum = 0.0f64;
    let mut scored = 0u64;
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < args.seconds || scored == 0 {
        for r in rows.chunks_exact(nf) {
            model.predict(std::hint::black_box(r), &mut out);
            checksum += out[0].to_f64();
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
        .filter(|f| f.kind == crate::FeatureKind::Categorical)
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
    format!(
        "model:       {}\nsource:      {} (sha256 {})\nformat:      {}\nobjective:   {} (transform: {})\n\
         trees:       {}\nnodes:       {}\nmax depth:   {}\nfeatures:    {} ({} categorical): {}\n\
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
