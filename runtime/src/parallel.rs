//! Batch scoring on several threads.
//!
//! The rows are cut into contiguous pieces (whole blocks of
//! [`BLOCK_ROWS`] rows, about 8 pieces per thread), which scoped
//! threads — the calling thread among them — take one at a time and score with the model's
//! own batch method ([`Model::predict_batch`] / [`Model::predict_margin_batch`]), so a
//! thread slowed by other work on its core takes fewer pieces. Rows are independent, so the
//! results are exactly those of one call on all rows. Batches too small to be worth a thread
//! (fewer than [`MIN_ROWS_PER_THREAD`] rows per thread) use fewer threads.
//!
//! ```ignore
//! use timber_runtime::parallel;
//! parallel::predict_batch(&model, &rows, &mut out, parallel::available_threads());
//! ```

use crate::batch::BLOCK_ROWS;
use crate::model::Model;
use std::sync::Mutex;

/// The fewest rows a thread is given: below this, starting a thread costs more than it saves.
pub const MIN_ROWS_PER_THREAD: usize = 4 * BLOCK_ROWS;

/// The number of threads the machine can run at once (1 if unknown).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// [`Model::predict_batch`] on up to `threads` threads (0 means [`available_threads`]).
///
/// # Panics
///
/// As [`Model::predict_batch`]: when the buffer lengths do not describe whole rows.
pub fn predict_batch<M: Model + ?Sized>(
    model: &M,
    rows: &[M::Input],
    out: &mut [M::Output],
    threads: usize,
) {
    let per_row = model.info().num_outputs;
    split(model, rows, out, per_row, threads, |m, r, o| {
        m.predict_batch(r, o)
    });
}

/// [`Model::predict_margin_batch`] on up to `threads` threads (0 means
/// [`available_threads`]).
///
/// # Panics
///
/// As [`Model::predict_margin_batch`]: when the buffer lengths do not describe whole rows.
pub fn predict_margin_batch<M: Model + ?Sized>(
    model: &M,
    rows: &[M::Input],
    margins: &mut [M::Output],
    threads: usize,
) {
    let per_row = model.info().num_margins;
    split(model, rows, margins, per_row, threads, |m, r, o| {
        m.predict_margin_batch(r, o)
    });
}

fn split<M: Model + ?Sized>(
    model: &M,
    rows: &[M::Input],
    out: &mut [M::Output],
    per_row: usize,
    threads: usize,
    score: impl Fn(&M, &[M::Input], &mut [M::Output]) + Sync,
) {
    let nf = model.info().num_features();
    let n = out.len().checked_div(per_row).unwrap_or(0);
    let threads = if threads == 0 {
        available_threads()
    } else {
        threads
    };
    let threads = threads.min(n / MIN_ROWS_PER_THREAD).max(1);
    if threads == 1 || nf == 0 || rows.len() != n * nf || out.len() != n * per_row {
        // One thread, or a shape the model's own method will reject with its message.
        score(model, rows, out);
        return;
    }
    // Several pieces per thread, handed out one at a time: a thread whose core is busy with
    // other work takes fewer, instead of holding everyone up at the end.
    let piece = n
        .div_ceil(threads * PIECES_PER_THREAD)
        .max(MIN_ROWS_PER_THREAD)
        .div_ceil(BLOCK_ROWS)
        * BLOCK_ROWS;
    let pieces = Mutex::new(rows.chunks(piece * nf).zip(out.chunks_mut(piece * per_row)));
    let work = || loop {
        let next = pieces.lock().map_or(None, |mut p| p.next());
        match next {
            Some((r, o)) => score(model, r, o),
            None => break,
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
}

/// Pieces of the batch per thread (each at least [`MIN_ROWS_PER_THREAD`] rows).
const PIECES_PER_THREAD: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FeatureInfo, FeatureKind, ModelInfo, TextRule};
    use std::borrow::Cow;

    /// Output = row index recovered from the input, to show every row lands in its place.
    struct Echo(ModelInfo);

    impl Model for Echo {
        type Input = f32;
        type Output = f32;
        fn info(&self) -> &ModelInfo {
            &self.0
        }
        fn predict_margin(&self, row: &[f32], margins: &mut [f32]) {
            margins[0] = row[0] * 2.0;
            margins[1] = row[1];
        }
        fn predict(&self, row: &[f32], out: &mut [f32]) {
            out[0] = row[0] + row[1];
        }
    }

    fn echo() -> Echo {
        let f = |name: &'static str| FeatureInfo {
            name: Cow::Borrowed(name),
            kind: FeatureKind::Numerical,
            categories: Cow::Borrowed(&[]),
            text: TextRule::Standard,
        };
        Echo(ModelInfo {
            name: "Echo".into(),
            format: "test".into(),
            objective: "none".into(),
            transform: "identity".into(),
            source: "".into(),
            source_sha256: "".into(),
            num_trees: 0,
            num_nodes: 0,
            max_depth: 0,
            features: Cow::Owned(vec![f("a"), f("b")]),
            num_outputs: 1,
            num_margins: 2,
            precision: "f32".into(),
            timber_version: "test".into(),
        })
    }

    #[test]
    fn threads_split_rows_and_keep_their_order() {
        let model = echo();
        for n in [0, 1, 63, 64, 1000, 4099] {
            let rows: Vec<f32> = (0..n).flat_map(|i| [i as f32, 0.5]).collect();
            for threads in [0, 1, 2, 3, 8] {
                let mut out = vec![0.0; n];
                predict_batch(&model, &rows, &mut out, threads);
                assert!(out.iter().enumerate().all(|(i, &v)| v == i as f32 + 0.5));
                let mut m = vec![0.0; 2 * n];
                predict_margin_batch(&model, &rows, &mut m, threads);
                assert!(m
                    .chunks(2)
                    .enumerate()
                    .all(|(i, v)| v == [2.0 * i as f32, 0.5]));
            }
        }
    }

    #[test]
    #[should_panic(expected = "batch shape mismatch")]
    fn bad_shapes_still_panic_like_the_model() {
        let mut out = vec![0.0; 3];
        predict_batch(&echo(), &[1.0; 5], &mut out, 2);
    }
}
