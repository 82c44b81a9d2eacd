//! `--corrupt FRACTION`: replaces that fraction of elements with noise, keeping the clean copy
//! and the outlier mask for evaluation. Uniform [0, 1] noise for pixels, N(0, 1) for real data
//! (the settings of the robust-VAE experiments, method.md section 3).

use super::{Dataset, Scaling};
use crate::rng::SeededRng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Corruption {
    pub fraction: f32,
    pub seed: u64,
}

/// Corrupts `data` in place. Each element is replaced independently with probability
/// `fraction`; `stream` separates the noise of different splits.
pub fn corrupt(data: &mut Dataset, corruption: Corruption, stream: &str) {
    if corruption.fraction <= 0.0 {
        return;
    }
    let mut rng = SeededRng::derive(corruption.seed, stream, 0);
    let clean = match data.clean.take() {
        Some(c) => c,
        None => data.values().into_owned(),
    };
    let mut mask = data
        .outlier_mask
        .take()
        .unwrap_or_else(|| vec![false; clean.len()]);
    let scaling = data.scaling;
    for (i, v) in data.values_mut().iter_mut().enumerate() {
        if rng.uniform() < corruption.fraction {
            *v = match scaling {
                Scaling::Unit => rng.uniform(),
                Scaling::Real => rng.normal(),
            };
            mask[i] = true;
        }
    }
    data.clean = Some(clean);
    data.outlier_mask = Some(mask);
}
