//! Frontends: one module per model file format, each producing a validated [`Forest`].
//!
//! A frontend knows nothing about code generation. The format is chosen by the file's
//! content, not its name ([`Format::sniff`]).

pub mod lightgbm;
pub mod sklearn;
pub mod ubjson;
pub mod xgboost;
pub mod xgboost_dump;

use crate::ir::{Forest, IrError};
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// The formats Timber reads, as listed in errors about files it does not recognise.
pub const SUPPORTED_FORMATS: &str = "XGBoost JSON or UBJSON (`save_model`), XGBoost JSON dump \
(`dump_model(..., dump_format=\"json\")`), LightGBM text or JSON (`save_model`, `dump_model`), \
scikit-learn JSON (`tools/export_sklearn.py`)";

/// A model file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// XGBoost `save_model("model.json")`.
    XgboostJson,
    /// XGBoost `save_model("model.ubj")`: the same tree in UBJSON.
    XgboostUbjson,
    /// XGBoost `dump_model(path, dump_format="json")`: nested trees, without objective or
    /// base score.
    XgboostDump,
    /// LightGBM `save_model("model.txt")`.
    LightgbmText,
    /// LightGBM `dump_model()` written as JSON.
    LightgbmJson,
    /// The JSON written by `tools/export_sklearn.py`.
    SklearnJson,
}

impl Format {
    /// A short name, e.g. `lightgbm-text`, as generated code and `inspect` report it.
    pub fn name(self) -> &'static str {
        match self {
            Format::XgboostJson => "xgboost-json",
            Format::XgboostUbjson => "xgboost-ubjson",
            Format::XgboostDump => "xgboost-dump",
            Format::LightgbmText => "lightgbm-text",
            Format::LightgbmJson => "lightgbm-json",
            Format::SklearnJson => "sklearn-json",
        }
    }

    /// Recognises a file's format from its content. A JSON object is told apart by its
    /// top-level keys, so it is parsed (without building values) and may be invalid JSON.
    pub fn sniff(bytes: &[u8]) -> Result<Format, SniffError> {
        let Some(start) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Err(SniffError::Unknown("the file is empty".into()));
        };
        let rest = &bytes[start..];
        match rest[0] {
            // UBJSON objects start with `{` and a key-length marker, JSON's with `"`, `}` or
            // whitespace.
            b'{' if start == 0
                && matches!(
                    bytes.get(1),
                    Some(b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#')
                ) =>
            {
                Ok(Format::XgboostUbjson)
            }
            b'{' => {
                let text = xgboost::replace_bare_nan(bytes);
                let keys: HashMap<String, IgnoredAny> =
                    serde_json::from_slice(&text).map_err(SniffError::Json)?;
                if keys.contains_key("learner") {
                    Ok(Format::XgboostJson)
                } else if keys.contains_key("timber_sklearn") {
                    Ok(Format::SklearnJson)
                } else if keys.contains_key("tree_info") && keys.contains_key("max_feature_idx") {
                    Ok(Format::LightgbmJson)
                } else {
                    Err(SniffError::Unknown(
                        "a JSON object without the top-level keys of any supported model \
                            (`learner`, `tree_info`, `timber_sklearn`)"
                            .into(),
                    ))
                }
            }
            b'[' if rest[1..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&b| b == b'{') =>
            {
                Ok(Format::XgboostDump)
            }
            b'[' => Err(SniffError::Unknown(
                "a JSON array that is not a list of tree objects".into(),
            )),
            _ if first_line(rest) == "tree" => Ok(Format::LightgbmText),
            _ => Err(SniffError::Unknown(
                "it is neither JSON, UBJSON nor a LightGBM text model (whose first line is `tree`)"
                    .into(),
            )),
        }
    }
}

/// Why [`Format::sniff`] recognised no format.
#[derive(Debug)]
pub enum SniffError {
    /// The content is of no supported format; the reason says what was seen.
    Unknown(String),
    /// The file is a JSON object but not valid JSON.
    Json(serde_json::Error),
}

/// The first line of some bytes, without its line ending (empty when not UTF-8).
fn first_line(bytes: &[u8]) -> &str {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).map_or("", |l| l.trim_end_matches('\r'))
}

/// Which trees of an early-stopped model to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Iterations {
    /// Stop at the recorded `best_iteration`, as XGBoost's scikit-learn wrapper predicts.
    #[default]
    Best,
    /// Every tree in the file, as `Booster.predict` does.
    All,
}

/// Choices a user makes when loading a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Which trees of an early-stopped model to use.
    pub iterations: Iterations,
    /// Accept an objective Timber does not know; predictions are then the raw margins and
    /// the stored base score is taken as a margin. For `--margin` output only.
    pub margin_only: bool,
    /// For an XGBoost JSON dump, which does not record it: the objective, e.g.
    /// `binary:logistic`.
    pub objective: Option<String>,
    /// For an XGBoost JSON dump: the model's `base_score` as XGBoost stores it (in probability
    /// space for logistic objectives), one value or one per output separated by commas.
    pub base_score: Option<String>,
    /// For an XGBoost JSON dump: the number of classes (or targets); trees are assigned to
    /// them in turn. Default 1.
    pub num_class: Option<usize>,
}

impl LoadOptions {
    /// The first of the dump-only options that is set, by its CLI flag.
    fn dump_option(&self) -> Option<&'static str> {
        if self.objective.is_some() {
            Some("--objective")
        } else if self.base_score.is_some() {
            Some("--base-score")
        } else if self.num_class.is_some() {
            Some("--num-class")
        } else {
            None
        }
    }
}

/// Why a model file could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not any supported format.
    #[error("{path}: not a supported model file ({reason}); supported: {SUPPORTED_FORMATS}")]
    UnknownFormat {
        /// The file.
        path: String,
        /// What was seen.
        reason: String,
    },
    /// The file is of a known format but malformed; `detail` names the field and position.
    #[error("{path}: {detail}")]
    Malformed {
        /// The file.
        path: String,
        /// What and where.
        detail: String,
    },
    /// The objective is not one Timber can reproduce.
    #[error(
        "{path}: unsupported objective `{objective}`; raw margins are still available (`--margin`)"
    )]
    UnknownObjective {
        /// The file.
        path: String,
        /// The objective's name.
        objective: String,
    },
    /// The file does not record something that must be given when loading it.
    #[error("{path}: {what}")]
    NeedsOption {
        /// The file.
        path: String,
        /// What is missing and which option gives it.
        what: String,
    },
    /// An option was given that only applies to another format.
    #[error(
        "{path}: {option} applies only to XGBoost JSON dumps; this {format} file records its own"
    )]
    UnusedOption {
        /// The file.
        path: String,
        /// The option, by its CLI flag.
        option: &'static str,
        /// The file's format.
        format: &'static str,
    },
    /// The model parsed but its structure is invalid.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// The structural problem.
        source: IrError,
    },
}

/// Loads a model file, detecting its format from the content.
pub fn load_file(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Forest, LoadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: shown.clone(),
        source,
    })?;
    load_bytes(&bytes, &shown, options)
}

/// Loads a model from bytes; `path` is only used in messages and metadata.
pub fn load_bytes(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let sha256 = hex(&Sha256::digest(bytes));
    let format = match Format::sniff(bytes) {
        Ok(format) => format,
        Err(SniffError::Unknown(reason)) => {
            return Err(LoadError::UnknownFormat {
                path: path.into(),
                reason,
            })
        }
        Err(SniffError::Json(e)) => {
            return Err(LoadError::Malformed {
                path: path.into(),
                detail: format!("invalid JSON: {e}"),
            })
        }
    };
    if format != Format::XgboostDump {
        if let Some(option) = options.dump_option() {
            return Err(LoadError::UnusedOption {
                path: path.into(),
                option,
                format: format.name(),
            });
        }
    }
    let mut forest = match format {
        Format::XgboostJson => xgboost::load_json(bytes, path, options)?,
        Format::XgboostUbjson => xgboost::load_ubjson(bytes, path, options)?,
        Format::XgboostDump => xgboost_dump::load(bytes, path, options)?,
        Format::LightgbmText => lightgbm::load_text(bytes, path, options)?,
        Format::LightgbmJson => lightgbm::load_json(bytes, path, options)?,
        Format::SklearnJson => sklearn::load(bytes, path, options)?,
    };
    forest.origin.format = format.name().into();
    forest.origin.path = path.to_string();
    forest.origin.sha256 = sha256;
    Ok(forest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
