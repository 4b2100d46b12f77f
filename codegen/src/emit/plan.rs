//! Planning: which layout each tree gets, and how nested trees are spread over chunks.
//!
//! Trees keep the model's order: the plan is a list of runs of consecutive trees that share
//! a layout ([`Segment`]), and generated code adds the runs in that order, so the margins
//! are summed exactly as the training library sums them whatever the mix of layouts.

use super::{tables, Layout};
use crate::ir::Forest;
use std::ops::Range;

/// Nodes per chunk of nested trees (one module, and one file when written to disk).
pub const CHUNK_NODES: usize = 4096;

/// A run of consecutive trees in one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Trees (IR indices) stored as complete-tree tables.
    Tables(Range<usize>),
    /// Trees (IR indices) emitted as nested `if`/`else`, in chunks of at most
    /// [`CHUNK_NODES`] nodes (a bigger tree alone).
    Nested(Vec<Range<usize>>),
}

/// The layouts of a model's trees.
pub(crate) struct Plan {
    /// The float type of the model's tables, or why it has none.
    pub table_type: Result<tables::TableType, &'static str>,
    /// The trees as runs of one layout, in model order.
    pub segments: Vec<Segment>,
}

/// Plans `forest` for `layout`: tables only for models that can have them at all
/// ([`tables::model_tables`]) and only for [`tables::eligible`] trees; nested code for the
/// rest.
pub(crate) fn plan(forest: &Forest, layout: Layout) -> Plan {
    let table_type = match layout {
        Layout::Auto => tables::model_tables(forest),
        Layout::Nested => Err("nested layout asked for"),
    };
    let mut runs: Vec<(bool, Range<usize>)> = Vec::new();
    for (t, tree) in forest.trees.iter().enumerate() {
        let table = table_type.is_ok() && tables::eligible(tree);
        match runs.last_mut() {
            Some((kind, r)) if *kind == table => r.end = t + 1,
            _ => runs.push((table, t..t + 1)),
        }
    }
    let segments = runs
        .into_iter()
        .map(|(table, range)| {
            if table {
                Segment::Tables(range)
            } else {
                Segment::Nested(chunk_trees(forest, range))
            }
        })
        .collect();
    Plan {
        table_type,
        segments,
    }
}

/// Consecutive runs of `trees`, each within the node budget (a bigger tree gets a chunk
/// alone).
fn chunk_trees(forest: &Forest, trees: Range<usize>) -> Vec<Range<usize>> {
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
