//! Mini-batch sources: data rows for stage 1, fresh draws from the stored stage-1 posterior for
//! stage 2 (each batch samples z = mu + sigma * eps anew: the aggregated posterior).

use candle_core::{Device, Tensor};

use crate::data::Dataset;
use crate::error::Result;
use crate::mapped_vec::MappedVec;
use crate::rng::SeededRng;

pub trait BatchSource {
    fn len(&self) -> usize;
    fn dim(&self) -> usize;
    /// The rows `idx` as a [idx.len(), dim] tensor; `rng` supplies any noise.
    fn batch(&self, idx: &[usize], rng: &mut SeededRng, device: &Device) -> Result<Tensor>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct RowBatches<'a>(pub &'a Dataset);

impl BatchSource for RowBatches<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn dim(&self) -> usize {
        self.0.dim
    }

    fn batch(&self, idx: &[usize], _rng: &mut SeededRng, device: &Device) -> Result<Tensor> {
        Ok(Tensor::from_vec(
            self.0.gather(idx),
            (idx.len(), self.0.dim),
            device,
        )?)
    }
}

/// Stage-1 posterior parameters of every training row.
/// In their own mappings, which go back to the OS when stage 2 is done (`mapped_vec.rs`).
pub struct CodeBatches {
    pub mean: MappedVec<f32>,
    pub std: MappedVec<f32>,
    pub latent: usize,
}

impl BatchSource for CodeBatches {
    fn len(&self) -> usize {
        self.mean.len() / self.latent
    }

    fn dim(&self) -> usize {
        self.latent
    }

    fn batch(&self, idx: &[usize], rng: &mut SeededRng, device: &Device) -> Result<Tensor> {
        let k = self.latent;
        let (mean, std) = (&self.mean[..], &self.std[..]);
        let mut z = Vec::with_capacity(idx.len() * k);
        for &i in idx {
            for j in i * k..(i + 1) * k {
                z.push(mean[j] + std[j] * rng.normal());
            }
        }
        Ok(Tensor::from_vec(z, (idx.len(), k), device)?)
    }
}
