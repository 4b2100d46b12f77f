//! Frontends: one module per model file format, each producing a validated [`Forest`].
//!
//! A frontend knows nothing about code generation. The format is chosen by the file's
//! content, not its name.

pub mod xgboost;

use crate::ir::{Forest, IrError};
use sha2::{Digest, Sha256};
use std::path::Path;

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
    #[error("{path}: not a supported model file ({reason}); supported: XGBoost JSON (save_model)")]
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
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let mut forest = match first {
        Some(b'{') => xgboost::load_json(bytes, path, options)?,
        Some(_) => {
            return Err(LoadError::UnknownFormat {
                path: path.into(),
                reason: "it does not start with a JSON object".into(),
            })
        }
        None => {
            return Err(LoadError::UnknownFormat {
                path: path.into(),
                reason: "the file is empty".into(),
            })
        }
    };
    forest.origin.path = path.to_string();
    forest.origin.sha256 = sha256;
    Ok(forest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
