//! Rendering: the model type, its inherent methods (`margins`, `predict_row`, `finish`)
//! and its `Model` impl, from the parts the other steps made.

use super::{lit, literal, Ctx};
use crate::ir::{Forest, Probabilities, ProbabilitiesFrom, Transform};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// The parts of a model type, made by the earlier steps of [`super::emit`].
pub(crate) struct Parts<'a> {
    /// The type's name.
    pub name: &'a Ident,
    /// Its visibility.
    pub vis: &'a syn::Visibility,
    /// The doc-comment lines.
    pub header: &'a [String],
    /// The base margin literals, one per group.
    pub base: &'a [TokenStream],
    /// Statements run before `row_steps` (the row's keys, when there are tables).
    pub row_setup: TokenStream,
    /// Statements adding each run of trees to one row's margins `m`, in model order.
    pub row_steps: &'a [TokenStream],
    /// `finish`: from margins to predictions.
    pub finish: TokenStream,
    /// Extra `Model` methods (the batch overrides of table models).
    pub batch_methods: TokenStream,
    /// The `ModelInfo` expression and the name of its static.
    pub info: TokenStream,
    /// The name of the `ModelInfo` static.
    pub info_ident: Ident,
}

/// The model type, its inherent methods and its `Model` impl.
pub(crate) fn model(ctx: &Ctx, forest: &Forest, p: Parts<'_>) -> TokenStream {
    let (rt, fty, ity) = (&ctx.rt, &ctx.fty, &ctx.ity);
    let (nf, ng, no) = (lit(ctx.nf), lit(ctx.ng), lit(forest.num_outputs()));
    let Parts {
        name,
        vis,
        header,
        base,
        row_setup,
        row_steps,
        finish,
        batch_methods,
        info,
        info_ident,
    } = p;
    let docs = header.iter().map(|l| quote!(#[doc = #l]));
    let margins_mut = if row_steps.is_empty() {
        quote!()
    } else {
        quote!(mut)
    };
    quote! {
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
                #row_setup
                #(#row_steps)*
                m
            }

            /// Predictions for one row, after the objective's transform.
            #[inline]
            pub fn predict_row(x: &[#ity; #nf]) -> [#fty; #no] {
                Self::finish(Self::margins(x))
            }

            #finish
        }

        #[doc(hidden)]
        static #info_ident: #rt::ModelInfo = #info;

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

            #batch_methods
        }
    }
}

/// Statements computing a row's keys `keys` from `x`, for the data layouts.
pub(crate) fn keys_setup(ctx: &Ctx) -> TokenStream {
    let (rt, ity) = (&ctx.rt, &ctx.ity);
    let nk = lit(2 * ctx.nf);
    quote! {
        let mut keys = [<#ity as #rt::KeyFloat>::Key::default(); #nk];
        #rt::row_keys(x, &mut keys);
    }
}

/// The `Model` batch methods of a model with data layouts: blocks of rows through the
/// runtime's batch engine, `block_steps` adding the model's trees in order.
pub(crate) fn batch_methods(
    ctx: &Ctx,
    base: &[TokenStream],
    block_steps: &[TokenStream],
    num_outputs: usize,
) -> TokenStream {
    let (rt, ity, fty) = (&ctx.rt, &ctx.ity, &ctx.fty);
    let (nf, ng, no) = (lit(ctx.nf), lit(ctx.ng), lit(num_outputs));
    quote! {
        fn predict_margin_batch(&self, rows: &[#ity], margins: &mut [#fty]) {
            #rt::batch::score(#nf, &[#(#base),*], rows, margins, #ng, |b| { #(#block_steps)* }, |m, o| o.copy_from_slice(m));
        }

        fn predict_batch(&self, rows: &[#ity], out: &mut [#fty]) {
            #rt::batch::score(#nf, &[#(#base),*], rows, out, #no, |b| { #(#block_steps)* }, |m, o| {
                let m: [#fty; #ng] = m.try_into().expect("one margin per group");
                o.copy_from_slice(&Self::finish(m));
            });
        }
    }
}

/// `finish`: the average (when the model averages its trees), then the objective's
/// transform, from margins to predictions.
pub(crate) fn finish(ctx: &Ctx, forest: &Forest) -> TokenStream {
    let (rt, fty, ng, no) = (&ctx.rt, &ctx.fty, lit(ctx.ng), lit(forest.num_outputs()));
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
    let transform = match &forest.transform {
        Transform::Identity => quote!(m),
        Transform::Sigmoid => each(quote!(#rt::transform::xgb_sigmoid(*v))),
        Transform::Exp if forest.precision.f64_sum() => each(quote!(#rt::transform::exp_f64(*v))),
        Transform::Exp => each(quote!(#rt::transform::exp_f32(*v))),
        Transform::ExpF64 => each(quote!(#rt::transform::exp_via_f64(*v))),
        Transform::Hinge => each(quote!(#rt::transform::xgb_hinge(*v))),
        Transform::Logistic { scale } => {
            let scale = literal(*scale, true);
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
        Transform::JavaExpClamped => each(quote!(#rt::transform::h2o_exp(*v))),
        Transform::Probabilities(p) => probabilities(ctx, forest, p),
    };
    let doc = match forest.average_over {
        None => " The objective's transform, from margins to predictions.".to_string(),
        Some(n) => format!(
            " The average over {n}, then the objective's transform: from margins to predictions."
        ),
    };
    let in_place = match &forest.transform {
        Transform::Identity | Transform::ArgMax => false,
        Transform::Probabilities(p) => p.from.margins().is_none(),
        _ => true,
    };
    let m_mut = if in_place || average.is_some() {
        quote!(mut)
    } else {
        quote!()
    };
    quote! {
        #[doc = #doc]
        #[inline]
        fn finish(#m_mut m: [#fty; #ng]) -> [#fty; #no] {
            #average
            #transform
        }
    }
}

/// Class probabilities: one per class from the margins `m`, the correction, then all of them
/// or the last (H2O's `unifyPreds`).
fn probabilities(ctx: &Ctx, forest: &Forest, p: &Probabilities) -> TokenStream {
    let rt = &ctx.rt;
    let classes = p.from.classes(forest.num_groups());
    let p_mut = if p.correction.is_some() {
        quote!(mut)
    } else {
        quote!()
    };
    let compute = match p.from {
        ProbabilitiesFrom::JavaLogistic => {
            quote!(let #p_mut p = #rt::transform::h2o_logistic(m[0]);)
        }
        ProbabilitiesFrom::Complement => quote!(let #p_mut p = #rt::transform::complement(m[0]);),
        ProbabilitiesFrom::JavaSoftmax => quote! {
            #rt::transform::h2o_softmax(&mut m);
            let #p_mut p = m;
        },
        ProbabilitiesFrom::Normalized => quote! {
            #rt::transform::normalize_by_sum(&mut m);
            let #p_mut p = m;
        },
    };
    let correct = p.correction.as_ref().map(|factors| {
        let factors = factors.iter().map(|&f| literal(f, true));
        quote!(#rt::transform::correct_probabilities(&mut p, &[#(#factors),*]);)
    });
    let output = if p.last_only {
        let last = super::lit(classes - 1);
        quote!([p[#last]])
    } else {
        quote!(p)
    };
    quote! {
        #compute
        #correct
        #output
    }
}
