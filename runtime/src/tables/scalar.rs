//! The portable kernels: several independent walks interleaved in plain code, so the CPU
//! overlaps their loads and comparisons instead of waiting on each level in turn.

use super::{TableFloat, Tables, TreeRef, BLOCK_ROWS};

/// Walks interleaved per call.
const LANES: usize = 8;

/// Walks `tree` for rows `r0..r0 + K` of a block; returns their leaf values.
///
/// # Safety
///
/// `t` passed [`Tables::new`], `tree` is one of its trees, `keys` points at a block's
/// `2 * num_features * BLOCK_ROWS` keys and `r0 + K <= BLOCK_ROWS`.
#[inline(always)]
unsafe fn walk_rows<F: TableFloat, const K: usize>(
    t: &Tables<F>,
    tree: TreeRef,
    keys: *const F::Key,
    r0: usize,
) -> [F; K] {
    let feat = t.features.as_ptr().add(tree.offset);
    let thr = t.thresholds.as_ptr().add(tree.offset);
    let mut i = [1usize; K];
    for _ in 0..tree.depth {
        for (k, i) in i.iter_mut().enumerate() {
            let n = *i;
            let x = *keys.add(*feat.add(n) as usize * BLOCK_ROWS + r0 + k);
            *i = 2 * n + usize::from(x < *thr.add(n));
        }
    }
    let leaves = t.leaves.as_ptr().add(tree.offset);
    let first = 1usize << tree.depth;
    std::array::from_fn(|k| *leaves.add(i[k] - first))
}

/// Adds `trees` to rows `0..len` of a block (`acc` is group-major, [`BLOCK_ROWS`] per group).
pub(super) fn add_block<F: TableFloat>(
    t: &Tables<F>,
    trees: &[TreeRef],
    keys: &[F::Key],
    acc: &mut [F],
    len: usize,
) {
    assert!(
        keys.len() == 2 * t.num_features * BLOCK_ROWS
            && acc.len() == t.num_groups * BLOCK_ROWS
            && len <= BLOCK_ROWS,
        "block buffer sizes"
    );
    let kp = keys.as_ptr();
    for &tree in trees {
        let acc = &mut acc[tree.group * BLOCK_ROWS..(tree.group + 1) * BLOCK_ROWS];
        let mut r = 0;
        while r + LANES <= len {
            // SAFETY: checked above; `r + LANES <= len <= BLOCK_ROWS`.
            let v = unsafe { walk_rows::<F, LANES>(t, tree, kp, r) };
            for (a, v) in acc[r..r + LANES].iter_mut().zip(v) {
                *a += v;
            }
            r += LANES;
        }
        while r < len {
            // SAFETY: as above, one row.
            let [v] = unsafe { walk_rows::<F, 1>(t, tree, kp, r) };
            acc[r] += v;
            r += 1;
        }
    }
}

/// Walks `K` trees for one row (`keys` from `row_keys`); returns their leaf values.
///
/// # Safety
///
/// `t` passed [`Tables::new`], the trees are its own, `keys.len() == 2 * num_features`.
#[inline(always)]
unsafe fn walk_trees<F: TableFloat, const K: usize>(
    t: &Tables<F>,
    trees: &[TreeRef; K],
    keys: *const F::Key,
) -> [F; K] {
    let feat: [*const u32; K] = std::array::from_fn(|k| t.features.as_ptr().add(trees[k].offset));
    let thr: [*const F::Key; K] =
        std::array::from_fn(|k| t.thresholds.as_ptr().add(trees[k].offset));
    let depth = trees.iter().map(|t| t.depth).max().unwrap_or(0);
    let mut i = [1usize; K];
    for level in 0..depth {
        for k in 0..K {
            if level < trees[k].depth {
                let n = i[k];
                let x = *keys.add(*feat[k].add(n) as usize);
                i[k] = 2 * n + usize::from(x < *thr[k].add(n));
            }
        }
    }
    std::array::from_fn(|k| {
        *t.leaves
            .as_ptr()
            .add(trees[k].offset + i[k] - (1usize << trees[k].depth))
    })
}

/// Adds `trees` to one row's margins, in order.
pub(super) fn add_row<F: TableFloat>(
    t: &Tables<F>,
    trees: &[TreeRef],
    keys: &[F::Key],
    margins: &mut [F],
) {
    assert!(
        keys.len() == 2 * t.num_features && margins.len() == t.num_groups,
        "row buffer sizes"
    );
    let mut chunks = trees.chunks_exact(LANES);
    for chunk in &mut chunks {
        let chunk: &[TreeRef; LANES] = chunk.try_into().expect("chunks_exact");
        // SAFETY: checked above.
        let v = unsafe { walk_trees(t, chunk, keys.as_ptr()) };
        for (tree, v) in chunk.iter().zip(v) {
            margins[tree.group] += v;
        }
    }
    for tree in chunks.remainder() {
        // SAFETY: checked above.
        let [v] = unsafe { walk_trees(t, &[*tree], keys.as_ptr()) };
        margins[tree.group] += v;
    }
}
