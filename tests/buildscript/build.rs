//! Compiles every model file of every fixture under `models/` with `timber_codegen::Config`,
//! exactly as a user's build script would — in every layout (`Layout::ALL`) — and writes
//! `all.rs` listing them.

use std::fmt::Write as _;
use std::path::Path;
use timber_codegen::emit::Layout;
use timber_codegen::ir::Precision;
use timber_codegen::{load_file, type_name_for, Config, Iterations, LoadOptions};

/// The model files a fixture may hold, with the short names used in generated names.
const MODEL_FILES: [(&str, &str); 6] = [
    ("model.json", "json"),
    ("model.txt", "txt"),
    ("model.ubj", "ubj"),
    ("model_dump.json", "dump"),
    ("model.npz", "npz"),
    ("model.zip", "zip"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    println!("cargo:rerun-if-changed={}", models.display());
    let out_dir = std::env::var("OUT_DIR")?;
    let mut dirs: Vec<_> = std::fs::read_dir(&models)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| MODEL_FILES.iter().any(|(f, _)| p.join(f).is_file()))
        .collect();
    dirs.sort();

    let mut all = String::from(
        "/// Every compiled fixture model, in every layout.\npub fn all() -> Vec<Compiled> {\n    vec![\n",
    );
    let mut includes = String::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (file, kind) in MODEL_FILES {
            let model = dir.join(file);
            if !model.is_file() {
                continue;
            }
            println!("cargo:rerun-if-changed={}", model.display());
            let mut load = LoadOptions::default();
            let mut config = Config::new();
            if kind == "dump" {
                let args = std::fs::read_to_string(dir.join("model_dump.args"))?;
                let words: Vec<&str> = args.split_whitespace().collect();
                for pair in words.chunks(2) {
                    match pair {
                        ["--objective", v] => {
                            config.objective(*v);
                            load.dump.objective = Some(v.to_string());
                        }
                        ["--base-score", v] => {
                            config.base_score(*v);
                            load.dump.base_score = Some(v.to_string());
                        }
                        ["--num-class", v] => {
                            config.num_class(v.parse()?);
                            load.dump.num_class = Some(v.parse()?);
                        }
                        other => return Err(format!("bad model_dump.args: {other:?}").into()),
                    }
                }
            }
            let precision = load_file(&model, &load)?.precision;
            let scorer = match precision {
                Precision::F32 => "F32",
                Precision::F64 => "F64",
                Precision::F32InF64Sum => "F32InF64Sum",
            };
            let mut variants = vec![(format!("{name}_{kind}"), Iterations::Best, false)];
            if dir.join("expected_all.csv").is_file() {
                variants.push((format!("{name}_{kind}_all"), Iterations::All, true));
            }
            for (out_name, iterations, all_trees) in variants {
                for layout in Layout::ALL {
                    let suffix = match layout {
                        Layout::Auto => String::new(),
                        other => format!("_{}", other.name()),
                    };
                    let out_name = format!("{out_name}{suffix}");
                    let ty = type_name_for(&out_name);
                    config
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
                        "        Compiled {{ fixture: {name:?}, kind: {kind:?}, all_trees: {all_trees}, layout: \"{layout:?}\", output: {out_name:?}, model: Scorer::{scorer}(&{ty}) }},"
                    )?;
                }
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
