//! `predict`: scoring a file or standard input in bulk, streaming, on all cores.
//!
//! Rows are read in batches; each batch is split between the threads, every thread decodes
//! and scores its share into its own buffer, and the buffers are written in input order.
//! Memory stays constant whatever the input size. A row that cannot be decoded gets an
//! error result in its place (`error: …` or `{"error":…}`), so output line N is always the
//! result of input row N; the run then fails after scoring everything else.
//!
//! CSV and JSON input is read one line at a time: every line is one row (a CSV cell cannot
//! span lines) and gets exactly one result line, a blank line included (an `empty line`
//! error), and error messages give the file's own line numbers. A line longer than
//! `--max-line-bytes` is answered with an error without being held in memory, and a batch
//! is bounded by its rows' decoded size as well as their count, so memory stays bounded
//! whatever the lines or the model's width.

use crate::codec::{Codec, CodecOptions, Format, RowFailure};
use crate::row::{counted, ColumnMap, RowError};
use crate::sink::{SinkArgs, SinkModel, SinkRow, Sinks};
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
    /// CSV, one row per line, with a header row (columns by feature name, or by position
    /// when the header names no feature); results as CSV lines.
    #[default]
    Csv,
    /// One JSON array or object per line; results as JSON lines.
    Json,
    /// Raw little-endian f32, row-major (numpy's `tofile`); needs `--features`. Results as
    /// CSV lines.
    F32le,
}

/// Longest input line `predict` and `serve socket` accept by default.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Arguments of `predict`, shared with `timber predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    /// Input file; `-` for standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// Where results go (one line per input line); standard output when absent or `-`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input encoding.
    #[arg(long, value_enum, default_value_t = InputFormat::Csv)]
    pub format: InputFormat,
    /// Values per row of `--format f32le` input (must be the model's feature count).
    #[arg(long)]
    pub features: Option<usize>,
    /// CSV: the first line is a header, even if it is all numbers. Without `--header` or
    /// `--no-header`, a first line of numbers naming no feature is read as a row.
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,
    /// CSV: there is no header row; columns are the model's features in order.
    #[arg(long)]
    pub no_header: bool,
    /// Longest input line in bytes (CSV and JSON); a longer line gets an error line
    /// without being held in memory.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// CSV: print raw margins instead of predictions. JSON: add each row's margins.
    #[arg(long)]
    pub margin: bool,
    /// JSON objects: skip fields that name no feature instead of rejecting the row.
    #[arg(long)]
    pub ignore_unknown: bool,
    /// Scoring threads; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sink: SinkArgs,
}

impl PredictArgs {
    /// Arguments that score `input` to standard output with every default.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        PredictArgs {
            input: input.into(),
            output: None,
            format: InputFormat::Csv,
            features: None,
            header: false,
            no_header: false,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            margin: false,
            ignore_unknown: false,
            threads: 0,
            sink: SinkArgs::default(),
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
    /// CSV without `--header`/`--no-header`: the first line was all numbers naming no
    /// feature, so it was read as a row rather than a header.
    pub first_line_is_a_row: bool,
}

/// How long `predict` retries a failing sink by default before it gives up.
pub const DEFAULT_SINK_DEADLINE: f64 = 60.0;

/// Scores `args.input` into `args.output` (or standard output), and into every `--sink`.
/// Fails, after writing every result, when any row could not be scored.
pub fn predict<M: Model>(model: &M, args: &PredictArgs) -> Result<()> {
    if !args.sink.sinks.is_empty() {
        crate::stream::init_logging();
    }
    let (input, len) = open_input(&args.input)?;
    let width = Codec::new(model, args.codec_options()).printed_width();
    let mut sinks = Sinks::start(
        &args.sink,
        SinkModel::new::<M::Output>(model.info(), width),
        args.sink.deadline(DEFAULT_SINK_DEADLINE),
    )?;
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
    let summary = predict_to_sinks(
        model,
        input,
        &mut out,
        args,
        |n| progress.inc(n),
        &mut sinks,
    )
    .with_context(|| format!("while scoring {shown}"))?;
    progress.finish_and_clear();
    out.flush().context("cannot write predictions")?;
    sinks.finish(None)?;
    if summary.first_line_is_a_row {
        eprintln!(
            "note: {shown}: line 1 is all numbers and names no feature, so it was scored as a \
             row; pass --header if it is a header"
        );
    }
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

/// Decoded rows `predict` holds at once, in bytes (split between the threads): a batch has
/// at most `threads * ROWS_PER_THREAD` rows, fewer when the model's rows are wide.
const BATCH_DECODED_BYTES: usize = 256 << 20;

/// Input bytes `predict` holds at once: a batch ends early when its lines reach this.
const BATCH_INPUT_BYTES: usize = 64 << 20;

/// Scores every row of `input` (encoded as `args.format`) into `out`, one line per input
/// line (row), calling `progress` with the input bytes consumed after each batch. Errors
/// only for what stops the whole run (unreadable input, a bad header, a failed write).
pub fn predict_reader<M: Model, R: BufRead, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    args: &PredictArgs,
    progress: impl FnMut(u64),
) -> Result<PredictSummary> {
    predict_to_sinks(model, input, out, args, progress, &mut Sinks::none())
}

/// [`predict_reader`], also handing every batch's rows to `sinks` (keyed by their JSON
/// `"id"` or their line number).
pub fn predict_to_sinks<M: Model, R: BufRead, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    args: &PredictArgs,
    mut progress: impl FnMut(u64),
    sinks: &mut Sinks,
) -> Result<PredictSummary> {
    let collect = sinks.is_active();
    let threads = args.thread_count();
    let mut summary = PredictSummary::default();
    let (mut source, columns) = Source::open(model.info(), input, args, &mut summary)?;
    let codec = Codec::with_columns(model, args.codec_options(), columns);
    let batch_rows = (BATCH_DECODED_BYTES / codec.row_bytes()).clamp(1, threads * ROWS_PER_THREAD);
    let mut batch = Vec::with_capacity(batch_rows.min(1 << 16));
    loop {
        batch.clear();
        let consumed = source.read_batch(&mut batch, batch_rows)?;
        if batch.is_empty() {
            source.check_complete()?;
            return Ok(summary);
        }
        let chunk = batch.len().div_ceil(threads);
        let results: Vec<Scored> = if threads == 1 || batch.len() == 1 {
            vec![score_items(&codec, &batch, collect)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(chunk)
                    .map(|items| s.spawn(|| score_items(&codec, items, collect)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let mut sink_rows = Vec::new();
        for scored in results {
            out.write_all(&scored.text)
                .context("cannot write predictions")?;
            if sink_rows.is_empty() {
                sink_rows = scored.sink_rows;
            } else {
                sink_rows.extend(scored.sink_rows);
            }
            summary.rows += scored.rows;
            summary.failed += scored.failed;
            let room = ERRORS_SHOWN.saturating_sub(summary.failures.len());
            summary
                .failures
                .extend(scored.failures.into_iter().take(room));
        }
        if collect {
            sinks.send(sink_rows)?;
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
    /// A line (CSV or JSON), without its line ending.
    Line(Vec<u8>),
    /// A line longer than the limit (its bytes were skipped, not kept).
    TooLong(usize),
    /// A row's raw little-endian f32 values.
    F32(Vec<u8>),
}

/// Reads lines of at most `max` bytes; a longer line is skipped to its end without being
/// held, so memory stays bounded whatever the input.
struct LineReader<R> {
    reader: R,
    max: usize,
    /// Lines read so far.
    number: u64,
}

/// One line from a [`LineReader`].
enum Line {
    /// Its bytes (line ending removed).
    Text(Vec<u8>),
    /// Longer than the limit.
    TooLong,
}

impl<R: BufRead> LineReader<R> {
    /// The next line and the input bytes it took, or `None` at the end of the input.
    fn next(&mut self) -> io::Result<Option<(Line, u64)>> {
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut consumed = 0u64;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if consumed == 0 {
                    return Ok(None);
                }
                break;
            }
            let (take, newline) = match memchr::memchr(b'\n', available) {
                Some(i) => (i, true),
                None => (available.len(), false),
            };
            if !too_long {
                if bytes.len() + take > self.max {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(&available[..take]);
                }
            }
            let used = take + usize::from(newline);
            self.reader.consume(used);
            consumed += used as u64;
            if newline {
                break;
            }
        }
        self.number += 1;
        if too_long {
            return Ok(Some((Line::TooLong, consumed)));
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Ok(Some((Line::Text(bytes), consumed)))
    }
}

/// The rows of one input, in one of the formats.
enum Source<R: BufRead> {
    /// CSV or JSON: one row per line.
    Lines {
        reader: LineReader<R>,
        /// The first line, already read (to tell a header from a row) and still to score.
        first: Option<(Line, u64)>,
    },
    F32 {
        reader: R,
        width: usize,
        row: u64,
        /// Why the input ended inside a row.
        truncated: Option<String>,
    },
}

/// Whether the cells of a CSV first line are a row rather than a header: all are numbers
/// (or missing, at least one a number), and none names a feature.
fn looks_like_a_row(cells: &[&str], info: &ModelInfo) -> bool {
    use crate::row::{parse_number, NotANumber};
    let mut numbers = 0;
    for cell in cells.iter().map(|c| c.trim()) {
        if info.features.iter().any(|f| f.name == cell) {
            return false;
        }
        match parse_number::<f64>(cell) {
            Ok(v) if v.is_nan() => {}
            Ok(_) | Err(NotANumber::Infinite | NotANumber::TooLarge) => numbers += 1,
            Err(NotANumber::Text) => return false,
        }
    }
    numbers > 0
}

/// The cells of a CSV line, unquoted.
fn csv_cells(line: &[u8]) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(_) => Ok(record.iter().map(str::to_string).collect()),
        Err(e) => bail!("{e}"),
    }
}

impl<R: BufRead> Source<R> {
    /// The source, and how CSV columns map onto features (positional for other formats).
    fn open(
        info: &ModelInfo,
        input: R,
        args: &PredictArgs,
        summary: &mut PredictSummary,
    ) -> Result<(Self, ColumnMap)> {
        let nf = info.num_features();
        let mut reader = LineReader {
            reader: input,
            max: args.max_line_bytes.max(1),
            number: 0,
        };
        Ok(match args.format {
            InputFormat::Csv if args.no_header => (
                Source::Lines {
                    reader,
                    first: None,
                },
                ColumnMap::positional(info),
            ),
            InputFormat::Csv => {
                let first = reader.next().context("cannot read the input")?;
                let header = match &first {
                    None => Vec::new(),
                    Some((Line::TooLong, _)) => bail!(RowError::Header(format!(
                        "longer than {} bytes (--max-line-bytes)",
                        reader.max
                    ))),
                    Some((Line::Text(bytes), _)) => {
                        let text = std::str::from_utf8(bytes)
                            .map_err(|_| RowError::Header("not UTF-8".to_string()))?;
                        csv_cells(text.as_bytes())
                            .map_err(|e| RowError::Header(format!("not a CSV line: {e}")))?
                    }
                };
                let cells: Vec<&str> = header.iter().map(String::as_str).collect();
                if !args.header && looks_like_a_row(&cells, info) {
                    summary.first_line_is_a_row = true;
                    (Source::Lines { reader, first }, ColumnMap::positional(info))
                } else {
                    let columns = ColumnMap::from_header(cells.iter().copied(), info)?;
                    (
                        Source::Lines {
                            reader,
                            first: None,
                        },
                        columns,
                    )
                }
            }
            InputFormat::Json => (
                Source::Lines {
                    reader,
                    first: None,
                },
                ColumnMap::positional(info),
            ),
            InputFormat::F32le => {
                let Some(width) = args.features else {
                    bail!(
                        "--format f32le needs --features N (the model has {})",
                        counted(nf, "feature")
                    );
                };
                ensure!(
                    width == nf,
                    "--features {width} does not match the model, which has {}",
                    counted(nf, "feature")
                );
                (
                    Source::F32 {
                        reader: reader.reader,
                        width,
                        row: 0,
                        truncated: None,
                    },
                    ColumnMap::positional(info),
                )
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

    /// Appends up to `max` rows to `batch` (fewer once their bytes reach
    /// [`BATCH_INPUT_BYTES`]); returns the input bytes consumed.
    fn read_batch(&mut self, batch: &mut Vec<Item>, max: usize) -> Result<u64> {
        let mut consumed = 0u64;
        let mut held = 0usize;
        while batch.len() < max && held < BATCH_INPUT_BYTES {
            match self {
                Source::Lines { reader, first } => {
                    let next = match first.take() {
                        Some(line) => Some(line),
                        None => reader.next().context("cannot read the input")?,
                    };
                    let Some((line, n)) = next else { break };
                    consumed += n;
                    let data = match line {
                        Line::Text(bytes) => {
                            held += bytes.len();
                            ItemData::Line(bytes)
                        }
                        Line::TooLong => ItemData::TooLong(reader.max),
                    };
                    // Line numbers count from the top of the file, header included.
                    batch.push(Item {
                        line: reader.number,
                        data,
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
                    held += n;
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
    /// The rows for the sinks (when there are any).
    sink_rows: Vec<SinkRow>,
}

fn score_items<M: Model>(codec: &Codec<'_, M>, items: &[Item], collect: bool) -> Scored {
    let mut batch = codec.batch();
    for item in items {
        match &item.data {
            ItemData::Line(bytes) => batch.push_with(|row| codec.decode_at(item.line, bytes, row)),
            ItemData::TooLong(max) => batch.push_failure(RowFailure {
                id: None,
                reason: RowError::Line {
                    line: item.line,
                    reason: format!("longer than {max} bytes (--max-line-bytes)"),
                }
                .to_string(),
            }),
            ItemData::F32(bytes) => batch.push_with(|row| {
                for (v, b) in row.iter_mut().zip(bytes.chunks_exact(4)) {
                    let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    *v = M::Input::from_f64(f64::from(x));
                }
                Ok(None)
            }),
        }
    }
    let mut text = Vec::with_capacity(items.len() * 24);
    let mut failures = Vec::new();
    let mut sink_rows = Vec::with_capacity(if collect { items.len() } else { 0 });
    let now = crate::sink::now_micros();
    let mut lines = items.iter().map(|i| i.line);
    let (_, failed) = codec.write_batch_each(
        &mut batch,
        &mut text,
        |failure| {
            if failures.len() < ERRORS_SHOWN {
                failures.push(failure.reason.clone());
            }
        },
        |id, outcome| {
            let line = lines.next().unwrap_or_default();
            if !collect {
                return;
            }
            let key = crate::sink::row_key(id, || line.to_string());
            sink_rows.push(match outcome {
                Ok(values) => SinkRow::scored(key, now, values),
                Err(failure) => SinkRow::failed(key, now, &failure.reason),
            });
        },
    );
    Scored {
        text,
        rows: items.len() as u64,
        failed,
        failures,
        sink_rows,
    }
}
