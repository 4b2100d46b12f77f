//! The build-script API: compile model files into `OUT_DIR`, as `prost-build` does for
//! protobuf files.

use crate::emit::{self, EmitError, EmitOptions, Layout};
use crate::load::{self, Iterations, LoadError, LoadOptions};
use std::path::{Path, PathBuf};

/// Any failure of [`Config::compile`], naming the file involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Code could not be generated.
    #[error("{path}: {source}")]
    Emit {
        /// The model file.
        path: String,
        /// The emitter's error.
        source: EmitError,
    },
    /// Generated code could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No output directory: not in a build script and none configured.
    #[error("OUT_DIR is not set: call Config::out_dir, or run from a build script")]
    NoOutDir,
    /// The package's manifest names no Timber crate for generated code to call.
    #[error(
        "{manifest}: generated models call the Timber runtime, but [dependencies] has neither \
         `timber-runtime` nor `timber`: add one (or name the path with Config::runtime_path)"
    )]
    NoRuntime {
        /// The package's Cargo.toml.
        manifest: String,
    },
    /// The package's manifest could not be read.
    #[error("{manifest}: {why}")]
    Manifest {
        /// The package's Cargo.toml.
        manifest: String,
        /// What went wrong.
        why: String,
    },
}

/// Options for compiling model files into Rust source, for use from `build.rs`.
#[derive(Debug, Clone)]
pub struct Config {
    out_dir: Option<PathBuf>,
    type_name: Option<String>,
    output_name: Option<String>,
    runtime_path: Option<String>,
    visibility: String,
    layout: Layout,
    load: LoadOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            out_dir: None,
            type_name: None,
            output_name: None,
            runtime_path: None,
            visibility: "pub".into(),
            layout: Layout::Auto,
            load: LoadOptions::default(),
        }
    }
}

/// Builder methods of [`Config`]: each stores its argument (converted by the expression
/// after `=`) in a field and returns `self`, for chaining.
macro_rules! setters {
    ($($(#[doc = $doc:expr])* $name:ident($arg:ident: $ty:ty) => $($field:ident).+ = $value:expr;)*) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(&mut self, $arg: $ty) -> &mut Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}

impl Config {
    /// Defaults: output into `OUT_DIR`, the type named after the file stem (`churn.json`
    /// -> `Churn`), the runtime reached through whichever Timber crate the package depends on
    /// (see [`Config::runtime_path`]).
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Writes into `dir` instead of `OUT_DIR`.
        out_dir(dir: impl Into<PathBuf>) => out_dir = Some(dir.into());
        /// Names the generated model type (default: from the file stem).
        type_name(name: impl Into<String>) => type_name = Some(name.into());
        /// Names the output files `<name>.rs` and `<name>/` (default: the file stem in
        /// snake case), for several models whose files share a stem.
        output_name(name: impl Into<String>) => output_name = Some(name.into());
        /// The path generated code uses for the runtime crate. By default it is read from the
        /// building package's `Cargo.toml` (`CARGO_MANIFEST_DIR`): `::timber_runtime` when it
        /// depends on `timber-runtime`, `::timber::runtime` when on `timber` (renamed
        /// dependencies followed), and `::timber_runtime` outside a build script.
        runtime_path(path: impl Into<String>) => runtime_path = Some(path.into());
        /// The visibility of the generated type (default `pub`).
        visibility(vis: impl Into<String>) => visibility = vis.into();
        /// The code layout (default [`Layout::Auto`]: branch-free tables wherever they apply).
        layout(layout: Layout) => layout = layout;
        /// Which trees of an early-stopped XGBoost model to use (default: up to `best_iteration`).
        iterations(iterations: Iterations) => load.iterations = iterations;
        /// For an XGBoost JSON dump, which does not record it: the objective (`--objective`).
        objective(name: impl Into<String>) => load.dump.objective = Some(name.into());
        /// For an XGBoost JSON dump: the model's `base_score` as XGBoost stores it, one value or
        /// one per class separated by commas (`--base-score`).
        base_score(values: impl Into<String>) => load.dump.base_score = Some(values.into());
        /// For an XGBoost JSON dump: the number of classes or targets (`--num-class`).
        num_class(n: usize) => load.dump.num_class = Some(n);
    }

    /// Compiles one model file. Writes `OUT_DIR/<stem>.rs` (include it with
    /// `timber_runtime::include_model!("<stem>")`) and its chunk files under `OUT_DIR/<stem>/`,
    /// and returns the path of the first. In a build script, also asks Cargo to rerun
    /// when the model file changes.
    pub fn compile(&self, model: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let model = model.as_ref();
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        if std::env::var_os("CARGO_MANIFEST_DIR").is_some() && std::env::var_os("OUT_DIR").is_some()
        {
            println!("cargo:rerun-if-changed={}", model.display());
        }
        let forest = load::load_file(model, &self.load)?;
        let stem = crate::model_stem(model);
        let file_stem = self
            .output_name
            .clone()
            .unwrap_or_else(|| crate::snake_name_for(&stem));
        let options = EmitOptions {
            type_name: self
                .type_name
                .clone()
                .unwrap_or_else(|| crate::type_name_for(&stem)),
            runtime_path: match &self.runtime_path {
                Some(path) => path.clone(),
                None => package_runtime_path()?,
            },
            visibility: self.visibility.clone(),
            layout: self.layout,
        };
        let path = model.display().to_string();
        let emitted = emit::emit(&forest, &options).map_err(|source| Error::Emit {
            path: path.clone(),
            source,
        })?;
        let files = emit::render_files(&emitted, &file_stem)
            .map_err(|source| Error::Emit { path, source })?;
        let root = out_dir.join(format!("{file_stem}.rs"));
        write_files(&out_dir, &root, files)?;
        Ok(root)
    }
}

/// Writes rendered files: the first to `root`, the rest relative to `dir`. Files whose
/// content is unchanged are left alone so Cargo does not rebuild needlessly.
pub(crate) fn write_files(
    dir: &Path,
    root: &Path,
    files: Vec<emit::GeneratedFile>,
) -> Result<(), Error> {
    remove_stale(dir, &files);
    for (i, file) in files.into_iter().enumerate() {
        let path = if i == 0 {
            root.to_path_buf()
        } else {
            dir.join(&file.path)
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                path: parent.display().to_string(),
                source,
            })?;
        }
        if std::fs::read(&path).is_ok_and(|old| old == file.contents) {
            continue;
        }
        std::fs::write(&path, &file.contents).map_err(|source| Error::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Removes files an earlier run generated in the directories of `files` that this run does
/// not (a model recompiled in another layout leaves no stale blobs or chunks behind). Only
/// Timber's own file names are touched: `chunk_*.rs`, `tables.*`, `quick.*`, `nodes.*`.
fn remove_stale(dir: &Path, files: &[emit::GeneratedFile]) {
    let keep: std::collections::HashSet<PathBuf> =
        files.iter().skip(1).map(|f| dir.join(&f.path)).collect();
    let dirs: std::collections::HashSet<PathBuf> = keep
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let ours = (name.starts_with("chunk_") && name.ends_with(".rs"))
                || name.starts_with("tables.")
                || name.starts_with("quick.")
                || name.starts_with("nodes.");
            if ours && !keep.contains(&path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// The runtime path for the package being built, from its `Cargo.toml`; `::timber_runtime`
/// outside a build script.
#[cfg(feature = "manifest")]
fn package_runtime_path() -> Result<String, Error> {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Ok("::timber_runtime".into());
    };
    let manifest = Path::new(&dir).join("Cargo.toml");
    let name = manifest.display().to_string();
    let text = std::fs::read_to_string(&manifest).map_err(|e| Error::Manifest {
        manifest: name.clone(),
        why: e.to_string(),
    })?;
    runtime_path_in(&text).map_err(|why| match why {
        Some(why) => Error::Manifest {
            manifest: name.clone(),
            why,
        },
        None => Error::NoRuntime { manifest: name },
    })
}

/// Without the `manifest` feature: `::timber_runtime`.
#[cfg(not(feature = "manifest"))]
fn package_runtime_path() -> Result<String, Error> {
    Ok("::timber_runtime".into())
}

/// The runtime path a package with manifest `text` reaches: through `timber-runtime` if it
/// depends on it, else through `timber`. `Err(None)`: neither; `Err(Some(why))`: unreadable.
#[cfg(feature = "manifest")]
fn runtime_path_in(text: &str) -> Result<String, Option<String>> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| Some(format!("{e}")))?;
    // `[dependencies]` and every `[target.'cfg(..)'.dependencies]`.
    let mut tables: Vec<&dyn toml_edit::TableLike> = Vec::new();
    if let Some(deps) = doc.get("dependencies").and_then(|d| d.as_table_like()) {
        tables.push(deps);
    }
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
        for (_, target) in targets.iter() {
            if let Some(deps) = target.get("dependencies").and_then(|d| d.as_table_like()) {
                tables.push(deps);
            }
        }
    }
    let mut through_timber = None;
    for deps in tables {
        for (key, dep) in deps.iter() {
            let package = dep.get("package").and_then(|p| p.as_str()).unwrap_or(key);
            let krate = key.replace('-', "_");
            match package {
                "timber-runtime" => return Ok(format!("::{krate}")),
                "timber" => through_timber = Some(format!("::{krate}::runtime")),
                _ => {}
            }
        }
    }
    through_timber.ok_or(None)
}

#[cfg(all(test, feature = "manifest"))]
mod tests {
    use super::runtime_path_in;

    #[test]
    fn the_runtime_is_reached_through_the_crate_the_package_depends_on() {
        let runtime = "[package]\nname = \"svc\"\n[dependencies]\ntimber-runtime = \"0.1\"\n";
        assert_eq!(runtime_path_in(runtime), Ok("::timber_runtime".into()));
        let both =
            "[dependencies]\ntimber = { path = \"../t\" }\ntimber-runtime.workspace = true\n";
        assert_eq!(runtime_path_in(both), Ok("::timber_runtime".into()));
        let facade = "[dependencies]\nserde = \"1\"\ntimber = { path = \"../t\" }\n";
        assert_eq!(runtime_path_in(facade), Ok("::timber::runtime".into()));
        let renamed = "[dependencies]\ntrees = { package = \"timber\", version = \"0.1\" }\n";
        assert_eq!(runtime_path_in(renamed), Ok("::trees::runtime".into()));
        let target = "[target.'cfg(unix)'.dependencies]\ntimber-runtime = \"0.1\"\n";
        assert_eq!(runtime_path_in(target), Ok("::timber_runtime".into()));
    }

    #[test]
    fn a_package_without_a_timber_crate_is_told_what_to_add() {
        assert_eq!(
            runtime_path_in("[dependencies]\nserde = \"1\"\n"),
            Err(None)
        );
        assert_eq!(runtime_path_in("[package]\nname = \"x\"\n"), Err(None));
        assert!(matches!(runtime_path_in("[dependencies"), Err(Some(_))));
        let message = super::Error::NoRuntime {
            manifest: "svc/Cargo.toml".into(),
        }
        .to_string();
        assert!(message.starts_with("svc/Cargo.toml: "), "{message}");
        assert!(
            message.contains("`timber-runtime` nor `timber`"),
            "{message}"
        );
    }
}
