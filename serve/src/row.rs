//! Decoding CSV rows into model inputs.
//!
//! The header decides how columns reach features: by name when it carries every feature
//! name of the model (other columns are ignored); by position when it names none of them
//! and has exactly one column per feature; anything in between is an error.
//!
//! Numbers follow one rule everywhere (CSV cells, JSON numbers and JSON strings): a cell is
//! parsed as an `f64` (as numpy and pandas read a float64 column) and then rounded to the
//! model's input precision (as numpy's `astype` does when the column reaches XGBoost or
//! scikit-learn). A cell that is empty, or any spelling of NaN (`NaN`, `nan`, `NAN`, with an
//! optional sign: what Python's `float()` reads as NaN), is missing. Anything that is not
//! finite in the model's precision is refused, because the training libraries refuse it
//! too (XGBoost: "Input data contains `inf`"): `inf`, `1e400`, and for a model with `f32`
//! inputs also `1e39` or `3.4028236e38`, which round to infinity in `f32`.
//!
//! Features whose [`TextRule`] is `H2o` read cells as H2O's own scorer does instead
//! (`NA`, `N/A` and `-` missing, `Infinity`, level names only, unknown levels missing).

use std::collections::HashMap;
use timber_runtime::{FeatureKind, Float, ModelInfo, TextRule};

/// Why a row (or the header) could not be decoded. Lines are 1-based, as an editor shows them.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RowError {
    /// One cell is not a valid value for its feature.
    #[error("line {line}, column {column} ({feature}): {reason}")]
    Cell {
        /// The input line.
        line: u64,
        /// The 1-based column.
        column: usize,
        /// The feature the column feeds.
        feature: String,
        /// What is wrong with the cell.
        reason: String,
    },
    /// A row with the wrong number of cells.
    #[error("line {line}: expected {expected} columns, found {found}")]
    Width {
        /// The input line.
        line: u64,
        /// Columns in the header.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// A cell that is not UTF-8.
    #[error("line {line}, column {column}: not UTF-8")]
    Encoding {
        /// The input line.
        line: u64,
        /// The 1-based column.
        column: usize,
    },
    /// A line that is not a row at all (empty, too long, not CSV).
    #[error("line {line}: {reason}")]
    Line {
        /// The input line.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The header cannot be mapped onto the model's features.
    #[error("header (line 1): {0}")]
    Header(String),
}

/// What is wrong with one row, wherever it came from.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CellProblem {
    /// One cell is not a valid value for its feature.
    #[error("column {column} ({feature}): {reason}")]
    Cell {
        /// The 1-based column.
        column: usize,
        /// The feature the column feeds.
        feature: String,
        /// What is wrong with the cell.
        reason: String,
    },
    /// A row with the wrong number of cells.
    #[error("expected {expected} columns, found {found}")]
    Width {
        /// Columns expected.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// A cell that is not UTF-8.
    #[error("column {column}: not UTF-8")]
    Encoding {
        /// The 1-based column.
        column: usize,
    },
    /// A line that is not a row at all (empty, too long, not CSV).
    #[error("{0}")]
    Line(String),
}

impl CellProblem {
    /// The problem, placed on input line `line`.
    pub fn at_line(self, line: u64) -> RowError {
        match self {
            CellProblem::Width { expected, found } => RowError::Width {
                line,
                expected,
                found,
            },
            CellProblem::Cell {
                column,
                feature,
                reason,
            } => RowError::Cell {
                line,
                column,
                feature,
                reason,
            },
            CellProblem::Encoding { column } => RowError::Encoding { line, column },
            CellProblem::Line(reason) => RowError::Line { line, reason },
        }
    }
}

/// How the columns of an input file feed a model's features.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// For each input column, the feature it feeds (`None`: an extra column, ignored).
    targets: Vec<Option<usize>>,
    /// Feature names, for error messages.
    names: Vec<String>,
    kinds: Vec<FeatureKind>,
    /// Category label -> code, for categorical features whose model records its categories.
    categories: Vec<HashMap<String, u32>>,
    /// How each feature's text cells are read.
    texts: Vec<TextRule>,
    num_features: usize,
}

impl ColumnMap {
    /// Columns are the model's features in order (headerless input).
    pub fn positional(info: &ModelInfo) -> Self {
        let nf = info.num_features();
        Self::build((0..nf).map(Some).collect(), info)
    }

    /// Maps a header row onto the model's features.
    pub fn from_header<'a>(
        header: impl IntoIterator<Item = &'a str>,
        info: &ModelInfo,
    ) -> Result<Self, RowError> {
        let header: Vec<&str> = header.into_iter().map(str::trim).collect();
        let names: Vec<String> = info.features.iter().map(|f| f.name.to_string()).collect();
        let nf = names.len();
        let by_name: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();

        let mut seen = vec![false; nf];
        let mut targets = Vec::with_capacity(header.len());
        for col in &header {
            let t = by_name.get(col).copied();
            if let Some(i) = t {
                if seen[i] {
                    return Err(RowError::Header(format!(
                        "column `{}` appears twice",
                        excerpt(col)
                    )));
                }
                seen[i] = true;
            }
            targets.push(t);
        }
        let matched = seen.iter().filter(|&&s| s).count();
        let targets = if matched == nf {
            targets
        } else if matched == 0 && header.len() == nf {
            // A header that names no feature: columns are features in model order.
            (0..nf).map(Some).collect()
        } else {
            let missing: Vec<&str> = names
                .iter()
                .zip(&seen)
                .filter(|(_, s)| !**s)
                .map(|(n, _)| n.as_str())
                .take(5)
                .collect();
            let more = if nf - matched > missing.len() {
                ", ..."
            } else {
                ""
            };
            let why = if matched == 0 {
                format!(
                    "the model has {} but the header has {}",
                    counted(nf, "feature"),
                    counted(header.len(), "column")
                )
            } else {
                // Mapping some columns by name and the rest by position would be a guess.
                format!("the header names {matched} of the model's {nf} features")
            };
            return Err(RowError::Header(format!(
                "{why}; give every feature name, or no feature names and exactly {nf} columns (missing: {}{more})",
                missing.join(", ")
            )));
        };
        Ok(Self::build(targets, info))
    }

    fn build(targets: Vec<Option<usize>>, info: &ModelInfo) -> Self {
        let categories = info
            .features
            .iter()
            .map(|f| {
                f.categories
                    .iter()
                    .enumerate()
                    .map(|(code, label)| (label.to_string(), code as u32))
                    .collect()
            })
            .collect();
        ColumnMap {
            targets,
            names: info.features.iter().map(|f| f.name.to_string()).collect(),
            kinds: info.features.iter().map(|f| f.kind).collect(),
            categories,
            texts: info.features.iter().map(|f| f.text).collect(),
            num_features: info.num_features(),
        }
    }

    /// Whether a categorical feature takes only level names, never numbers as codes (H2O's
    /// rule: a JSON number for it is an error).
    pub fn labels_only(&self, feature: usize) -> bool {
        self.texts[feature] == TextRule::H2o && self.kinds[feature] == FeatureKind::Categorical
    }

    /// Number of features rows are decoded into.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// Number of columns each row must have.
    pub fn width(&self) -> usize {
        self.targets.len()
    }

    /// Decodes one row's cells into `out` (model feature order). `line` is for errors.
    pub fn decode<'a, F: Float>(
        &self,
        cells: impl IntoIterator<Item = &'a str>,
        count: usize,
        line: u64,
        out: &mut [F],
    ) -> Result<(), RowError> {
        self.decode_cells(cells, count, out)
            .map_err(|problem| problem.at_line(line))
    }

    /// Decodes one row's cells into `out` (model feature order), for rows that are not
    /// lines of a file (a stream's row is its own line).
    pub fn decode_cells<'a, F: Float>(
        &self,
        cells: impl IntoIterator<Item = &'a str>,
        count: usize,
        out: &mut [F],
    ) -> Result<(), CellProblem> {
        if count != self.targets.len() {
            return Err(CellProblem::Width {
                expected: self.targets.len(),
                found: count,
            });
        }
        debug_assert_eq!(out.len(), self.num_features);
        for (column, (cell, target)) in cells.into_iter().zip(&self.targets).enumerate() {
            let Some(f) = *target else { continue };
            out[f] = self
                .parse_cell(cell, f)
                .map_err(|reason| CellProblem::Cell {
                    column: column + 1,
                    feature: self.names[f].clone(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// Parses one cell for `feature`: a number (see the [module docs](self) for the rule),
    /// missing, or, for a categorical feature, a category label.
    pub fn parse_cell<F: Float>(&self, cell: &str, feature: usize) -> Result<F, String> {
        if self.texts[feature] == TextRule::H2o {
            let (kind, levels) = (self.kinds[feature], &self.categories[feature]);
            return crate::h2o::parse_cell(cell, kind, levels, &self.names[feature])
                .map(F::from_f64);
        }
        let cell = cell.trim();
        match parse_number(cell) {
            Ok(v) => Ok(v),
            Err(NotANumber::Infinite) => Err(format!(
                "`{}` is not a finite number (use an empty cell or NaN for missing)",
                excerpt(cell)
            )),
            Err(NotANumber::TooLarge) => Err(format!(
                "`{}` is too large for the model's {}-bit inputs (it rounds to infinity)",
                excerpt(cell),
                8 * std::mem::size_of::<F>()
            )),
            Err(NotANumber::Text) => {
                match (self.kinds[feature], self.categories[feature].get(cell)) {
                    (FeatureKind::Categorical, Some(&code)) => Ok(F::from_f64(f64::from(code))),
                    (FeatureKind::Categorical, None) if !self.categories[feature].is_empty() => {
                        Err(format!(
                            "`{}` is neither a number nor a category the model was trained on",
                            excerpt(cell)
                        ))
                    }
                    _ => Err(format!("`{}` is not a number", excerpt(cell))),
                }
            }
        }
    }
}

/// Why a cell is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotANumber {
    /// Not a number at all (perhaps a category label).
    Text,
    /// Infinite as written (`inf`, `1e400`).
    Infinite,
    /// Finite as written but infinite in the model's precision (`1e39` for `f32`).
    TooLarge,
}

/// Parses a trimmed cell by the rule of the [module docs](self): `NaN` for an empty cell or
/// any spelling of NaN, the `f64` value rounded to `F` for a number finite in `F`.
pub fn parse_number<F: Float>(cell: &str) -> Result<F, NotANumber> {
    if cell.is_empty() {
        return Ok(F::NAN);
    }
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    if unsigned.eq_ignore_ascii_case("nan") {
        return Ok(F::NAN);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => finite(v),
        Ok(_) => Err(NotANumber::Infinite),
        Err(_) => Err(NotANumber::Text),
    }
}

/// `v` (finite) rounded to `F`, refused when it rounds to infinity.
pub fn finite<F: Float>(v: f64) -> Result<F, NotANumber> {
    let x = F::from_f64(v);
    if x.to_f64().is_finite() {
        Ok(x)
    } else {
        Err(NotANumber::TooLarge)
    }
}

/// The longest a cell, key or label is quoted in a message before it is shortened.
const EXCERPT_CHARS: usize = 40;

/// `text` for quoting in a message: whole when short, else its start and its length, so a
/// 50 MB cell does not become a 50 MB error line.
pub fn excerpt(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => {
            std::borrow::Cow::Owned(format!("{}... ({} bytes)", &text[..end], text.len()))
        }
    }
}

/// `1 column`, `3 columns`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
