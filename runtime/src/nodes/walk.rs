//! The node walks: one row through one tree ([`walk_row`]), and a batch's rows through each
//! tree with [`LANES`] walks in flight ([`Nodes::add_block`]).
//!
//! A step is a node record load, a key load and one comparison choosing a child. On a big
//! forest those loads miss the caches, so a batch keeps several independent walks going at
//! once and the CPU overlaps their misses; a lane whose walk reaches a leaf adds it and takes
//! the next row of the block, so short and long paths waste no steps of each other.

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

    /// Adds one tree to every row of `block`, block by block.
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
            // Lanes 0..active hold (node, row) walks in flight; rows are handed out in order.
            let mut node = [tree.root; LANES];
            let mut lane_row = [0usize; LANES];
            let mut active = n.min(LANES);
            for (k, r) in lane_row.iter_mut().enumerate().take(active) {
                *r = k;
            }
            let mut next = active;
            while active > 0 {
                let mut k = 0;
                while k < active {
                    let r = lane_row[k];
                    // SAFETY: `node[k]` is a node (leaves leave the lanes) of checked arrays;
                    // key feature `f < 2nf` (checked) and `r < BLOCK_ROWS`, so the key is in
                    // the block.
                    let child = unsafe {
                        self.step::<SPECIALS>(
                            node[k],
                            |f| *kb.add(f * BLOCK_ROWS + r),
                            |f| row(r)[f],
                        )
                    };
                    if child & LEAF == 0 {
                        node[k] = child;
                        k += 1;
                        continue;
                    }
                    self.add_leaf(tree, child & !LEAF, row(r), acc, acc_at + r, BLOCK_ROWS);
                    if next < n {
                        node[k] = tree.root;
                        lane_row[k] = next;
                        next += 1;
                        k += 1;
                    } else {
                        // The lane is done: the last active lane takes its place.
                        active -= 1;
                        node[k] = node[active];
                        lane_row[k] = lane_row[active];
                    }
                }
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
