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

/// Reads CSV rows from `input`, scores each, and writes one line per row to `out`.
/// Stops at the first row that cannot be decoded, with an error naming its line and column.
pub fn predict_csv<M: Model, R: Read, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    margin: bool,
) -> Result<()> {
    let info = model.info();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let map = ColumnMap::from_header(header.iter(), info)?;
    let width = if margin {
        info.num_margins
    } else {
        info.num_outputs
    };
    let mut row = vec![M::Input::NAN; info.num_features()];
    let mut result = vec![M::Output::default(); width];
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(anyhow::anyhow!("line {line}: {e}"));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        row.fill(M::Input::NAN);
        map.decode(record.iter(), record.len(), line, &mut row)?;
        if margin {
            model.predict_margin(&row, &mut result);
        } else {
            model.predict(&row, &mut result);
        }
        write_csv_line(out, &result)?;
    }
    Ok(())
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
