//! xorshift64*: deterministic test data without a dependency.
//!
//! Shared by the runtime's kernel tests and (through `#[path]`) the scoring benchmarks, each of
//! which uses only part of it.

/// What [`Rng::value`] draws: one case in `odds` is each of `special` (NaN, signed zeros, tiny
/// values: the inputs kernels get wrong), one more is a small integer (ties with thresholds
/// drawn the same way), the rest uniform in [-4, 4).
#[derive(Clone, Copy)]
pub struct Mix {
    /// One draw in `odds` picks each case below.
    pub odds: usize,
    /// Values returned as they are.
    pub special: &'static [f64],
    /// Small integers drawn from `-2..ints - 2`.
    pub ints: usize,
}

/// A seeded xorshift64* generator.
pub struct Rng {
    state: u64,
    mix: Option<Mix>,
}

impl Rng {
    /// A generator from `seed` (not zero) whose [`Rng::value`] is uniform in [-4, 4).
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            mix: None,
        }
    }

    /// A generator from `seed` (not zero) drawing values as `mix` says.
    pub fn with_mix(seed: u64, mix: Mix) -> Self {
        Self {
            state: seed,
            mix: Some(mix),
        }
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in [0, 1) at `f32` precision.
    pub fn unit_f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A value as the generator's [`Mix`] says.
    pub fn value(&mut self) -> f64 {
        if let Some(Mix {
            odds,
            special,
            ints,
        }) = self.mix
        {
            let case = self.below(odds);
            if let Some(&v) = special.get(case) {
                return v;
            }
            if case == special.len() {
                return (self.below(ints) as f64) - 2.0;
            }
        }
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0
    }
}
