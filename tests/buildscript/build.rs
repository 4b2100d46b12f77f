//! Compiles every fixture under `models/` with `timber_codegen::Config`, exactly as a user's
//! build script would — once in the default layout (tables where they apply) and once all
//! nested `if`/`else` — and writes `all.rs` listing them.

use std::fmt::Write as _;
use std::path::Path;
use timber_codegen::emit::Layout;
use timber_codegen::{type_name_for, Config, Iterations};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    println!("cargo:rerun-if-changed={}", models.display());
    let out_dir = std::env::var("OUT_DIR")?;
    let mut dirs: Vec<_> = std::fs::read_dir(&models)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("model.json").is_file())
        .collect();
    dirs.sort();

    let mut all = String::from("/// Every fixture model: (fixture name, all trees?, layout, model).\npub fn all() -> Vec<(&'static str, bool, &'static str, &'static dyn timber_runtime::Model<Input = f32, Output = f32>)> {\n    vec![\n");
    let mut includes = String::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let model = dir.join("model.json");
        println!("cargo:rerun-if-changed={}", model.display());
        let mut variants = vec![(name.clone(), Iterations::Best, false)];
        if dir.join("expected_all.csv").is_file() {
            variants.push((format!("{name}_all"), Iterations::All, true));
        }
        for (out_name, iterations, all_trees) in variants {
            for (layout, suffix) in [(Layout::Auto, ""), (Layout::Nested, "_nested")] {
                let out_name = format!("{out_name}{suffix}");
                let ty = type_name_for(&out_name);
                Config::new()
                    .type_name(&ty)
                    .output_name(&out_name)
                    .iterations(iterations)
                    .layout(layout)
                    .compile(&model)?;
                writeln!(
                    includes,
                    "include!(concat!(env!(\"OUT_DIR\"), \"/{out_name}.rs\"));"
                )?;
                writeln!(
                    all,
                    "        ({name:?}, {all_trees}, \"{layout:?}\", &{ty}),"
                )?;
            }
        }
    }
    all.push_str("    ]\n}\n");
    std::fs::write(
        Path::new(&out_dir).join("all.rs"),
        format!("{includes}\n{all}"),
    )?;
    Ok(())
}
