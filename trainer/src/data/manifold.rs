//! `manifold`: points on a k-dimensional non-linear manifold in R^d, the synthetic data of the
//! robust-VAE paper (method.md section 3): z ~ N(0, I_k) through a fixed random 3-layer ReLU
//! network, scaled to unit overall variance, optionally with a fraction of entries replaced by
//! N(0, 1) outliers (the clean copy is kept).

use crate::rng::SeededRng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ManifoldSpec {
    pub n: usize,
    pub latent: usize,
    pub dim: usize,
    pub outliers: f32,
}

impl Default for ManifoldSpec {
    fn default() -> Self {
        Self {
            n: 5000,
            latent: 4,
            dim: 100,
            outliers: 0.0,
        }
    }
}

struct Layer {
    w: Vec<f32>,
    b: Vec<f32>,
    inp: usize,
    out: usize,
}

impl Layer {
    fn random(inp: usize, out: usize, rng: &mut SeededRng) -> Self {
        let scale = (2.0 / inp as f32).sqrt();
        Self {
            w: (0..inp * out).map(|_| rng.normal() * scale).collect(),
            b: (0..out).map(|_| rng.normal() * 0.1).collect(),
            inp,
            out,
        }
    }

    fn apply(&self, x: &[f32], relu: bool) -> Vec<f32> {
        (0..self.out)
            .map(|o| {
                let row = &self.w[o * self.inp..(o + 1) * self.inp];
                let s: f32 = row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + self.b[o];
                if relu {
                    s.max(0.0)
                } else {
                    s
                }
            })
            .collect()
    }
}

/// The points (corrupted when `outliers > 0`) and the clean copy, both row-major `n * dim`.
pub fn generate(spec: &ManifoldSpec, seed: u64) -> (Vec<f32>, Vec<f32>) {
    // The network depends on the seed only, so every split drawn with this seed shares a manifold.
    let mut net_rng = SeededRng::derive(seed, "manifold-net", spec.latent as u64);
    let hidden = spec.dim.max(2 * spec.latent);
    let layers = [
        Layer::random(spec.latent, hidden, &mut net_rng),
        Layer::random(hidden, hidden, &mut net_rng),
        Layer::random(hidden, spec.dim, &mut net_rng),
    ];
    let mut rng = SeededRng::derive(seed, "manifold-points", spec.n as u64);
    let mut clean = Vec::with_capacity(spec.n * spec.dim);
    for _ in 0..spec.n {
        let z = rng.normal_vec(spec.latent);
        let h1 = layers[0].apply(&z, true);
        let h2 = layers[1].apply(&h1, true);
        clean.extend(layers[2].apply(&h2, false));
    }
    let count = clean.len().max(1) as f64;
    let mean = clean.iter().map(|&v| f64::from(v)).sum::<f64>() / count;
    let var = clean
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / count;
    let inv_std = if var > 0.0 {
        (1.0 / var.sqrt()) as f32
    } else {
        1.0
    };
    for v in &mut clean {
        *v = (*v - mean as f32) * inv_std;
    }
    let mut values = clean.clone();
    if spec.outliers > 0.0 {
        let mut noise = SeededRng::derive(seed, "manifold-outliers", spec.n as u64);
        for v in &mut values {
            if noise.uniform() < spec.outliers {
                *v = noise.normal();
            }
        }
    }
    (values, clean)
}
