//! Sampling a trained run (candle) or an exported model (ONNX Runtime) into a file (`edgevae
//! sample`): in chunks, each with its own seed, so memory stays bounded for large `n` and the
//! samples are a function of (seed, n) alone; both draw their noise from the runtime core's
//! `GaussianRng` in the same order, so a run and its exported model give the same samples.

use std::path::Path;

use edgevae_runtime::core::GaussianRng;
use edgevae_runtime::ModelDir;

use crate::atomic_file;
use crate::data::npy;
use crate::error::{Error, Result};
use crate::image_grid::write_grid_png;
use crate::nn::Activation;
use crate::settings::at_least_one;
use crate::train::LoadedRun;

/// Rows per chunk.
const CHUNK: usize = 2000;

/// Samples, values per sample, and the image shape when samples are images.
#[derive(Clone, Debug)]
pub struct Samples {
    pub values: Vec<f32>,
    pub dim: usize,
    pub image_shape: Option<(usize, usize)>,
    /// The execution provider, in words (exported models only).
    pub provider: Option<String>,
}

/// The seed of chunk `i` of a draw seeded `seed`.
fn chunk_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add((i as u64) << 32)
}

/// The chunks of `n` rows: (index, first row, rows).
fn chunks(n: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..n)
        .step_by(CHUNK)
        .enumerate()
        .map(move |(i, start)| (i, start, CHUNK.min(n - start)))
}

/// An empty buffer with room for `n` samples of `d` values: a huge `n` is an error, not an
/// overflow or an allocation abort.
fn sample_buffer(n: usize, d: usize) -> Result<Vec<f32>> {
    let too_many =
        || Error::InvalidInput(format!("{n} samples of {d} values do not fit in memory"));
    let len = n.checked_mul(d).ok_or_else(too_many)?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| too_many())?;
    Ok(buf)
}

/// `n` samples of a trained run: two-stage, or with `stage1_only` z ~ N(0, I) decoded by stage 1.
pub fn sample_run(run: &LoadedRun, n: usize, seed: u64, stage1_only: bool) -> Result<Samples> {
    at_least_one("n", n)?;
    let d = run.config.stage1.input_dim;
    let mut values = sample_buffer(n, d)?;
    for (i, _, m) in chunks(n) {
        let seed = chunk_seed(seed, i);
        values.extend(if stage1_only {
            run.sample_stage1(m, seed)?
        } else {
            run.sample_two_stage(m, seed)?
        });
    }
    // Runs written before the image shape was recorded: square pixel data are images.
    let side = (d as f64).sqrt().round() as usize;
    let square = side * side == d && run.config.stage1.output == Activation::Sigmoid;
    Ok(Samples {
        values,
        dim: d,
        image_shape: run.config.image_shape.or(square.then_some((side, side))),
        provider: None,
    })
}

/// `n` two-stage samples of an exported model through ONNX Runtime.
pub fn sample_model(model: &ModelDir, n: usize, seed: u64) -> Result<Samples> {
    at_least_one("n", n)?;
    let mut sampler = model.sampler()?;
    let d = model.input_dim();
    let mut values = sample_buffer(n, d)?;
    values.resize(n * d, 0.0);
    for (i, start, m) in chunks(n) {
        let chunk = &mut values[start * d..(start + m) * d];
        sampler.sample_into(m, chunk_seed(seed, i), chunk)?;
    }
    Ok(Samples {
        values,
        dim: d,
        image_shape: model
            .manifest
            .image_shape
            .map(|[r, c]| (r as usize, c as usize)),
        provider: Some(sampler.provider().describe()),
    })
}

/// The noise [`sample_model`] fed the sampler for (`n`, `seed`) at latent width `k`: `[2, n, k]`
/// (u, then eps), so another runtime can be checked on the same inputs.
pub fn sampler_noise(n: usize, k: usize, seed: u64) -> Vec<f32> {
    let (mut u, mut eps) = (Vec::with_capacity(n * k), Vec::with_capacity(n * k));
    for (i, _, m) in chunks(n) {
        let mut rng = GaussianRng::new(chunk_seed(seed, i));
        let mut chunk = vec![0.0f32; m * k];
        rng.fill_normal(&mut chunk);
        u.extend_from_slice(&chunk);
        rng.fill_normal(&mut chunk);
        eps.extend_from_slice(&chunk);
    }
    u.extend_from_slice(&eps);
    u
}

/// Writes samples to `path`: `.npy` (an `[n, d]` f32 array) or `.png` (a grid; image data only).
pub fn write_samples(path: &Path, samples: &Samples) -> Result<()> {
    let n = samples.values.len() / samples.dim.max(1);
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => atomic_file::write_streamed(path, |w| {
            npy::encode(w, &[n, samples.dim], &samples.values)
        }),
        Some("png") => {
            let shape = samples.image_shape.ok_or_else(|| {
                Error::bad_file(
                    path,
                    "this model's data are not images: write an .npy file instead",
                )
            })?;
            let cols = (n as f64).sqrt().ceil() as usize;
            write_grid_png(path, &samples.values, n, shape, cols)
        }
        _ => Err(Error::bad_file(path, "the output must end in .png or .npy")),
    }
}

/// Writes [`sampler_noise`] as a `[2, n, k]` f32 .npy.
pub fn write_noise(path: &Path, n: usize, k: usize, seed: u64) -> Result<()> {
    let noise = sampler_noise(n, k, seed);
    atomic_file::write_streamed(path, |w| npy::encode(w, &[2, n, k], &noise))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The saved noise is what the sampler draws: per chunk, u then eps from
    /// `GaussianRng::new(chunk seed)`, laid out as all of u, then all of eps.
    #[test]
    fn noise_is_u_then_eps_chunk_by_chunk() {
        let (n, k, seed) = (CHUNK + 3, 2, 7);
        let noise = sampler_noise(n, k, seed);
        assert_eq!(noise.len(), 2 * n * k);
        let draw = |chunk: usize, rows: usize| {
            let mut rng = GaussianRng::new(chunk_seed(seed, chunk));
            let (mut u, mut eps) = (vec![0.0f32; rows * k], vec![0.0f32; rows * k]);
            rng.fill_normal(&mut u);
            rng.fill_normal(&mut eps);
            (u, eps)
        };
        let (u0, eps0) = draw(0, CHUNK);
        let (u1, eps1) = draw(1, 3);
        assert_eq!(&noise[..CHUNK * k], &u0[..]);
        assert_eq!(&noise[CHUNK * k..n * k], &u1[..]);
        assert_eq!(&noise[n * k..(n + CHUNK) * k], &eps0[..]);
        assert_eq!(&noise[(n + CHUNK) * k..], &eps1[..]);
        assert_ne!(u0[..6], u1[..6], "chunks have their own seeds");
    }
}
