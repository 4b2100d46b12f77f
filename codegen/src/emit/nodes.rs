//! The node-array layout (see `timber_runtime::nodes`): any tree as data, a record per
//! split, walked by the runtime's kernels. It holds everything the IR can express, so it is
//! the layout for every tree the complete tables cannot hold.
//!
//! Numerical splits become key comparisons (the crate-private `emit::keys` module has the
//! rules: `key(v) < key_t` on `x` or `-x`, true when a value is missing); categorical,
//! zero-as-missing and capped splits become the runtime's special splits with `a` the IR's
//! left child.
//! Nodes are laid out in depth-first order, the child with more cover (training data that
//! reached it) first, `a` when the tree has no cover: the path most rows take runs through
//! consecutive records, so a walk's next record is mostly in the cache line it just read
//! (a fully grown forest's deep nodes are cold, and each miss costs a walk ~L3 latency).

use super::blob::{encode_in, BlobLayout, Encode, LayoutBlob};
use super::keys::{key_split, EmitFloat};
use super::Ctx;
use crate::ir::{CategoryCode, Comparison, Leaf, Node, Side, Split, Test, Tree};
use quote::quote;
use timber_runtime::nodes::{
    encode, Child, Leaves, LinearSpec, NodeSpec, NodeTree, Test as NodeTest,
};

/// The runtime tree of IR tree `tree`, with inputs `I` and sums `O`, in a model of `nf`
/// features.
pub(crate) fn node_tree<I: EmitFloat, O: EmitFloat>(tree: &Tree, nf: usize) -> NodeTree<I::Key, O> {
    let weight = tree.weight.map(O::from_ir);
    let mut nodes: Vec<NodeSpec<I::Key>> = Vec::new();
    let mut scalar = Vec::new();
    let mut vector = Vec::new();
    let mut linear = Vec::new();
    // Depth first, likelier child first, iteratively: (IR node, where its parent's link goes).
    enum Link {
        Root,
        A(usize),
        B(usize),
    }
    let mut root = Child::Leaf(0);
    let mut stack = vec![(0usize, Link::Root)];
    while let Some((n, link)) = stack.pop() {
        let child = match &tree.nodes[n] {
            Node::Leaf(leaf) => {
                let j = (scalar.len() + vector.len() + linear.len()) as u32;
                match leaf {
                    Leaf::Scalar(v) => {
                        let v = O::from_ir(*v);
                        scalar.push(weight.map_or(v, |w| v * w));
                    }
                    Leaf::Vector(vs) => vector.push(vs.iter().map(|&v| O::from_ir(v)).collect()),
                    Leaf::Linear(l) => linear.push(LinearSpec {
                        constant: l.constant,
                        fallback: l.fallback,
                        zero_band: l.zero_band,
                        terms: l.terms.iter().map(|&(f, c)| (f as u32, c)).collect(),
                    }),
                }
                Child::Leaf(j)
            }
            Node::Split(s) => {
                let (test, a, b) = match &s.test {
                    Test::Numerical {
                        threshold,
                        comparison,
                    } => {
                        let k = key_split::<I>(s, *threshold, *comparison, nf);
                        let test = NodeTest::Key {
                            feature: k.feature,
                            threshold: k.threshold,
                        };
                        (test, k.a, k.b)
                    }
                    _ => (special_test(s), s.left, s.right),
                };
                let i = nodes.len();
                nodes.push(NodeSpec {
                    test,
                    a: Child::Leaf(0),
                    b: Child::Leaf(0),
                });
                // The child pushed last is popped (and so laid out) first.
                if tree.likelier(a, b) {
                    stack.push((a, Link::A(i)));
                    stack.push((b, Link::B(i)));
                } else {
                    stack.push((b, Link::B(i)));
                    stack.push((a, Link::A(i)));
                }
                Child::Node(i as u32)
            }
        };
        match link {
            Link::Root => root = child,
            Link::A(p) => nodes[p].a = child,
            Link::B(p) => nodes[p].b = child,
        }
    }
    // A tree's leaves are of one kind (the IR has no tree mixing them but allows it: the
    // emitter keeps such trees nested, see `eligible`).
    let leaves = if !vector.is_empty() {
        Leaves::Vector(vector)
    } else if !linear.is_empty() {
        Leaves::Linear(linear)
    } else {
        Leaves::Scalar(scalar)
    };
    NodeTree {
        group: tree.group as u32,
        root,
        nodes,
        leaves,
    }
}

/// The runtime test of a split that is not numerical: `a` is the IR's left child.
fn special_test<K>(s: &Split) -> NodeTest<K> {
    let (feature, default_a) = (s.feature as u32, s.default_left);
    match &s.test {
        Test::ZeroAsMissing {
            threshold,
            zero_band,
        } => NodeTest::ZeroBand {
            feature,
            threshold: *threshold,
            band: *zero_band,
            default_a,
        },
        Test::Capped {
            threshold,
            comparison,
            cap,
        } => NodeTest::Capped {
            feature,
            threshold: *threshold,
            or_equal: *comparison == Comparison::LessOrEqual,
            cap: *cap,
            default_a,
        },
        Test::Categorical {
            categories,
            set_side,
            code,
        } => NodeTest::Category {
            feature,
            truncate: *code == CategoryCode::TruncateFirst,
            categories: categories.clone(),
            set_a: *set_side == Side::Left,
            default_a,
        },
        Test::Numerical { .. } => unreachable!("numerical splits are key comparisons"),
    }
}

/// Whether the node layout can hold `tree`: any tree whose leaves are all of one kind.
pub fn eligible(tree: &Tree) -> bool {
    let kind = |l: &Leaf| match l {
        Leaf::Scalar(_) => 0,
        Leaf::Vector(_) => 1,
        Leaf::Linear(_) => 2,
    };
    let mut kinds = tree.nodes.iter().filter_map(|n| match n {
        Node::Leaf(l) => Some(kind(l)),
        Node::Split(_) => None,
    });
    let first = kinds.next();
    kinds.all(|k| Some(k) == first)
}

/// The node trees `trees` (the model's, in order), encoded by [`node_tree`].
struct NodeTrees<'a>(&'a [&'a Tree]);

impl Encode for NodeTrees<'_> {
    fn encode<I: EmitFloat, O: EmitFloat>(&self, nf: usize, ng: usize) -> Vec<u8> {
        let trees: Vec<_> = self.0.iter().map(|t| node_tree::<I, O>(t, nf)).collect();
        encode::<I, O>(nf, ng, &trees)
    }
}

/// The node blob of `trees` (the model's node trees, in order).
pub(crate) fn blob(ctx: &Ctx, trees: &[&Tree]) -> LayoutBlob {
    let bytes = encode_in(ctx, &NodeTrees(trees));
    let (i, o) = (&ctx.ity, &ctx.fty);
    LayoutBlob::new(BlobLayout::Nodes, bytes, quote!(#i, #o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Comparison;

    fn split(feature: usize, left: usize, right: usize) -> Node {
        Node::Split(Split {
            feature,
            test: Test::Numerical {
                threshold: 0.5,
                comparison: Comparison::LessOrEqual,
            },
            left,
            right,
            default_left: true,
        })
    }

    /// The raw feature each record tests, in layout order (key features past `nf` are the
    /// negated ones).
    fn features(t: &NodeTree<u32, f32>, nf: u32) -> Vec<u32> {
        let feature = |n: &NodeSpec<u32>| match n.test {
            NodeTest::Key { feature, .. } => feature % nf,
            _ => unreachable!("numerical splits only"),
        };
        t.nodes.iter().map(feature).collect()
    }

    #[test]
    fn the_child_with_more_cover_is_laid_out_next_to_its_parent() {
        // Node 0 tests feature 0; its left child (node 1) feature 1, its right (node 2)
        // feature 2; leaves 3 to 6.
        let leaf = |v| Node::Leaf(Leaf::Scalar(v));
        let nodes = vec![
            split(0, 1, 2),
            split(1, 3, 4),
            split(2, 5, 6),
            leaf(1.0),
            leaf(2.0),
            leaf(3.0),
            leaf(4.0),
        ];
        let tree = Tree::new(nodes, 0);
        let plain = node_tree::<f32, f32>(&tree, 3);
        let right_heavy = Some(vec![10.0, 2.0, 8.0, 1.0, 1.0, 4.0, 4.0]);
        let by_cover = node_tree::<f32, f32>(&tree.clone().with_cover(right_heavy), 3);
        assert_eq!(features(&plain, 3), [0, 1, 2]);
        assert_eq!(features(&by_cover, 3), [0, 2, 1]);
        // The same tree either way: the root's children only swap places in memory.
        let children = |t: &NodeTree<u32, f32>| (t.nodes[0].a, t.nodes[0].b);
        assert_eq!(children(&plain), (Child::Node(1), Child::Node(2)));
        assert_eq!(children(&by_cover), (Child::Node(2), Child::Node(1)));
    }
}
