//! The node walks: one row through one tree ([`walk_row`]), and a batch's rows through each
//! tree with [`LANES`] walks in flight ([`Nodes::add_block`]).
//!
//! A step is a node record load, a key load and one comparison choosing a child. On a big
//! forest those loads miss the caches, so a batch walks [`LANES`] rows at once in lockstep,
//! with no branch that depends on one walk, and the CPU overlaps their misses.

use super::{Nodes, SpecialKind, TreeRef, LEAF, SPECIAL};
use crate::batch::{Block, BLOCK_ROWS};
use crate::float::{KeyFloat, SumFloat};
use core::ops::Range;

/// Walks in flight per tree in a batch.
pub const LANES: usize = 16;

impl<I: KeyFloat, O: SumFloat> Nodes<I, O> {
    /// Whether a special split sends value `x` to `a`.
    #[inline(never)]
    fn special_goes_a(&self, index: u64, x: I) -> bool {
        let sp = &self.specials[index as usize];
        let x = x.to_f64();
        match sp.kind {
            SpecialKind::Category | SpecialKind::CategoryTruncated => {
                if x.is_nan() {
                    return sp.default_a;
                }
                let code = if sp.kind == SpecialKind::Category {
                    crate::category::code(x)
                } else {
                    crate::category::code_truncated(x)
                };
                let word = (code / 32) as usize;
                let member = word < sp.bits_words as usize
                    && self.bits[sp.bits_offset as usize + word] & (1 << (code % 32)) != 0;
                member == sp.set_a
            }
            SpecialKind::ZeroBand => {
                // NaN fails `abs() > band`, so it joins the band on the default side.
                if x.abs() > sp.band {
                    x <= sp.threshold
                } else {
                    sp.default_a
                }
            }
            SpecialKind::Capped => {
                // NaN fails `x < cap`, so it joins the capped values on the default side.
                if x < sp.band {
                    if sp.or_equal {
                        x <= sp.threshold
                    } else {
                        x < sp.threshold
                    }
                } else {
                    sp.default_a
                }
            }
        }
    }

    /// One step from split `node`: the child the row takes. `key(f)` is the row's key of
    /// key feature `f`, `value(f)` its raw value of feature `f`.
    ///
    /// # Safety
    ///
    /// `node` is a node index of these (checked) arrays.
    #[inline(always)]
    unsafe fn step<const SPECIALS: bool>(
        &self,
        node: u32,
        key: impl Fn(usize) -> I::Key,
        value: impl Fn(usize) -> I,
    ) -> u32 {
        // SAFETY: `node` is in range (the caller's contract).
        let n = unsafe { self.nodes.get_unchecked(node as usize) };
        let a = if SPECIALS && n.feature & SPECIAL != 0 {
            self.special_goes_a(n.threshold.into(), value((n.feature & !SPECIAL) as usize))
        } else {
            key(n.feature as usize) < n.threshold
        };
        if a {
            n.a
        } else {
            n.b
        }
    }

    /// Adds the node trees `trees` (in order) to every row of `block`.
    ///
    /// # Panics
    ///
    /// When `trees` is out of range or the block is of another model (its feature or group
    /// count differs).
    pub fn add_block(&self, block: &mut Block<'_, I, O>, trees: Range<usize>) {
        assert!(
            block.num_features() == self.num_features && block.num_groups() == self.num_groups,
            "a block of another model"
        );
        for &tree in &self.trees[trees] {
            if tree.special {
                self.add_tree::<true>(block, tree);
            } else {
                self.add_tree::<false>(block, tree);
            }
        }
    }

    /// Adds one tree to every row of `block`, block by block, [`LANES`] rows at a time.
    fn add_tree<const SPECIALS: bool>(&self, block: &mut Block<'_, I, O>, tree: TreeRef) {
        let (nf, ng, len) = (self.num_features, self.num_groups, block.len());
        let key_block = 2 * nf * BLOCK_ROWS;
        let keys = block.keys();
        // The keys must cover every block (checked once; the walks index them unchecked).
        assert_eq!(keys.len(), block.blocks() * key_block, "block key buffer");
        let keys = keys.as_ptr();
        let (rows, acc) = block.rows_and_acc();
        for b in 0..len.div_ceil(BLOCK_ROWS) {
            let first = b * BLOCK_ROWS;
            let n = (len - first).min(BLOCK_ROWS);
            let row = |r: usize| &rows[(first + r) * nf..(first + r + 1) * nf];
            let acc_at = b * ng * BLOCK_ROWS;
            if tree.root & LEAF != 0 {
                for r in 0..n {
                    self.add_leaf(tree, tree.root & !LEAF, row(r), acc, acc_at + r, BLOCK_ROWS);
                }
                continue;
            }
            // SAFETY: block `b` exists, so its keys start inside the buffer.
            let kb = unsafe { keys.add(b * key_block) };
            for r0 in (0..n).step_by(LANES) {
                let lanes = (n - r0).min(LANES);
                // SAFETY: `kb` is block `b`'s keys and `r0 + lanes <= n <= BLOCK_ROWS`.
                let leaves = unsafe {
                    self.walk_lanes::<SPECIALS>(tree.root, kb, r0, lanes, |r, f| row(r)[f])
                };
                for (k, &leaf) in leaves.iter().enumerate().take(lanes) {
                    let r = r0 + k;
                    self.add_leaf(tree, leaf & !LEAF, row(r), acc, acc_at + r, BLOCK_ROWS);
                }
            }
        }
    }

    /// Walks rows `r0..r0 + lanes` of a block from `root` in lockstep, one level per round
    /// for every walk still going, until every walk has reached a leaf; returns the leaves
    /// (with the `LEAF` bit). No branch depends on a walk, so a walk ending does not stall
    /// the others (a mispredicted exit would throw away every load in flight); a lane whose
    /// walk has ended re-reads the root and keeps its leaf.
    ///
    /// # Safety
    ///
    /// `root` is a node of these (checked) arrays; `kb` points at a block's
    /// `2 * num_features * BLOCK_ROWS` keys; `r0 + lanes <= BLOCK_ROWS`.
    #[inline(always)]
    unsafe fn walk_lanes<const SPECIALS: bool>(
        &self,
        root: u32,
        kb: *const I::Key,
        r0: usize,
        lanes: usize,
        value: impl Fn(usize, usize) -> I,
    ) -> [u32; LANES] {
        // Lanes past `lanes` start at a leaf: they take no step.
        let mut state = [LEAF; LANES];
        state[..lanes].fill(root);
        loop {
            let mut all_leaves = LEAF;
            for (k, s) in state.iter_mut().enumerate() {
                let at_leaf = *s & LEAF != 0;
                let node = if at_leaf { root } else { *s };
                // Lanes past `lanes` read the last row (and discard the step).
                let r = r0 + k.min(lanes - 1);
                // SAFETY: `node` is `root` or a child that is not a leaf, a node of checked
                // arrays; key features are below `2 * num_features` and `r < BLOCK_ROWS`, so
                // the key lies in the block.
                let child = unsafe {
                    self.step::<SPECIALS>(node, |f| *kb.add(f * BLOCK_ROWS + r), |f| value(r, f))
                };
                *s = if at_leaf { *s } else { child };
                all_leaves &= *s;
            }
            if all_leaves & LEAF != 0 {
                return state;
            }
        }
    }
}

/// Walks one row through `tree`; returns the leaf's index.
#[inline]
pub(super) fn walk_row<I: KeyFloat, O: SumFloat>(
    nodes: &Nodes<I, O>,
    tree: TreeRef,
    row: &[I],
    keys: &[I::Key],
) -> u32 {
    let mut node = tree.root;
    while node & LEAF == 0 {
        // SAFETY: `node` is a node of checked arrays, whose key features are below
        // `2 * num_features == keys.len()` and raw features below `row.len()` (the caller
        // checked both lengths).
        node = unsafe {
            if tree.special {
                nodes.step::<true>(node, |f| *keys.get_unchecked(f), |f| row[f])
            } else {
                nodes.step::<false>(node, |f| *keys.get_unchecked(f), |f| row[f])
            }
        };
    }
    node & !LEAF
}
