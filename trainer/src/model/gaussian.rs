//! The encoder's output: a diagonal Gaussian given by its mean and log-variance.

use candle_core::Tensor;

use crate::error::Result;

#[derive(Clone, Debug)]
pub struct DiagonalGaussian {
    pub mean: Tensor,
    pub log_var: Tensor,
}

impl DiagonalGaussian {
    /// Splits `[batch, 2k]` head outputs into mean (first k) and log-variance (last k).
    pub fn from_head(head: &Tensor, k: usize) -> Result<Self> {
        Ok(Self {
            mean: head.narrow(1, 0, k)?,
            log_var: head.narrow(1, k, k)?,
        })
    }

    /// The reparameterised draw `mean + exp(log_var / 2) * eps`, `eps` supplied by the caller.
    pub fn sample(&self, eps: &Tensor) -> Result<Tensor> {
        Ok((&self.mean + (self.log_var.affine(0.5, 0.0)?.exp()? * eps)?)?)
    }
}
