//! XGBoost `save_model("model.json")`: the saved model as JSON text.

use super::{build, ModelFile};
use crate::ir::Forest;
use crate::load::{json, Frontend, LoadError, LoadOptions, Probe};

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "xgboost-json",
    description: "XGBoost JSON (`save_model`)",
    signature: "a JSON object with a `learner` key",
    sniff,
    load,
    takes_dump_options: false,
};

fn sniff(probe: &Probe<'_>) -> bool {
    probe.has_key("learner")
}

/// Loads an XGBoost JSON model. Older versions wrote a bare `NaN` as the dummy threshold of
/// categorical nodes; it reads as a missing threshold.
pub fn load(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let file: ModelFile = json::parse(bytes, path)?;
    build(file.learner, path, options)
}
