//! The QuickScorer bit-vector layout (see `timber_runtime::quick`): trees of at most 64
//! leaves whose splits are all numerical, scored feature by feature with bit masks instead
//! of walks. Leaves are numbered depth first with each split's `a` side (its key
//! comparison's true side, [`super::keys`]) first; a split's mask clears the leaves under
//! `a`.

use super::keys::{key_split, EmitFloat};
use super::{lit, Ctx};
use crate::ir::{Leaf, Node, Precision, Test, Tree};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::ops::Range;
use timber_runtime::quick::{encode, QuickTree, Split, MAX_LEAVES};

/// Whether the layout can hold `tree`: numerical splits, scalar leaves, at most 64 leaves.
pub fn eligible(tree: &Tree) -> bool {
    let mut leaves = 0;
    for n in &tree.nodes {
        match n {
            Node::Split(s) if !matches!(s.test, Test::Numerical { .. }) => return false,
            Node::Leaf(Leaf::Scalar(_)) => leaves += 1,
            Node::Leaf(_) => return false,
            Node::Split(_) => {}
        }
    }
    leaves <= MAX_LEAVES
}

/// The encoder's input for an [`eligible`] tree, with inputs `I` and sums `O`.
pub(crate) fn quick_tree<I: EmitFloat, O: EmitFloat>(
    tree: &Tree,
    nf: usize,
) -> QuickTree<I::Key, O> {
    let weight = tree.weight.map(O::from_ir);
    let mut out = QuickTree {
        group: tree.group as u32,
        leaves: Vec::new(),
        splits: Vec::new(),
    };
    // Depth first, `a` before `b`, iteratively. A split's mask is known once its `a`
    // subtree's leaves are numbered: `Close` marks that point.
    enum Step {
        Visit(usize),
        Close {
            feature: u32,
            threshold: usize,
            first_leaf: usize,
        },
    }
    let mut thresholds = Vec::new();
    let mut stack = vec![Step::Visit(0)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Visit(n) => match &tree.nodes[n] {
                Node::Leaf(Leaf::Scalar(v)) => {
                    let v = O::from_ir(*v);
                    out.leaves.push(weight.map_or(v, |w| v * w));
                }
                Node::Split(s) => {
                    let Test::Numerical {
                        threshold,
                        comparison,
                    } = &s.test
                    else {
                        unreachable!("eligible() admits numerical splits only");
                    };
                    let k = key_split::<I>(s, *threshold, *comparison, nf);
                    thresholds.push(k.threshold);
                    stack.push(Step::Visit(k.b));
                    stack.push(Step::Close {
                        feature: k.feature,
                        threshold: thresholds.len() - 1,
                        first_leaf: out.leaves.len(),
                    });
                    stack.push(Step::Visit(k.a));
                }
                Node::Leaf(_) => unreachable!("eligible() admits scalar leaves only"),
            },
            Step::Close {
                feature,
                threshold,
                first_leaf,
            } => {
                let under_a = out.leaves.len() - first_leaf;
                let bits = (u64::MAX >> (64 - under_a)) << first_leaf;
                out.splits.push(Split {
                    feature,
                    threshold: thresholds[threshold],
                    mask: !bits,
                });
            }
        }
    }
    out
}

/// A model's bit-vector blob, as generated code embeds it.
#[derive(Debug, Clone)]
pub struct QuickBlob {
    /// The blob.
    pub bytes: Vec<u8>,
    /// The input float type.
    pub input: TokenStream,
    /// The sum float type.
    pub sum: TokenStream,
}

impl QuickBlob {
    /// The blob of `runs` (the model's bit-vector trees, run by run, in order).
    pub(crate) fn new(ctx: &Ctx, runs: &[Vec<&Tree>]) -> QuickBlob {
        fn build<I: EmitFloat, O: EmitFloat>(runs: &[Vec<&Tree>], nf: usize, ng: usize) -> Vec<u8> {
            let runs: Vec<Vec<_>> = runs
                .iter()
                .map(|run| run.iter().map(|t| quick_tree::<I, O>(t, nf)).collect())
                .collect();
            encode::<I, O>(nf, ng, &runs)
        }
        let bytes = match ctx.precision {
            Precision::F32 => build::<f32, f32>(runs, ctx.nf, ctx.ng),
            Precision::F64 => build::<f64, f64>(runs, ctx.nf, ctx.ng),
            Precision::F32InF64Sum => build::<f32, f64>(runs, ctx.nf, ctx.ng),
        };
        QuickBlob {
            bytes,
            input: ctx.ity.clone(),
            sum: ctx.fty.clone(),
        }
    }

    /// `static QUICK` in the model's private module: the blob (`value`, an
    /// `&Aligned<[u8]>` expression), checked on first use.
    pub(crate) fn static_item(&self, rt: &TokenStream, value: TokenStream) -> TokenStream {
        let (i, o) = (&self.input, &self.sum);
        quote! {
            /// The bit-vector trees' bytes (see `timber_runtime::quick`).
            const QUICK_BLOB: &#rt::tables::Aligned<[u8]> = #value;
            /// The bit-vector trees, checked on first use.
            pub(crate) static QUICK: #rt::quick::LazyQuick<#i, #o> = #rt::quick::LazyQuick::new(QUICK_BLOB);
        }
    }
}

/// Adds bit-vector trees `trees` (a run of the blob) to one row's margins `m`.
pub(crate) fn row_step(module: &Ident, trees: Range<usize>) -> TokenStream {
    let (a, b) = (lit(trees.start), lit(trees.end));
    quote!(#module::QUICK.get().add_row(#a..#b, &keys, &mut m);)
}

/// Adds bit-vector trees `trees` to a batch's blocks `b`.
pub(crate) fn block_step(module: &Ident, trees: Range<usize>) -> TokenStream {
    let (a, b) = (lit(trees.start), lit(trees.end));
    quote!(#module::QUICK.get().add_block(b, #a..#b);)
}
