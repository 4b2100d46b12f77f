//! Frontends: one per model file format, each producing a [`Forest`] that the loader then
//! validates. A frontend knows nothing about code generation.
//!
//! Every format is one [`Frontend`] — its name, how its files are recognised, its loader —
//! listed once in [`FRONTENDS`]. The format is chosen by the file's content, not its name:
//! the first frontend whose `sniff` accepts the file loads it. A new format is one new file
//! here and one line in that list.

pub mod h2o;
pub mod json;
pub mod lightgbm;
pub mod sklearn;
pub mod xgboost;

use crate::ir::{Forest, IrError, Leaf, Node};
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// Every format Timber reads, in the order they are tried.
pub const FRONTENDS: &[&Frontend] = &[
    &xgboost::json::FRONTEND,
    &xgboost::ubjson::FRONTEND,
    &xgboost::dump::FRONTEND,
    &lightgbm::TEXT,
    &lightgbm::JSON,
    &sklearn::json::FRONTEND,
    &sklearn::npz::FRONTEND,
    &h2o::FRONTEND,
];

/// One model file format.
pub struct Frontend {
    /// A short name, e.g. `lightgbm-text`, as generated code and `inspect` report it.
    pub name: &'static str,
    /// What the user saves to get such a file, for messages (`XGBoost JSON (save_model)`).
    pub description: &'static str,
    /// How its files are recognised, for messages (`a JSON object with a learner key`).
    pub signature: &'static str,
    /// Whether a file is of this format, from its content.
    pub sniff: fn(&Probe<'_>) -> bool,
    /// Parses a file of this format; `path` is only for messages.
    pub load: fn(&[u8], &str, &LoadOptions) -> Result<Forest, LoadError>,
    /// Whether it reads [`LoadOptions::dump`] (formats that do not record the objective).
    pub takes_dump_options: bool,
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The formats Timber reads and how each is recognised, as listed in errors about files it
/// does not recognise.
pub fn supported_formats() -> String {
    FRONTENDS
        .iter()
        .map(|f| format!("{}: {}", f.description, f.signature))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file's content, as the frontends' `sniff` functions look at it: the bytes, and the
/// top-level keys of a JSON object, parsed once for every frontend.
pub struct Probe<'a> {
    bytes: &'a [u8],
    keys: OnceLock<Result<HashMap<String, IgnoredAny>, String>>,
}

impl<'a> Probe<'a> {
    /// A probe of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Probe {
            bytes,
            keys: OnceLock::new(),
        }
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The file from its first non-whitespace byte (empty for a blank file).
    pub fn content(&self) -> &'a [u8] {
        let start = self
            .bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.bytes.len());
        &self.bytes[start..]
    }

    /// The first line of the content, without its line ending (empty when not UTF-8).
    pub fn first_line(&self) -> &'a str {
        let content = self.content();
        let end = content
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(content.len());
        std::str::from_utf8(&content[..end]).map_or("", |l| l.trim_end_matches('\r'))
    }

    /// Whether the content is a JSON (text) object: it starts with `{` followed by a key,
    /// whitespace or `}` (a UBJSON object's `{` is followed by a type marker).
    pub fn is_json_object(&self) -> bool {
        let content = self.content();
        content.first() == Some(&b'{')
            && content
                .get(1)
                .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'}'))
    }

    /// Whether the top-level JSON object has `key` (false when the content is not a valid
    /// JSON object). The object is parsed once, without building its values.
    pub fn has_key(&self, key: &str) -> bool {
        matches!(self.json_keys(), Some(Ok(keys)) if keys.contains_key(key))
    }

    /// The top-level keys, or the parse error, when the content is a JSON object.
    fn json_keys(&self) -> Option<&Result<HashMap<String, IgnoredAny>, String>> {
        if !self.is_json_object() {
            return None;
        }
        Some(self.keys.get_or_init(|| {
            serde_json::from_slice(&json::standard_numbers(self.bytes)).map_err(|e| e.to_string())
        }))
    }
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
    /// What a file that does not record its objective needs given (an XGBoost JSON dump).
    pub dump: xgboost::dump::DumpOptions,
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
    #[error(
        "{path}: not a supported model file ({reason}). Timber reads {}",
        supported_formats()
    )]
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
    let frontend = recognise(bytes, path)?;
    if !frontend.takes_dump_options {
        if let Some(option) = options.dump.first_set() {
            return Err(LoadError::UnusedOption {
                path: path.into(),
                option,
                format: frontend.name,
            });
        }
    }
    let mut forest = (frontend.load)(bytes, path, options)?;
    forest.validate().map_err(|source| LoadError::Invalid {
        path: path.into(),
        source,
    })?;
    check_declared_sizes(&forest, path)?;
    forest.origin.format = frontend.name.into();
    forest.origin.path = path.to_string();
    forest.origin.sha256 = hex(&Sha256::digest(bytes));
    Ok(forest)
}

/// The frontend for a file's content, or why there is none.
pub fn recognise(bytes: &[u8], path: &str) -> Result<&'static Frontend, LoadError> {
    let probe = Probe::new(bytes);
    if let Some(frontend) = FRONTENDS.iter().find(|f| (f.sniff)(&probe)) {
        return Ok(frontend);
    }
    let unknown = |reason: String| LoadError::UnknownFormat {
        path: path.into(),
        reason,
    };
    let content = probe.content();
    if content.is_empty() {
        return Err(unknown("the file is empty".into()));
    }
    match probe.json_keys() {
        Some(Err(e)) => Err(json::malformed(path, format!("invalid JSON: {e}"))),
        Some(Ok(_)) => Err(unknown(
            "a JSON object without the keys of any model format".into(),
        )),
        None => Err(unknown("its content is of no model format".into())),
    }
}

/// Features a model without feature names may declare beyond the highest one its trees use
/// (columns of the training table no split chose).
pub const MAX_UNUSED_FEATURES: usize = 1 << 16;

/// Refuses declared sizes the trees contradict, so that scoring a row costs what the model
/// really has, not what a (corrupt or hostile) header claims: every output must have a
/// tree adding to it (a binary model that declares 65,536 outputs has trees for one), and
/// a model without feature names may declare at most [`MAX_UNUSED_FEATURES`] features past
/// the highest its trees use (names, when present, are one per feature in the file itself).
pub fn check_declared_sizes(forest: &Forest, path: &str) -> Result<(), LoadError> {
    let groups = forest.num_groups();
    if groups > 1 {
        let mut covered = vec![false; groups];
        for tree in &forest.trees {
            let vector = tree
                .nodes
                .iter()
                .any(|n| matches!(n, Node::Leaf(Leaf::Vector(_))));
            if vector {
                covered.fill(true);
                break;
            }
            if let Some(c) = covered.get_mut(tree.group) {
                *c = true;
            }
        }
        let reached = covered.iter().filter(|&&c| c).count();
        if reached < groups {
            return Err(json::malformed(
                path,
                format!(
                    "the model declares {groups} outputs (classes or targets) but its trees add \
                     to only {reached} of them; the declared count contradicts the trees"
                ),
            ));
        }
    }
    if !forest.has_feature_names {
        let used = forest
            .trees
            .iter()
            .flat_map(|t| &t.nodes)
            .filter_map(|n| match n {
                Node::Split(s) => Some(s.feature),
                Node::Leaf(Leaf::Linear(l)) => l.terms.iter().map(|&(f, _)| f).max(),
                Node::Leaf(_) => None,
            })
            .max()
            .map_or(0, |f| f + 1);
        if forest.num_features() > used + MAX_UNUSED_FEATURES {
            return Err(json::malformed(
                path,
                format!(
                    "the model declares {} features but its trees use only the first {used}, \
                     and it names none; a model may declare at most {MAX_UNUSED_FEATURES} \
                     unused features beyond those",
                    forest.num_features()
                ),
            ));
        }
    }
    Ok(())
}

/// Entry `name` of a zip archive of `archive_len` bytes held in memory; the error is zip's
/// reason, which each frontend words with the entry's name.
pub(crate) fn zip_entry(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    archive_len: usize,
) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut entry = zip.by_name(name).map_err(|e| e.to_string())?;
    // The size the archive claims is checked against the archive itself.
    let mut out = Vec::with_capacity((entry.size() as usize).min(archive_len));
    entry.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
