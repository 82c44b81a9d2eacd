//! Fast sampling: u and eps drawn from the seeded core RNG straight into ONNX Runtime tensors,
//! the output preallocated, so a call makes no Rust heap allocation once a batch size has been
//! seen (the first call at a new batch size allocates the buffers for it).

use ort::memory::Allocator;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::Tensor;

use super::session::f32_output;
use super::{ProviderChoice, RuntimeError};
use crate::core::{buffers::check_len, graph_ports, GaussianRng};

/// The sampler graph's output.
const X: &str = graph_ports::X.name;

struct Buffers {
    batch: usize,
    u: Tensor<f32>,
    eps: Tensor<f32>,
    run_options: RunOptions<HasSelectedOutputs>,
}

/// The buffers for batch size `n`, made on first use of that size.
fn ensure_buffers<'a>(
    slot: &'a mut Option<Buffers>,
    session: &Session,
    n: usize,
    latent: usize,
    dim: usize,
) -> Result<&'a mut Buffers, RuntimeError> {
    if slot.as_ref().is_none_or(|b| b.batch != n) {
        let shape = [n, latent];
        let u = Tensor::<f32>::new(&Allocator::default(), shape).map_err(RuntimeError::ort)?;
        let eps = Tensor::<f32>::new(&Allocator::default(), shape).map_err(RuntimeError::ort)?;
        let x = Tensor::<f32>::new(session.allocator(), [n, dim]).map_err(RuntimeError::ort)?;
        let selector = OutputSelector::no_default().with(X).preallocate(X, x);
        let run_options = RunOptions::new()
            .map_err(RuntimeError::ort)?
            .with_outputs(selector);
        *slot = Some(Buffers {
            batch: n,
            u,
            eps,
            run_options,
        });
    }
    slot.as_mut()
        .ok_or_else(|| RuntimeError::Ort("sampler buffers missing".into()))
}

pub struct Sampler {
    session: Session,
    provider: ProviderChoice,
    latent: usize,
    dim: usize,
    buffers: Option<Buffers>,
}

impl Sampler {
    pub(crate) fn new(
        session: Session,
        provider: ProviderChoice,
        latent: usize,
        dim: usize,
    ) -> Self {
        Self {
            session,
            provider,
            latent,
            dim,
            buffers: None,
        }
    }

    /// Which execution provider runs, and which were unavailable.
    pub fn provider(&self) -> &ProviderChoice {
        &self.provider
    }

    pub fn latent(&self) -> usize {
        self.latent
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Writes `n` samples (row-major, `n * dim` values) into `out`. The noise is u then eps, each
    /// `n * latent` normals from `GaussianRng::new(seed)`, so a caller can reproduce the draw.
    pub fn sample_into(
        &mut self,
        n: usize,
        seed: u64,
        out: &mut [f32],
    ) -> Result<(), RuntimeError> {
        // EmptyBatch, as the filter says: this was a BufferLength error claiming the buffer
        // held 0 values whatever its length.
        if n == 0 {
            return Err(RuntimeError::EmptyBatch);
        }
        check_len(out, n, self.dim)?;
        let mut rng = GaussianRng::new(seed);
        let b = ensure_buffers(&mut self.buffers, &self.session, n, self.latent, self.dim)?;
        rng.fill_normal(
            b.u.try_extract_tensor_mut::<f32>()
                .map_err(RuntimeError::ort)?
                .1,
        );
        rng.fill_normal(
            b.eps
                .try_extract_tensor_mut::<f32>()
                .map_err(RuntimeError::ort)?
                .1,
        );
        let outputs = self
            .session
            .run_with_options(ort::inputs![&b.u, &b.eps], &b.run_options)
            .map_err(RuntimeError::ort)?;
        let x = f32_output(&outputs, X)?;
        check_len(x, n, self.dim)?;
        finite_samples(x, self.dim)?;
        out.copy_from_slice(x);
        Ok(())
    }

    /// Runs the sampler on caller-given noise (`u`, `eps`: `n * latent` each), for parity checks
    /// and for callers with their own noise source.
    pub fn sample_with_noise(
        &mut self,
        n: usize,
        u: &[f32],
        eps: &[f32],
        out: &mut [f32],
    ) -> Result<(), RuntimeError> {
        // n = 0 with empty buffers passed every length check and ran the graph on an empty batch.
        if n == 0 {
            return Err(RuntimeError::EmptyBatch);
        }
        check_len(u, n, self.latent)?;
        check_len(eps, n, self.latent)?;
        check_len(out, n, self.dim)?;
        for (what, noise) in [(graph_ports::U.name, u), (graph_ports::EPS.name, eps)] {
            if let Some(index) = noise.iter().position(|v| !v.is_finite()) {
                return Err(RuntimeError::NonFiniteNoise {
                    what,
                    index,
                    value: noise[index],
                });
            }
        }
        let b = ensure_buffers(&mut self.buffers, &self.session, n, self.latent, self.dim)?;
        b.u.try_extract_tensor_mut::<f32>()
            .map_err(RuntimeError::ort)?
            .1
            .copy_from_slice(u);
        b.eps
            .try_extract_tensor_mut::<f32>()
            .map_err(RuntimeError::ort)?
            .1
            .copy_from_slice(eps);
        let outputs = self
            .session
            .run_with_options(ort::inputs![&b.u, &b.eps], &b.run_options)
            .map_err(RuntimeError::ort)?;
        let x = f32_output(&outputs, X)?;
        check_len(x, n, self.dim)?;
        finite_samples(x, self.dim)?;
        out.copy_from_slice(x);
        Ok(())
    }
}

/// Refuses a batch of samples holding a NaN or an infinity (an fp16 graph can overflow), so that
/// no non-finite sample is ever returned.
fn finite_samples(x: &[f32], dim: usize) -> Result<(), RuntimeError> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(RuntimeError::NonFiniteOutput {
            what: "sample",
            row: i / dim,
            column: i % dim,
            value: x[i],
        }),
    }
}
