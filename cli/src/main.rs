//! `timber`: compile, score and inspect tree-ensemble models from the command line.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use timber_codegen::emit::Layout;
use timber_codegen::interp::{model_info, AnyInterpreter};
use timber_codegen::load::xgboost::dump::DumpOptions;
use timber_codegen::{
    load_file, model_stem, package_name, type_name_for, write_crate, CrateOptions, Iterations,
    LoadOptions,
};
use timber_serve::scorer::{self, BenchArgs, PredictArgs};

#[derive(Parser)]
#[command(
    name = "timber",
    version,
    about = "Compile trained tree ensembles into native Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a standalone crate (model library + scorer binary) for a model file.
    Compile {
        /// The model file (XGBoost JSON, UBJSON or JSON dump; LightGBM text or JSON;
        /// scikit-learn JSON or npz from tools/export_sklearn.py; H2O MOJO zip).
        model: PathBuf,
        /// Directory to write the crate into.
        #[arg(long)]
        out: PathBuf,
        /// Package and binary name (default: the model file's stem).
        #[arg(long)]
        name: Option<String>,
        /// A Timber source checkout whose `runtime/` and `serve/` crates the generated crate
        /// depends on (default: the sources this compiler was built from, when present;
        /// else the published crates).
        #[arg(long, value_name = "DIR")]
        timber_source: Option<PathBuf>,
        /// Code layout: `auto` (the fastest per tree), `tables`, `quick`, `nodes` or `nested`.
        #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
        layout: LayoutArg,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Score a CSV file with the reference interpreter.
    Predict {
        /// The model file.
        model: PathBuf,
        #[command(flatten)]
        args: PredictArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Measure the interpreter's scoring speed (rows/s) on the rows of a CSV file.
    Bench {
        /// The model file.
        model: PathBuf,
        #[command(flatten)]
        args: BenchArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Describe a model: format, objective, trees, depth, nodes, features, outputs.
    Inspect {
        /// The model file.
        model: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
}

/// Code layouts (see `timber_codegen::emit::Layout`).
#[derive(Clone, Copy, clap::ValueEnum)]
enum LayoutArg {
    /// The fastest layout per tree: complete-tree tables where they apply, else QuickScorer
    /// bit vectors, else node arrays.
    Auto,
    /// Complete-tree tables where they apply, node arrays for the rest.
    Tables,
    /// QuickScorer bit vectors where they apply (at most 64 leaves, numerical splits),
    /// node arrays for the rest.
    Quick,
    /// Node arrays for every tree.
    Nodes,
    /// Nested if/else for every tree (slow to compile on big models).
    Nested,
}

#[derive(Args)]
struct LoadArgs {
    /// Score every tree, ignoring an early-stopped model's `best_iteration`.
    #[arg(long)]
    all_trees: bool,
    /// XGBoost JSON dump only (it does not record it): the objective, e.g. binary:logistic.
    #[arg(long, value_name = "NAME")]
    objective: Option<String>,
    /// XGBoost JSON dump only: the model's base_score as XGBoost stores it
    /// (`learner.learner_model_param.base_score` in `save_config()`), one value or one per
    /// class separated by commas.
    #[arg(long, value_name = "VALUES", allow_hyphen_values = true)]
    base_score: Option<String>,
    /// XGBoost JSON dump only: the number of classes (or targets); default 1.
    #[arg(long, value_name = "N")]
    num_class: Option<usize>,
}

impl LoadArgs {
    fn options(&self, margin_only: bool) -> LoadOptions {
        LoadOptions {
            iterations: if self.all_trees {
                Iterations::All
            } else {
                Iterations::Best
            },
            margin_only,
            dump: DumpOptions {
                objective: self.objective.clone(),
                base_score: self.base_score.clone(),
                num_class: self.num_class,
            },
        }
    }
}

/// Runs `$body` with `$m` bound to the interpreter, whatever its precision.
macro_rules! with_interpreter {
    ($interp:expr, |$m:ident| $body:expr) => {
        match $interp {
            AnyInterpreter::F32($m) => $body,
            AnyInterpreter::F64($m) => $body,
            AnyInterpreter::F32InF64Sum($m) => $body,
        }
    };
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", timber_serve::error_message(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            model,
            out,
            name,
            timber_source,
            layout,
            load,
        } => {
            let forest = load_file(&model, &load.options(false))?;
            let stem = model_stem(&model);
            let name = package_name(name.as_deref().unwrap_or(&stem));
            let timber_source = match timber_source {
                Some(p) => Some(
                    std::path::absolute(&p)
                        .with_context(|| format!("bad --timber-source {}", p.display()))?,
                ),
                None => default_timber_source(),
            };
            let type_name = write_crate(
                &forest,
                &out,
                &CrateOptions {
                    name: name.clone(),
                    timber_source: timber_source.clone(),
                    layout: match layout {
                        LayoutArg::Auto => Layout::Auto,
                        LayoutArg::Tables => Layout::Tables,
                        LayoutArg::Quick => Layout::Quick,
                        LayoutArg::Nodes => Layout::Nodes,
                        LayoutArg::Nested => Layout::Nested,
                    },
                },
            )?;
            if let Some(source) = &timber_source {
                pin_dependencies(source, &out)?;
            }
            eprintln!(
                "wrote crate `{name}` (model type `{type_name}`: {} trees, {} features) to {}\n\
                 score with: cd {} && cargo run --release -- predict --input ROWS.csv",
                forest.trees.len(),
                forest.num_features(),
                out.display(),
                out.display()
            );
            Ok(())
        }
        Command::Predict { model, args, load } => {
            let forest = load_file(&model, &load.options(args.margin))?;
            with_interpreter!(AnyInterpreter::new(forest)?, |m| scorer::predict(&m, &args))
        }
        Command::Bench { model, args, load } => {
            let interp = AnyInterpreter::new(load_file(&model, &load.options(false))?)?;
            let report = with_interpreter!(interp, |m| scorer::bench(&m, &args))?;
            println!("{report}");
            Ok(())
        }
        Command::Inspect { model, load } => {
            let forest = load_file(&model, &load.options(false))?;
            let stem = model_stem(&model);
            print!(
                "{}",
                scorer::describe(&model_info(&forest, type_name_for(&stem)))
            );
            Ok(())
        }
    }
}

/// The Timber sources this compiler was built from, when they are still there (a source
/// checkout); otherwise the generated crate depends on the published crates.
/// Gives a crate that depends on the Timber sources at `source` Timber's own lock file, so
/// that it builds with the dependency versions Timber is tested with, offline, with no
/// registry resolution. A re-compile replaces it: the generated crate's dependencies are
/// Timber's, and a lock file from older sources would make cargo resolve afresh.
fn pin_dependencies(source: &Path, out: &Path) -> Result<()> {
    let (lock, pinned) = (source.join("Cargo.lock"), out.join("Cargo.lock"));
    if lock.is_file() {
        std::fs::copy(&lock, &pinned)
            .with_context(|| format!("cannot copy {} to {}", lock.display(), pinned.display()))?;
    }
    Ok(())
}

fn default_timber_source() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    (dir.join("runtime/Cargo.toml").is_file() && dir.join("serve/Cargo.toml").is_file())
        .then(|| dir.canonicalize().unwrap_or(dir))
}
