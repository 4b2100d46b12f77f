//! The contract between a compiled (or interpreted) model and the code that scores with it.

use alloc::borrow::Cow;
use core::fmt::{Debug, Display};

/// A floating-point type a model reads or computes in: `f32` (XGBoost; scikit-learn inputs)
/// or `f64` (LightGBM; scikit-learn sums).
pub trait Float:
    Copy + Default + PartialEq + PartialOrd + Debug + Display + Send + Sync + 'static
{
    /// The value a missing input takes.
    const NAN: Self;
    /// Rounds an `f64` to this precision (round-to-nearest-even, as numpy's `astype` does).
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64` exactly.
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    const NAN: Self = f32::NAN;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const NAN: Self = f64::NAN;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// Whether a feature holds numbers or category codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// Compared against thresholds.
    Numerical,
    /// An integer category code, tested for membership in a set.
    Categorical,
}

/// One input feature of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureInfo {
    /// The name from the model file, or `f{index}` when the file has none.
    pub name: Cow<'static, str>,
    /// Numerical or categorical.
    pub kind: FeatureKind,
    /// For a categorical feature whose model records its training categories: the category
    /// labels, where a label's index is its integer code. Empty otherwise.
    pub categories: Cow<'static, [Cow<'static, str>]>,
    /// How text input for the feature (CSV cells, JSON strings) becomes its value.
    pub text: TextRule,
}

/// How text input for a feature (a CSV cell, a JSON string) becomes its value: each library's
/// own scorer reads cells its own way, and a model is fed as its library would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextRule {
    /// Timber's rule: the cell is trimmed; empty, `NaN` or `nan` is missing; a number is the
    /// value (a categorical feature's code); otherwise a categorical feature takes a known
    /// label's code, and an unknown label is an error.
    #[default]
    Standard,
    /// H2O's (its `PredictCsv` scorer): the cells `""`, `NA`, `N/A` and `-` are missing; a
    /// numerical cell is parsed as Java's `Double.parseDouble` parses it (trimmed; `NaN`,
    /// `Infinity`, overflow to infinity); a categorical cell is always a level name, compared
    /// untrimmed, and a level not in the domain is missing (numbers are level names too,
    /// never codes).
    H2o,
}

/// What a model is, for `info`/`inspect` output and for mapping input columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The Rust type name of the model.
    pub name: Cow<'static, str>,
    /// The file format it was compiled from, e.g. `xgboost-json`.
    pub format: Cow<'static, str>,
    /// The training objective, e.g. `binary:logistic`.
    pub objective: Cow<'static, str>,
    /// The output transform applied to margins, e.g. `sigmoid`.
    pub transform: Cow<'static, str>,
    /// The source model file, as given to the compiler.
    pub source: Cow<'static, str>,
    /// SHA-256 of the source model file, lowercase hex.
    pub source_sha256: Cow<'static, str>,
    /// Number of trees that are scored.
    pub num_trees: usize,
    /// Total node count over those trees.
    pub num_nodes: usize,
    /// Depth of the deepest tree (a lone leaf has depth 0).
    pub max_depth: usize,
    /// The input features, in model order.
    pub features: Cow<'static, [FeatureInfo]>,
    /// Values written by [`Model::predict`] per row.
    pub num_outputs: usize,
    /// Values written by [`Model::predict_margin`] per row.
    pub num_margins: usize,
    /// `f32` or `f64` (inputs rounded to and sums kept in that precision), or `f32/f64`
    /// (inputs rounded to `f32`, sums in `f64`: scikit-learn).
    pub precision: Cow<'static, str>,
    /// The Timber version that produced the model code.
    pub timber_version: Cow<'static, str>,
}

impl ModelInfo {
    /// Number of input features.
    pub fn num_features(&self) -> usize {
        self.features.len()
    }
}

/// A scoring function for one trained forest.
///
/// Rows are slices of exactly [`ModelInfo::num_features`] values in model feature order,
/// with `NaN` for a missing value. Output buffers belong to the caller: scoring one row
/// never allocates (a generated model's batch methods allocate one scratch buffer per call).
///
/// # Panics
///
/// Every method panics when a slice has the wrong length, as slice indexing does: that is a
/// bug in the caller, not bad input. Check lengths against [`Model::info`] first.
pub trait Model: Send + Sync {
    /// The precision inputs are rounded to before scoring.
    type Input: Float;
    /// The precision of margins and predictions.
    type Output: Float;

    /// The model's metadata.
    fn info(&self) -> &ModelInfo;

    /// Raw margins (before the objective's transform) for one row, one per output group.
    fn predict_margin(&self, row: &[Self::Input], margins: &mut [Self::Output]);

    /// Predictions (after the transform) for one row: [`ModelInfo::num_outputs`] values.
    fn predict(&self, row: &[Self::Input], out: &mut [Self::Output]);

    /// [`Model::predict`] over a row-major batch: `rows.len() == n * num_features`,
    /// `out.len() == n * num_outputs`.
    fn predict_batch(&self, rows: &[Self::Input], out: &mut [Self::Output]) {
        let info = self.info();
        let (nf, no) = (info.num_features(), info.num_outputs);
        assert_batch_shape(rows.len(), nf, out.len(), no);
        for (row, out) in rows.chunks_exact(nf.max(1)).zip(out.chunks_exact_mut(no)) {
            self.predict(row, out);
        }
    }

    /// [`Model::predict_margin`] over a row-major batch.
    fn predict_margin_batch(&self, rows: &[Self::Input], margins: &mut [Self::Output]) {
        let info = self.info();
        let (nf, nm) = (info.num_features(), info.num_margins);
        assert_batch_shape(rows.len(), nf, margins.len(), nm);
        for (row, out) in rows
            .chunks_exact(nf.max(1))
            .zip(margins.chunks_exact_mut(nm))
        {
            self.predict_margin(row, out);
        }
    }
}

fn assert_batch_shape(rows: usize, nf: usize, out: usize, per_row: usize) {
    // A model with no features still has rows: count them by the output buffer.
    let n = rows.checked_div(nf).unwrap_or(out / per_row.max(1));
    assert!(
        rows == n * nf && out == n * per_row,
        "batch shape mismatch: {rows} inputs for {nf} features, {out} outputs for {per_row} per row"
    );
}
