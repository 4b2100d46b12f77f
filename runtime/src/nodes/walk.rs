//! The node walks: one row through a window of trees ([`walk_trees`]), and a batch's rows
//! through each tree ([`Nodes::add_block`]), [`LANES`] walks in flight either way.
//!
//! A step is a node record load, a key load and one comparison choosing a child. On a big
//! forest those loads miss the caches, so a batch walks [`LANES`] rows at once in lockstep,
//! with no branch that depends on one walk, and the CPU overlaps their misses. Every
//! [`ROUNDS`] rounds, a lane whose walk is done takes the next row of the superblock, and
//! a few lines of the next tree's records are prefetched ([`Prefetch`]).
//!
//! Measured on a fully grown scikit-learn forest (100 trees, 1M nodes, batch, 1 thread):
//! lockstep until a group of 16 walks was done, 12.2 µs/row; refilled lanes, 8 lanes every
//! 2 rounds, 4.7 µs/row (16 lanes: 6.6; 32 lanes: 11.7 — more lanes than the out-of-order
//! window holds add instructions, not misses in flight).

use super::{NodeRec, Nodes, SpecialKind, TreeRef, LEAF, SPECIAL};
use crate::batch::{Block, BLOCK_ROWS, MAX_ROWS};
use crate::float::{KeyFloat, SumFloat};
use core::ops::Range;

/// Walks in flight per tree in a batch.
pub const LANES: usize = 8;

/// Lockstep rounds between refills: fewer refills cost branches, more leave finished lanes
/// idle.
const ROUNDS: usize = 2;

/// A lane without an item (a row, or a tree).
const NO_ITEM: usize = usize::MAX;

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
        let end = trees.end;
        for t in trees {
            let tree = self.trees[t];
            // The next tree's records, loaded into the cache while this tree is walked.
            let next = match self.trees.get(t + 1) {
                Some(n) if t + 1 < end => &self.nodes[n.span.0 as usize..n.span.1 as usize],
                _ => &[],
            };
            if tree.special {
                self.add_tree::<true>(block, tree, next);
            } else {
                self.add_tree::<false>(block, tree, next);
            }
        }
    }

    /// Adds one tree to every row of `block`: [`LANES`] walks in flight, a lane taking the
    /// next row of the whole superblock at the first refill after its walk reached a leaf,
    /// then every row's leaf added in row order (so each row's sum is in model order).
    ///
    /// Fully grown trees have leaves at every depth (5 to 55 on a scikit-learn forest); a
    /// lane that waited for the deepest walk of its group would idle most rounds, and a lane
    /// refilled on every step would branch on every step.
    fn add_tree<const SPECIALS: bool>(
        &self,
        block: &mut Block<'_, I, O>,
        tree: TreeRef,
        next: &[NodeRec<I::Key>],
    ) {
        let (nf, ng, len) = (self.num_features, self.num_groups, block.len());
        let key_block = 2 * nf * BLOCK_ROWS;
        let keys = block.keys();
        // The keys must cover every block (checked once; the walks index them unchecked).
        assert_eq!(keys.len(), block.blocks() * key_block, "block key buffer");
        assert!(len <= MAX_ROWS, "a superblock has at most {MAX_ROWS} rows");
        let keys = keys.as_ptr();
        let (rows, acc) = block.rows_and_acc();
        let acc_at = |r: usize| (r / BLOCK_ROWS) * ng * BLOCK_ROWS + r % BLOCK_ROWS;
        let row = |r: usize| &rows[r * nf..(r + 1) * nf];
        if tree.root & LEAF != 0 {
            for r in 0..len {
                self.add_leaf(tree, tree.root & !LEAF, row(r), acc, acc_at(r), BLOCK_ROWS);
            }
            return;
        }
        if len == 0 {
            return;
        }
        // `leaf[r]`: row `r`'s leaf once its walk is done.
        let mut leaf = [0u32; MAX_ROWS];
        // Each lane's walk (a row each) and its row's first key.
        let mut lanes = Lanes::new();
        let mut kp = [keys; LANES];
        let mut prefetch = Prefetch::new(next);
        loop {
            let busy = lanes.refill(
                len,
                |r, l| leaf[r] = l,
                |k, r| {
                    // SAFETY: `r < len <= blocks * BLOCK_ROWS`, so block `r / BLOCK_ROWS`
                    // exists and its keys start inside the buffer.
                    kp[k] = unsafe { keys.add((r / BLOCK_ROWS) * key_block + r % BLOCK_ROWS) };
                    tree.root
                },
            );
            if !busy {
                break;
            }
            prefetch.some();
            let (state, row_of) = (&mut lanes.state, &lanes.item);
            // Lockstep rounds: no branch depends on a walk (a mispredicted exit would throw
            // away every load in flight); a lane whose walk is done re-reads the root and
            // keeps its leaf until the next refill.
            for _ in 0..ROUNDS {
                for k in 0..LANES {
                    let s = state[k];
                    let at_leaf = s & LEAF != 0;
                    let node = if at_leaf { tree.root } else { s };
                    let p = kp[k];
                    // SAFETY: `node` is the root or a child that is not a leaf, a node of
                    // checked arrays; key features are below `2 * num_features`, so
                    // `f * BLOCK_ROWS` stays inside the block of the keys `p` points at.
                    let child = unsafe {
                        self.step::<SPECIALS>(
                            node,
                            |f| *p.add(f * BLOCK_ROWS),
                            |f| row(row_of[k].min(len - 1))[f],
                        )
                    };
                    state[k] = if at_leaf { s } else { child };
                }
            }
        }
        for (r, &l) in leaf.iter().enumerate().take(len) {
            self.add_leaf(tree, l & !LEAF, row(r), acc, acc_at(r), BLOCK_ROWS);
        }
    }
}

/// [`LANES`] walks in flight, each of one item (a row through a tree, or a tree for a row).
struct Lanes {
    /// Each lane's state: a node, or a leaf once its walk is done.
    state: [u32; LANES],
    /// Each lane's item (`NO_ITEM` when it has none left).
    item: [usize; LANES],
    /// The next item no lane has taken.
    next: usize,
}

impl Lanes {
    /// Lanes with no item yet.
    fn new() -> Lanes {
        Lanes {
            state: [LEAF; LANES],
            item: [NO_ITEM; LANES],
            next: 0,
        }
    }

    /// A lane whose walk is done hands in its leaf (`done(item, leaf)`) and takes the next of
    /// `len` items (`start(lane, item)` sets it up and gives its first state); returns
    /// whether any lane still has an item.
    #[inline(always)]
    fn refill(
        &mut self,
        len: usize,
        mut done: impl FnMut(usize, u32),
        mut start: impl FnMut(usize, usize) -> u32,
    ) -> bool {
        let mut busy = false;
        for k in 0..LANES {
            if self.state[k] & LEAF != 0 {
                if self.item[k] != NO_ITEM {
                    done(self.item[k], self.state[k]);
                    self.item[k] = NO_ITEM;
                }
                if self.next < len {
                    self.item[k] = self.next;
                    self.state[k] = start(k, self.next);
                    self.next += 1;
                }
            }
            busy |= self.item[k] != NO_ITEM;
        }
        busy
    }
}

/// Cache lines of the next tree's records a batch walk prefetches at each refill.
const PREFETCH_LINES: usize = 4;

/// A batch walk's prefetch of the next tree's node records, a few cache lines at each refill.
///
/// A batch walks each tree's nodes for a superblock of rows, then moves on; a forest of fully
/// grown trees (8 MB of records for 100 trees) does not stay in L2, so each tree's deep
/// records came from L3 at their first touch in a superblock, each miss stalling a walk. One
/// tree's walk lasts long enough to bring the next tree's records in at a few lines a refill.
/// Measured on the fully grown scikit-learn forest (batch, 1 thread, min / median of 5
/// interleaved runs): 4.36/4.87 µs/row without, 3.37/3.47 with (2 to 8 lines alike).
struct Prefetch {
    at: *const u8,
    end: *const u8,
}

impl Prefetch {
    /// A prefetch of `records`.
    fn new<K>(records: &[K]) -> Prefetch {
        let range = records.as_ptr_range();
        Prefetch {
            at: range.start.cast(),
            end: range.end.cast(),
        }
    }

    /// Prefetches the next [`PREFETCH_LINES`] lines, if any are left.
    #[inline(always)]
    fn some(&mut self) {
        for _ in 0..PREFETCH_LINES {
            if self.at >= self.end {
                return;
            }
            prefetch_line(self.at);
            self.at = self.at.wrapping_add(64);
        }
    }
}

/// Asks the CPU to bring the cache line at `p` into L2 (a hint: it never faults, whatever `p`
/// is, and reads nothing into the program).
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that cannot fault or change memory, on any address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Trees a single row walks [`LANES`] at a time before their leaves are added.
pub(super) const TREE_WINDOW: usize = 64;

/// Walks one row through each tree of `trees` (at most [`TREE_WINDOW`]), writing each tree's
/// leaf index to `leaves`: [`LANES`] walks in flight, a lane taking the next tree at the
/// first refill after its walk reached a leaf. One tree after another, a row of a fully
/// grown forest waits on every step's loads in turn; walks of different trees overlap them.
pub(super) fn walk_trees<I: KeyFloat, O: SumFloat>(
    nodes: &Nodes<I, O>,
    trees: &[TreeRef],
    row: &[I],
    keys: &[I::Key],
    leaves: &mut [u32],
) {
    debug_assert!(trees.len() <= TREE_WINDOW && leaves.len() == trees.len());
    let special = trees.iter().any(|t| t.special);
    // Each lane's walk: a tree each (one that is a leaf is done at once).
    let mut lanes = Lanes::new();
    loop {
        let busy = lanes.refill(
            trees.len(),
            |t, l| leaves[t] = l & !LEAF,
            |_, t| trees[t].root,
        );
        if !busy {
            return;
        }
        for _ in 0..ROUNDS {
            for s in &mut lanes.state {
                if *s & LEAF != 0 {
                    continue;
                }
                let node = *s;
                // SAFETY: `node` is a node of checked arrays, whose key features are below
                // `2 * num_features == keys.len()` and raw features below `row.len()` (the
                // caller checked both lengths).
                *s = unsafe {
                    if special {
                        nodes.step::<true>(node, |f| *keys.get_unchecked(f), |f| row[f])
                    } else {
                        nodes.step::<false>(node, |f| *keys.get_unchecked(f), |f| row[f])
                    }
                };
            }
        }
    }
}
