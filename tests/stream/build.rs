//! Compiles the fixture models the stream tests score, as a user's build script would, and
//! a wide model made from one of them (20,000 features) for the memory-bound tests.

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

/// Features of the wide model (`Wide`): the binary classifier's trees, declared over this
/// many features, as a model trained on a wide table whose trees use a few columns.
const WIDE_FEATURES: usize = 20_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    for (fixture, type_name) in MODELS {
        Config::new()
            .type_name(type_name)
            .output_name(fixture)
            .compile(models.join(fixture).join("model.json"))?;
    }
    let source = models.join("binary_logistic/model.json");
    println!("cargo::rerun-if-changed={}", source.display());
    let mut model: serde_json::Value = serde_json::from_slice(&std::fs::read(&source)?)?;
    model["learner"]["learner_model_param"]["num_feature"] =
        serde_json::Value::String(WIDE_FEATURES.to_string());
    let wide = Path::new(&std::env::var("OUT_DIR")?).join("wide.json");
    std::fs::write(&wide, serde_json::to_vec(&model)?)?;
    Config::new()
        .type_name("Wide")
        .output_name("wide")
        .compile(&wide)?;
    Ok(())
}
