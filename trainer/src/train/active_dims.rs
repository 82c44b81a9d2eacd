//! Active latent dimensions after stage 1 (method.md section 1): a dimension the data does not
//! need ends with encoder variance near 1 (and mean near 0); a used one has variance near 0.
//! The count of active dimensions estimates the dimension of the data manifold.

use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::Stage1;

/// A dimension is active when its mean encoder variance is below this: halfway between the
/// two regimes, which in practice are far apart (< 0.05 and > 0.9).
pub const VARIANCE_THRESHOLD: f64 = 0.5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveDims {
    pub threshold: f64,
    pub active: usize,
    pub latent: usize,
    /// Indices of the active dimensions, most certain (smallest variance) first.
    pub active_indices: Vec<usize>,
    /// Mean encoder variance per dimension over the evaluation data.
    pub mean_variance: Vec<f64>,
    pub rows: usize,
}

/// Mean of sigma_z^2 per dimension over `data`.
pub fn measure(stage1: &Stage1, data: &Dataset, device: &Device) -> Result<ActiveDims> {
    let k = stage1.config.latent;
    let mut sum = vec![0.0f64; k];
    for chunk in data.row_chunks(512) {
        let x = Tensor::from_slice(&chunk, (chunk.len() / data.dim, data.dim), device)?;
        let var = stage1.encode(&x)?.log_var.exp()?.sum(0)?.to_vec1::<f32>()?;
        for (s, v) in sum.iter_mut().zip(var) {
            *s += f64::from(v);
        }
    }
    let rows = data.len().max(1);
    let mean_variance: Vec<f64> = sum.iter().map(|s| s / rows as f64).collect();
    let mut active_indices: Vec<usize> = (0..k)
        .filter(|&j| mean_variance[j] < VARIANCE_THRESHOLD)
        .collect();
    active_indices.sort_by(|&a, &b| mean_variance[a].total_cmp(&mean_variance[b]));
    Ok(ActiveDims {
        threshold: VARIANCE_THRESHOLD,
        active: active_indices.len(),
        latent: k,
        active_indices,
        mean_variance,
        rows: data.len(),
    })
}

impl ActiveDims {
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_file::write_json(path, self)
    }

    pub fn summary(&self) -> String {
        format!(
            "active latent dimensions: {} of {} (mean encoder variance < {})",
            self.active, self.latent, self.threshold
        )
    }
}
