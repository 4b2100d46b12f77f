//! Compressed trees (`trees/tCC_GGG.bin`) decoded into IR nodes, with H2O's routing rules
//! expressed as IR tests.
//!
//! A tree is serialised in pre-order (H2O's `DTree.compress`; read by
//! `SharedTreeMojoModel.scoreTree`), all numbers little-endian:
//!
//! ```text
//! split := u8 node_type, u16 column, u8 na_split_dir,
//!          payload (absent for NA-vs-rest: f32 threshold | 4-byte bitset |
//!                   u16 bit offset + (i32 bit count | u16 byte count before 1.20) + bytes),
//!          left subtree size (u8/u16/u24/i32, by node_type & 3; absent for a leaf),
//!          left (f32 leaf or split), right (f32 leaf or split)
//! stump := u8 0, u16 65535, f32 value   (a tree that is one leaf)
//! ```
//!
//! `node_type`: bits 0-1 the width of the left size, bits 2-3 the split kind (0 number,
//! 8 small bitset, 12 big bitset), bits 4-5 set for a leaf on the left, bits 6-7 on the right.
//!
//! Routing a value `x` at a split on column `c` (H2O >= 1.20; `code` is Java's `(int) x`):
//! missing — NaN; for bitsets, a code outside the bitset's range; for a categorical column
//! (domain of `dom` levels), `code >= dom` — goes to the NA side; otherwise numbers go right
//! when `x >= threshold` (equal goes right, the `f32` threshold widened to `f64`), codes go
//! right when their bit is set, and NA-vs-rest sends every non-missing value left. MOJO 1.10
//! has no domain rule; 1.00 also sends codes outside a bitset's range left (not to the NA
//! side). The IR tests below reproduce these rules for every `f64` input.

use crate::ir::{CategoryCode, Comparison, Leaf, Node, Side, Split, Test};
use timber_runtime::category::CATEGORY_LIMIT;

/// The MOJO format versions, as far as scoring tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Version {
    /// 1.00: big bitsets sized in bytes; codes outside a bitset go left.
    V100,
    /// 1.10: big bitsets sized in bytes; codes outside a bitset are missing.
    V110,
    /// 1.20, 1.30, 1.40: big bitsets sized in bits; codes past a categorical column's
    /// domain are missing too.
    V120,
}

/// What the decoder needs to know about the model.
pub(super) struct Columns<'a> {
    /// Per predictor: the domain size of a categorical column, `None` for a numerical one.
    pub domains: &'a [Option<usize>],
}

/// The stump marker: a column id that makes the whole tree one leaf.
const STUMP: u16 = 65535;

/// NA split directions (`NaSplitDir`).
const NA_VS_REST: u8 = 1;
const NA_LEFT: u8 = 2;
const LEFT: u8 = 4;

/// Decodes one tree; the error says what is wrong and at which byte.
pub(super) fn decode(
    bytes: &[u8],
    version: Version,
    cols: &Columns<'_>,
) -> Result<Vec<Node>, String> {
    let mut r = Reader { bytes, pos: 0 };
    let mut nodes = Vec::new();
    // Pending work, last first: decode a split into a slot, read a right child once the left
    // subtree is done, check a left subtree's recorded size.
    enum Task {
        Split { parent: Option<(usize, Side)> },
        Right { node: usize, leaf: bool },
        LeftSize { start: usize, size: usize },
    }
    let mut tasks = vec![Task::Split { parent: None }];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Split { parent } => {
                let start = r.pos;
                let node_type = r.u8()?;
                let column = r.u16()?;
                if column == STUMP {
                    if parent.is_some() {
                        return Err(format!(
                            "byte {start}: the stump marker (column 65535) below the root"
                        ));
                    }
                    nodes.push(leaf(r.f32()?, start)?);
                    continue;
                }
                let header = Header::read(&mut r, node_type, column, version, cols, start)?;
                let n = nodes.len();
                nodes.push(Node::Split(Split {
                    feature: usize::from(column),
                    test: header.test,
                    left: usize::MAX,
                    right: usize::MAX,
                    default_left: header.na_left,
                }));
                link(&mut nodes, parent, n);
                tasks.push(Task::Right {
                    node: n,
                    leaf: header.right_leaf,
                });
                match header.left_size {
                    None => {
                        let at = r.pos;
                        let l = nodes.len();
                        nodes.push(leaf(r.f32()?, at)?);
                        link(&mut nodes, Some((n, Side::Left)), l);
                    }
                    Some(size) => {
                        tasks.push(Task::LeftSize { start: r.pos, size });
                        tasks.push(Task::Split {
                            parent: Some((n, Side::Left)),
                        });
                    }
                }
            }
            Task::LeftSize { start, size } => {
                if r.pos - start != size {
                    return Err(format!(
                        "byte {start}: the left subtree takes {} bytes, but its split records {size}",
                        r.pos - start
                    ));
                }
            }
            Task::Right { node, leaf: true } => {
                let at = r.pos;
                let l = nodes.len();
                nodes.push(leaf(r.f32()?, at)?);
                link(&mut nodes, Some((node, Side::Right)), l);
            }
            Task::Right { node, leaf: false } => tasks.push(Task::Split {
                parent: Some((node, Side::Right)),
            }),
        }
    }
    if r.pos != bytes.len() {
        return Err(format!(
            "byte {}: {} bytes after the end of the tree",
            r.pos,
            bytes.len() - r.pos
        ));
    }
    Ok(nodes)
}

/// Points the parent's child slot at node `n`.
fn link(nodes: &mut [Node], parent: Option<(usize, Side)>, n: usize) {
    if let Some((p, side)) = parent {
        if let Node::Split(s) = &mut nodes[p] {
            match side {
                Side::Left => s.left = n,
                Side::Right => s.right = n,
            }
        }
    }
}

/// A leaf from its `f32` value, widened exactly.
fn leaf(v: f32, at: usize) -> Result<Node, String> {
    if !v.is_finite() {
        return Err(format!("byte {at}: leaf value {v} is not a finite number"));
    }
    Ok(Node::Leaf(Leaf::Scalar(f64::from(v))))
}

/// A split's header, up to its left child.
struct Header {
    test: Test,
    na_left: bool,
    /// The recorded byte size of the left subtree; `None` when the left child is a leaf.
    left_size: Option<usize>,
    right_leaf: bool,
}

impl Header {
    fn read(
        r: &mut Reader<'_>,
        node_type: u8,
        column: u16,
        version: Version,
        cols: &Columns<'_>,
        start: usize,
    ) -> Result<Header, String> {
        let at = |what: String| format!("byte {start}: {what}");
        let feature = usize::from(column);
        let domain = *cols.domains.get(feature).ok_or_else(|| {
            at(format!(
                "column {feature} is out of range (the model has {} predictors)",
                cols.domains.len()
            ))
        })?;
        let na = r.u8()?;
        if !(1..=5).contains(&na) {
            return Err(at(format!("NA split direction {na} (expected 1 to 5)")));
        }
        let na_left = na == NA_LEFT || na == LEFT;
        let kind = node_type & 0x0c;
        let left_mask = node_type & 0x33;
        let right_mask = (node_type & 0xc0) >> 2;
        // The domain rule: codes from the domain size up are missing (MOJO >= 1.20).
        let cap = domain.filter(|_| version >= Version::V120);
        let test = if na == NA_VS_REST {
            if kind != 0 {
                return Err(at(format!(
                    "an NA-vs-rest split with split kind {kind:#x} (H2O writes none)"
                )));
            }
            match cap {
                // Right only for NaN: `x <= inf` is true for every number, infinities too.
                None => Test::Numerical {
                    threshold: f64::INFINITY,
                    comparison: Comparison::LessOrEqual,
                },
                // Right for NaN and codes past the domain.
                Some(dom) => Test::Numerical {
                    threshold: dom as f64,
                    comparison: Comparison::Less,
                },
            }
        } else {
            match kind {
                0x00 => {
                    let t = r.f32()?;
                    if !t.is_finite() {
                        return Err(at(format!("split value {t} is not a finite number")));
                    }
                    numerical(f64::from(t), cap, na_left)
                }
                0x08 => {
                    let bits = r.take(4)?;
                    bitset(0, 32, bits, version, cap, na_left).map_err(at)?
                }
                0x0c => {
                    let offset = usize::from(r.u16()?);
                    let (nbits, nbytes) = if version >= Version::V120 {
                        let nbits = r.i32()?;
                        if nbits <= 0 {
                            return Err(at(format!("bitset of {nbits} bits")));
                        }
                        let nbits = nbits as usize;
                        (nbits, (nbits - 1) / 8 + 1)
                    } else {
                        let nbytes = usize::from(r.u16()?);
                        if nbytes == 0 {
                            return Err(at("bitset of 0 bytes".into()));
                        }
                        (nbytes * 8, nbytes)
                    };
                    let bits = r.take(nbytes)?;
                    bitset(offset, nbits, bits, version, cap, na_left).map_err(at)?
                }
                _ => {
                    return Err(at(
                        "an equality split (split kind 0x4, not written since H2O 3.10)".into(),
                    ))
                }
            }
        };
        let left_size = match left_mask {
            0x30 => None,
            0 => Some(usize::from(r.u8()?)),
            1 => Some(usize::from(r.u16()?)),
            2 => Some(r.u24()?),
            3 => Some(
                usize::try_from(r.i32()?).map_err(|_| at("negative left subtree size".into()))?,
            ),
            m => {
                return Err(at(format!(
                    "node type {node_type:#04x}: left mask {m:#x} (expected 0-3 or 0x30)"
                )))
            }
        };
        let right_leaf = match right_mask {
            0x30 => true,
            0 => false,
            m => {
                return Err(at(format!(
                    "node type {node_type:#04x}: right mask {m:#x} (expected 0 or 0x30)"
                )))
            }
        };
        Ok(Header {
            test,
            na_left,
            left_size,
            right_leaf,
        })
    }
}

/// `x >= t` goes right. With the domain rule (`cap`: the domain size), codes from `cap` up
/// are missing: with missing values going right that is `x < min(t, cap)` going left; going
/// left, a capped test.
fn numerical(t: f64, cap: Option<usize>, na_left: bool) -> Test {
    match cap {
        None => Test::Numerical {
            threshold: t,
            comparison: Comparison::Less,
        },
        Some(dom) if !na_left => Test::Numerical {
            threshold: t.min(dom as f64),
            comparison: Comparison::Less,
        },
        Some(dom) => Test::Capped {
            threshold: t,
            comparison: Comparison::Less,
            cap: dom as f64,
        },
    }
}

/// A bitset split as a set of codes. Codes (Java's `(int) x`: truncated toward zero) whose
/// bit is set go right, clear go left; from 1.10, codes outside `[offset, offset + nbits)`
/// (and, with the domain rule, from `cap` up) are missing. The set holds the codes going
/// away from the missing side, so every other value — missing, invalid, negative, out of
/// range — takes the missing side, as in H2O. In 1.00 codes outside the range go left: the
/// set is then the codes going right.
fn bitset(
    offset: usize,
    nbits: usize,
    bytes: &[u8],
    version: Version,
    cap: Option<usize>,
    na_left: bool,
) -> Result<Test, String> {
    let bit = |c: usize| (bytes[(c - offset) >> 3] >> ((c - offset) & 7)) & 1 == 1;
    let end = offset + nbits;
    let end = cap.map_or(end, |dom| end.min(dom));
    if end as f64 > CATEGORY_LIMIT {
        return Err(format!(
            "bitset up to code {end}: codes from 2^24 up are not supported"
        ));
    }
    // 1.00, or missing values going left: the set is the codes going right.
    let (set_side, goes) = if version == Version::V100 || na_left {
        (Side::Right, true)
    } else {
        (Side::Left, false)
    };
    let categories = (offset..end)
        .filter(|&c| bit(c) == goes)
        .map(|c| c as u32)
        .collect();
    Ok(Test::Categorical {
        categories,
        set_side,
        code: CategoryCode::TruncateFirst,
    })
}

/// Little-endian reads with byte positions in errors.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "byte {}: the tree ends early (needs {n} more bytes, has {})",
                self.pos,
                self.bytes.len() - self.pos
            ));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Result<usize, String> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self) -> Result<f32, String> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::ir::{Feature, FeatureKind, Forest, Origin, Precision, TextRule, Transform, Tree};
    use timber_runtime::Model;

    /// Both children leaves: -1 on the left, +1 on the right.
    const LEAVES: u8 = 0x30 | 0xc0;

    fn leaves(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes.extend((-1.0f32).to_le_bytes());
        bytes.extend(1.0f32.to_le_bytes());
        bytes
    }

    /// Where `x` goes in a one-split tree on a column with `domain` levels (`None`:
    /// numerical): -1 left, +1 right.
    fn route(bytes: &[u8], version: Version, domain: Option<usize>, x: f64) -> f64 {
        let nodes = decode(bytes, version, &Columns { domains: &[domain] }).unwrap();
        let kind = match domain {
            Some(n) => FeatureKind::Categorical {
                labels: (0..n).map(|i| format!("l{i}")).collect(),
            },
            None => FeatureKind::Numerical,
        };
        let forest = Forest {
            features: vec![Feature {
                name: "c".into(),
                kind,
                text: TextRule::H2o,
            }],
            trees: vec![Tree::new(nodes, 0)],
            base_margin: vec![0.0],
            transform: Transform::Identity,
            objective: "test".into(),
            precision: Precision::F64,
            has_feature_names: true,
            origin: Origin::default(),
            average_over: None,
        }
        .validated()
        .unwrap();
        let model = Interpreter::<f64, f64>::typed(forest).unwrap();
        let mut out = [0.0];
        model.predict(&[x], &mut out);
        out[0]
    }

    /// A big bitset over codes 8.. with codes 9 and 15 set: 12 bits from 1.20 on (a 32-bit
    /// bit count), 2 bytes (16 bits) before.
    fn bitset_tree(version: Version, na: u8) -> Vec<u8> {
        let mut b = vec![0x0c | LEAVES, 0, 0, na, 8, 0];
        if version >= Version::V120 {
            b.extend(12i32.to_le_bytes());
        } else {
            b.extend(2u16.to_le_bytes());
        }
        b.extend([0x82, 0x00]);
        leaves(b)
    }

    #[test]
    fn bitsets_route_codes_as_each_version_does() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        // (x, 1.20+, 1.10, 1.00) with missing values going right (NARight).
        let expected = [
            (9.0, 1.0, 1.0, 1.0),
            (9.7, 1.0, 1.0, 1.0),
            (10.0, -1.0, -1.0, -1.0),
            (15.0, 1.0, 1.0, 1.0),
            // Below the bitset's range: missing from 1.10 on, not in the set in 1.00.
            (5.0, 1.0, 1.0, -1.0),
            (-0.5, 1.0, 1.0, -1.0),
            (-3.0, 1.0, 1.0, -1.0),
            // Past the 12 bits but within the 2 bytes of 1.10's bitsets (a clear bit).
            (21.0, 1.0, -1.0, -1.0),
            (30.0, 1.0, 1.0, -1.0),
            // Past the domain (40 levels).
            (45.0, 1.0, 1.0, -1.0),
            (inf, 1.0, 1.0, -1.0),
            (nan, 1.0, 1.0, 1.0),
        ];
        for (x, v120, v110, v100) in expected {
            for (version, want) in [
                (Version::V120, v120),
                (Version::V110, v110),
                (Version::V100, v100),
            ] {
                let got = route(&bitset_tree(version, 3), version, Some(40), x);
                assert_eq!(got, want, "{version:?}, x = {x}");
            }
        }
        // Missing values going left (NALeft): out-of-range codes follow them.
        for (x, want) in [
            (9.0, 1.0),
            (10.0, -1.0),
            (5.0, -1.0),
            (30.0, -1.0),
            (nan, -1.0),
        ] {
            let got = route(&bitset_tree(Version::V120, 2), Version::V120, Some(40), x);
            assert_eq!(got, want, "NA left, x = {x}");
        }
        // A small bitset: 32 bits from code 0, codes 1 and 33 set (33 is out of range).
        let small = leaves(vec![0x08 | LEAVES, 0, 0, 3, 0b10, 0, 0, 0]);
        for (x, want) in [(1.0, 1.0), (0.0, -1.0), (31.0, -1.0), (33.0, 1.0)] {
            assert_eq!(route(&small, Version::V120, Some(64), x), want, "x = {x}");
        }
    }

    #[test]
    fn numerical_splits_on_level_codes_treat_codes_past_the_domain_as_missing() {
        let split = |na: u8, t: f32| {
            let mut b = vec![LEAVES, 0, 0, na];
            b.extend(t.to_le_bytes());
            leaves(b)
        };
        let inf = f64::INFINITY;
        // Missing left (a capped test): codes from 40 up go left too.
        for (x, v120, v110) in [
            (7.0, -1.0, -1.0),
            (7.5, 1.0, 1.0),
            (7.7, 1.0, 1.0),
            (39.9, 1.0, 1.0),
            (40.0, -1.0, 1.0),
            (1e9, -1.0, 1.0),
            (inf, -1.0, 1.0),
            (-2.0, -1.0, -1.0),
            (f64::NAN, -1.0, -1.0),
        ] {
            assert_eq!(
                route(&split(2, 7.5), Version::V120, Some(40), x),
                v120,
                "x = {x}"
            );
            assert_eq!(
                route(&split(2, 7.5), Version::V110, Some(40), x),
                v110,
                "x = {x}"
            );
        }
        // Missing right: codes from 40 up go right, even below a threshold past the domain.
        for (x, want) in [(7.0, -1.0), (39.5, 1.0), (40.0, 1.0), (-2.0, -1.0)] {
            assert_eq!(
                route(&split(3, 7.5), Version::V120, Some(40), x),
                want,
                "x = {x}"
            );
        }
        for (x, want) in [(39.0, -1.0), (45.0, 1.0), (55.0, 1.0)] {
            assert_eq!(
                route(&split(3, 50.0), Version::V120, Some(40), x),
                want,
                "x = {x}"
            );
        }
        assert_eq!(route(&split(3, 50.0), Version::V110, Some(40), 45.0), -1.0);
        // A numerical column: x >= t goes right, the f32 threshold compared as a double.
        let t = 0.1f32;
        let below = f64::from(t).next_down();
        assert_eq!(route(&split(3, t), Version::V120, None, below), -1.0);
        assert_eq!(route(&split(3, t), Version::V120, None, f64::from(t)), 1.0);
    }

    #[test]
    fn na_versus_rest_sends_only_missing_values_right() {
        let tree = leaves(vec![LEAVES, 0, 0, 1]);
        let inf = f64::INFINITY;
        for (x, want) in [(3.0, -1.0), (inf, -1.0), (-inf, -1.0), (f64::NAN, 1.0)] {
            assert_eq!(route(&tree, Version::V120, None, x), want, "x = {x}");
        }
        // On a categorical column, codes past the domain are missing too (from 1.20).
        for (x, v120, v110) in [
            (3.0, -1.0, -1.0),
            (39.9, -1.0, -1.0),
            (40.0, 1.0, -1.0),
            (inf, 1.0, -1.0),
            (-5.0, -1.0, -1.0),
            (f64::NAN, 1.0, 1.0),
        ] {
            assert_eq!(route(&tree, Version::V120, Some(40), x), v120, "x = {x}");
            assert_eq!(route(&tree, Version::V110, Some(40), x), v110, "x = {x}");
        }
    }

    #[test]
    fn stumps_and_skip_sizes() {
        let mut stump = vec![0, 0xff, 0xff];
        stump.extend(2.5f32.to_le_bytes());
        let nodes = decode(&stump, Version::V120, &Columns { domains: &[None] }).unwrap();
        assert_eq!(nodes, [Node::Leaf(Leaf::Scalar(2.5))]);
        // A split whose left child is a split: its size in a 2-byte field (node type | 1).
        let inner = leaves(vec![LEAVES, 0, 0, 3, 0, 0, 0, 0]);
        let mut outer = vec![0x01 | 0xc0, 0, 0, 3, 0, 0, 0, 0];
        outer.extend((inner.len() as u16).to_le_bytes());
        outer.extend(&inner);
        outer.extend(3.0f32.to_le_bytes());
        let nodes = decode(&outer, Version::V120, &Columns { domains: &[None] }).unwrap();
        assert_eq!(nodes.len(), 5);
        assert_eq!(route(&outer, Version::V120, None, 5.0), 3.0);
        assert_eq!(route(&outer, Version::V120, None, -5.0), -1.0);
    }
}
