//! The blob format: how a generated model stores its tables, and the checks that make them
//! safe to walk without bounds checks.
//!
//! A header (magic, version, bytes per value, features, groups, trees, slots), then
//! 64-byte-aligned sections: per tree `(slot offset, depth, group)` as `u32`, then every
//! tree's feature indices (`u32`), threshold keys and leaves, all little-endian. [`encode`]
//! writes it; [`Tables::new`] checks it and maps it, without copying when it is aligned.

use super::{TableFloat, Tables, TreeRef, MAX_DEPTH};
use crate::blob::{section, u32_at};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The blob's first bytes.
pub const MAGIC: [u8; 4] = *b"TMBT";

/// The blob format version.
pub const VERSION: u32 = 1;

const HEADER_BYTES: usize = 32;
const ALIGN: usize = 64;

/// One tree as the encoder takes it: `2^depth` slots of each array (slot 0 of `features`
/// and `thresholds` unused).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeTable<F: TableFloat> {
    /// The padded depth.
    pub depth: u32,
    /// The output group the tree adds to.
    pub group: u32,
    /// Heap slot -> key index (`f` for `x[f]`, `nf + f` for `-x[f]`).
    pub features: Vec<u32>,
    /// Heap slot -> threshold key: a row takes child `2i + 1` when its key is below.
    pub thresholds: Vec<F::Key>,
    /// Leaf values, left to right (already multiplied by any tree weight).
    pub leaves: Vec<F>,
}

/// Why a blob is not valid tables (a bug in the generator, or a blob for another precision).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Timber tables: {0}")]
pub struct TablesError(String);

fn err<T>(what: impl Into<String>) -> Result<T, TablesError> {
    Err(TablesError(what.into()))
}

/// Byte offsets of the sections of a blob.
#[derive(Debug, Clone, Copy)]
struct Sections {
    trees: usize,
    features: usize,
    thresholds: usize,
    leaves: usize,
    end: usize,
}

fn align_up(v: usize) -> Option<usize> {
    v.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN)
}

fn sections(num_trees: usize, num_slots: usize, bytes: usize) -> Option<Sections> {
    let trees = align_up(HEADER_BYTES)?;
    let features = align_up(trees.checked_add(num_trees.checked_mul(12)?)?)?;
    let thresholds = align_up(features.checked_add(num_slots.checked_mul(4)?)?)?;
    let leaves = align_up(thresholds.checked_add(num_slots.checked_mul(bytes)?)?)?;
    let end = leaves.checked_add(num_slots.checked_mul(bytes)?)?;
    Some(Sections {
        trees,
        features,
        thresholds,
        leaves,
        end,
    })
}

/// Writes the blob for `trees` (in model order).
///
/// # Panics
///
/// When a tree's arrays do not have `2^depth` entries or its depth exceeds [`MAX_DEPTH`]:
/// the caller built it wrong.
pub fn encode<F: TableFloat>(
    num_features: usize,
    num_groups: usize,
    trees: &[TreeTable<F>],
) -> Vec<u8> {
    for t in trees {
        assert!(t.depth <= MAX_DEPTH, "tree depth {} > {MAX_DEPTH}", t.depth);
        let slots = 1usize << t.depth;
        assert!(
            t.features.len() == slots && t.thresholds.len() == slots && t.leaves.len() == slots,
            "tree arrays must have 2^depth entries"
        );
    }
    let num_slots: usize = trees.iter().map(|t| 1usize << t.depth).sum();
    let lay = sections(trees.len(), num_slots, F::BYTES).expect("tables too large");
    let mut out = Vec::with_capacity(lay.end);
    out.extend_from_slice(&MAGIC);
    for v in [
        VERSION,
        F::BYTES as u32,
        num_features as u32,
        num_groups as u32,
        trees.len() as u32,
        num_slots as u32,
        0,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let pad = |out: &mut Vec<u8>, to: usize| out.resize(to, 0);
    pad(&mut out, lay.trees);
    let mut offset = 0u32;
    for t in trees {
        for v in [offset, t.depth, t.group] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        offset += 1 << t.depth;
    }
    pad(&mut out, lay.features);
    for t in trees {
        for &f in &t.features {
            out.extend_from_slice(&f.to_le_bytes());
        }
    }
    pad(&mut out, lay.thresholds);
    for t in trees {
        for &k in &t.thresholds {
            F::key_to_le(k, &mut out);
        }
    }
    pad(&mut out, lay.leaves);
    for t in trees {
        for &v in &t.leaves {
            v.value_to_le(&mut out);
        }
    }
    debug_assert_eq!(out.len(), lay.end);
    out
}

impl<F: TableFloat> Tables<F> {
    /// Checks a blob written by [`encode`] and maps it (without copying when it is 64-byte
    /// aligned, e.g. wrapped in [`Aligned`](crate::tables::Aligned), on a little-endian
    /// machine).
    ///
    /// The checks — every tree's slots lie inside the arrays, every feature index is below
    /// `2 * num_features`, every group below `num_groups` — are what lets the kernels index
    /// without bounds checks.
    pub fn new(blob: &'static [u8]) -> Result<Self, TablesError> {
        if blob.len() < HEADER_BYTES || blob[..4] != MAGIC {
            return err("not a Timber table blob");
        }
        if u32_at(blob, 4) != VERSION {
            return err(format!(
                "format version {} (expected {VERSION})",
                u32_at(blob, 4)
            ));
        }
        if u32_at(blob, 8) as usize != F::BYTES {
            return err(format!(
                "{}-byte values, but the model scores {}-byte floats",
                u32_at(blob, 8),
                F::BYTES
            ));
        }
        let num_features = u32_at(blob, 12) as usize;
        let num_groups = u32_at(blob, 16) as usize;
        let num_trees = u32_at(blob, 20) as usize;
        let num_slots = u32_at(blob, 24) as usize;
        let Some(lay) = sections(num_trees, num_slots, F::BYTES) else {
            return err("sizes overflow");
        };
        if blob.len() != lay.end {
            return err(format!("{} bytes, expected {}", blob.len(), lay.end));
        }
        let mut trees = Vec::with_capacity(num_trees);
        let mut next = 0usize;
        for t in 0..num_trees {
            let at = lay.trees + 12 * t;
            let (offset, depth, group) = (
                u32_at(blob, at) as usize,
                u32_at(blob, at + 4),
                u32_at(blob, at + 8) as usize,
            );
            if depth > MAX_DEPTH || offset != next || group >= num_groups {
                return err(format!("tree {t}: bad offset, depth or group"));
            }
            next += 1 << depth;
            trees.push(TreeRef {
                offset,
                depth,
                group,
            });
        }
        if next != num_slots {
            return err("slot count does not match the trees");
        }
        let features = section(&blob[lay.features..lay.features + 4 * num_slots], |b| {
            u32_at(b, 0)
        });
        let limit = 2 * num_features;
        for (t, tree) in trees.iter().enumerate() {
            // Slot 0 is never read.
            let slots = &features[tree.offset + 1..tree.offset + (1 << tree.depth)];
            if slots.iter().any(|&f| f as usize >= limit) {
                return err(format!("tree {t}: feature index out of range"));
            }
        }
        let thresholds = section(
            &blob[lay.thresholds..lay.thresholds + F::BYTES * num_slots],
            F::key_from_le,
        );
        let leaves = section(&blob[lay.leaves..lay.end], F::value_from_le);
        Ok(Tables {
            num_features,
            num_groups,
            trees,
            features,
            thresholds,
            leaves,
        })
    }
}
