//! The reference interpreter: scores a [`Forest`] directly, with exactly the training
//! library's semantics. It is the oracle the tests hold generated code to, the model behind
//! `timber predict`, and the "interpreted model" the benchmarks compare against.
//!
//! [`Interpreter<I, O>`] reads rows of `I` and writes margins and predictions of `O`, the
//! types of the forest's [`Precision`]: `f32`/`f32` (XGBoost), `f64`/`f64` (LightGBM) or
//! `f32`/`f64` (scikit-learn). [`AnyInterpreter`] picks them from the forest.

use crate::ir::{
    CategoryCode, Comparison, Forest, Leaf, LinearLeaf, Node, Precision, Probabilities,
    ProbabilitiesFrom, Side, Test, Transform, Tree,
};
use std::borrow::Cow;
use std::marker::PhantomData;
use std::ops::{AddAssign, DivAssign, Mul};
use timber_runtime::{category, linear, transform};
use timber_runtime::{FeatureInfo, FeatureKind as RtKind, Float, Model, ModelInfo};

/// A forest ready to score rows of `I` into margins and predictions of `O`.
#[derive(Debug, Clone)]
pub struct Interpreter<I = f32, O = f32> {
    forest: Forest,
    info: ModelInfo,
    types: PhantomData<fn(I) -> O>,
}

/// Why a forest cannot be interpreted with the requested types.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    /// The forest computes in another precision than the interpreter's types.
    #[error(
        "this model computes in {model}; the interpreter's types are {input} in, {output} out"
    )]
    Precision {
        /// The forest's precision.
        model: Precision,
        /// The interpreter's input type.
        input: &'static str,
        /// The interpreter's output type.
        output: &'static str,
    },
    /// The transform is not defined for the forest's precision.
    #[error("the {transform} transform is not defined for {precision} models")]
    Transform {
        /// The transform's name.
        transform: &'static str,
        /// The forest's precision.
        precision: Precision,
    },
}

/// An input or output type of the interpreter: `f32` or `f64`.
pub trait Scalar: Float {
    /// Whether this is `f64`.
    const IS_F64: bool;
    /// The type's name.
    const NAME: &'static str;
}

impl Scalar for f32 {
    const IS_F64: bool = false;
    const NAME: &'static str = "f32";
}

impl Scalar for f64 {
    const IS_F64: bool = true;
    const NAME: &'static str = "f64";
}

/// An output type the interpreter accumulates in, with the transforms defined for it.
pub trait Sum: Scalar + AddAssign + DivAssign + Mul<Output = Self> {
    /// Turns margins into predictions in place (not `ArgMax`); the number of values may
    /// change (class probabilities). Transforms of the other precision are never passed (the
    /// interpreter checks).
    fn transform(t: &Transform, values: &mut Vec<Self>);
}

impl Sum for f32 {
    fn transform(t: &Transform, values: &mut Vec<f32>) {
        let each =
            |f: fn(f32) -> f32, values: &mut [f32]| values.iter_mut().for_each(|v| *v = f(*v));
        match t {
            Transform::Sigmoid => each(transform::xgb_sigmoid, values),
            Transform::Exp => each(transform::exp_f32, values),
            Transform::ExpF64 => each(transform::exp_via_f64, values),
            Transform::Hinge => each(transform::xgb_hinge, values),
            Transform::Softmax => transform::xgb_softmax(values),
            // Identity and ArgMax; the f64 transforms do not fit f32 models.
            _ => {}
        }
    }
}

impl Sum for f64 {
    fn transform(t: &Transform, values: &mut Vec<f64>) {
        let each =
            |f: &dyn Fn(f64) -> f64, values: &mut [f64]| values.iter_mut().for_each(|v| *v = f(*v));
        match t {
            Transform::Exp => each(&transform::exp_f64, values),
            Transform::Logistic { scale } => each(&|v| transform::logistic(v, *scale), values),
            Transform::SignedSquare => each(&transform::signed_square, values),
            Transform::Log1pExp => each(&transform::log1p_exp, values),
            Transform::SoftmaxF64 => transform::softmax_f64(values),
            Transform::SoftmaxPairwise => transform::softmax_numpy(values),
            Transform::JavaExpClamped => each(&transform::h2o_exp, values),
            Transform::Probabilities(p) => probabilities(p, values),
            // Identity and ArgMax; the f32 transforms do not fit f64 models.
            _ => {}
        }
    }
}

/// Class probabilities from margins, as [`Probabilities`] describes (H2O's `unifyPreds`).
fn probabilities(p: &Probabilities, values: &mut Vec<f64>) {
    match p.from {
        ProbabilitiesFrom::JavaLogistic => *values = transform::h2o_logistic(values[0]).to_vec(),
        ProbabilitiesFrom::Complement => *values = transform::complement(values[0]).to_vec(),
        ProbabilitiesFrom::JavaSoftmax => transform::h2o_softmax(values),
        ProbabilitiesFrom::Normalized => transform::normalize_by_sum(values),
    }
    if let Some(factors) = &p.correction {
        transform::correct_probabilities(values, factors);
    }
    if p.last_only {
        values.drain(..values.len() - 1);
    }
}

/// The precision an interpreter with input `I` and output `O` scores in, if any.
fn precision_of<I: Scalar, O: Scalar>() -> Option<Precision> {
    match (I::IS_F64, O::IS_F64) {
        (false, false) => Some(Precision::F32),
        (false, true) => Some(Precision::F32InF64Sum),
        (true, true) => Some(Precision::F64),
        (true, false) => None,
    }
}

impl Interpreter {
    /// Prepares an `f32` forest (XGBoost) for scoring.
    pub fn new(forest: Forest) -> Result<Self, InterpError> {
        Self::typed(forest)
    }
}

impl<I: Scalar, O: Sum> Interpreter<I, O> {
    /// Prepares a forest whose precision is that of `I` and `O` for scoring.
    pub fn typed(forest: Forest) -> Result<Self, InterpError> {
        if precision_of::<I, O>() != Some(forest.precision) {
            return Err(InterpError::Precision {
                model: forest.precision,
                input: I::NAME,
                output: O::NAME,
            });
        }
        if !forest.transform.fits(forest.precision) {
            return Err(InterpError::Transform {
                transform: forest.transform.name(),
                precision: forest.precision,
            });
        }
        let info = model_info(&forest, "Interpreted".into());
        Ok(Interpreter {
            forest,
            info,
            types: PhantomData,
        })
    }

    /// The forest being scored.
    pub fn forest(&self) -> &Forest {
        &self.forest
    }
}

impl<I: Scalar, O: Sum> Model for Interpreter<I, O> {
    type Input = I;
    type Output = O;

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn predict_margin(&self, row: &[I], margins: &mut [O]) {
        let f = &self.forest;
        assert_eq!(row.len(), f.num_features(), "row length");
        assert_eq!(margins.len(), f.num_groups(), "margin buffer length");
        for (m, &b) in margins.iter_mut().zip(&f.base_margin) {
            *m = O::from_f64(b);
        }
        let weighted = |v: O, tree: &Tree| match tree.weight {
            Some(w) => v * O::from_f64(w),
            None => v,
        };
        for tree in &f.trees {
            match leaf(tree, row) {
                Leaf::Scalar(v) => margins[tree.group] += weighted(O::from_f64(*v), tree),
                Leaf::Linear(l) => margins[tree.group] += O::from_f64(linear_value(l, row)),
                Leaf::Vector(vs) => {
                    for (m, &v) in margins.iter_mut().zip(vs) {
                        *m += weighted(O::from_f64(v), tree);
                    }
                }
            }
        }
    }

    fn predict(&self, row: &[I], out: &mut [O]) {
        let f = &self.forest;
        assert_eq!(out.len(), f.num_outputs(), "output buffer length");
        let mut margins = vec![O::default(); f.num_groups()];
        self.predict_margin(row, &mut margins);
        if let Some(n) = f.average_over {
            let n = O::from_f64(f64::from(n));
            margins.iter_mut().for_each(|m| *m /= n);
        }
        match &f.transform {
            Transform::ArgMax => out[0] = O::from_f64(transform::argmax(&margins) as f64),
            t => {
                O::transform(t, &mut margins);
                out.copy_from_slice(&margins);
            }
        }
    }
}

/// Walks a tree for one row and returns the leaf reached. Comparisons are made in `f64`,
/// which is exact: thresholds are values of the input precision.
fn leaf<'t, I: Float>(tree: &'t Tree, row: &[I]) -> &'t Leaf {
    let mut n = 0;
    loop {
        match &tree.nodes[n] {
            Node::Leaf(l) => return l,
            Node::Split(s) => {
                let x = row[s.feature].to_f64();
                let default = left_if(s.default_left);
                let side = if x.is_nan() {
                    default
                } else {
                    match &s.test {
                        Test::Numerical {
                            threshold,
                            comparison,
                        } => left_if(holds(*comparison, x, *threshold)),
                        Test::Capped {
                            threshold,
                            comparison,
                            cap,
                        } => {
                            if x >= *cap {
                                default
                            } else {
                                left_if(holds(*comparison, x, *threshold))
                            }
                        }
                        Test::ZeroAsMissing {
                            threshold,
                            zero_band,
                        } => {
                            if x.abs() <= *zero_band {
                                default
                            } else {
                                left_if(x <= *threshold)
                            }
                        }
                        Test::Categorical {
                            categories,
                            set_side,
                            code,
                        } => {
                            let code = match code {
                                CategoryCode::RejectNegative => category::code(x),
                                CategoryCode::TruncateFirst => category::code_truncated(x),
                            };
                            if categories.binary_search(&code).is_ok() {
                                *set_side
                            } else {
                                match set_side {
                                    Side::Left => Side::Right,
                                    Side::Right => Side::Left,
                                }
                            }
                        }
                    }
                };
                n = s.child(side);
            }
        }
    }
}

/// Whether `x comparison threshold` holds (a split's test sending `x` left).
fn holds(comparison: Comparison, x: f64, threshold: f64) -> bool {
    match comparison {
        Comparison::Less => x < threshold,
        Comparison::LessOrEqual => x <= threshold,
    }
}

/// The left child when `left`, else the right.
fn left_if(left: bool) -> Side {
    if left {
        Side::Left
    } else {
        Side::Right
    }
}

/// A linear leaf's value for a row, as LightGBM computes it.
fn linear_value<I: Float>(l: &LinearLeaf, row: &[I]) -> f64 {
    let mut out = l.constant;
    for &(feature, coefficient) in &l.terms {
        let x = row[feature].to_f64();
        if x.is_nan() {
            return l.fallback;
        }
        out += coefficient * linear::term_input(x, l.zero_band);
    }
    out
}

/// An interpreter of whichever precision a forest has.
#[derive(Debug, Clone)]
pub enum AnyInterpreter {
    /// XGBoost: `f32` in and out.
    F32(Interpreter<f32, f32>),
    /// LightGBM: `f64` in and out.
    F64(Interpreter<f64, f64>),
    /// scikit-learn: `f32` in, `f64` out.
    F32InF64Sum(Interpreter<f32, f64>),
}

impl AnyInterpreter {
    /// Prepares a forest for scoring in its own precision.
    pub fn new(forest: Forest) -> Result<Self, InterpError> {
        Ok(match forest.precision {
            Precision::F32 => AnyInterpreter::F32(Interpreter::typed(forest)?),
            Precision::F64 => AnyInterpreter::F64(Interpreter::typed(forest)?),
            Precision::F32InF64Sum => AnyInterpreter::F32InF64Sum(Interpreter::typed(forest)?),
        })
    }
}

/// The runtime metadata of a forest, as both the interpreter and generated code report it.
pub fn model_info(forest: &Forest, name: String) -> ModelInfo {
    let features: Vec<FeatureInfo> = forest
        .features
        .iter()
        .map(|f| FeatureInfo {
            name: Cow::Owned(f.name.clone()),
            kind: match &f.kind {
                crate::ir::FeatureKind::Numerical => RtKind::Numerical,
                crate::ir::FeatureKind::Categorical { .. } => RtKind::Categorical,
            },
            categories: match &f.kind {
                crate::ir::FeatureKind::Categorical { labels } => labels
                    .iter()
                    .map(|l| Cow::Owned(l.clone()))
                    .collect::<Vec<_>>()
                    .into(),
                crate::ir::FeatureKind::Numerical => Cow::Borrowed(&[]),
            },
            text: f.text,
        })
        .collect();
    ModelInfo {
        name: name.into(),
        format: forest.origin.format.clone().into(),
        objective: forest.objective.clone().into(),
        transform: forest.transform.name().into(),
        source: forest.origin.path.clone().into(),
        source_sha256: forest.origin.sha256.clone().into(),
        num_trees: forest.trees.len(),
        num_nodes: forest.num_nodes(),
        max_depth: forest.max_depth(),
        features: features.into(),
        num_outputs: forest.num_outputs(),
        num_margins: forest.num_groups(),
        precision: forest.precision.to_string().into(),
        timber_version: env!("CARGO_PKG_VERSION").into(),
    }
}
