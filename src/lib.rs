//! Timber: trained tree ensembles compiled to native Rust.
//!
//! This crate is the front door for users: it re-exports the runtime that generated
//! models link against ([`timber_runtime`]) and the [`model!`] macro that compiles a model
//! file at build time.
//!
//! ```ignore
//! timber::model!(pub Churn, "models/churn.json");
//! use timber::Model;
//! let mut out = [0.0f32; 1];
//! Churn.predict(&row, &mut out);
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub use timber_macros::model;
pub use timber_runtime::*;

/// The runtime crate itself, for paths that generated code names explicitly.
pub use timber_runtime as runtime;
