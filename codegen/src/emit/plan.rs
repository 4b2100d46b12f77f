//! Planning: which layout each tree gets, and how nested trees are spread over chunks.
//!
//! Trees keep the model's order: the plan is a list of runs of consecutive trees that share
//! a layout ([`Segment`]), and generated code adds the runs in that order, so the margins
//! are summed exactly as the training library sums them whatever the mix of layouts.

use super::{nodes, quick, tables, Layout};
use crate::ir::{Forest, Tree};
use std::ops::Range;

/// Nodes per chunk of nested trees (one module, and one file when written to disk).
pub const CHUNK_NODES: usize = 4096;

/// A run of consecutive trees in one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Trees (IR indices) stored as complete-tree tables.
    Tables(Range<usize>),
    /// Trees (IR indices) stored as node arrays.
    Nodes(Range<usize>),
    /// Trees (IR indices) stored as QuickScorer bit vectors.
    Quick(Range<usize>),
    /// Trees (IR indices) emitted as nested `if`/`else`, in chunks of at most
    /// [`CHUNK_NODES`] nodes (a bigger tree alone).
    Nested(Vec<Range<usize>>),
}

/// A tree's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tables,
    Quick,
    Nodes,
    Nested,
}

/// The layouts of a model's trees.
pub(crate) struct Plan {
    /// The float type of the model's tables, or why it has none.
    pub table_type: Result<tables::TableType, &'static str>,
    /// The trees as runs of one layout, in model order.
    pub segments: Vec<Segment>,
}

/// Plans `forest` for `layout`:
///
/// - [`Layout::Auto`]: complete tables for every tree they hold ([`tables::eligible`], in
///   models that can have tables at all: [`tables::model_tables`]), QuickScorer bit vectors
///   for the other trees of at most 64 leaves ([`quick::eligible`]), node arrays for the
///   rest;
/// - [`Layout::Tables`]: tables where they apply, node arrays for the rest;
/// - [`Layout::Quick`]: bit vectors where they apply, node arrays for the rest;
/// - [`Layout::Nodes`]: node arrays for every tree;
/// - [`Layout::Nested`]: nested `if`/`else` for every tree.
///
/// Trees no data layout holds (mixed leaf kinds, which no format writes) are nested.
pub(crate) fn plan(forest: &Forest, layout: Layout) -> Plan {
    let table_type = match layout {
        Layout::Auto | Layout::Tables => tables::model_tables(forest),
        Layout::Quick => Err("bit vectors asked for"),
        Layout::Nodes => Err("node arrays asked for"),
        Layout::Nested => Err("nested layout asked for"),
    };
    let quick = matches!(layout, Layout::Auto | Layout::Quick);
    let kind = |tree: &Tree| {
        if table_type.is_ok() && tables::eligible(tree) {
            Kind::Tables
        } else if quick && quick::eligible(tree) {
            Kind::Quick
        } else if layout != Layout::Nested && nodes::eligible(tree) {
            Kind::Nodes
        } else {
            Kind::Nested
        }
    };
    let mut runs: Vec<(Kind, Range<usize>)> = Vec::new();
    for (t, tree) in forest.trees.iter().enumerate() {
        let k = kind(tree);
        match runs.last_mut() {
            Some((last, r)) if *last == k => r.end = t + 1,
            _ => runs.push((k, t..t + 1)),
        }
    }
    let segments = runs
        .into_iter()
        .map(|(kind, range)| match kind {
            Kind::Tables => Segment::Tables(range),
            Kind::Quick => Segment::Quick(range),
            Kind::Nodes => Segment::Nodes(range),
            Kind::Nested => Segment::Nested(chunk_trees(forest, range)),
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
