//! The nested layout: each tree as nested `if`/`else` with exact float literals, trees
//! grouped in chunk modules that add them to the margins in order.
//!
//! Each split becomes one comparison whose NaN behaviour routes a missing value to the
//! node's default side with no extra test: `x < t` is false for NaN, so a default-right
//! node tests `x < t` (left when true) and a default-left node tests `x >= t` (right when
//! true). Subtrees deeper than [`DEPTH_PER_FN`] below a function's root are moved into
//! functions of their own, so neither the generator nor rustc recurses without bound on a
//! degenerate (chain-shaped) tree.

use super::{lit, Ctx};
use crate::ir::{
    CategoryCode, Comparison, Forest, Leaf, LinearLeaf, Node, Side, Split, Test, Tree,
};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use std::ops::Range;

/// Levels of nesting per generated function.
const DEPTH_PER_FN: usize = 32;

/// What a tree's functions return: a scalar leaf value, or nothing (vector leaves add into
/// the margins directly).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Vector,
}

/// The shape of a tree's leaves.
fn shape(tree: &Tree) -> Shape {
    if tree
        .nodes
        .iter()
        .any(|n| matches!(n, Node::Leaf(Leaf::Vector(_))))
    {
        Shape::Vector
    } else {
        Shape::Scalar
    }
}

/// The name of chunk `i`'s module.
pub(crate) fn chunk_ident(i: usize) -> Ident {
    format_ident!("chunk_{:03}", i)
}

/// A chunk module's body: the functions of trees `range` and `add`, which adds them to one
/// row's margins in model order.
pub(crate) fn chunk(ctx: &Ctx, forest: &Forest, range: Range<usize>) -> TokenStream {
    let (fty, ity, nf, ng) = (&ctx.fty, &ctx.ity, lit(ctx.nf), lit(ctx.ng));
    let mut adds = Vec::new();
    let mut fns = Vec::new();
    for t in range {
        let tree = &forest.trees[t];
        fns.push(tree_fns(ctx, t, tree));
        let f = fn_name(t, 0);
        let g = lit(tree.group);
        adds.push(match (shape(tree), tree.weight) {
            (Shape::Scalar, None) => quote!(m[#g] += #f(x);),
            (Shape::Scalar, Some(w)) => {
                let w = ctx.float(w);
                quote!(m[#g] += #f(x) * #w;)
            }
            // Weighted vector leaves do not occur in any supported format.
            (Shape::Vector, _) => quote!(#f(x, m);),
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

/// Adds chunks `chunks` (their indices) to one row's margins `m`.
pub(crate) fn row_step(module: &Ident, chunks: Range<usize>) -> TokenStream {
    let calls = chunks.map(|i| {
        let c = chunk_ident(i);
        quote!(#module::#c::add(x, &mut m);)
    });
    quote!(#(#calls)*)
}

/// Adds chunks `chunks` to every row of a batch's block `b`, row by row.
pub(crate) fn block_step(ctx: &Ctx, module: &Ident, chunks: Range<usize>) -> TokenStream {
    let (fty, ity, nf, ng) = (&ctx.fty, &ctx.ity, lit(ctx.nf), lit(ctx.ng));
    let calls = chunks.map(|i| {
        let c = chunk_ident(i);
        quote!(#module::#c::add(x, m);)
    });
    quote! {
        b.rows(|x, m| {
            let x: &[#ity; #nf] = x.try_into().expect("block rows have the model's feature count");
            let m: &mut [#fty; #ng] = m.try_into().expect("block margins have the model's group count");
            #(#calls)*
        });
    }
}

/// The name of the function that scores tree `t` from `node`.
fn fn_name(t: usize, node: usize) -> Ident {
    let name = if node == 0 {
        format!("tree_{t}")
    } else {
        format!("tree_{t}_node_{node}")
    };
    Ident::new(&name, Span::call_site())
}

/// All functions for tree `t`: the root function and any outlined deep subtrees.
fn tree_fns(ctx: &Ctx, t: usize, tree: &Tree) -> TokenStream {
    let shape = shape(tree);
    let mut pending = vec![0usize];
    let mut fns = Vec::new();
    while let Some(root) = pending.pop() {
        let body = node_expr(ctx, t, tree, root, 0, shape, &mut pending);
        let name = fn_name(t, root);
        let (fty, ity, nf, ng) = (&ctx.fty, &ctx.ity, lit(ctx.nf), lit(ctx.ng));
        // A tree that is a single constant leaf does not read the row.
        let x = match &tree.nodes[root] {
            Node::Leaf(Leaf::Scalar(_) | Leaf::Vector(_)) => quote!(_x),
            _ => quote!(x),
        };
        fns.push(match shape {
            Shape::Scalar => quote! {
                #[inline]
                fn #name(#x: &[#ity; #nf]) -> #fty { #body }
            },
            Shape::Vector => quote! {
                #[inline]
                fn #name(#x: &[#ity; #nf], m: &mut [#fty; #ng]) { #body }
            },
        });
    }
    quote! { #(#fns)* }
}

fn node_expr(
    ctx: &Ctx,
    t: usize,
    tree: &Tree,
    n: usize,
    depth: usize,
    shape: Shape,
    pending: &mut Vec<usize>,
) -> TokenStream {
    if depth >= DEPTH_PER_FN && matches!(tree.nodes[n], Node::Split(_)) {
        pending.push(n);
        let name = fn_name(t, n);
        return match shape {
            Shape::Scalar => quote!(#name(x)),
            Shape::Vector => quote!(#name(x, m)),
        };
    }
    match &tree.nodes[n] {
        Node::Leaf(Leaf::Scalar(v)) => ctx.float(*v),
        Node::Leaf(Leaf::Linear(leaf)) => linear(ctx, leaf),
        Node::Leaf(Leaf::Vector(vs)) => {
            let adds = vs.iter().enumerate().map(|(g, v)| {
                let (g, value) = (lit(g), ctx.float(*v));
                quote!(m[#g] += #value;)
            });
            quote!({ #(#adds)* })
        }
        Node::Split(s) => {
            let (cond, then_side, else_side) = match condition(ctx, s) {
                Decision::Test(c, a, b) => (c, a, b),
                Decision::Always(side) => {
                    return node_expr(ctx, t, tree, s.child(side), depth + 1, shape, pending)
                }
            };
            let then_e = node_expr(ctx, t, tree, s.child(then_side), depth + 1, shape, pending);
            let else_e = node_expr(ctx, t, tree, s.child(else_side), depth + 1, shape, pending);
            quote!(if #cond { #then_e } else { #else_e })
        }
    }
}

enum Decision {
    /// `if cond { first } else { second }`.
    Test(TokenStream, Side, Side),
    /// The split cannot send any input the other way.
    Always(Side),
}

fn other(side: Side) -> Side {
    match side {
        Side::Left => Side::Right,
        Side::Right => Side::Left,
    }
}

fn condition(ctx: &Ctx, s: &Split) -> Decision {
    let f = lit(s.feature);
    let x = quote!(x[#f]);
    let default = if s.default_left {
        Side::Left
    } else {
        Side::Right
    };
    match &s.test {
        Test::Numerical {
            threshold,
            comparison,
        } => {
            let t = ctx.threshold(*threshold);
            // The comparison that is false for NaN must lead to the default side.
            match (comparison, default) {
                (Comparison::Less, Side::Right) => {
                    Decision::Test(quote!(#x < #t), Side::Left, Side::Right)
                }
                (Comparison::Less, Side::Left) => {
                    Decision::Test(quote!(#x >= #t), Side::Right, Side::Left)
                }
                (Comparison::LessOrEqual, Side::Right) => {
                    Decision::Test(quote!(#x <= #t), Side::Left, Side::Right)
                }
                (Comparison::LessOrEqual, Side::Left) => {
                    Decision::Test(quote!(#x > #t), Side::Right, Side::Left)
                }
            }
        }
        Test::Capped {
            threshold,
            comparison,
            cap,
        } => {
            // NaN fails `x < cap`, so it joins the capped values on the default side.
            let (t, cap) = (ctx.threshold(*threshold), ctx.threshold(*cap));
            let below = quote!(#x < #cap);
            match (comparison, default) {
                (Comparison::Less, Side::Right) => {
                    Decision::Test(quote!(#below && #x < #t), Side::Left, Side::Right)
                }
                (Comparison::Less, Side::Left) => {
                    Decision::Test(quote!(#below && #x >= #t), Side::Right, Side::Left)
                }
                (Comparison::LessOrEqual, Side::Right) => {
                    Decision::Test(quote!(#below && #x <= #t), Side::Left, Side::Right)
                }
                (Comparison::LessOrEqual, Side::Left) => {
                    Decision::Test(quote!(#below && #x > #t), Side::Right, Side::Left)
                }
            }
        }
        Test::ZeroAsMissing {
            threshold,
            zero_band,
        } => {
            // NaN fails `abs() > band`, so it joins the band on the default side.
            let (t, band) = (ctx.threshold(*threshold), ctx.threshold(*zero_band));
            let outside = quote!(#x.abs() > #band);
            match default {
                Side::Left => Decision::Test(quote!(#outside && #x > #t), Side::Right, Side::Left),
                Side::Right => {
                    Decision::Test(quote!(#outside && #x <= #t), Side::Left, Side::Right)
                }
            }
        }
        Test::Categorical {
            categories,
            set_side,
            code,
        } => {
            let away = other(*set_side);
            // NaN has no valid code, so it already goes `away`; test it only when its default
            // is the set's side.
            let nan_to_set = default == *set_side;
            if categories.is_empty() {
                return if nan_to_set {
                    Decision::Test(quote!(#x.is_nan()), *set_side, away)
                } else {
                    Decision::Always(away)
                };
            }
            let pattern = ranges(categories);
            let rt = &ctx.rt;
            let code = match code {
                CategoryCode::RejectNegative => quote!(#rt::category::code(#x)),
                CategoryCode::TruncateFirst => quote!(#rt::category::code_truncated(#x)),
            };
            let member = quote!(matches!(#code, #pattern));
            let cond = if nan_to_set {
                quote!(#x.is_nan() || #member)
            } else {
                member
            };
            Decision::Test(cond, *set_side, away)
        }
    }
}

/// A linear leaf: `constant + c0 * x0 + ...` added left to right, or the fallback value when an
/// input of a term is NaN.
fn linear(ctx: &Ctx, leaf: &LinearLeaf) -> TokenStream {
    let constant = ctx.float(leaf.constant);
    if leaf.terms.is_empty() {
        return constant;
    }
    let rt = &ctx.rt;
    let band = ctx.float(leaf.zero_band);
    let (features, products): (Vec<_>, Vec<_>) = leaf
        .terms
        .iter()
        .map(|&(f, c)| {
            let (f, c) = (lit(f), ctx.float(c));
            (
                quote!(x[#f].is_nan()),
                quote!((#c * #rt::linear::term_input(x[#f], #band))),
            )
        })
        .unzip();
    let fallback = ctx.float(leaf.fallback);
    quote! {
        if #(#features)||* { #fallback } else { #constant #(+ #products)* }
    }
}

/// A match pattern for a sorted set of codes, consecutive runs as ranges: `1 | 3..=5`.
fn ranges(codes: &[u32]) -> TokenStream {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < codes.len() {
        let start = codes[i];
        let mut end = start;
        while i + 1 < codes.len() && codes[i + 1] == end + 1 {
            i += 1;
            end = codes[i];
        }
        let (a, b) = (Literal::u32_unsuffixed(start), Literal::u32_unsuffixed(end));
        parts.push(if start == end {
            quote!(#a)
        } else {
            quote!(#a..=#b)
        });
        i += 1;
    }
    quote!(#(#parts)|*)
}
