//! The Rust emitter: a [`Forest`] becomes a unit struct implementing the runtime's `Model`
//! trait. Each tree gets one of two layouts ([`Layout`]):
//!
//! - **tables** ([`tables`]): the tree padded to a complete tree whose splits are all one
//!   integer comparison, stored in a data blob and walked branch-free by the runtime's
//!   kernels (`timber_runtime::tables`): several trees at once for a single row, and blocks
//!   of 64 rows at once (16 per AVX-512 instruction where available) for batches, which the
//!   generated type routes through `Model::predict_batch`/`predict_margin_batch`;
//! - **nested** ([`tree`]): one function per tree as nested `if`/`else` with exact float
//!   literals, for trees the tables cannot hold (categorical and zero-as-missing splits,
//!   vector and linear leaves, very deep or sparse trees), for every tree of a model the
//!   tables cannot hold at all (`f32` inputs with `f64` sums, averaged predictions: see
//!   [`tables::model_tables`]), and when [`Layout::Nested`] is asked for.
//!
//! Nested code is spread over chunks (modules of at most [`CHUNK_NODES`] nodes), each in a
//! file of its own when written to disk, so no generated function or file is huge and rustc
//! can compile chunks in parallel; tables are data and cost rustc almost nothing. Margins are
//! accumulated in the model's sum precision and in the library's tree order, whatever the mix
//! of layouts: table runs and nested chunks are added in model order. Inputs keep the
//! model's input precision (`f32` rows for scikit-learn models that sum in `f64`).

pub mod tables;
mod tree;

use crate::interp::model_info;
use crate::ir::{Forest, Precision, Transform};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use timber_runtime::{FeatureKind, ModelInfo};

/// Nodes per chunk module (and file).
pub const CHUNK_NODES: usize = 4096;

/// Which layout trees get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Complete-tree tables for every tree they can hold ([`tables::eligible`], in models
    /// that can have tables at all: [`tables::model_tables`]), nested `if`/`else` for the
    /// rest: the fastest for single rows and batches alike.
    #[default]
    Auto,
    /// Nested `if`/`else` for every tree (the previous layout; for comparison and tests).
    Nested,
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
    /// The table blob as a byte-string literal, when some trees are tables; the private
    /// module holds it as `TABLES`.
    pub tables: Option<Literal>,
    /// The runtime crate's path in generated code, e.g. `::timber_runtime`.
    pub runtime: String,
    /// The doc-comment header lines.
    pub header: Vec<String>,
}

/// What the tree emitter needs to know about the model.
pub(crate) struct Ctx {
    /// The sum type: leaf values, margins, predictions.
    pub fty: TokenStream,
    /// The input type: rows and thresholds.
    pub ity: TokenStream,
    pub precision: Precision,
    pub nf: usize,
    pub ng: usize,
    pub rt: TokenStream,
}

impl Ctx {
    /// An exact literal in the model's sum precision; negative values as `-literal`.
    pub fn float(&self, v: f64) -> TokenStream {
        literal(v, self.precision.f64_sum())
    }

    /// An exact literal in the model's input precision (thresholds).
    pub fn threshold(&self, v: f64) -> TokenStream {
        literal(v, self.precision.f64_input())
    }
}

/// An exact `f32` or `f64` literal; negative values as `-literal`.
fn literal(v: f64, f64_literal: bool) -> TokenStream {
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

/// Generates the code for a forest.
pub fn emit(forest: &Forest, options: &EmitOptions) -> Result<Emitted, EmitError> {
    let name: Ident = parse(&options.type_name, "type name")?;
    let rt_path: syn::Path = parse(&options.runtime_path, "runtime path")?;
    let vis: syn::Visibility = parse(&options.visibility, "visibility")?;
    let rt = quote!(#rt_path);
    let float_type = |f64_type: bool| if f64_type { quote!(f64) } else { quote!(f32) };
    let fty = float_type(forest.precision.f64_sum());
    let ity = float_type(forest.precision.f64_input());
    let ctx = Ctx {
        fty: fty.clone(),
        ity: ity.clone(),
        precision: forest.precision,
        nf: forest.num_features(),
        ng: forest.num_groups(),
        rt: rt.clone(),
    };
    let module = format_ident!("__timber_{}", snake_case(&options.type_name));
    let (nf, ng, no) = (
        lit(forest.num_features()),
        lit(forest.num_groups()),
        lit(forest.num_outputs()),
    );

    // Tables only for models whose input and sum types are one (see `tables::model_tables`):
    // everything below that touches tables relies on `ity == fty`.
    let table_type = match options.layout {
        Layout::Auto => tables::model_tables(forest),
        Layout::Nested => Err("nested layout asked for"),
    };
    let plan = plan(forest, table_type.is_ok());
    let mut chunks = Vec::new();
    // Per segment: the statements adding it to one row's `m` (given `x` and, for tables,
    // `keys`), and the statements adding it to a batch block `b`.
    let mut row_steps = Vec::new();
    let mut block_steps = Vec::new();
    let mut table_trees = Vec::new();
    for segment in &plan {
        match segment {
            Segment::Tables(range) => {
                let (a, b) = (lit(table_trees.len()), lit(table_trees.len() + range.len()));
                table_trees.extend(range.clone().map(|t| &forest.trees[t]));
                row_steps.push(quote!(Self::__tables().add_row(#a..#b, &keys, &mut m);));
                block_steps.push(quote!(b.trees(#a..#b);));
            }
            Segment::Nested(range) => {
                let mut calls = Vec::new();
                let mut block_calls = Vec::new();
                for sub in chunk_trees(forest, range.clone()) {
                    let c = chunk_ident(chunks.len());
                    chunks.push(emit_chunk(&ctx, forest, sub));
                    calls.push(quote!(#module::#c::add(x, &mut m);));
                    block_calls.push(quote!(#module::#c::add(x, m);));
                }
                row_steps.push(quote!(#(#calls)*));
                block_steps.push(quote! {
                    b.rows(|x, m| {
                        let x: &[#ity; #nf] = x.try_into().expect("block rows have the model's feature count");
                        let m: &mut [#fty; #ng] = m.try_into().expect("block margins have the model's group count");
                        #(#block_calls)*
                    });
                });
            }
        }
    }
    let tables_blob = match table_type {
        Ok(ty) if !table_trees.is_empty() => Some(Literal::byte_string(&tables::blob(
            ty,
            &table_trees,
            ctx.nf,
            ctx.ng,
        ))),
        _ => None,
    };
    let has_tables = tables_blob.is_some();
    let runtime_path = options.runtime_path.clone();

    let base = forest
        .base_margin
        .iter()
        .map(|&b| ctx.float(b))
        .collect::<Vec<_>>();
    // Predictions from margins: the average (when the model averages), then the transform.
    let average = forest.average_over.map(|n| {
        let n = ctx.float(f64::from(n));
        quote!(for v in m.iter_mut() { *v /= #n; })
    });
    let each = |f: TokenStream| {
        quote! {
            for v in m.iter_mut() { *v = #f; }
            m
        }
    };
    let transform_body = match forest.transform {
        Transform::Identity => quote!(m),
        Transform::Sigmoid => each(quote!(#rt::transform::xgb_sigmoid(*v))),
        Transform::Exp if forest.precision.f64_sum() => each(quote!(#rt::transform::exp_f64(*v))),
        Transform::Exp => each(quote!(#rt::transform::exp_f32(*v))),
        Transform::ExpF64 => each(quote!(#rt::transform::exp_via_f64(*v))),
        Transform::Hinge => each(quote!(#rt::transform::xgb_hinge(*v))),
        Transform::Logistic { scale } => {
            let scale = literal(scale, true);
            each(quote!(#rt::transform::logistic(*v, #scale)))
        }
        Transform::SignedSquare => each(quote!(#rt::transform::signed_square(*v))),
        Transform::Log1pExp => each(quote!(#rt::transform::log1p_exp(*v))),
        Transform::Softmax => quote! {
            #rt::transform::xgb_softmax(&mut m);
            m
        },
        Transform::SoftmaxF64 => quote! {
            #rt::transform::softmax_f64(&mut m);
            m
        },
        Transform::SoftmaxPairwise => quote! {
            #rt::transform::softmax_numpy(&mut m);
            m
        },
        Transform::ArgMax => quote! {
            [#rt::transform::argmax(&m) as #fty]
        },
    };
    let finish_doc = match forest.average_over {
        None => " The objective's transform, from margins to predictions.".to_string(),
        Some(n) => format!(
            " The average over {n}, then the objective's transform: from margins to predictions."
        ),
    };
    let finish_mut = match forest.transform {
        Transform::Identity | Transform::ArgMax if average.is_none() => quote!(),
        _ => quote!(mut),
    };
    let keys_setup = if has_tables {
        let nk = lit(2 * forest.num_features());
        quote! {
            let mut keys = [<#ity as #rt::tables::TableFloat>::Key::default(); #nk];
            #rt::tables::row_keys(x, &mut keys);
        }
    } else {
        quote!()
    };
    let tables_fn = if has_tables {
        quote! {
            /// The model's complete-tree tables (checked once, on first use).
            #[doc(hidden)]
            #[inline]
            fn __tables() -> &'static #rt::tables::Tables<#fty> {
                static TABLES: ::std::sync::OnceLock<#rt::tables::Tables<#fty>> = ::std::sync::OnceLock::new();
                TABLES.get_or_init(|| {
                    #rt::tables::Tables::new(&#module::TABLES.0)
                        .expect("Timber-generated tables are valid")
                })
            }
        }
    } else {
        quote!()
    };
    // Only table models route batches through the block kernels; their input and output
    // types are the same (`Tables<F>`), so these match the trait's `Input`/`Output`. Other
    // models keep the trait's row-by-row defaults.
    let batch_fns = if has_tables {
        quote! {
            fn predict_margin_batch(&self, rows: &[#ity], margins: &mut [#fty]) {
                Self::__tables().batch(&[#(#base),*], rows, margins, #ng, |b| { #(#block_steps)* }, |m, o| o.copy_from_slice(m));
            }

            fn predict_batch(&self, rows: &[#ity], out: &mut [#fty]) {
                Self::__tables().batch(&[#(#base),*], rows, out, #no, |b| { #(#block_steps)* }, |m, o| {
                    let m: [#fty; #ng] = m.try_into().expect("one margin per group");
                    o.copy_from_slice(&Self::finish(m));
                });
            }
        }
    } else {
        quote!()
    };
    let margins_mut = if row_steps.is_empty() {
        quote!()
    } else {
        quote!(mut)
    };
    let info = model_info(forest, options.type_name.clone());
    let info_tokens = info_tokens(&info, &rt);
    let no_tables = match (options.layout, table_type) {
        (Layout::Auto, Err(why)) => Some(why),
        _ => None,
    };
    let header = header_lines(forest, &options.type_name, table_trees.len(), no_tables);
    let docs = header.iter().map(|l| quote!(#[doc = #l]));
    let info_ident = format_ident!(
        "__TIMBER_{}_INFO",
        snake_case(&options.type_name).to_uppercase()
    );

    let root = quote! {
        #(#docs)*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #vis struct #name;

        // Literals are the model's exact values: clippy's float lints do not apply.
        #[allow(clippy::all, clippy::pedantic)]
        impl #name {
            /// Number of input features; a row holds them in model order.
            pub const NUM_FEATURES: usize = #nf;
            /// Values per row written by `predict`.
            pub const NUM_OUTPUTS: usize = #no;
            /// Raw margins per row (output groups).
            pub const NUM_MARGINS: usize = #ng;

            /// Raw margins for one row, before the objective's transform.
            #[inline]
            pub fn margins(x: &[#ity; #nf]) -> [#fty; #ng] {
                let #margins_mut m = [#(#base),*];
                #keys_setup
                #(#row_steps)*
                m
            }

            /// Predictions for one row, after the objective's transform.
            #[inline]
            pub fn predict_row(x: &[#ity; #nf]) -> [#fty; #no] {
                Self::finish(Self::margins(x))
            }

            #[doc = #finish_doc]
            #[inline]
            fn finish(#finish_mut m: [#fty; #ng]) -> [#fty; #no] {
                #average
                #transform_body
            }

            #tables_fn
        }

        #[doc(hidden)]
        static #info_ident: #rt::ModelInfo = #info_tokens;

        #[allow(clippy::all, clippy::pedantic)]
        impl #rt::Model for #name {
            type Input = #ity;
            type Output = #fty;

            fn info(&self) -> &#rt::ModelInfo {
                &#info_ident
            }

            fn predict_margin(&self, row: &[#ity], margins: &mut [#fty]) {
                let x: &[#ity; #nf] = row.try_into().expect("row length must equal the model's feature count");
                margins.copy_from_slice(&Self::margins(x));
            }

            fn predict(&self, row: &[#ity], out: &mut [#fty]) {
                let x: &[#ity; #nf] = row.try_into().expect("row length must equal the model's feature count");
                out.copy_from_slice(&Self::predict_row(x));
            }

            #batch_fns
        }
    };
    Ok(Emitted {
        root,
        module,
        chunks,
        tables: tables_blob,
        runtime: runtime_path,
        header,
    })
}

fn chunk_ident(i: usize) -> Ident {
    format_ident!("chunk_{:03}", i)
}

/// A run of consecutive trees in one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Trees (IR indices) stored as tables.
    Tables(std::ops::Range<usize>),
    /// Trees (IR indices) emitted as nested `if`/`else`.
    Nested(std::ops::Range<usize>),
}

/// The model's trees as runs of one layout each, in model order; tables only when
/// `model_tables` (the model as a whole can have them) and only for [`tables::eligible`] trees.
fn plan(forest: &Forest, model_tables: bool) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    for (t, tree) in forest.trees.iter().enumerate() {
        let table = model_tables && tables::eligible(tree);
        match segments.last_mut() {
            Some(Segment::Tables(r)) if table => r.end = t + 1,
            Some(Segment::Nested(r)) if !table => r.end = t + 1,
            _ => segments.push(if table {
                Segment::Tables(t..t + 1)
            } else {
                Segment::Nested(t..t + 1)
            }),
        }
    }
    segments
}

/// Consecutive runs of `trees`, each within the node budget (a bigger tree gets a chunk
/// alone).
fn chunk_trees(forest: &Forest, trees: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut nodes) = (trees.start, 0);
    for t in trees.clone() {
        let tree = &forest.trees[t];
        if nodes > 0 && nodes + tree.nodes.len() > CHUNK_NODES {
            chunks.push(start..t);
            start = t;
            nodes = 0;
        }
        nodes += tree.nodes.len();
    }
    if start < trees.end {
        chunks.push(start..trees.end);
    }
    chunks
}

fn emit_chunk(ctx: &Ctx, forest: &Forest, range: std::ops::Range<usize>) -> TokenStream {
    let (fty, ity, nf, ng) = (&ctx.fty, &ctx.ity, lit(ctx.nf), lit(ctx.ng));
    let mut adds = Vec::new();
    let mut fns = Vec::new();
    for t in range {
        let tree = &forest.trees[t];
        fns.push(tree::tree_fns(ctx, t, tree));
        let f = tree::fn_name(t, 0);
        let g = lit(tree.group);
        adds.push(match (tree::shape(tree), tree.weight) {
            (tree::Shape::Scalar, None) => quote!(m[#g] += #f(x);),
            (tree::Shape::Scalar, Some(w)) => {
                let w = ctx.float(w);
                quote!(m[#g] += #f(x) * #w;)
            }
            // Weighted vector leaves do not occur in any supported format.
            (tree::Shape::Vector, _) => quote!(#f(x, m);),
        });
    }
    quote! {
        /// Adds this chunk's trees to the margins, in model order.
        #[inline]
        pub(crate) fn add(x: &[#ity; #nf], m: &mut [#fty; #ng]) {
            #(#adds)*
        }
        #(#fns)*
    }
}

fn header_lines(
    forest: &Forest,
    type_name: &str,
    table_trees: usize,
    no_tables: Option<&str>,
) -> Vec<String> {
    let o = &forest.origin;
    let file = std::path::Path::new(&o.path)
        .file_name()
        .map_or_else(|| o.path.clone(), |f| f.to_string_lossy().into_owned());
    vec![
        format!(" `{type_name}`: scoring code generated by Timber from `{file}`. Do not edit."),
        String::new(),
        format!(" - source: `{}`", o.path),
        format!(" - sha256: `{}`", o.sha256),
        format!(" - format: {}", o.format),
        format!(
            " - objective: {} (transform: {})",
            forest.objective,
            forest.transform.name()
        ),
        format!(
            " - trees: {} ({} nodes, max depth {})",
            forest.trees.len(),
            forest.num_nodes(),
            forest.max_depth()
        ),
        format!(" - features: {}", forest.num_features()),
        format!(
            " - outputs: {} (margins: {})",
            forest.num_outputs(),
            forest.num_groups()
        ),
        format!(" - precision: {}", forest.precision),
        format!(
            " - layout: {table_trees} trees as complete-tree tables, {} as nested if/else{}",
            forest.trees.len() - table_trees,
            no_tables.map_or_else(String::new, |why| format!(" (no tables for {why})"))
        ),
        format!(" - timber: {}", env!("CARGO_PKG_VERSION")),
    ]
}

fn info_tokens(info: &ModelInfo, rt: &TokenStream) -> TokenStream {
    let cow = quote!(::std::borrow::Cow::Borrowed);
    let s = |v: &str| quote!(#cow(#v));
    let features = info.features.iter().map(|f| {
        let name = s(&f.name);
        let kind = match f.kind {
            FeatureKind::Numerical => quote!(#rt::FeatureKind::Numerical),
            FeatureKind::Categorical => quote!(#rt::FeatureKind::Categorical),
        };
        let cats = f.categories.iter().map(|c| s(c));
        quote!(#rt::FeatureInfo { name: #name, kind: #kind, categories: #cow(&[#(#cats),*]) })
    });
    let (name, format, objective, transform) = (
        s(&info.name),
        s(&info.format),
        s(&info.objective),
        s(&info.transform),
    );
    let (source, sha, precision, version) = (
        s(&info.source),
        s(&info.source_sha256),
        s(&info.precision),
        s(&info.timber_version),
    );
    let (trees, nodes, depth) = (
        lit(info.num_trees),
        lit(info.num_nodes),
        lit(info.max_depth),
    );
    let (outputs, margins) = (lit(info.num_outputs), lit(info.num_margins));
    quote! {
        #rt::ModelInfo {
            name: #name,
            format: #format,
            objective: #objective,
            transform: #transform,
            source: #source,
            source_sha256: #sha,
            num_trees: #trees,
            num_nodes: #nodes,
            max_depth: #depth,
            features: #cow(&[#(#features),*]),
            num_outputs: #outputs,
            num_margins: #margins,
            precision: #precision,
            timber_version: #version,
        }
    }
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

/// The whole model as one token stream (chunks as inline modules), for the proc macro.
pub fn inline_tokens(e: &Emitted) -> TokenStream {
    let module = &e.module;
    let chunks = e.chunks.iter().enumerate().map(|(i, body)| {
        let c = chunk_ident(i);
        quote!(pub(crate) mod #c { #body })
    });
    let root = &e.root;
    let tables = e.tables.as_ref().map(|blob| {
        let rt = runtime_tokens(e);
        tables_static(e, quote!(&#rt::tables::Aligned(*#blob)))
    });
    quote! {
        #root
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic, unused_parens, unused_variables)]
        mod #module { #tables #(#chunks)* }
    }
}

fn runtime_tokens(e: &Emitted) -> TokenStream {
    // Parsed successfully once already, in `emit`.
    e.runtime
        .parse()
        .unwrap_or_else(|_| quote!(::timber_runtime))
}

/// `static TABLES` in the private module, with the blob given as `value`.
fn tables_static(e: &Emitted, value: TokenStream) -> TokenStream {
    let rt = runtime_tokens(e);
    quote! {
        /// The complete-tree tables (see `timber_runtime::tables`).
        pub(crate) static TABLES: &#rt::tables::Aligned<[u8]> = #value;
    }
}

/// The model as source files: the root file (first), then under `dir` (relative to the
/// root file) the table blob (`tables.rs`, one byte-string expression) when there is one and
/// one pretty-printed file per chunk of nested trees.
pub fn render_files(e: &Emitted, dir: &str) -> Result<Vec<(String, String)>, EmitError> {
    let module = &e.module;
    let includes = (0..e.chunks.len()).map(|i| {
        let c = chunk_ident(i);
        let file = format!("{dir}/{c}.rs");
        quote!(pub(crate) mod #c { include!(#file); })
    });
    let root = &e.root;
    let tables_file = format!("{dir}/tables.rs");
    let tables = e
        .tables
        .as_ref()
        .map(|_| tables_static(e, quote!(include!(#tables_file))));
    let tables_text = e
        .tables
        .as_ref()
        .map(|blob| format!("{GENERATED}&{}::tables::Aligned(*{blob})\n", e.runtime));
    let root_file = quote! {
        #root
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic, unused_parens, unused_variables)]
        mod #module { #tables #(#includes)* }
    };
    let mut files = vec![(String::new(), pretty(root_file)?)];
    if let Some(text) = tables_text {
        files.push((tables_file, text));
    }
    for (i, body) in e.chunks.iter().enumerate() {
        files.push((
            format!("{dir}/{}.rs", chunk_ident(i)),
            pretty(body.clone())?,
        ));
    }
    Ok(files)
}

const GENERATED: &str =
    "// @generated by Timber. Do not edit: regenerate from the model file instead.\n";

/// Pretty-prints tokens that form a list of items.
pub fn pretty(tokens: TokenStream) -> Result<String, EmitError> {
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| EmitError::Internal(e.to_string()))?;
    Ok(format!("{GENERATED}{}", prettyplease::unparse(&file)))
}
