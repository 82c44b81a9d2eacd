//! `edgevae eval --nll K`: the importance-weighted estimate of -log p(x) (Burda, Grosse and
//! Salakhutdinov 2016) under stage 1's generative model, `p(z) = N(0, I)` and
//! `p(x | z) = N(decoder(z), gamma I)`. With `z_1 .. z_K` drawn from the encoder's `q(z | x)`,
//!
//! `log p(x) ~ log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x)`,
//!
//! a lower bound whose expectation rises to log p(x) as K grows; K = 1 is the one-draw ELBO.
//! The densities are continuous (the data are not dequantised), so with a small gamma the NLL
//! can be negative; bits per dimension are nats / (d ln 2). Standardised data are scored in the
//! data's units (the density gains `-d ln scale`). The robust decoder's likelihood carries an
//! L0 price per outlier and is not a normalised density: such a run is refused, not scored.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::LN_2PI;
use crate::rng::SeededRng;
use crate::train::LoadedRun;

/// Decoder rows per forward pass (rows x draws): bounds the memory of one block.
const ROWS_PER_PASS: usize = 8192;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NllEstimate {
    /// Importance samples per row, K.
    pub samples_per_row: usize,
    pub rows: usize,
    /// The importance-weighted -log p(x), nats per row (mean over rows).
    pub nll: f64,
    pub nll_bits_per_dim: f64,
    /// The negative ELBO on the same draws (reconstruction term averaged over the K draws,
    /// KL in closed form), nats per row: the bound the estimate improves on.
    pub neg_elbo: f64,
    pub neg_elbo_bits_per_dim: f64,
}

/// Running `log sum exp` of one row's log-weights.
#[derive(Clone, Copy)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    const EMPTY: Self = Self {
        max: f64::NEG_INFINITY,
        sum: 0.0,
    };

    fn add(&mut self, v: f64) {
        if v > self.max {
            self.sum = self.sum * (self.max - v).exp() + 1.0;
            self.max = v;
        } else {
            self.sum += (v - self.max).exp();
        }
    }

    fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// Per-row estimates of `log p(x)` with `k` draws each, and of the ELBO, for `rows` [n, d] in
/// the model's units; `seed` fixes the draws.
pub fn log_likelihood_rows(
    run: &LoadedRun,
    rows: &[f32],
    d: usize,
    k: usize,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if run.config.stage1.robust.is_some() {
        return Err(Error::Config(
            "--nll needs a plain (non-robust) model: the robust decoder's likelihood prices \
             each outlier element and is not a normalised density"
                .into(),
        ));
    }
    if k == 0 {
        return Err(Error::Config(
            "--nll needs at least 1 sample per row".into(),
        ));
    }
    let latent = run.config.stage1.latent;
    let n = rows.len() / d.max(1);
    let gamma = run.stage1.gamma()?;
    let log_px_const = -0.5 * d as f64 * (gamma.ln() + LN_2PI);
    let log_z_const = -0.5 * latent as f64 * LN_2PI;
    let (mut log_p, mut elbo) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let rows_per_chunk = (ROWS_PER_PASS / k).clamp(1, 512);
    for (chunk_index, chunk) in rows.chunks(rows_per_chunk * d).enumerate() {
        let b = chunk.len() / d;
        let x = Tensor::from_slice(chunk, (b, d), &run.device)?;
        let q = run.stage1.encode(&x)?;
        let mean = q.mean.flatten_all()?.to_vec1::<f32>()?;
        let log_var = q.log_var.flatten_all()?.to_vec1::<f32>()?;
        let mut rng = SeededRng::derive(seed, "eval-nll", chunk_index as u64);
        let mut sums = vec![LogSumExp::EMPTY; b];
        let mut reconstruction = vec![0.0f64; b];
        // Draws for each row in blocks, so that one decoder pass holds about ROWS_PER_PASS rows.
        let draws_per_block = (ROWS_PER_PASS / b).clamp(1, k);
        let mut done = 0;
        while done < k {
            let s = draws_per_block.min(k - done);
            let eps = rng.normal_vec(b * s * latent);
            let mut z = vec![0.0f32; b * s * latent];
            for (i, (z_row, e_row)) in z
                .chunks_exact_mut(latent)
                .zip(eps.chunks_exact(latent))
                .enumerate()
            {
                let r = i / s;
                let (m, lv) = (
                    &mean[r * latent..(r + 1) * latent],
                    &log_var[r * latent..(r + 1) * latent],
                );
                for (((z, m), lv), e) in z_row.iter_mut().zip(m).zip(lv).zip(e_row) {
                    *z = m + (0.5 * lv).exp() * e;
                }
            }
            let decoded = run
                .stage1
                .decode(&Tensor::from_slice(&z, (b * s, latent), &run.device)?)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            for i in 0..b * s {
                let r = i / s;
                let x_row = &chunk[r * d..(r + 1) * d];
                let squared: f64 = x_row
                    .iter()
                    .zip(&decoded[i * d..(i + 1) * d])
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                let log_px_z = log_px_const - 0.5 * squared / gamma;
                let z_row = &z[i * latent..(i + 1) * latent];
                let e_row = &eps[i * latent..(i + 1) * latent];
                let lv = &log_var[r * latent..(r + 1) * latent];
                let log_pz =
                    log_z_const - 0.5 * z_row.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
                let log_qz = log_z_const
                    - 0.5
                        * e_row
                            .iter()
                            .zip(lv)
                            .map(|(e, l)| f64::from(*e).powi(2) + f64::from(*l))
                            .sum::<f64>();
                sums[r].add(log_px_z + log_pz - log_qz);
                reconstruction[r] += log_px_z;
            }
            done += s;
        }
        for (r, (sum, reconstruction)) in sums.iter().zip(&reconstruction).enumerate() {
            log_p.push(sum.value() - (k as f64).ln());
            let kl: f64 = (0..latent)
                .map(|j| {
                    let (m, lv) = (
                        f64::from(mean[r * latent + j]),
                        f64::from(log_var[r * latent + j]),
                    );
                    0.5 * (m * m + lv.exp() - lv - 1.0)
                })
                .sum();
            elbo.push(reconstruction / k as f64 - kl);
        }
    }
    Ok((log_p, elbo))
}

/// [`log_likelihood_rows`] over `test` (clean values where known), averaged, in the data's units.
pub fn estimate(run: &LoadedRun, test: &Dataset, k: usize, seed: u64) -> Result<NllEstimate> {
    let d = test.dim;
    let mut rows = test.clean_values().into_owned();
    if rows.is_empty() {
        return Err(Error::Config("--nll: the test split has no rows".into()));
    }
    let jacobian = match &run.config.standardization {
        Some(s) => {
            crate::data::standardize::to_model(s, &mut rows);
            d as f64 * f64::from(s.scale).ln()
        }
        None => 0.0,
    };
    let (log_p, elbo) = log_likelihood_rows(run, &rows, d, k, seed)?;
    let n = log_p.len() as f64;
    let nll = -log_p.iter().sum::<f64>() / n + jacobian;
    let neg_elbo = -elbo.iter().sum::<f64>() / n + jacobian;
    let per_bit = d as f64 * std::f64::consts::LN_2;
    Ok(NllEstimate {
        samples_per_row: k,
        rows: log_p.len(),
        nll,
        nll_bits_per_dim: nll / per_bit,
        neg_elbo,
        neg_elbo_bits_per_dim: neg_elbo / per_bit,
    })
}
