//! The one source of randomness for training: a seeded xoshiro256++ stream. candle's own
//! `Tensor::randn` cannot be seeded on CPU, so weights and noise are drawn here and uploaded.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

pub struct SeededRng(Xoshiro256PlusPlus);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// An independent stream for one purpose of one run, e.g. `(seed, "stage1-epoch", 7)`.
    /// Resuming at an epoch boundary then redraws exactly the noise an unbroken run would draw.
    pub fn derive(seed: u64, purpose: &str, index: u64) -> Self {
        // FNV-1a over the purpose, mixed with seed and index by splitmix64 (inside seed_from_u64).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in purpose.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mixed = seed ^ h.rotate_left(17) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self::new(mixed)
    }

    pub fn normal(&mut self) -> f32 {
        self.0.sample(StandardNormal)
    }

    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        self.0.random::<f32>()
    }

    pub fn uniform_range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            idx.swap(i, j);
        }
        idx
    }
}
