//! Row codecs for streams: one row per line (or Kafka record) in, one result per row out.
//!
//! - [`Format::Csv`]: a row is a comma-separated line in the model's feature order (no
//!   header); an empty cell or NaN is missing (numbers follow the rule of [`crate::row`]).
//!   The result is the line `predict` prints: the outputs separated by commas, or
//!   `error: REASON`.
//! - [`Format::Json`]: a row is a JSON array in feature order, or a JSON object keyed by
//!   feature name (`{"age": 41, "income": null}`; absent or `null` is missing, an optional
//!   `"id"` is copied to the result). The result is `{"id":…,"prediction":[…]}` (plus
//!   `"margin":[…]` when margins are asked for), or `{"id":…,"error":"REASON"}`.
//!
//! Every line is one row and gets exactly one result, in every mode: a blank line (empty
//! or only whitespace) is an error result (`empty line`), never skipped, so result N always
//! answers line N. Decoding one row never depends on another, so a bad row costs exactly
//! its own result.
//!
//! Many rows at once go through a [`Batch`]: rows are decoded into one contiguous buffer and
//! scored with a single [`Model::predict_batch`] call (the model's batch kernels, several
//! times faster per row than single-row calls), then results are written in input order.

use crate::row::{counted, excerpt, finite, CellProblem, ColumnMap, NotANumber};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use timber_runtime::{Float, Model};

/// How rows and results are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values in the model's feature order; results as comma-separated text.
    #[default]
    Csv,
    /// One JSON array or object per row; results as JSON objects.
    Json,
}

/// What a [`Codec`] produces besides the prediction.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodecOptions {
    /// Row and result encoding.
    pub format: Format,
    /// CSV: print raw margins instead of predictions. JSON: add a `"margin"` array.
    pub margin: bool,
    /// JSON objects: skip keys that name no feature instead of rejecting the row.
    pub ignore_unknown: bool,
}

/// Why one row could not be scored, with the row's `"id"` when it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFailure {
    /// The row's `"id"` (JSON objects only).
    pub id: Option<Value>,
    /// What is wrong with the row.
    pub reason: String,
}

impl RowFailure {
    fn new(reason: impl Into<String>) -> Self {
        RowFailure {
            id: None,
            reason: reason.into(),
        }
    }
}

/// Per-thread buffers for [`Codec::score`], so scoring a row allocates nothing.
pub struct Scratch<M: Model> {
    row: Vec<M::Input>,
    outputs: Vec<M::Output>,
    margins: Vec<M::Output>,
}

impl<M: Model> Scratch<M> {
    /// The predictions of the row [`Codec::score`] scored last (stale when its codec
    /// computes only margins: CSV with margins).
    pub fn last_outputs(&self) -> &[M::Output] {
        &self.outputs
    }

    /// The margins of the row [`Codec::score`] scored last (when margins were asked for).
    pub fn last_margins(&self) -> &[M::Output] {
        &self.margins
    }
}

/// Rows waiting to be scored together, in input order: the decoded ones in one row-major
/// buffer, the ones that failed to decode as their failures. Filled by
/// [`Codec::push_line`] / [`Batch::push_with`], emptied by [`Codec::write_batch`].
pub struct Batch<M: Model> {
    num_features: usize,
    rows: Vec<M::Input>,
    entries: Vec<Entry>,
    outputs: Vec<M::Output>,
    margins: Vec<M::Output>,
}

/// One input row of a [`Batch`].
enum Entry {
    /// Decoded (its values are the next row of `rows`), with its `"id"`, if any.
    Row(Option<Value>),
    Failed(RowFailure),
}

impl<M: Model> Batch<M> {
    /// Adds one row, decoded by `decode` into a slice of `NaN`s in model feature order
    /// (returning the row's `"id"`, if any), or its failure.
    pub fn push_with(
        &mut self,
        decode: impl FnOnce(&mut [M::Input]) -> Result<Option<Value>, RowFailure>,
    ) {
        let start = self.rows.len();
        self.rows.resize(start + self.num_features, M::Input::NAN);
        match decode(&mut self.rows[start..]) {
            Ok(id) => self.entries.push(Entry::Row(id)),
            Err(failure) => {
                self.rows.truncate(start);
                self.entries.push(Entry::Failed(failure));
            }
        }
    }

    /// Adds a row that already failed (it gets an error result in its place).
    pub fn push_failure(&mut self, failure: RowFailure) {
        self.entries.push(Entry::Failed(failure));
    }

    /// Frees the buffers' memory beyond `bytes` (a batch keeps its buffers between uses,
    /// which is right for small rows and wrong for a batch that once held huge ones).
    pub fn shrink_to(&mut self, bytes: usize) {
        fn shrink<T>(v: &mut Vec<T>, bytes: usize) {
            let keep = bytes / std::mem::size_of::<T>().max(1);
            if v.capacity() > keep {
                v.shrink_to(keep.max(v.len()));
            }
        }
        shrink(&mut self.rows, bytes);
        shrink(&mut self.entries, bytes);
        shrink(&mut self.outputs, bytes);
        shrink(&mut self.margins, bytes);
    }

    /// Rows added since the batch was last written.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no row is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rows waiting, in order: a decoded row's `"id"` (if it has one), or the failure
    /// of a row that could not be decoded. (What the live page samples before scoring.)
    pub fn pending(&self) -> impl Iterator<Item = Result<Option<&Value>, &RowFailure>> {
        self.entries.iter().map(|e| match e {
            Entry::Row(id) => Ok(id.as_ref()),
            Entry::Failed(failure) => Err(failure),
        })
    }

    /// The predictions [`Codec::write_batch`] computed in its last call, row-major, one row
    /// per decoded row; empty when that call needed none (CSV with margins).
    pub fn last_outputs(&self) -> &[M::Output] {
        &self.outputs
    }

    /// The margins [`Codec::write_batch`] computed in its last call (only when margins were
    /// asked for), row-major.
    pub fn last_margins(&self) -> &[M::Output] {
        &self.margins
    }
}

/// Decodes rows, scores them with a model, and encodes the results.
pub struct Codec<'m, M: Model> {
    model: &'m M,
    options: CodecOptions,
    /// Positional mapping (CSV lines, JSON arrays); also parses and names cells.
    columns: ColumnMap,
    by_name: HashMap<String, usize>,
    /// [`Codec::write_batch_each`] gives the predictions, not the printed values.
    each_gets_predictions: bool,
}

impl<'m, M: Model> Codec<'m, M> {
    /// A codec for `model`, CSV columns in the model's feature order.
    pub fn new(model: &'m M, options: CodecOptions) -> Self {
        Self::with_columns(model, options, ColumnMap::positional(model.info()))
    }

    /// A codec for `model` whose CSV columns map onto features as `columns` says (a file's
    /// header).
    pub fn with_columns(model: &'m M, options: CodecOptions, columns: ColumnMap) -> Self {
        let info = model.info();
        Codec {
            model,
            options,
            columns,
            by_name: info
                .features
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.to_string(), i))
                .collect(),
            each_gets_predictions: false,
        }
    }

    /// This codec, its [`Codec::write_batch_each`] giving every row's predictions (the
    /// model's outputs) whatever it prints: with CSV `margin` they are computed as well as
    /// the printed margins. For sinks whose table holds predictions while the answers may be
    /// margins (`serve http`, where each request chooses).
    pub fn giving_predictions(mut self) -> Self {
        self.each_gets_predictions = true;
        self
    }

    /// The model this codec scores with.
    pub fn model(&self) -> &'m M {
        self.model
    }

    /// The options this codec was made with.
    pub fn options(&self) -> CodecOptions {
        self.options
    }

    /// The memory one row takes in a [`Batch`] and its result text, at most (decoded
    /// inputs, outputs, margins, and the text of the outputs): what batches are sized by.
    pub fn row_bytes(&self) -> usize {
        let info = self.model.info();
        let values = info.num_outputs + info.num_margins;
        // A value's text is at most ~16 bytes (shortest round-trip form) plus a comma.
        info.num_features() * std::mem::size_of::<M::Input>()
            + values * (std::mem::size_of::<M::Output>() + 24)
            + 64
    }

    /// Fresh buffers for [`Codec::score`].
    pub fn scratch(&self) -> Scratch<M> {
        let info = self.model.info();
        Scratch {
            row: vec![M::Input::NAN; info.num_features()],
            outputs: vec![M::Output::default(); info.num_outputs],
            margins: vec![M::Output::default(); info.num_margins],
        }
    }

    /// Decodes one row (a line without its newline), scores it and appends the result
    /// (without a newline) to `out`. On failure nothing is appended.
    pub fn score(
        &self,
        line: &[u8],
        scratch: &mut Scratch<M>,
        out: &mut Vec<u8>,
    ) -> Result<(), RowFailure> {
        self.score_id(line, scratch, out).map(drop)
    }

    /// [`Codec::score`], returning the row's `"id"` (JSON objects); the values printed are
    /// then [`Codec::printed`]`(scratch)`.
    pub fn score_id(
        &self,
        line: &[u8],
        scratch: &mut Scratch<M>,
        out: &mut Vec<u8>,
    ) -> Result<Option<Value>, RowFailure> {
        let id = self.decode(line, &mut scratch.row)?;
        self.write_result(id.as_ref(), scratch, out);
        Ok(id)
    }

    /// How many values [`Codec::printed`] gives per row: the model's outputs, or its margins
    /// for CSV with `margin` (what a CSV result line holds).
    pub fn printed_width(&self) -> usize {
        let info = self.model.info();
        match self.options.format {
            Format::Csv if self.options.margin => info.num_margins,
            _ => info.num_outputs,
        }
    }

    /// The values of the row [`Codec::score_id`] last scored with `scratch`, as
    /// [`Codec::printed_width`] describes.
    pub fn printed<'s>(&self, scratch: &'s Scratch<M>) -> &'s [M::Output] {
        match self.options.format {
            Format::Csv if self.options.margin => &scratch.margins,
            _ => &scratch.outputs,
        }
    }

    /// An empty [`Batch`] for this codec's model.
    pub fn batch(&self) -> Batch<M> {
        Batch {
            num_features: self.model.info().num_features(),
            rows: Vec::new(),
            entries: Vec::new(),
            outputs: Vec::new(),
            margins: Vec::new(),
        }
    }

    /// Decodes one row (a line without its newline) into `batch`, or records its failure.
    pub fn push_line(&self, batch: &mut Batch<M>, line: &[u8]) {
        batch.push_with(|row| self.decode(line, row));
    }

    /// Scores every row of `batch` with one batch call to the model and appends one result
    /// line (newline-terminated) per row to `out`, in the order the rows were added; calls
    /// `on_failure` for each row that had failed. Returns (rows scored, rows failed) and
    /// leaves the batch empty.
    pub fn write_batch(
        &self,
        batch: &mut Batch<M>,
        out: &mut Vec<u8>,
        on_failure: impl FnMut(&RowFailure),
    ) -> (u64, u64) {
        self.write_batch_each(batch, out, on_failure, |_, _| {})
    }

    /// [`Codec::write_batch`], also calling `each` with every row's `"id"` and its printed
    /// values (see [`Codec::printed_width`]; the predictions for a codec
    /// [`Codec::giving_predictions`]) or its failure, in input order: what the sinks store.
    pub fn write_batch_each(
        &self,
        batch: &mut Batch<M>,
        out: &mut Vec<u8>,
        mut on_failure: impl FnMut(&RowFailure),
        mut each: impl FnMut(Option<&Value>, Result<&[M::Output], &RowFailure>),
    ) -> (u64, u64) {
        let info = self.model.info();
        // Counted, not divided out of `rows`: a model without features has empty rows.
        let n = batch
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Row(_)))
            .count();
        let (want_outputs, want_margins) = self.wanted();
        if want_outputs {
            batch.outputs.clear();
            batch
                .outputs
                .resize(n * info.num_outputs, M::Output::default());
            self.model.predict_batch(&batch.rows, &mut batch.outputs);
        }
        if want_margins {
            batch.margins.clear();
            batch
                .margins
                .resize(n * info.num_margins, M::Output::default());
            self.model
                .predict_margin_batch(&batch.rows, &mut batch.margins);
        }
        let (mut scored, mut failed) = (0u64, 0u64);
        let (mut outputs, mut margins) = (
            batch.outputs.chunks_exact(info.num_outputs.max(1)),
            batch.margins.chunks_exact(info.num_margins.max(1)),
        );
        for entry in batch.entries.drain(..) {
            match entry {
                Entry::Row(id) => {
                    scored += 1;
                    let outputs = if want_outputs { outputs.next() } else { None };
                    let margins = if want_margins { margins.next() } else { None };
                    let (outputs, margins) =
                        (outputs.unwrap_or_default(), margins.unwrap_or_default());
                    self.encode_result(id.as_ref(), outputs, margins, out);
                    let given = match self.options.format {
                        Format::Csv if self.options.margin && !self.each_gets_predictions => {
                            margins
                        }
                        _ => outputs,
                    };
                    each(id.as_ref(), Ok(given));
                }
                Entry::Failed(failure) => {
                    failed += 1;
                    on_failure(&failure);
                    each(failure.id.as_ref(), Err(&failure));
                    self.write_failure(&failure, out);
                }
            }
            out.push(b'\n');
        }
        batch.rows.clear();
        (scored, failed)
    }

    /// Appends the encoded failure (without a newline) to `out`.
    pub fn write_failure(&self, failure: &RowFailure, out: &mut Vec<u8>) {
        match self.options.format {
            Format::Csv => {
                out.extend_from_slice(b"error: ");
                // One result per line: a reason never spans lines.
                out.extend(failure.reason.bytes().map(|b| {
                    if b == b'\n' || b == b'\r' {
                        b' '
                    } else {
                        b
                    }
                }));
            }
            Format::Json => {
                out.push(b'{');
                if let Some(id) = &failure.id {
                    out.extend_from_slice(b"\"id\":");
                    out.extend_from_slice(id.to_string().as_bytes());
                    out.push(b',');
                }
                out.extend_from_slice(b"\"error\":");
                out.extend_from_slice(Value::from(failure.reason.as_str()).to_string().as_bytes());
                out.push(b'}');
            }
        }
    }

    fn write_result(&self, id: Option<&Value>, scratch: &mut Scratch<M>, out: &mut Vec<u8>) {
        let Scratch {
            row,
            outputs,
            margins,
        } = scratch;
        let (want_outputs, want_margins) = self.wanted();
        if want_outputs {
            self.model.predict(row, outputs);
        }
        if want_margins {
            self.model.predict_margin(row, margins);
        }
        self.encode_result(id, outputs, margins, out);
    }

    /// Whether results need (predictions, margins).
    fn wanted(&self) -> (bool, bool) {
        match self.options.format {
            Format::Csv => (
                !self.options.margin || self.each_gets_predictions,
                self.options.margin,
            ),
            Format::Json => (true, self.options.margin),
        }
    }

    /// Encodes one row's result: CSV = the margins (with `--margin`) or the outputs;
    /// JSON = the id, outputs and (with `--margin`) margins.
    fn encode_result(
        &self,
        id: Option<&Value>,
        outputs: &[M::Output],
        margins: &[M::Output],
        out: &mut Vec<u8>,
    ) {
        match self.options.format {
            Format::Csv if self.options.margin => write_values(out, margins, ""),
            Format::Csv => write_values(out, outputs, ""),
            Format::Json => {
                out.push(b'{');
                if let Some(id) = id {
                    out.extend_from_slice(b"\"id\":");
                    out.extend_from_slice(id.to_string().as_bytes());
                    out.push(b',');
                }
                out.extend_from_slice(b"\"prediction\":[");
                write_values(out, outputs, "null");
                out.push(b']');
                if self.options.margin {
                    out.extend_from_slice(b",\"margin\":[");
                    write_values(out, margins, "null");
                    out.push(b']');
                }
                out.push(b'}');
            }
        }
    }

    /// Decodes a row (a line without its newline) into `row`, in model feature order with
    /// `NaN` for missing values; returns its `"id"`, if any.
    pub fn decode(&self, line: &[u8], row: &mut [M::Input]) -> Result<Option<Value>, RowFailure> {
        self.decode_problem(line, row)
            .map_err(|(id, problem)| RowFailure {
                id,
                reason: problem.to_string(),
            })
    }

    /// [`Codec::decode`] for line `number` of a file: failures name the line (and the
    /// column) as `line 3, column 2 (f1): ...`.
    pub fn decode_at(
        &self,
        number: u64,
        line: &[u8],
        row: &mut [M::Input],
    ) -> Result<Option<Value>, RowFailure> {
        self.decode_problem(line, row)
            .map_err(|(id, problem)| RowFailure {
                id,
                reason: problem.at_line(number).to_string(),
            })
    }

    fn decode_problem(
        &self,
        line: &[u8],
        row: &mut [M::Input],
    ) -> Result<Option<Value>, (Option<Value>, CellProblem)> {
        row.fill(M::Input::NAN);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Err((None, CellProblem::Line("empty line".into())));
        }
        match self.options.format {
            Format::Csv => self.decode_csv(line, row).map(|()| None).map_err(|p| {
                // A JSON row sent to a CSV reader: say so rather than count its commas.
                let trimmed = line.trim_ascii_start();
                match p {
                    CellProblem::Width { .. }
                        if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") =>
                    {
                        (
                            None,
                            CellProblem::Line(format!(
                                "{p}; the line looks like JSON, which `--format json` reads"
                            )),
                        )
                    }
                    p => (None, p),
                }
            }),
            Format::Json => {
                let text = std::str::from_utf8(line).map_err(|e| {
                    let reason = format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to());
                    (None, CellProblem::Line(reason))
                })?;
                self.decode_json(text, row)
                    .map_err(|f| (f.id, CellProblem::Line(f.reason)))
            }
        }
    }

    fn decode_csv(&self, line: &[u8], row: &mut [M::Input]) -> Result<(), CellProblem> {
        let text = std::str::from_utf8(line).map_err(|e| CellProblem::Encoding {
            column: 1 + memchr::memchr_iter(b',', &line[..e.valid_up_to()]).count(),
        })?;
        if text.contains('"') {
            // Quoted cells are rare in scoring streams: let the csv crate unquote them.
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut record = csv::StringRecord::new();
            reader
                .read_record(&mut record)
                .map_err(|e| CellProblem::Line(format!("not a CSV line: {e}")))?;
            self.columns.decode_cells(record.iter(), record.len(), row)
        } else {
            let count = text.split(',').count();
            self.columns.decode_cells(text.split(','), count, row)
        }
    }

    fn decode_json(&self, text: &str, row: &mut [M::Input]) -> Result<Option<Value>, RowFailure> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let trimmed = text.trim_start();
            let hint = if trimmed.starts_with(['{', '[']) {
                ""
            } else {
                " (a JSON row is an array or an object; `--format csv` reads CSV rows)"
            };
            RowFailure::new(format!("not valid JSON: {e}{hint}"))
        })?;
        match value {
            Value::Array(items) => {
                if items.len() != row.len() {
                    return Err(RowFailure::new(format!(
                        "expected an array of {}, found {}",
                        counted(row.len(), "value"),
                        items.len()
                    )));
                }
                for (i, item) in items.iter().enumerate() {
                    row[i] = self
                        .json_value(item, i)
                        .map_err(|reason| RowFailure::new(format!("element {i}: {reason}")))?;
                }
                Ok(None)
            }
            Value::Object(mut fields) => {
                let id = match self.by_name.contains_key("id") {
                    true => fields.get("id").cloned(),
                    false => fields.remove("id"),
                };
                let fail = |reason: String| RowFailure {
                    id: id.clone(),
                    reason,
                };
                for (key, item) in &fields {
                    let Some(&i) = self.by_name.get(key) else {
                        if self.options.ignore_unknown {
                            continue;
                        }
                        return Err(fail(format!(
                            "`{}` is not a feature of the model (pass --ignore-unknown to skip unknown fields)",
                            excerpt(key)
                        )));
                    };
                    row[i] = self
                        .json_value(item, i)
                        .map_err(|reason| fail(format!("field `{}`: {reason}", excerpt(key))))?;
                }
                Ok(id)
            }
            other => Err(RowFailure::new(format!(
                "expected a JSON array or object, found {}",
                json_kind(&other)
            ))),
        }
    }

    fn json_value(&self, value: &Value, feature: usize) -> Result<M::Input, String> {
        match value {
            Value::Null => Ok(M::Input::NAN),
            Value::Number(n) if self.columns.labels_only(feature) => Err(format!(
                "`{n}` is a number, but this categorical feature takes its level name as a string"
            )),
            Value::Number(n) => match n.as_f64().map(finite) {
                Some(Ok(v)) => Ok(v),
                Some(Err(NotANumber::TooLarge)) => Err(format!(
                    "`{n}` is too large for the model's {}-bit inputs (it rounds to infinity)",
                    8 * std::mem::size_of::<M::Input>()
                )),
                _ => Err(format!("`{n}` is not a finite number")),
            },
            // Strings go through the CSV cell rules: "NaN", numbers as text, category labels.
            Value::String(s) => self.columns.parse_cell(s, feature),
            other => Err(format!(
                "expected a number, null or a category label, found {}",
                json_kind(other)
            )),
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes `values` separated by commas, each in Rust's shortest round-trip form (parsing
/// the text gives back the exact bits); a non-finite value is written as `non_finite`
/// when that is non-empty (JSON has no NaN).
pub(crate) fn write_values<F: Float>(out: &mut Vec<u8>, values: &[F], non_finite: &str) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !non_finite.is_empty() && !v.to_f64().is_finite() {
            out.extend_from_slice(non_finite.as_bytes());
        } else {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v}");
        }
    }
}
