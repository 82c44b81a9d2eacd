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

/// The loss of the robust decoder (method.md section 3).
///
/// Each element's variance is `v + rho` with `rho >= 0` chosen in closed form, per element:
/// `rho = 0` (an inlier), or `rho = r^2 - v`, the paper's infinite-capacity limit, at a fixed
/// price of `outlier_cost` nats (an outlier: term `1/2 (1 + log r^2) + outlier_cost`), whichever
/// gives the lower per-element Gaussian negative log-likelihood. The price is the L0 penalty of
/// Robust PCA (`rank(L) + lambda ||E||_0`): without it, calling every element an outlier would
/// be free and the model would stop fitting. An outlier's pull on the mean, `1 / r`, falls as
/// its residual grows. An element is an outlier when `r^2 / v > t`, `t - log t - 1 =
/// 2 outlier_cost` (t = 9.22, three standard deviations, for 3 nats).
///
/// `variance` [batch, d] is the per-element inlier variance `v` from the decoder's second head;
/// it learns the per-element Gaussian negative log-likelihood of the inliers' detached
/// residuals. The mean and the encoder see the inliers through the shared `gamma`
/// (`1/2 (r^2 / gamma + log gamma)`), as in the plain Two-Stage VAE: when they were weighted by
/// `1 / v` instead, the head explained the data with variance rather than the latent code and
/// the posterior collapsed (0 of 16 active dimensions on sprites). `nll` is the gamma-weighted
/// term, comparable with a plain model's; `total` adds the head's term. Returns the loss and the
/// outlier indicator (1.0 where an element was treated as an outlier), detached.
pub fn robust_vae_loss(
    x: &Tensor,
    mean_x: &Tensor,
    variance: &Tensor,
    log_gamma: &Tensor,
    outlier_cost: f64,
    floor: f64,
    q: &DiagonalGaussian,
) -> Result<(LossParts, Tensor)> {
    let (batch, d) = x.dims2()?;
    let sq = (x - mean_x)?.sqr()?;
    let sq_detached = sq.detach();
    let v_detached = variance.detach();
    // The decision, on detached values: the cheaper variance, and only ever more than v.
    let in_cost = ((&sq_detached / &v_detached)? + v_detached.log()?)?;
    let out_term = sq
        .maximum(floor)?
        .log()?
        .affine(1.0, 1.0 + 2.0 * outlier_cost)?;
    let cheaper = out_term.detach().lt(&in_cost)?.to_dtype(x.dtype())?;
    let above = sq_detached.gt(&v_detached)?.to_dtype(x.dtype())?;
    let outlier = (cheaper * above)?;
    let inlier = outlier.affine(-1.0, 1.0)?;

    let inv_gamma = log_gamma.neg()?.exp()?;
    let mean_in = sq.broadcast_mul(&inv_gamma)?.broadcast_add(log_gamma)?;
    let per_element = ((&inlier * mean_in)? + (&outlier * out_term)?)?;
    let nll = per_element
        .sum_all()?
        .affine(0.5 / batch as f64, 0.5 * d as f64 * LN_2PI)?;
    let head_nll = ((&sq_detached / variance)? + variance.log()?)?;
    let head = (inlier * head_nll)?
        .sum_all()?
        .affine(0.5 / batch as f64, 0.0)?;
    let kl = gaussian_kl(q)?;
    let total = ((&nll + &kl)? + head)?;
    let mse = sq.sum_all()?.affine(1.0 / (batch * d) as f64, 0.0)?;
    Ok((
        LossParts {
            total,
            nll,
            kl,
            mse,
        },
        outlier,
    ))
}

/// The standardised squared residual `t` at which an outlier's price `cost` equals the inlier
/// term's excess: the root above 1 of `t - ln t - 1 = 2 cost`.
pub fn outlier_cutoff(cost: f64) -> f64 {
    let target = 2.0 * cost.max(0.0) + 1.0;
    // t - ln t is increasing for t > 1; Newton from the right converges monotonically.
    let mut t = target + target.ln() + 1.0;
    for _ in 0..50 {
        let step = (t - t.ln() - target) / (1.0 - 1.0 / t);
        t -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    t
}
