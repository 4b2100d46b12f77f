//! The blob format of node arrays, and the checks that make them safe to walk without
//! bounds checks.
//!
//! A 64-byte header (magic `TMBN`, version, key bytes, value bytes, features, groups, then
//! the counts of trees, nodes, values, specials, bitset words, linear leaves and terms), then
//! 64-byte-aligned sections, all little-endian: per tree `(root, group, leaf kind, flags)` as
//! `u32`; the node records (`feature, a, b` as `u32`, then the threshold key, padded to the
//! key's alignment); the leaf values; the specials (`kind, flags, bits offset, bits words` as
//! `u32`, then threshold and band (or cap) as `f64`); the bitset words (`u32`); the linear leaves
//! (`constant, fallback, zero band` as `f64`, then `terms offset, terms len` as `u32`); the
//! terms (`feature` as `u32`, 4 bytes of padding, `coefficient` as `f64`).

use super::{LinearRec, NodeRec, Nodes, Special, SpecialKind, Term, TreeRef, LEAF, SPECIAL};
use crate::blob::{check_header, f64_at, section, u32_at};
use crate::float::{KeyFloat, SumFloat};
use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// The blob's first bytes.
pub const MAGIC: [u8; 4] = *b"TMBN";

/// The blob format version.
pub const VERSION: u32 = 1;

const HEADER_BYTES: usize = 64;
const ALIGN: usize = 64;

/// A child in the encoder's input, by the tree's own indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    /// Node `i` of the tree's `nodes`.
    Node(u32),
    /// Leaf `j` of the tree's `leaves`.
    Leaf(u32),
}

/// A split's test in the encoder's input.
#[derive(Debug, Clone, PartialEq)]
pub enum Test<K> {
    /// `keys[feature] < threshold` goes to `a` (`feature < 2 * num_features`).
    Key {
        /// The key index.
        feature: u32,
        /// The threshold key.
        threshold: K,
    },
    /// Category-code membership (see [`SpecialKind::Category`]).
    Category {
        /// The raw input feature.
        feature: u32,
        /// LightGBM's code (truncated toward zero first) instead of XGBoost's.
        truncate: bool,
        /// The set's codes.
        categories: Vec<u32>,
        /// Whether members go to `a`.
        set_a: bool,
        /// Whether a missing value goes to `a`.
        default_a: bool,
    },
    /// LightGBM's zero-as-missing split (see [`SpecialKind::ZeroBand`]).
    ZeroBand {
        /// The raw input feature.
        feature: u32,
        /// `x <= threshold` goes to `a`.
        threshold: f64,
        /// `|x| <= band` (and NaN) take the default side.
        band: f64,
        /// Whether the default side is `a`.
        default_a: bool,
    },
    /// H2O's numerical split on a level code (see [`SpecialKind::Capped`]).
    Capped {
        /// The raw input feature.
        feature: u32,
        /// `x < threshold` (or `<=`) goes to `a`.
        threshold: f64,
        /// Whether the test is `x <= threshold`.
        or_equal: bool,
        /// Values from the cap up (and NaN) take the default side.
        cap: f64,
        /// Whether the default side is `a`.
        default_a: bool,
    },
}

/// A split in the encoder's input.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec<K> {
    /// The test.
    pub test: Test<K>,
    /// The child taken when the test holds.
    pub a: Child,
    /// The other child.
    pub b: Child,
}

/// What a tree's leaves are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// One value, added to the tree's group.
    Scalar,
    /// One value per group.
    Vector,
    /// A linear model of the inputs, added to the tree's group.
    Linear,
}

/// A linear leaf in the encoder's input.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSpec {
    /// The constant term.
    pub constant: f64,
    /// The value when an input of a term is NaN.
    pub fallback: f64,
    /// Inputs this close to zero count as zero.
    pub zero_band: f64,
    /// `(raw feature, coefficient)`, added in this order.
    pub terms: Vec<(u32, f64)>,
}

/// A tree's leaves in the encoder's input.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaves<O> {
    /// One value each.
    Scalar(Vec<O>),
    /// `num_groups` values each.
    Vector(Vec<Vec<O>>),
    /// Linear models.
    Linear(Vec<LinearSpec>),
}

/// One tree as the encoder takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTree<K, O> {
    /// The output group scalar and linear leaves add to.
    pub group: u32,
    /// The root: a node, or a leaf for a one-leaf tree.
    pub root: Child,
    /// The splits.
    pub nodes: Vec<NodeSpec<K>>,
    /// The leaves.
    pub leaves: Leaves<O>,
}

/// Why a blob is not valid node arrays (a bug in the generator, or a blob for other
/// precisions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Timber node arrays: {0}")]
pub struct NodesError(String);

fn err<T>(what: impl Into<String>) -> Result<T, NodesError> {
    Err(NodesError(what.into()))
}

/// The `count` records of `stride` bytes from byte `start`, each read and checked by
/// `read(index, byte offset)`.
fn records<T>(
    count: usize,
    start: usize,
    stride: usize,
    mut read: impl FnMut(usize, usize) -> Result<T, NodesError>,
) -> Result<Vec<T>, NodesError> {
    (0..count).map(|i| read(i, start + stride * i)).collect()
}

/// Whether `len` items from `offset` lie inside an array of `count` (in `u64`, so the sum
/// cannot overflow).
fn within(offset: u32, len: u32, count: usize) -> bool {
    u64::from(offset) + u64::from(len) <= count as u64
}

/// Bytes of one node record with keys of `key_bytes`.
const fn node_bytes(key_bytes: usize) -> usize {
    if key_bytes == 4 {
        16
    } else {
        24
    }
}

/// One number per section of a blob: the header's counts of records, or where the sections
/// start.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    trees: usize,
    nodes: usize,
    values: usize,
    specials: usize,
    bits: usize,
    linear: usize,
    terms: usize,
}

/// Byte offsets of the sections of a blob, and its length.
#[derive(Debug, Clone, Copy)]
struct Sections {
    at: Counts,
    end: usize,
}

fn sections(c: Counts, key_bytes: usize, value_bytes: usize) -> Option<Sections> {
    let align = |v: usize| v.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN);
    let after = |at: usize, n: usize, size: usize| align(at.checked_add(n.checked_mul(size)?)?);
    let mut at = Counts {
        trees: HEADER_BYTES,
        ..Counts::default()
    };
    at.nodes = after(at.trees, c.trees, 16)?;
    at.values = after(at.nodes, c.nodes, node_bytes(key_bytes))?;
    at.specials = after(at.values, c.values, value_bytes)?;
    at.bits = after(at.specials, c.specials, 32)?;
    at.linear = after(at.bits, c.bits, 4)?;
    at.terms = after(at.linear, c.linear, 32)?;
    let end = at.terms.checked_add(c.terms.checked_mul(16)?)?;
    Some(Sections { at, end })
}

/// Writes the blob for `trees` (in model order) of a model with `num_features` inputs and
/// `num_groups` outputs.
///
/// # Panics
///
/// When a tree refers to a node or leaf it does not have, or the model is too large for the
/// format's 31-bit indices: the caller built it wrong.
pub fn encode<I: KeyFloat, O: SumFloat>(
    num_features: usize,
    num_groups: usize,
    trees: &[NodeTree<I::Key, O>],
) -> Vec<u8> {
    let mut tree_recs = Vec::with_capacity(trees.len());
    let mut nodes: Vec<(u32, u32, u32, I::Key)> = Vec::new();
    let mut values: Vec<O> = Vec::new();
    let mut specials: Vec<Special> = Vec::new();
    let mut bits: Vec<u32> = Vec::new();
    let mut linear: Vec<LinearRec> = Vec::new();
    let mut terms: Vec<Term> = Vec::new();
    let index = |v: usize| -> u32 {
        let v = u32::try_from(v).expect("index fits in u32");
        assert!(v < LEAF, "too many nodes or leaves for 31-bit indices");
        v
    };
    // Equal leaf values (or value vectors) are stored once: a fully grown classifier's
    // leaves are mostly the same few class distributions, and fewer distinct values keep
    // more of them in the cache.
    let mut distinct: BTreeMap<Vec<u64>, u32> = BTreeMap::new();
    for t in trees {
        let node_base = nodes.len();
        // Each leaf's global index: into `values` (scalar, vector) or `linear`.
        let leaf_index: Vec<u32> = match &t.leaves {
            Leaves::Scalar(v) => v
                .iter()
                .map(|&x| value_index(&mut distinct, &mut values, &[x], &index))
                .collect(),
            Leaves::Vector(v) => v
                .iter()
                .map(|x| {
                    assert_eq!(x.len(), num_groups, "a vector leaf has a value per group");
                    value_index(&mut distinct, &mut values, x, &index)
                })
                .collect(),
            Leaves::Linear(v) => (0..v.len()).map(|j| index(linear.len() + j)).collect(),
        };
        let kind = leaf_kind(&t.leaves);
        let child = |c: Child| match c {
            Child::Node(i) => {
                assert!((i as usize) < t.nodes.len(), "child node out of range");
                index(node_base + i as usize)
            }
            Child::Leaf(j) => LEAF | leaf_index[j as usize],
        };
        let mut special = false;
        for n in &t.nodes {
            let (a, b) = (child(n.a), child(n.b));
            let (feature, threshold) = match &n.test {
                Test::Key { feature, threshold } => (*feature, *threshold),
                Test::Category {
                    feature,
                    truncate,
                    categories,
                    set_a,
                    default_a,
                } => {
                    special = true;
                    let words = categories.iter().max().map_or(0, |&m| m as usize / 32 + 1);
                    let offset = bits.len();
                    bits.resize(offset + words, 0);
                    for &c in categories {
                        bits[offset + c as usize / 32] |= 1 << (c % 32);
                    }
                    specials.push(Special {
                        kind: if *truncate {
                            SpecialKind::CategoryTruncated
                        } else {
                            SpecialKind::Category
                        },
                        default_a: *default_a,
                        set_a: *set_a,
                        bits_offset: index(offset),
                        bits_words: index(words),
                        threshold: 0.0,
                        band: 0.0,
                        or_equal: false,
                    });
                    (SPECIAL | feature, special_key::<I>(specials.len() - 1))
                }
                Test::ZeroBand {
                    feature,
                    threshold,
                    band,
                    default_a,
                } => {
                    special = true;
                    specials.push(Special {
                        kind: SpecialKind::ZeroBand,
                        default_a: *default_a,
                        set_a: false,
                        bits_offset: 0,
                        bits_words: 0,
                        threshold: *threshold,
                        band: *band,
                        or_equal: false,
                    });
                    (SPECIAL | feature, special_key::<I>(specials.len() - 1))
                }
                Test::Capped {
                    feature,
                    threshold,
                    or_equal,
                    cap,
                    default_a,
                } => {
                    special = true;
                    specials.push(Special {
                        kind: SpecialKind::Capped,
                        default_a: *default_a,
                        set_a: false,
                        bits_offset: 0,
                        bits_words: 0,
                        threshold: *threshold,
                        band: *cap,
                        or_equal: *or_equal,
                    });
                    (SPECIAL | feature, special_key::<I>(specials.len() - 1))
                }
            };
            nodes.push((feature, a, b, threshold));
        }
        let root = child(t.root);
        match &t.leaves {
            Leaves::Scalar(_) | Leaves::Vector(_) => {}
            Leaves::Linear(v) => {
                for l in v {
                    linear.push(LinearRec {
                        constant: l.constant,
                        fallback: l.fallback,
                        zero_band: l.zero_band,
                        terms_offset: index(terms.len()),
                        terms_len: index(l.terms.len()),
                    });
                    terms.extend(l.terms.iter().map(|&(feature, coefficient)| Term {
                        feature,
                        coefficient,
                    }));
                }
            }
        }
        tree_recs.push([root, t.group, kind as u32, u32::from(special)]);
    }
    let counts = Counts {
        trees: trees.len(),
        nodes: nodes.len(),
        values: values.len(),
        specials: specials.len(),
        bits: bits.len(),
        linear: linear.len(),
        terms: terms.len(),
    };
    let s = sections(counts, I::KEY_BYTES, O::BYTES).expect("node arrays too large");
    let mut out = Vec::with_capacity(s.end);
    out.extend_from_slice(&MAGIC);
    let header = [
        VERSION,
        I::KEY_BYTES as u32,
        O::BYTES as u32,
        num_features as u32,
        num_groups as u32,
        counts.trees as u32,
        counts.nodes as u32,
        counts.values as u32,
        counts.specials as u32,
        counts.bits as u32,
        counts.linear as u32,
        counts.terms as u32,
    ];
    for v in header {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let u32s = |out: &mut Vec<u8>, vs: &[u32]| {
        for v in vs {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    let f64s = |out: &mut Vec<u8>, vs: &[f64]| {
        for v in vs {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    out.resize(s.at.trees, 0);
    for t in &tree_recs {
        u32s(&mut out, t);
    }
    out.resize(s.at.nodes, 0);
    for &(feature, a, b, threshold) in &nodes {
        u32s(&mut out, &[feature, a, b]);
        if I::KEY_BYTES == 8 {
            out.extend_from_slice(&[0; 4]);
        }
        I::key_to_le(threshold, &mut out);
    }
    out.resize(s.at.values, 0);
    for v in &values {
        v.value_to_le(&mut out);
    }
    out.resize(s.at.specials, 0);
    for sp in &specials {
        let kind = match sp.kind {
            SpecialKind::Category => 0,
            SpecialKind::CategoryTruncated => 1,
            SpecialKind::ZeroBand => 2,
            SpecialKind::Capped => 3,
        };
        let flags =
            u32::from(sp.default_a) | u32::from(sp.set_a) << 1 | u32::from(sp.or_equal) << 2;
        u32s(&mut out, &[kind, flags, sp.bits_offset, sp.bits_words]);
        f64s(&mut out, &[sp.threshold, sp.band]);
    }
    out.resize(s.at.bits, 0);
    u32s(&mut out, &bits);
    out.resize(s.at.linear, 0);
    for l in &linear {
        f64s(&mut out, &[l.constant, l.fallback, l.zero_band]);
        u32s(&mut out, &[l.terms_offset, l.terms_len]);
    }
    out.resize(s.at.terms, 0);
    for t in &terms {
        u32s(&mut out, &[t.feature, 0]);
        f64s(&mut out, &[t.coefficient]);
    }
    debug_assert_eq!(out.len(), s.end);
    out
}

/// The index in `values` of a leaf's values `x`, appending them if no earlier leaf had the
/// same (bit for bit).
fn value_index<O: SumFloat>(
    distinct: &mut BTreeMap<Vec<u64>, u32>,
    values: &mut Vec<O>,
    x: &[O],
    index: &impl Fn(usize) -> u32,
) -> u32 {
    let bits: Vec<u64> = x.iter().map(|v| v.to_f64().to_bits()).collect();
    *distinct.entry(bits).or_insert_with(|| {
        let at = index(values.len());
        values.extend_from_slice(x);
        at
    })
}

fn leaf_kind<O>(leaves: &Leaves<O>) -> LeafKind {
    match leaves {
        Leaves::Scalar(_) => LeafKind::Scalar,
        Leaves::Vector(_) => LeafKind::Vector,
        Leaves::Linear(_) => LeafKind::Linear,
    }
}

/// A special's index, stored in a node's threshold key.
fn special_key<I: KeyFloat>(i: usize) -> I::Key {
    let mut bytes = Vec::with_capacity(8);
    bytes.extend_from_slice(&(i as u64).to_le_bytes());
    I::key_from_le(&bytes[..I::KEY_BYTES])
}

impl<I: KeyFloat, O: SumFloat> Nodes<I, O> {
    /// Checks a blob written by [`encode`] and maps it (the nodes and values without copying
    /// when the blob is 64-byte aligned, e.g. wrapped in
    /// [`Aligned`](crate::tables::Aligned), on a little-endian machine).
    ///
    /// The checks are what lets the kernels index without bounds checks and stop: every
    /// child is a node of the blob or a leaf of its tree's kind; every node is reached from
    /// exactly one tree's root, once (so every walk ends); every key index is below
    /// `2 * num_features`, every raw feature below `num_features`, every group below
    /// `num_groups`; specials, bitsets, linear leaves and terms lie inside their arrays.
    pub fn new(blob: &'static [u8]) -> Result<Self, NodesError> {
        let header = check_header(
            blob,
            MAGIC,
            HEADER_BYTES,
            "node",
            VERSION,
            I::KEY_BYTES,
            O::BYTES,
        )
        .map_err(NodesError)?;
        let (nf, ng) = (header(3), header(4));
        let c = Counts {
            trees: header(5),
            nodes: header(6),
            values: header(7),
            specials: header(8),
            bits: header(9),
            linear: header(10),
            terms: header(11),
        };
        let Some(s) = sections(c, I::KEY_BYTES, O::BYTES) else {
            return err("sizes overflow");
        };
        if blob.len() != s.end {
            return err(format!("{} bytes, expected {}", blob.len(), s.end));
        }
        let nodes =
            node_section::<I>(&blob[s.at.nodes..s.at.nodes + c.nodes * node_bytes(I::KEY_BYTES)]);
        let values = section(
            &blob[s.at.values..s.at.values + c.values * O::BYTES],
            O::value_from_le,
        );
        let specials = records(c.specials, s.at.specials, 32, |i, at| {
            let kind = match u32_at(blob, at) {
                0 => SpecialKind::Category,
                1 => SpecialKind::CategoryTruncated,
                2 => SpecialKind::ZeroBand,
                3 => SpecialKind::Capped,
                k => return err(format!("special {i}: unknown kind {k}")),
            };
            let flags = u32_at(blob, at + 4);
            let sp = Special {
                kind,
                default_a: flags & 1 != 0,
                set_a: flags & 2 != 0,
                bits_offset: u32_at(blob, at + 8),
                bits_words: u32_at(blob, at + 12),
                threshold: f64_at(blob, at + 16),
                band: f64_at(blob, at + 24),
                or_equal: flags & 4 != 0,
            };
            let has_bits = matches!(
                sp.kind,
                SpecialKind::Category | SpecialKind::CategoryTruncated
            );
            if has_bits && !within(sp.bits_offset, sp.bits_words, c.bits) {
                return err(format!("special {i}: bitset out of range"));
            }
            Ok(sp)
        })?;
        let bits = (0..c.bits)
            .map(|i| u32_at(blob, s.at.bits + 4 * i))
            .collect();
        let linear = records(c.linear, s.at.linear, 32, |i, at| {
            let l = LinearRec {
                constant: f64_at(blob, at),
                fallback: f64_at(blob, at + 8),
                zero_band: f64_at(blob, at + 16),
                terms_offset: u32_at(blob, at + 24),
                terms_len: u32_at(blob, at + 28),
            };
            if !within(l.terms_offset, l.terms_len, c.terms) {
                return err(format!("linear leaf {i}: terms out of range"));
            }
            Ok(l)
        })?;
        let terms = records(c.terms, s.at.terms, 16, |i, at| {
            let t = Term {
                feature: u32_at(blob, at),
                coefficient: f64_at(blob, at + 8),
            };
            if t.feature as usize >= nf {
                return err(format!("term {i}: feature out of range"));
            }
            Ok(t)
        })?;
        let mut seen = vec![false; c.nodes];
        let mut trees = Vec::with_capacity(c.trees);
        for t in 0..c.trees {
            let at = s.at.trees + 16 * t;
            let (root, group) = (u32_at(blob, at), u32_at(blob, at + 4));
            let leaves = match u32_at(blob, at + 8) {
                0 => LeafKind::Scalar,
                1 => LeafKind::Vector,
                2 => LeafKind::Linear,
                k => return err(format!("tree {t}: unknown leaf kind {k}")),
            };
            if group as usize >= ng {
                return err(format!("tree {t}: group {group} out of range"));
            }
            let leaf_ok = |leaf: u32| {
                let j = (leaf & !LEAF) as usize;
                match leaves {
                    LeafKind::Scalar => j < c.values,
                    LeafKind::Vector => j.checked_add(ng).is_some_and(|e| e <= c.values),
                    LeafKind::Linear => j < c.linear,
                }
            };
            // Every node reached from the root once, none shared with another tree.
            let mut special = false;
            let mut span = (u32::MAX, 0);
            let mut stack = vec![root];
            while let Some(child) = stack.pop() {
                if child & LEAF != 0 {
                    if !leaf_ok(child) {
                        return err(format!("tree {t}: leaf {} out of range", child & !LEAF));
                    }
                    continue;
                }
                let i = child as usize;
                if i >= c.nodes || seen[i] {
                    return err(format!("tree {t}: node {i} out of range or reached twice"));
                }
                seen[i] = true;
                span = (span.0.min(child), span.1.max(child + 1));
                let n = nodes[i];
                if n.feature & SPECIAL == 0 {
                    if n.feature as usize >= 2 * nf {
                        return err(format!("node {i}: feature out of range"));
                    }
                } else {
                    special = true;
                    let index: u64 = n.threshold.into();
                    if (n.feature & !SPECIAL) as usize >= nf || index >= c.specials as u64 {
                        return err(format!("node {i}: special feature or index out of range"));
                    }
                }
                stack.push(n.a);
                stack.push(n.b);
            }
            trees.push(TreeRef {
                root,
                group,
                leaves,
                special,
                span: (span.0.min(span.1), span.1),
            });
        }
        Ok(Nodes {
            num_features: nf,
            num_groups: ng,
            trees,
            nodes,
            values,
            specials,
            bits,
            linear,
            terms,
        })
    }
}

/// The node records: borrowed when the bytes are aligned little-endian, else decoded.
fn node_section<I: KeyFloat>(bytes: &'static [u8]) -> Cow<'static, [NodeRec<I::Key>]> {
    let size = node_bytes(I::KEY_BYTES);
    debug_assert_eq!(core::mem::size_of::<NodeRec<I::Key>>(), size);
    if cfg!(target_endian = "little") {
        // SAFETY: `NodeRec<K>` is `repr(C)` of `u32`s and `K` (`u32` or `u64`): every bit
        // pattern is a valid value (its padding may hold any bytes), and `align_to` only
        // reinterprets the aligned middle part.
        let (head, mid, tail) = unsafe { bytes.align_to::<NodeRec<I::Key>>() };
        if head.is_empty() && tail.is_empty() {
            return Cow::Borrowed(mid);
        }
    }
    Cow::Owned(
        bytes
            .chunks_exact(size)
            .map(|b| NodeRec {
                feature: u32_at(b, 0),
                a: u32_at(b, 4),
                b: u32_at(b, 8),
                threshold: I::key_from_le(&b[size - I::KEY_BYTES..]),
            })
            .collect(),
    )
}
