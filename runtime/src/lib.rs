//! `timber-runtime`: what a Timber-generated model links against, and nothing else.
//!
//! - [`Model`]: the trait every generated model (and the reference interpreter) implements.
//! - [`transform`]: output transforms with the training libraries' exact float semantics.
//! - [`category`] and [`linear`]: how input values reach categorical splits and linear leaves.
//! - [`java`]: Java's `Math.exp` as HotSpot computes it, for H2O models.
//! - [`tables`] and [`nodes`]: the data layouts generated models keep their trees in, and
//!   their scoring kernels: complete-tree tables for shallow trees, node arrays for any
//!   tree; [`batch`] feeds both blocks of rows as keys ([`float`]), with the kernels
//!   [`kernel`] selects.
//! - [`lazy`]: the layouts checked on first use, as generated models hold them.
//! - [`parallel`] (feature `parallel`): batch scoring on several threads.
//!
//! It knows nothing about model file formats, code generation or I/O: reading rows and
//! serving streams is `timber-serve`'s job. With the default `std` feature off it is
//! `#![no_std]` (it needs `alloc`), so a generated model also builds for targets such as
//! `wasm32-unknown-unknown` or bare-metal.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

pub mod batch;
mod blob;
pub mod category;
pub mod float;
pub mod java;
pub mod kernel;
pub mod lazy;
pub mod linear;
mod math;
pub mod model;
pub mod nodes;
#[cfg(feature = "parallel")]
pub mod parallel;
pub mod quick;
pub mod tables;
#[cfg(all(test, feature = "std"))]
mod testing;
pub mod transform;

pub use float::{row_keys, KeyFloat, SumFloat};
pub use model::{FeatureInfo, FeatureKind, Float, Model, ModelInfo, TextRule};

/// `Cow`, for the metadata generated code writes (`alloc::borrow::Cow`, also without `std`).
#[doc(hidden)]
pub use alloc::borrow::Cow;

/// Includes a model that `timber_codegen::Config::compile` wrote into `OUT_DIR`:
/// `timber_runtime::include_model!("churn");` for `models/churn.json`.
#[macro_export]
macro_rules! include_model {
    ($stem:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $stem, ".rs"));
    };
}
