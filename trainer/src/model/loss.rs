//! The negative ELBO of method.md section 1, averaged over the batch:
//! `||x - mu_x||^2 / (2 gamma) + (d/2) log gamma + (d/2) log 2pi + KL`,
//! `KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)`.

use candle_core::Tensor;

use super::DiagonalGaussian;
use crate::error::Result;

pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The loss and its parts, each a scalar tensor (per-sample mean).
pub struct LossParts {
    pub total: Tensor,
    /// The Gaussian negative log-likelihood term (including its constant).
    pub nll: Tensor,
    pub kl: Tensor,
    /// Mean squared error per element, for logs.
    pub mse: Tensor,
}

/// KL(q || N(0, I)) summed over latent dimensions and averaged over the batch.
pub fn gaussian_kl(q: &DiagonalGaussian) -> Result<Tensor> {
    let batch = q.mean.dims()[0] as f64;
    let per = ((q.log_var.exp()? + q.mean.sqr()?)? - &q.log_var)?;
    Ok(per
        .sum_all()?
        .affine(0.5 / batch, -0.5 * q.mean.dims()[1] as f64)?)
}

/// The full loss with scalar log-variance `log_gamma` (shape `[]`).
pub fn vae_loss(
    x: &Tensor,
    mean_x: &Tensor,
    log_gamma: &Tensor,
    q: &DiagonalGaussian,
) -> Result<LossParts> {
    let (batch, d) = x.dims2()?;
    let sq = (x - mean_x)?.sqr()?.sum_all()?;
    let sq_mean = sq.affine(1.0 / batch as f64, 0.0)?;
    let inv_gamma = log_gamma.neg()?.exp()?;
    let nll = ((sq_mean * inv_gamma)?.affine(0.5, 0.0)?
        + log_gamma.affine(0.5 * d as f64, 0.5 * d as f64 * LN_2PI)?)?;
    let kl = gaussian_kl(q)?;
    let total = (&nll + &kl)?;
    let mse = sq.affine(1.0 / (batch * d) as f64, 0.0)?;
    Ok(LossParts {
        total,
        nll,
        kl,
        mse,
    })
}
