//! Splits as key comparisons, for every data layout: a numerical split becomes
//! `key(v) < key_t`, where `v` is the input `x` or its negation `-x` (stored as key feature
//! `nf + f`) and the comparison's true side, child `a`, is the side a missing value takes
//! (NaN's key is below every threshold key). With `next_up` the next float towards
//! +infinity (exact: no float lies in between):
//!
//! | test, missing goes | child `a` | `v` | threshold |
//! |---|---|---|---|
//! | `x < t`, left  | left  | `x`  | `t` |
//! | `x < t`, right | right (`x >= t` ⇔ `-x <= -t` ⇔ `-x < next_up(-t)`) | `-x` | `next_up(-t)` |
//! | `x <= t`, left | left (`x <= t` ⇔ `x < next_up(t)`) | `x` | `next_up(t)` |
//! | `x <= t`, right | right (`x > t` ⇔ `-x < -t`) | `-x` | `-t` |
//!
//! `next_up(+inf)` does not exist: there the threshold key is the largest key, above every
//! value's, so `x <= inf` holds for every number as it should.

use crate::ir::{Comparison, Split, Test};
use timber_runtime::{KeyFloat, SumFloat};

/// A float type the emitter builds layouts in, with the IR's `f64` values narrowed exactly.
pub(crate) trait EmitFloat: KeyFloat + SumFloat {
    /// The IR value in this precision (exact: the IR holds only representable values).
    fn from_ir(v: f64) -> Self;
    /// The next value towards +infinity (`-0` and `+0` both step to the smallest positive).
    fn next_up(self) -> Self;
    /// The smallest key above the key of every value `<= self`: `key(x) < key_above(t)`
    /// exactly when `x <= t`. For `+inf` (which has no next value) the largest key, which
    /// no value's key reaches.
    fn key_above(self) -> Self::Key;
}

/// `EmitFloat` for a float type.
macro_rules! emit_float {
    ($float:ty) => {
        impl EmitFloat for $float {
            fn from_ir(v: f64) -> $float {
                v as $float
            }
            fn next_up(self) -> $float {
                <$float>::next_up(self)
            }
            fn key_above(self) -> Self::Key {
                if self == <$float>::INFINITY {
                    Self::KEY_MAX
                } else {
                    EmitFloat::next_up(self).key()
                }
            }
        }
    };
}

emit_float!(f32);
emit_float!(f64);

/// A numerical split as a key comparison.
pub(crate) struct KeySplit<K> {
    /// The key feature: `f` for `x[f]`, `nf + f` for `-x[f]`.
    pub feature: u32,
    /// The threshold key.
    pub threshold: K,
    /// The IR child taken when `key < threshold` (and by a missing value).
    pub a: usize,
    /// The other IR child.
    pub b: usize,
}

/// The key comparison of numerical split `s` (threshold `t`, comparison `cmp`) in input
/// precision `I`, for a model of `nf` features.
pub(crate) fn key_split<I: EmitFloat>(
    s: &Split,
    t: f64,
    cmp: Comparison,
    nf: usize,
) -> KeySplit<I::Key> {
    let t = I::from_ir(t);
    let (negate, threshold, a, b) = match (cmp, s.default_left) {
        (Comparison::Less, true) => (false, t.key(), s.left, s.right),
        (Comparison::Less, false) => (true, (-t).key_above(), s.right, s.left),
        (Comparison::LessOrEqual, true) => (false, t.key_above(), s.left, s.right),
        (Comparison::LessOrEqual, false) => (true, (-t).key(), s.right, s.left),
    };
    KeySplit {
        feature: (s.feature + if negate { nf } else { 0 }) as u32,
        threshold,
        a,
        b,
    }
}

/// [`key_split`] of split `s`, which the layout admits only when it is numerical.
///
/// # Panics
///
/// When `s` is not numerical: the layout's `eligible` check was skipped.
pub(crate) fn numerical_key_split<I: EmitFloat>(s: &Split, nf: usize) -> KeySplit<I::Key> {
    let Test::Numerical {
        threshold,
        comparison,
    } = &s.test
    else {
        unreachable!("eligible() admits numerical splits only");
    };
    key_split::<I>(s, *threshold, *comparison, nf)
}
