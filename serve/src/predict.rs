//! `predict`: scoring a file or standard input in bulk, streaming, on all cores.
//!
//! Rows are read in batches; each batch is split between the threads, every thread decodes
//! and scores its share into its own buffer, and the buffers are written in input order.
//! Memory stays constant whatever the input size. A row that cannot be decoded gets an
//! error result in its place (`error: …` or `{"error":…}`), so output line N is always the
//! result of input row N; the run then fails after scoring everything else.

use crate::codec::{Codec, CodecOptions, Format, RowFailure};
use crate::row::ColumnMap;
use anyhow::{bail, ensure, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use timber_runtime::{Float, Model, ModelInfo};

/// Rows each thread scores per batch: large enough to amortise the thread hand-off,
/// small enough to keep memory flat.
const ROWS_PER_THREAD: usize = 4096;

/// How many row errors are printed to standard error before only counting them.
const ERRORS_SHOWN: usize = 10;

/// Input encodings of `predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// CSV with a header row (columns by feature name, or by position when the header names
    /// no feature); results as CSV lines.
    #[default]
    Csv,
    /// One JSON array or object per line; results as JSON lines.
    Json,
    /// Raw little-endian f32, row-major (numpy's `tofile`); needs `--features`. Results as
    /// CSV lines.
    F32le,
}

/// Arguments of `predict`, shared with `timber predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    /// Input file; `-` for standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// Where results go (one line per row); standard output when absent or `-`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input encoding.
    #[arg(long, value_enum, default_value_t = InputFormat::Csv)]
    pub format: InputFormat,
    /// Values per row of `--format f32le` input (must be the model's feature count).
    #[arg(long)]
    pub features: Option<usize>,
    /// CSV input has no header row: columns are the model's features in order.
    #[arg(long)]
    pub no_header: bool,
    /// CSV: print raw margins instead of predictions. JSON: add each row's margins.
    #[arg(long)]
    pub margin: bool,
    /// JSON objects: skip fields that name no feature instead of rejecting the row.
    #[arg(long)]
    pub ignore_unknown: bool,
    /// Scoring threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl PredictArgs {
    /// Arguments that score `input` to standard output with every default.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        PredictArgs {
            input: input.into(),
            output: None,
            format: InputFormat::Csv,
            features: None,
            no_header: false,
            margin: false,
            ignore_unknown: false,
            threads: 0,
        }
    }

    fn codec_options(&self) -> CodecOptions {
        CodecOptions {
            format: match self.format {
                InputFormat::Json => Format::Json,
                InputFormat::Csv | InputFormat::F32le => Format::Csv,
            },
            margin: self.margin,
            ignore_unknown: self.ignore_unknown,
        }
    }

    fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// What a `predict` run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictSummary {
    /// Rows read (each has exactly one result line).
    pub rows: u64,
    /// Rows that got an error result.
    pub failed: u64,
    /// The first few failures, as `line N: reason` (`row N` for f32le input).
    pub failures: Vec<String>,
}

/// Scores `args.input` into `args.output` (or standard output). Fails, after writing every
/// result, when any row could not be scored.
pub fn predict<M: Model>(model: &M, args: &PredictArgs) -> Result<()> {
    let (input, len) = open_input(&args.input)?;
    let out: Box<dyn Write> = match args.output.as_deref() {
        None => Box::new(io::stdout().lock()),
        Some(p) if p == Path::new("-") => Box::new(io::stdout().lock()),
        Some(p) => {
            Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let progress = match len {
        // A bar only for files big enough to wait for; hidden when stderr is not a terminal.
        Some(len) if len > 8 << 20 => {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    };
    let shown = args.input.display();
    let summary = predict_reader(model, input, &mut out, args, |n| progress.inc(n))
        .with_context(|| format!("while scoring {shown}"))?;
    progress.finish_and_clear();
    out.flush().context("cannot write predictions")?;
    for failure in &summary.failures {
        eprintln!("error: {shown}: {failure}");
    }
    if summary.failed > summary.failures.len() as u64 {
        eprintln!(
            "error: {shown}: ... and {} more",
            summary.failed - summary.failures.len() as u64
        );
    }
    if summary.failed > 0 {
        bail!(
            "{shown}: {} of {} rows could not be scored (their results are error lines)",
            summary.failed,
            summary.rows
        );
    }
    Ok(())
}

/// Opens a file (or standard input for `-`) for buffered reading, with its length.
pub(crate) fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(BufReader::new(io::stdin())), None));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 16, f)), len))
}

/// Scores every row of `input` (encoded as `args.format`) into `out`, one line per row,
/// calling `progress` with the input bytes consumed after each batch. Errors only for what
/// stops the whole run (unreadable input, a bad header, a failed write).
pub fn predict_reader<M: Model, R: BufRead, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    args: &PredictArgs,
    mut progress: impl FnMut(u64),
) -> Result<PredictSummary> {
    let codec = Codec::new(model, args.codec_options());
    let threads = args.thread_count();
    let batch_rows = threads * ROWS_PER_THREAD;
    let mut source = Source::open(model.info(), input, args)?;
    let columns = match &source {
        Source::Csv { columns, .. } => columns.clone(),
        _ => ColumnMap::positional(model.info()),
    };
    let mut summary = PredictSummary::default();
    let mut batch = Vec::with_capacity(batch_rows);
    loop {
        batch.clear();
        let consumed = source.read_batch(&mut batch, batch_rows)?;
        if batch.is_empty() {
            source.check_complete()?;
            return Ok(summary);
        }
        let chunk = batch.len().div_ceil(threads);
        let results: Vec<Scored> = if threads == 1 {
            vec![score_items(&codec, &columns, &batch)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(chunk)
                    .map(|items| s.spawn(|| score_items(&codec, &columns, items)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        for scored in results {
            out.write_all(&scored.text)
                .context("cannot write predictions")?;
            summary.rows += scored.rows;
            summary.failed += scored.failed;
            let room = ERRORS_SHOWN.saturating_sub(summary.failures.len());
            summary
                .failures
                .extend(scored.failures.into_iter().take(room));
        }
        progress(consumed);
        source.check_complete()?;
    }
}

/// One input row, undecoded: its position for error messages and its bytes.
struct Item {
    /// The 1-based line (or row number for f32le input).
    line: u64,
    data: ItemData,
}

enum ItemData {
    /// A CSV record, cells split but not parsed.
    Record(csv::ByteRecord),
    /// A line (JSON).
    Line(Vec<u8>),
    /// A row's raw little-endian f32 values.
    F32(Vec<u8>),
}

/// The rows of one input, in one of the formats.
enum Source<R: BufRead> {
    Csv {
        reader: Box<csv::Reader<R>>,
        columns: ColumnMap,
    },
    Lines {
        reader: R,
        line: u64,
    },
    F32 {
        reader: R,
        width: usize,
        row: u64,
        /// Why the input ended inside a row.
        truncated: Option<String>,
    },
}

impl<R: BufRead> Source<R> {
    fn open(info: &ModelInfo, input: R, args: &PredictArgs) -> Result<Self> {
        let nf = info.num_features();
        Ok(match args.format {
            InputFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(!args.no_header)
                    .flexible(true)
                    .from_reader(input);
                let columns = if args.no_header {
                    ColumnMap::positional(info)
                } else {
                    let header = reader
                        .headers()
                        .context("cannot read the header row")?
                        .clone();
                    ColumnMap::from_header(header.iter(), info)?
                };
                Source::Csv {
                    reader: Box::new(reader),
                    columns,
                }
            }
            InputFormat::Json => Source::Lines {
                reader: input,
                line: 0,
            },
            InputFormat::F32le => {
                let Some(width) = args.features else {
                    bail!("--format f32le needs --features N (the model has {nf} features)");
                };
                ensure!(
                    width == nf,
                    "--features {width} does not match the model, which has {nf} features"
                );
                Source::F32 {
                    reader: input,
                    width,
                    row: 0,
                    truncated: None,
                }
            }
        })
    }

    /// Fails when the input ended inside a row (after the rows before it were scored).
    fn check_complete(&self) -> Result<()> {
        match self {
            Source::F32 {
                truncated: Some(why),
                ..
            } => bail!("{why}"),
            _ => Ok(()),
        }
    }

    /// Appends up to `max` rows to `batch`; returns the input bytes consumed.
    fn read_batch(&mut self, batch: &mut Vec<Item>, max: usize) -> Result<u64> {
        let mut consumed = 0u64;
        while batch.len() < max {
            match self {
                Source::Csv { reader, .. } => {
                    let mut record = csv::ByteRecord::new();
                    let before = reader.position().byte();
                    match reader.read_byte_record(&mut record) {
                        Ok(false) => break,
                        Ok(true) => {}
                        Err(e) => {
                            let line = e.position().map_or(0, |p| p.line());
                            bail!("line {line}: {e}");
                        }
                    }
                    consumed += reader.position().byte() - before;
                    let line = record.position().map_or(0, |p| p.line());
                    batch.push(Item {
                        line,
                        data: ItemData::Record(record),
                    });
                }
                Source::Lines { reader, line } => {
                    let mut bytes = Vec::new();
                    let n = reader
                        .read_until(b'\n', &mut bytes)
                        .context("cannot read the input")?;
                    if n == 0 {
                        break;
                    }
                    consumed += n as u64;
                    *line += 1;
                    if bytes.last() == Some(&b'\n') {
                        bytes.pop();
                        if bytes.last() == Some(&b'\r') {
                            bytes.pop();
                        }
                    }
                    batch.push(Item {
                        line: *line,
                        data: ItemData::Line(bytes),
                    });
                }
                Source::F32 {
                    reader,
                    width,
                    row,
                    truncated,
                } => {
                    let mut bytes = vec![0u8; *width * 4];
                    let n = read_full(reader, &mut bytes).context("cannot read the input")?;
                    if n == 0 {
                        break;
                    }
                    *row += 1;
                    if n < bytes.len() {
                        // Score what came before, then fail (see `truncated`).
                        *truncated = Some(format!(
                            "row {row}: the input ends after {n} of the row's {} bytes \
                             (--features {width} f32 values per row)",
                            bytes.len()
                        ));
                        break;
                    }
                    consumed += n as u64;
                    batch.push(Item {
                        line: *row,
                        data: ItemData::F32(bytes),
                    });
                }
            }
        }
        Ok(consumed)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The results of a slice of a batch.
struct Scored {
    text: Vec<u8>,
    rows: u64,
    failed: u64,
    failures: Vec<String>,
}

fn score_items<M: Model>(codec: &Codec<'_, M>, columns: &ColumnMap, items: &[Item]) -> Scored {
    let mut batch = codec.batch();
    for item in items {
        match &item.data {
            ItemData::Record(record) => batch.push_with(|row| {
                decode_record(columns, record, item.line, row)
                    .map(|()| None)
                    .map_err(|reason| RowFailure { id: None, reason })
            }),
            ItemData::F32(bytes) => batch.push_with(|row| {
                for (v, b) in row.iter_mut().zip(bytes.chunks_exact(4)) {
                    let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    *v = M::Input::from_f64(f64::from(x));
                }
                Ok(None)
            }),
            ItemData::Line(bytes) => batch.push_with(|row| {
                codec.decode(bytes, row).map_err(|mut failure| {
                    failure.reason = format!("line {}: {}", item.line, failure.reason);
                    failure
                })
            }),
        }
    }
    let mut text = Vec::with_capacity(items.len() * 24);
    let mut failures = Vec::new();
    let (_, failed) = codec.write_batch(&mut batch, &mut text, |failure| {
        if failures.len() < ERRORS_SHOWN {
            failures.push(failure.reason.clone());
        }
    });
    Scored {
        text,
        rows: items.len() as u64,
        failed,
        failures,
    }
}

/// Decodes a CSV record into `row`, which holds `NaN`s (what [`crate::codec::Batch::push_with`] gives).
fn decode_record<F: Float>(
    columns: &ColumnMap,
    record: &csv::ByteRecord,
    line: u64,
    row: &mut [F],
) -> Result<(), String> {
    let mut cells = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(s) => cells.push(s),
            Err(_) => return Err(format!("line {line}, column {}: not UTF-8", i + 1)),
        }
    }
    columns
        .decode(cells.iter().copied(), cells.len(), line, row)
        .map_err(|e| e.to_string())
}
