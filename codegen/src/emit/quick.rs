//! The QuickScorer bit-vector layout (see `timber_runtime::quick`): trees of at most 64
//! leaves whose splits are all numerical, scored feature by feature with bit masks instead
//! of walks. Leaves are numbered depth first with each split's `a` side (its key
//! comparison's true side, as the crate-private `emit::keys` rewrites it) first; a split's
//! mask clears the leaves under `a`.

use super::blob::{encode_in, BlobLayout, Encode, LayoutBlob};
use super::keys::{numerical_key_split, EmitFloat};
use super::Ctx;
use crate::ir::{Leaf, Node, Test, Tree};
use quote::quote;
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
                    let k = numerical_key_split::<I>(s, nf);
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

/// The bit-vector trees `runs` (the model's, run by run, in order), encoded by
/// [`quick_tree`].
struct QuickRuns<'a>(&'a [Vec<&'a Tree>]);

impl Encode for QuickRuns<'_> {
    fn encode<I: EmitFloat, O: EmitFloat>(&self, nf: usize, ng: usize) -> Vec<u8> {
        let runs: Vec<Vec<_>> = self
            .0
            .iter()
            .map(|run| run.iter().map(|t| quick_tree::<I, O>(t, nf)).collect())
            .collect();
        encode::<I, O>(nf, ng, &runs)
    }
}

/// The bit-vector blob of `runs` (the model's bit-vector trees, run by run, in order).
pub(crate) fn blob(ctx: &Ctx, runs: &[Vec<&Tree>]) -> LayoutBlob {
    let bytes = encode_in(ctx, &QuickRuns(runs));
    let (i, o) = (&ctx.ity, &ctx.fty);
    LayoutBlob::new(BlobLayout::Quick, bytes, quote!(#i, #o))
}
