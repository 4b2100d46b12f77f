//! The Rust emitter: a [`Forest`] becomes a unit struct implementing the runtime's `Model`
//! trait. Each tree gets one of three layouts ([`Layout`]):
//!
//! - **tables** ([`tables`]): the tree padded to a complete tree whose splits are all one
//!   integer comparison, stored in a data blob and walked branch-free by the runtime's
//!   kernels (`timber_runtime::tables`): several trees at once for a single row, and blocks
//!   of 64 rows at once (16 per AVX-512 instruction where available) for batches. For
//!   shallow trees with numerical splits and scalar leaves, in models whose inputs and sums
//!   share a precision;
//! - **nodes** ([`nodes`]): the tree as node records in a data blob, walked by the runtime's
//!   node kernels (`timber_runtime::nodes`), many rows in flight for batches. It holds any
//!   tree — any depth, categorical and zero-as-missing splits, vector and linear leaves, any
//!   precision — at a few bytes per node, so a forest of millions of nodes compiles in
//!   seconds;
//! - **nested** (`nested`): one function per tree as nested `if`/`else` with exact float
//!   literals, when [`Layout::Nested`] is asked for.
//!
//! Nested code is spread over chunks (modules of at most [`CHUNK_NODES`] nodes), each in a
//! file of its own when written to disk, so no generated function or file is huge and rustc
//! can compile chunks in parallel; tables and nodes are data and cost rustc almost nothing.
//! Margins are accumulated in the model's sum precision and in the library's tree order,
//! whatever the mix of layouts: runs of each are added in model order. Inputs keep the
//! model's input precision (`f32` rows for scikit-learn models that sum in `f64`).
//!
//! [`emit`] is a sequence of named steps, one module each: `plan` (which tree gets which
//! layout), [`tables`], [`nodes`] and `nested` (each layout's data or code, and the calls
//! that add its trees; `keys` is how the data layouts compare), `render` (the type, its
//! transform and its `Model` impl), `metadata` (the header and `ModelInfo`), and `files`
//! (token streams or pretty-printed files).

mod blob;
mod files;
mod keys;
mod metadata;
mod nested;
pub mod nodes;
mod plan;
pub mod quick;
mod render;
pub mod tables;

pub use blob::{BlobLayout, LayoutBlob};
pub use files::{inline_tokens, pretty, render_files, GeneratedFile};
pub use plan::CHUNK_NODES;

use crate::interp::model_info;
use crate::ir::{Forest, Precision, Tree};
use plan::Segment;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use std::ops::Range;

/// Which layout trees get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The fastest layout for each tree: complete-tree tables for every tree they can hold
    /// ([`tables::eligible`], in models that can have tables at all:
    /// [`tables::model_tables`]), QuickScorer bit vectors for other trees of at most 64
    /// leaves ([`quick::eligible`]), node arrays for the rest.
    #[default]
    Auto,
    /// Complete-tree tables wherever they apply, node arrays for the rest.
    Tables,
    /// QuickScorer bit vectors where they apply (trees of at most 64 leaves with numerical
    /// splits), node arrays for the rest.
    Quick,
    /// Node arrays for every tree.
    Nodes,
    /// Nested `if`/`else` for every tree (for comparison and tests: compiles slowly on big
    /// models).
    Nested,
}

impl Layout {
    /// Every layout, for options and tests.
    pub const ALL: [Layout; 5] = [
        Layout::Auto,
        Layout::Tables,
        Layout::Quick,
        Layout::Nodes,
        Layout::Nested,
    ];

    /// The layout's name: `auto`, `tables`, `nodes` or `nested`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::Tables => "tables",
            Layout::Quick => "quick",
            Layout::Nodes => "nodes",
            Layout::Nested => "nested",
        }
    }

    /// The layout with name `name`.
    pub fn from_name(name: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// How to name and wire the generated code.
#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// The model type's name, e.g. `Churn`.
    pub type_name: String,
    /// The path generated code uses for the runtime crate, e.g. `::timber_runtime`.
    pub runtime_path: String,
    /// The model type's visibility, e.g. `pub` (empty for private).
    pub visibility: String,
    /// Which layout trees get.
    pub layout: Layout,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            type_name: "Model".into(),
            runtime_path: "::timber_runtime".into(),
            visibility: "pub".into(),
            layout: Layout::Auto,
        }
    }
}

/// Why code could not be emitted (only for bad names: the forest itself is valid).
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// A name or path in the options is not valid Rust.
    #[error("`{value}` is not a valid {what}")]
    BadOption {
        /// What the option is.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// Generated code failed to parse: a bug in Timber.
    #[error("internal error: generated code does not parse ({0}); please report this model")]
    Internal(String),
}

/// Generated code, before it is written anywhere.
pub struct Emitted {
    /// The model type, its impls and metadata; refers to the chunks through `module`.
    pub root: TokenStream,
    /// The private module that holds the chunks.
    pub module: Ident,
    /// One module body per chunk of nested trees, in order.
    pub chunks: Vec<TokenStream>,
    /// The table blob, when some trees are tables; the private module holds it as
    /// `TABLES`.
    pub tables: Option<LayoutBlob>,
    /// The node blob, when some trees are node arrays; the private module holds it as
    /// `NODES`.
    pub nodes: Option<LayoutBlob>,
    /// The bit-vector blob, when some trees are bit vectors; the private module holds it as
    /// `QUICK`.
    pub quick: Option<LayoutBlob>,
    /// The runtime crate's path in generated code, e.g. `::timber_runtime`.
    pub runtime: String,
    /// The doc-comment header lines.
    pub header: Vec<String>,
}

/// What the layouts' emitters need to know about the model.
pub(crate) struct Ctx {
    /// The sum type: leaf values, margins, predictions.
    pub fty: TokenStream,
    /// The input type: rows and thresholds.
    pub ity: TokenStream,
    /// The model's precision.
    pub precision: Precision,
    /// Input features.
    pub nf: usize,
    /// Output groups (margins).
    pub ng: usize,
    /// The runtime crate's path.
    pub rt: TokenStream,
}

impl Ctx {
    fn new(forest: &Forest, rt: TokenStream) -> Ctx {
        let float_type = |f64_type: bool| if f64_type { quote!(f64) } else { quote!(f32) };
        Ctx {
            fty: float_type(forest.precision.f64_sum()),
            ity: float_type(forest.precision.f64_input()),
            precision: forest.precision,
            nf: forest.num_features(),
            ng: forest.num_groups(),
            rt,
        }
    }

    /// An exact literal in the model's sum precision; negative values as `-literal`.
    pub fn float(&self, v: f64) -> TokenStream {
        literal(v, self.precision.f64_sum())
    }

    /// An exact literal in the model's input precision (thresholds).
    pub fn threshold(&self, v: f64) -> TokenStream {
        literal(v, self.precision.f64_input())
    }
}

/// The options' names and paths, checked as Rust.
struct Names {
    name: Ident,
    vis: syn::Visibility,
    rt: TokenStream,
    /// The private module holding chunks and tables.
    module: Ident,
    /// The `ModelInfo` static.
    info: Ident,
}

impl Names {
    fn parse(options: &EmitOptions) -> Result<Names, EmitError> {
        let name: Ident = parse(&options.type_name, "type name")?;
        let rt: syn::Path = parse(&options.runtime_path, "runtime path")?;
        let vis: syn::Visibility = parse(&options.visibility, "visibility")?;
        let snake = snake_case(&options.type_name);
        Ok(Names {
            name,
            vis,
            rt: quote!(#rt),
            module: format_ident!("__timber_{}", snake),
            info: format_ident!("__TIMBER_{}_INFO", snake.to_uppercase()),
        })
    }
}

/// Per-row and per-block statements adding the model's trees, in model order, and the
/// code and data they call.
#[derive(Default)]
struct Trees {
    row_steps: Vec<TokenStream>,
    block_steps: Vec<TokenStream>,
    chunks: Vec<TokenStream>,
    tables: Option<LayoutBlob>,
    nodes: Option<LayoutBlob>,
    quick: Option<LayoutBlob>,
    /// Trees per layout.
    counts: metadata::LayoutCounts,
}

impl Trees {
    /// Adds the statements that score `run`, trees of `layout`'s blob.
    fn push_run(&mut self, layout: BlobLayout, module: &Ident, run: Range<usize>) {
        self.row_steps.push(layout.row_step(module, run.clone()));
        self.block_steps.push(layout.block_step(module, run));
    }
}

/// Appends the IR trees `range` to a blob's trees; returns where they stand in it.
fn append<'f>(blob: &mut Vec<&'f Tree>, forest: &'f Forest, range: &Range<usize>) -> Range<usize> {
    let first = blob.len();
    blob.extend(range.clone().map(|t| &forest.trees[t]));
    first..blob.len()
}

/// Generates the code for a forest.
pub fn emit(forest: &Forest, options: &EmitOptions) -> Result<Emitted, EmitError> {
    // 1. Names and paths, checked as Rust.
    let names = Names::parse(options)?;
    // 2. The model's types and sizes.
    let ctx = Ctx::new(forest, names.rt.clone());
    // 3. Which layout each tree gets.
    let plan = plan::plan(forest, options.layout);
    // 4. Each run's code or data, and the statements that add it to the margins.
    let trees = emit_trees(&ctx, forest, &plan, &names.module);
    // 5. The margins' starting values.
    let base: Vec<TokenStream> = forest.base_margin.iter().map(|&b| ctx.float(b)).collect();
    // 6. Batch methods: models with data layouts score blocks of rows through their
    //    kernels; all-nested models keep the trait's row-by-row defaults.
    let data_layouts = trees.tables.is_some() || trees.nodes.is_some() || trees.quick.is_some();
    let batch_methods = if data_layouts {
        render::batch_methods(&ctx, &base, &trees.block_steps, forest.num_outputs())
    } else {
        quote!()
    };
    // 7. From margins to predictions.
    let finish = render::finish(&ctx, forest);
    // 8. Metadata: the doc header and `ModelInfo`.
    let no_tables = match (options.layout, &plan.table_type) {
        (Layout::Auto, Err(why)) => Some(*why),
        _ => None,
    };
    let header = metadata::header_lines(forest, &options.type_name, trees.counts, no_tables);
    let info = metadata::info_tokens(&model_info(forest, options.type_name.clone()), &ctx.rt);
    // 9. The model type.
    let root = render::model(
        &ctx,
        forest,
        render::Parts {
            name: &names.name,
            vis: &names.vis,
            header: &header,
            base: &base,
            row_setup: if data_layouts {
                render::keys_setup(&ctx)
            } else {
                quote!()
            },
            row_steps: &trees.row_steps,
            finish,
            batch_methods,
            info,
            info_ident: names.info.clone(),
        },
    );
    Ok(Emitted {
        root,
        module: names.module,
        chunks: trees.chunks,
        tables: trees.tables,
        nodes: trees.nodes,
        quick: trees.quick,
        runtime: options.runtime_path.clone(),
        header,
    })
}

/// Emits every run of the plan in order: nested chunks, one table blob for all table runs
/// and one node blob for all node runs (each run a range of its blob's trees).
fn emit_trees(ctx: &Ctx, forest: &Forest, plan: &plan::Plan, module: &Ident) -> Trees {
    let mut out = Trees::default();
    let (mut table_trees, mut node_trees) = (Vec::new(), Vec::new());
    let mut quick_runs: Vec<Vec<&Tree>> = Vec::new();
    let mut quick_trees = 0;
    for segment in &plan.segments {
        match segment {
            Segment::Tables(range) => {
                let run = append(&mut table_trees, forest, range);
                out.push_run(BlobLayout::Tables, module, run);
            }
            Segment::Quick(range) => {
                let run: Vec<&Tree> = range.clone().map(|t| &forest.trees[t]).collect();
                let trees = quick_trees..quick_trees + run.len();
                quick_trees += run.len();
                quick_runs.push(run);
                out.push_run(BlobLayout::Quick, module, trees);
            }
            Segment::Nodes(range) => {
                let run = append(&mut node_trees, forest, range);
                out.push_run(BlobLayout::Nodes, module, run);
            }
            Segment::Nested(chunks) => {
                let first = out.chunks.len();
                for range in chunks {
                    out.chunks.push(nested::chunk(ctx, forest, range.clone()));
                    out.counts.nested += range.len();
                }
                let run = first..out.chunks.len();
                out.row_steps.push(nested::row_step(module, run.clone()));
                out.block_steps.push(nested::block_step(ctx, module, run));
            }
        }
    }
    if let (Ok(ty), false) = (plan.table_type, table_trees.is_empty()) {
        out.tables = Some(tables::layout_blob(ctx, ty, &table_trees));
    }
    if !node_trees.is_empty() {
        out.nodes = Some(nodes::blob(ctx, &node_trees));
    }
    if !quick_runs.is_empty() {
        out.quick = Some(quick::blob(ctx, &quick_runs));
    }
    out.counts.tables = table_trees.len();
    out.counts.quick = quick_trees;
    out.counts.nodes = node_trees.len();
    out
}

/// An exact `f32` or `f64` literal; negative values as `-literal`, infinities as
/// `f64::INFINITY` (thresholds may be infinite).
fn literal(v: f64, f64_literal: bool) -> TokenStream {
    if v.is_infinite() {
        let ty = if f64_literal {
            quote!(f64)
        } else {
            quote!(f32)
        };
        return if v > 0.0 {
            quote!(#ty::INFINITY)
        } else {
            quote!(#ty::NEG_INFINITY)
        };
    }
    let lit = if f64_literal {
        Literal::f64_suffixed(v.abs())
    } else {
        Literal::f32_suffixed((v as f32).abs())
    };
    if v.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

fn parse<T: syn::parse::Parse>(value: &str, what: &'static str) -> Result<T, EmitError> {
    syn::parse_str(value).map_err(|_| EmitError::BadOption {
        what,
        value: value.into(),
    })
}

/// An unsuffixed integer literal (`3`, not `3usize`), for readable output.
pub(crate) fn lit(v: usize) -> Literal {
    Literal::usize_unsuffixed(v)
}

/// `ChurnModel` -> `churn_model`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
