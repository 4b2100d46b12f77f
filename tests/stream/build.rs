//! Compiles the fixture models the stream tests score, as a user's build script would.

use std::path::Path;
use timber_codegen::Config;

/// (fixture, type name): a binary classifier, a multi-class model, a categorical model (all
/// XGBoost: f32), and a LightGBM multi-class model (f64 inputs and outputs).
const MODELS: [(&str, &str); 4] = [
    ("binary_logistic", "BinaryLogistic"),
    ("multi_softprob", "MultiSoftprob"),
    ("categorical_small", "CategoricalSmall"),
    ("lgb_multiclass", "LgbMulticlass"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    for (fixture, type_name) in MODELS {
        Config::new()
            .type_name(type_name)
            .output_name(fixture)
            .compile(models.join(fixture).join("model.json"))?;
    }
    Ok(())
}
