//! The blob format of bit-vector trees, and the checks that make them safe to score without
//! bounds checks.
//!
//! A 64-byte header (magic `TMBQ`, version, key bytes, value bytes, features, groups, trees,
//! splits, values, chunks), then 64-byte-aligned sections, all little-endian: per tree
//! `(group, first value, leaves, 0)` as `u32`; per chunk `(first tree, trees)` as `u32`;
//! the split offsets (where each chunk of trees' splits on
//! each key feature start, `2 * features` per chunk, then the end, as `u32`); the splits'
//! threshold keys, their masks (`u64`) and their trees within the chunk (`u32`); the leaf
//! values.

use super::{ChunkRef, Quick, TreeRef, CHUNK_TREES, MAX_LEAVES};
use crate::blob::{check_header, section, u32_at};
use crate::float::{KeyFloat, SumFloat};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The blob's first bytes.
pub const MAGIC: [u8; 4] = *b"TMBQ";

/// The blob format version.
pub const VERSION: u32 = 1;

const HEADER_BYTES: usize = 64;
const ALIGN: usize = 64;

/// A split in the encoder's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split<K> {
    /// The key feature (`< 2 * num_features`).
    pub feature: u32,
    /// A row whose key is below it goes to `a`.
    pub threshold: K,
    /// The tree's leaves a row going to `b` can still reach: every bit but those of the
    /// leaves under `a`.
    pub mask: u64,
}

/// One tree as the encoder takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickTree<K, O> {
    /// The output group its leaves add to.
    pub group: u32,
    /// Its leaf values, left to right (`a` sides first), at most [`MAX_LEAVES`].
    pub leaves: Vec<O>,
    /// Its splits, in any order.
    pub splits: Vec<Split<K>>,
}

/// Why a blob is not valid bit-vector trees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Timber bit-vector trees: {0}")]
pub struct QuickError(String);

fn err<T>(what: impl Into<String>) -> Result<T, QuickError> {
    Err(QuickError(what.into()))
}

/// Byte offsets of the sections of a blob.
struct Sections {
    trees: usize,
    chunks: usize,
    offsets: usize,
    thresholds: usize,
    masks: usize,
    split_trees: usize,
    values: usize,
    end: usize,
}

fn sections(
    trees: usize,
    chunks: usize,
    offsets: usize,
    splits: usize,
    values: usize,
    key_bytes: usize,
    value_bytes: usize,
) -> Option<Sections> {
    let align = |v: usize| v.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN);
    let after = |at: usize, n: usize, size: usize| align(at.checked_add(n.checked_mul(size)?)?);
    let t = HEADER_BYTES;
    let ch = after(t, trees, 16)?;
    let o = after(ch, chunks, 8)?;
    let th = after(o, offsets, 4)?;
    let m = after(th, splits, key_bytes)?;
    let st = after(m, splits, 8)?;
    let v = after(st, splits, 4)?;
    let end = v.checked_add(values.checked_mul(value_bytes)?)?;
    Some(Sections {
        trees: t,
        chunks: ch,
        offsets: o,
        thresholds: th,
        masks: m,
        split_trees: st,
        values: v,
        end,
    })
}

/// Writes the blob for `runs` of trees (in model order; each run the trees a generated model
/// adds with one [`Quick::add_block`] call, so chunks never straddle two runs) of a model
/// with `num_features` inputs and `num_groups` outputs.
///
/// # Panics
///
/// When a tree has no leaf or more than [`MAX_LEAVES`], or a split's feature is out of
/// range: the caller built it wrong.
pub fn encode<I: KeyFloat, O: SumFloat>(
    num_features: usize,
    num_groups: usize,
    runs: &[Vec<QuickTree<I::Key, O>>],
) -> Vec<u8> {
    let nk = 2 * num_features;
    let mut offsets = Vec::new();
    let mut chunks: Vec<(u32, u32)> = Vec::new();
    // (threshold, mask, tree within chunk), chunk by chunk, feature by feature.
    let mut splits: Vec<(I::Key, u64, u32)> = Vec::new();
    let mut first_tree = 0u32;
    for chunk in runs.iter().flat_map(|run| run.chunks(CHUNK_TREES)) {
        chunks.push((first_tree, chunk.len() as u32));
        first_tree += chunk.len() as u32;
        let mut by_feature: Vec<Vec<(I::Key, u64, u32)>> = (0..nk).map(|_| Vec::new()).collect();
        for (t, tree) in chunk.iter().enumerate() {
            assert!(
                (1..=MAX_LEAVES).contains(&tree.leaves.len()),
                "a tree has 1 to 64 leaves"
            );
            for s in &tree.splits {
                by_feature[s.feature as usize].push((s.threshold, s.mask, t as u32));
            }
        }
        for list in &mut by_feature {
            list.sort_by_key(|s| s.0);
            offsets.push(splits.len() as u32);
            splits.extend_from_slice(list);
        }
    }
    offsets.push(splits.len() as u32);
    let trees: Vec<&QuickTree<I::Key, O>> = runs.iter().flatten().collect();
    let values: Vec<O> = trees
        .iter()
        .flat_map(|t| t.leaves.iter().copied())
        .collect();
    let s = sections(
        trees.len(),
        chunks.len(),
        offsets.len(),
        splits.len(),
        values.len(),
        I::KEY_BYTES,
        O::BYTES,
    )
    .expect("bit-vector trees too large");
    let mut out = Vec::with_capacity(s.end);
    out.extend_from_slice(&MAGIC);
    for v in [
        VERSION,
        I::KEY_BYTES as u32,
        O::BYTES as u32,
        num_features as u32,
        num_groups as u32,
        trees.len() as u32,
        splits.len() as u32,
        values.len() as u32,
        chunks.len() as u32,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.resize(s.trees, 0);
    let mut first_value = 0u32;
    for t in &trees {
        for v in [t.group, first_value, t.leaves.len() as u32, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        first_value += t.leaves.len() as u32;
    }
    out.resize(s.chunks, 0);
    for &(first, n) in &chunks {
        out.extend_from_slice(&first.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.resize(s.offsets, 0);
    for o in &offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.resize(s.thresholds, 0);
    for sp in &splits {
        I::key_to_le(sp.0, &mut out);
    }
    out.resize(s.masks, 0);
    for sp in &splits {
        out.extend_from_slice(&sp.1.to_le_bytes());
    }
    out.resize(s.split_trees, 0);
    for sp in &splits {
        out.extend_from_slice(&sp.2.to_le_bytes());
    }
    out.resize(s.values, 0);
    for v in &values {
        v.value_to_le(&mut out);
    }
    debug_assert_eq!(out.len(), s.end);
    out
}

impl<I: KeyFloat, O: SumFloat> Quick<I, O> {
    /// Checks a blob written by [`encode`] and maps it (without copying when it is 64-byte
    /// aligned on a little-endian machine).
    ///
    /// The checks — offsets in order and inside the splits, every split's tree inside its
    /// chunk, every tree's values inside the value array and its group below `num_groups`
    /// — are what lets the kernels index without bounds checks.
    pub fn new(blob: &'static [u8]) -> Result<Self, QuickError> {
        let header = check_header(
            blob,
            MAGIC,
            HEADER_BYTES,
            "bit-vector",
            VERSION,
            I::KEY_BYTES,
            O::BYTES,
        )
        .map_err(QuickError)?;
        let (nf, ng, nt, ns, nv) = (header(3), header(4), header(5), header(6), header(7));
        let nc = header(8);
        let no = nc.checked_mul(2 * nf).and_then(|n| n.checked_add(1));
        let Some(s) = no.and_then(|no| sections(nt, nc, no, ns, nv, I::KEY_BYTES, O::BYTES)) else {
            return err("sizes overflow");
        };
        if blob.len() != s.end {
            return err(format!("{} bytes, expected {}", blob.len(), s.end));
        }
        let mut trees = Vec::with_capacity(nt);
        for t in 0..nt {
            let at = s.trees + 16 * t;
            let (group, values, leaves) = (
                u32_at(blob, at),
                u32_at(blob, at + 4),
                u32_at(blob, at + 8) as usize,
            );
            if group as usize >= ng
                || !(1..=MAX_LEAVES).contains(&leaves)
                || values as usize + leaves > nv
            {
                return err(format!("tree {t}: bad group, leaves or values"));
            }
            trees.push(TreeRef {
                group,
                values,
                init: u64::MAX >> (64 - leaves),
            });
        }
        let no = nc * 2 * nf + 1;
        let offsets: Vec<u32> = (0..no).map(|i| u32_at(blob, s.offsets + 4 * i)).collect();
        if offsets.first().is_some_and(|&o| o != 0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().is_some_and(|&o| o as usize != ns)
        {
            return err("split offsets out of order");
        }
        let split_trees = section(&blob[s.split_trees..s.split_trees + 4 * ns], |b| {
            u32_at(b, 0)
        });
        let per_chunk = 2 * nf;
        let mut chunks = Vec::with_capacity(nc);
        let mut next = 0usize;
        for c in 0..nc {
            let at = s.chunks + 8 * c;
            let (first, n) = (u32_at(blob, at) as usize, u32_at(blob, at + 4) as usize);
            if first != next || !(1..=CHUNK_TREES).contains(&n) {
                return err(format!("chunk {c}: bad first tree or size"));
            }
            next += n;
            let range = offsets[c * per_chunk] as usize..offsets[(c + 1) * per_chunk] as usize;
            if split_trees[range].iter().any(|&t| t as usize >= n) {
                return err(format!("chunk {c}: split of a tree outside the chunk"));
            }
            chunks.push(ChunkRef {
                first: first as u32,
                trees: n as u32,
            });
        }
        if next != nt {
            return err("chunks do not cover the trees");
        }
        Ok(Quick {
            num_features: nf,
            num_groups: ng,
            trees,
            chunks,
            offsets,
            thresholds: section(
                &blob[s.thresholds..s.thresholds + I::KEY_BYTES * ns],
                I::key_from_le,
            ),
            masks: section(&blob[s.masks..s.masks + 8 * ns], |b| {
                u64::from_le_bytes(b.try_into().unwrap_or_default())
            }),
            split_trees,
            values: section(&blob[s.values..s.end], O::value_from_le),
            tree_splits: Vec::new(),
            by_tree: Vec::new(),
        }
        .index_by_tree())
    }
}
