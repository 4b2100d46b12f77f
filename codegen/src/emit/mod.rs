//! The Rust emitter: a [`Forest`] becomes a unit struct implementing the runtime's `Model`
//! trait, with one function per tree as nested `if`/`else` and exact float literals.
//!
//! Large models are spread over chunks (modules of at most [`CHUNK_NODES`] nodes), each in a
//! file of its own when written to disk, so no generated function or file is huge and rustc
//! can compile chunks in parallel. Margins are accumulated in the model's precision and in
//! the library's tree order: chunk by chunk, tree by tree.

mod tree;

use crate::interp::model_info;
use crate::ir::{Forest, Precision, Transform};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use timber_runtime::{FeatureKind, ModelInfo};

/// Nodes per chunk module (and file).
pub const CHUNK_NODES: usize = 4096;

/// How to name and wire the generated code.
#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// The model type's name, e.g. `Churn`.
    pub type_name: String,
    /// The path generated code uses for the runtime crate, e.g. `::timber_runtime`.
    pub runtime_path: String,
    /// The model type's visibility, e.g. `pub` (empty for private).
    pub visibility: String,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            type_name: "Model".into(),
            runtime_path: "::timber_runtime".into(),
            visibility: "pub".into(),
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
    /// One module body per chunk of trees, in order.
    pub chunks: Vec<TokenStream>,
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

    let chunks = chunk_trees(forest)
        .into_iter()
        .map(|range| emit_chunk(&ctx, forest, range))
        .collect::<Vec<_>>();
    let chunk_calls = (0..chunks.len()).map(|i| {
        let c = chunk_ident(i);
        quote!(#module::#c::add(x, &mut m);)
    });

    let (nf, ng, no) = (
        lit(forest.num_features()),
        lit(forest.num_groups()),
        lit(forest.num_outputs()),
    );
    let base = forest.base_margin.iter().map(|&b| ctx.float(b));
    let margins = averaged_margins(&ctx, forest.average_over);
    let each = |f: TokenStream| {
        quote! {
            let mut m = #margins;
            for v in m.iter_mut() { *v = #f; }
            m
        }
    };
    let predict_body = match forest.transform {
        Transform::Identity => margins.clone(),
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
            let mut m = #margins;
            #rt::transform::xgb_softmax(&mut m);
            m
        },
        Transform::SoftmaxF64 => quote! {
            let mut m = #margins;
            #rt::transform::softmax_f64(&mut m);
            m
        },
        Transform::SoftmaxPairwise => quote! {
            let mut m = #margins;
            #rt::transform::softmax_numpy(&mut m);
            m
        },
        Transform::ArgMax => quote! {
            [#rt::transform::argmax(&#margins) as #fty]
        },
    };

    let info = model_info(forest, options.type_name.clone());
    let info_tokens = info_tokens(&info, &rt);
    let header = header_lines(forest, &options.type_name);
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
                let mut m = [#(#base),*];
                #(#chunk_calls)*
                m
            }

            /// Predictions for one row, after the objective's transform.
            #[inline]
            pub fn predict_row(x: &[#ity; #nf]) -> [#fty; #no] {
                #predict_body
            }
        }

        #[doc(hidden)]
        static #info_ident: #rt::ModelInfo = #info_tokens;

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
        }
    };
    Ok(Emitted {
        root,
        module,
        chunks,
        header,
    })
}

/// `Self::margins(x)`, divided by the count when predictions average over trees.
fn averaged_margins(ctx: &Ctx, average_over: Option<u32>) -> TokenStream {
    match average_over {
        None => quote!(Self::margins(x)),
        Some(n) => {
            let n = ctx.float(f64::from(n));
            quote!({
                let mut m = Self::margins(x);
                for v in m.iter_mut() { *v /= #n; }
                m
            })
        }
    }
}

fn chunk_ident(i: usize) -> Ident {
    format_ident!("chunk_{:03}", i)
}

/// Consecutive runs of trees, each within the node budget (a bigger tree gets a chunk alone).
fn chunk_trees(forest: &Forest) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut nodes) = (0, 0);
    for (t, tree) in forest.trees.iter().enumerate() {
        if nodes > 0 && nodes + tree.nodes.len() > CHUNK_NODES {
            chunks.push(start..t);
            start = t;
            nodes = 0;
        }
        nodes += tree.nodes.len();
    }
    if start < forest.trees.len() {
        chunks.push(start..forest.trees.len());
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

fn header_lines(forest: &Forest, type_name: &str) -> Vec<String> {
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
    quote! {
        #root
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic, unused_parens)]
        mod #module { #(#chunks)* }
    }
}

/// The model as source files: the root file (first) and one file per chunk under `dir`
/// (relative to the root file), each pretty-printed.
pub fn render_files(e: &Emitted, dir: &str) -> Result<Vec<(String, String)>, EmitError> {
    let module = &e.module;
    let includes = (0..e.chunks.len()).map(|i| {
        let c = chunk_ident(i);
        let file = format!("{dir}/{c}.rs");
        quote!(pub(crate) mod #c { include!(#file); })
    });
    let root = &e.root;
    let root_file = quote! {
        #root
        #[doc(hidden)]
        #[allow(clippy::all, clippy::pedantic, unused_parens)]
        mod #module { #(#includes)* }
    };
    let mut files = vec![(String::new(), pretty(root_file)?)];
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
