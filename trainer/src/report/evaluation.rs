//! `edgevae eval`: test-set reconstruction error and negative ELBO, and sample quality as a
//! Fréchet distance in a fixed feature space, with a diversity figure.
//!
//! The feature space is the top `pca_components` principal components of the training data
//! (fitted on the run's own training split). It is cheap, deterministic and needs no network
//! weights; Inception-based FID is not comparable with it, but the ranking of two samplers
//! measured against the same test images in the same space is what it is for. Real training
//! images measured the same way give the floor to read the other figures against.

use std::path::Path;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::frechet::{frechet_distance, mean_pairwise_distance, PcaFeatures};
use crate::atomic_file;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::SeededRng;
use crate::train::LoadedRun;

#[derive(Clone, Debug)]
pub struct EvalOptions {
    pub samples: usize,
    pub pca_components: usize,
    pub seed: u64,
    /// Rows used for the pairwise-distance diversity figure.
    pub diversity_rows: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            samples: 10_000,
            pca_components: 32,
            seed: 0,
            diversity_rows: 1000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamplerScore {
    pub frechet: f64,
    /// Mean pairwise Euclidean distance among samples divided by the same figure for the test
    /// images: 1 is as diverse as the data, near 0 is collapse.
    pub diversity_ratio: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    pub test_source: String,
    pub test_rows: usize,
    /// Mean squared error per element of posterior-mean reconstructions (against clean data).
    pub recon_mse: f64,
    /// Negative ELBO in nats per row (one reparameterised draw per row, fixed seed).
    pub neg_elbo: f64,
    pub pca_components: usize,
    pub samples: usize,
    pub test_diversity: f64,
    /// Training images against the test images: the best a sampler can expect.
    pub real_data: SamplerScore,
    pub stage1_only: SamplerScore,
    pub two_stage: SamplerScore,
    /// `eval --nll K`: the importance-weighted NLL (absent without the flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll: Option<super::nll::NllEstimate>,
}

impl EvalReport {
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_file::write_json(path, self)
    }
}

fn neg_elbo(run: &LoadedRun, test: &Dataset, seed: u64) -> Result<f64> {
    let k = run.config.stage1.latent;
    let mut rng = SeededRng::derive(seed, "eval-elbo", 0);
    let mut total = 0.0;
    // Standardised data: the networks see (x - c) / s, and a density in the data's units is
    // that density / s per element, so the negative ELBO gains d ln s.
    let jacobian = run
        .config
        .standardization
        .map_or(0.0, |s| test.dim as f64 * f64::from(s.scale).ln());
    for chunk in test.row_chunks(512) {
        let b = chunk.len() / test.dim;
        let mut rows = chunk.into_owned();
        if let Some(s) = &run.config.standardization {
            crate::data::standardize::to_model(s, &mut rows);
        }
        let x = Tensor::from_vec(rows, (b, test.dim), &run.device)?;
        let eps = Tensor::from_vec(rng.normal_vec(b * k), (b, k), &run.device)?;
        let loss = run.stage1.elbo_loss(&x, &eps)?.total.to_scalar::<f32>()?;
        total += (f64::from(loss) + jacobian) * b as f64;
    }
    Ok(total / test.len() as f64)
}

/// The test split in `pca`'s feature space, with its diversity: what samples are scored against.
pub struct SampleReference {
    pub pca: PcaFeatures,
    pub test_features: Vec<f64>,
    pub test_diversity: f64,
    pub diversity_rows: usize,
}

impl SampleReference {
    /// Features fitted on `train`'s clean rows (`components` of them), `test` projected.
    pub fn new(
        train: &Dataset,
        test: &Dataset,
        components: usize,
        diversity_rows: usize,
    ) -> Result<Self> {
        let d = test.dim;
        let clean = test.clean_values();
        let pca = PcaFeatures::fit(&train.clean_values(), d, components.min(d))?;
        Ok(Self {
            test_features: pca.project(&clean),
            test_diversity: mean_pairwise_distance(&clean, d, diversity_rows)
                .max(f64::MIN_POSITIVE),
            pca,
            diversity_rows,
        })
    }

    /// Fréchet distance and diversity ratio of `rows` against the test split.
    pub fn score(&self, rows: &[f32]) -> Result<SamplerScore> {
        let features = self.pca.project(rows);
        Ok(SamplerScore {
            frechet: frechet_distance(&features, &self.test_features, self.pca.k)?,
            diversity_ratio: mean_pairwise_distance(rows, self.pca.dim, self.diversity_rows)
                / self.test_diversity,
        })
    }
}

/// Evaluates `run` against `test` (clean values used where known); `train` fits the features.
pub fn evaluate(
    run: &LoadedRun,
    train: &Dataset,
    test: &Dataset,
    test_source: &str,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let d = run.config.stage1.input_dim;
    if test.dim != d || train.dim != d {
        return Err(Error::Config(format!(
            "the run was trained on rows of {d} values, the evaluation data have {}",
            test.dim
        )));
    }
    let recon = run.reconstruct(&test.values())?;
    let clean = test.clean_values();
    let clean = &clean[..];
    let recon_mse = recon
        .iter()
        .zip(clean)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / clean.len() as f64;
    let neg_elbo = neg_elbo(run, test, opts.seed)?;

    let reference = SampleReference::new(train, test, opts.pca_components, opts.diversity_rows)?;
    let n = opts.samples;
    let real_rows = train.rows(0..n.min(train.len()));
    Ok(EvalReport {
        test_source: test_source.to_string(),
        test_rows: test.len(),
        recon_mse,
        neg_elbo,
        pca_components: reference.pca.k,
        samples: n,
        test_diversity: reference.test_diversity,
        real_data: reference.score(&real_rows)?,
        stage1_only: reference.score(&run.sample_stage1(n, opts.seed)?)?,
        two_stage: reference.score(&run.sample_two_stage(n, opts.seed)?)?,
        nll: None,
    })
}
