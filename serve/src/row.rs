//! Decoding CSV rows into model inputs.
//!
//! The header decides how columns reach features: by name when it carries every feature
//! name of the model (other columns are ignored); by position when it names none of them
//! and has exactly one column per feature; anything in between is an error. Cells
//! that are empty, `NaN` or `nan` are missing. A decimal is parsed as `f64` and then rounded
//! to the model's input precision, as numpy does when a float64 array reaches XGBoost.
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
                    return Err(RowError::Header(format!("column `{col}` appears twice")));
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
                    "the model has {nf} features but the header has {} columns",
                    header.len()
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
            .map_err(|problem| match problem {
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
            })
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

    /// Parses one cell for `feature`: a number (rounded to the input precision), missing
    /// (empty, `NaN`, `nan`) or, for a categorical feature, a category label.
    pub fn parse_cell<F: Float>(&self, cell: &str, feature: usize) -> Result<F, String> {
        if self.texts[feature] == TextRule::H2o {
            let (kind, levels) = (self.kinds[feature], &self.categories[feature]);
            return crate::h2o::parse_cell(cell, kind, levels, &self.names[feature])
                .map(F::from_f64);
        }
        let cell = cell.trim();
        if cell.is_empty() || cell == "NaN" || cell == "nan" {
            return Ok(F::NAN);
        }
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(F::from_f64(v)),
            Ok(_) => Err(format!(
                "`{cell}` is not a finite number (use an empty cell or NaN for missing)"
            )),
            Err(_) => match (self.kinds[feature], self.categories[feature].get(cell)) {
                (FeatureKind::Categorical, Some(&code)) => Ok(F::from_f64(f64::from(code))),
                (FeatureKind::Categorical, None) if !self.categories[feature].is_empty() => Err(
                    format!("`{cell}` is neither a number nor a category the model was trained on"),
                ),
                _ => Err(format!("`{cell}` is not a number")),
            },
        }
    }
}
