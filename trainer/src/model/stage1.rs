//! Stage 1: an encoder to q(z|x) and a decoder (dense or convolutional) to mu_x(z), with a
//! learned scalar decoder variance gamma stored as log gamma and kept above a floor; optionally
//! (the robust decoder) a second decoder head giving a per-element variance.

use candle_core::{Module, Tensor};

use super::{
    outlier_cutoff, robust_vae_loss, vae_loss, Decoder, DiagonalGaussian, Encoder, LossParts,
    Stage1Config, VarianceHead,
};
use crate::error::{Error, Result};
use crate::nn::{Dense, ParamRole, ParamStore};
use crate::onnx::GraphBuilder;
use crate::rng::SeededRng;

// Parameter prefixes, which are also the exported graphs' initializer names.
const ENCODER: &str = "stage1.encoder";
const ENCODER_HEAD: &str = "stage1.encoder_head";
const DECODER: &str = "stage1.decoder";
const LOG_GAMMA: &str = "stage1.log_gamma";
const VARIANCE_HEAD: &str = "stage1.decoder_variance";

pub struct Stage1 {
    pub config: Stage1Config,
    pub encoder: Encoder,
    /// Encoder head: last hidden layer to [mean | log-variance].
    pub head: Dense,
    pub decoder: Decoder,
    pub log_gamma: Tensor,
    /// Robust decoder only: the decoder's last hidden features (z for an affine decoder) to the
    /// per-element log-variance `l`, with `v = floor + gamma * exp(l)`.
    pub variance_head: Option<VarianceHead>,
    /// Multiplier of the outlier price during the robust warm-up (1 after it); set per epoch
    /// by [`Self::set_epoch`].
    outlier_price_scale: std::cell::Cell<f64>,
}

/// The decoder's output for a batch of codes.
pub struct Decoded {
    pub mean: Tensor,
    /// The per-element inlier variance `v` [batch, d] (robust decoder only).
    pub variance: Option<Tensor>,
}

impl Stage1 {
    /// `image_shape`: the data's rows as images (the conv decoder needs it), `None` otherwise.
    pub fn new(
        config: &Stage1Config,
        image_shape: Option<(usize, usize)>,
        params: &mut ParamStore,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        config.validate()?;
        let encoder = Encoder::new(config, image_shape, params, ENCODER, rng)?;
        let head = Dense::new(
            params,
            ENCODER_HEAD,
            encoder.out_dim(config),
            2 * config.latent,
            rng,
        )?;
        let decoder = Decoder::new(config, image_shape, params, DECODER, rng)?;
        let log_gamma = params.scalar(
            LOG_GAMMA,
            config.gamma_init.ln() as f32,
            ParamRole::LogGamma,
        )?;
        // Made last, so a plain model's initial weights do not depend on this option.
        let variance_head = match config.robust {
            Some(_) => Some(decoder.variance_head(config, params, VARIANCE_HEAD, rng)?),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            encoder,
            head,
            decoder,
            log_gamma,
            variance_head,
            outlier_price_scale: std::cell::Cell::new(1.0),
        })
    }

    /// Sets the robust warm-up for stage-1 epoch `epoch` of `epochs`: the outlier price falls
    /// linearly from 10x to 1x over the first `warmup` fraction of the epochs. A function of the
    /// epoch alone, so a resumed run prices as an unbroken one.
    pub fn set_epoch(&self, epoch: usize, epochs: usize) {
        let Some(robust) = &self.config.robust else {
            return;
        };
        let warm = (robust.warmup * epochs as f64).round();
        let scale = if warm >= 1.0 && (epoch as f64) < warm {
            1.0 + 9.0 * (1.0 - epoch as f64 / warm)
        } else {
            1.0
        };
        self.outlier_price_scale.set(scale);
    }

    pub fn encode(&self, x: &Tensor) -> Result<DiagonalGaussian> {
        let h = self.encoder.forward(x)?;
        DiagonalGaussian::from_head(&self.head.forward(&h)?, self.config.latent)
    }

    /// [`Self::encode`] in a graph: the posterior mean and log-variance [N, latent].
    pub fn emit_encoder(&self, g: &mut GraphBuilder, x: &str) -> Result<(String, String)> {
        let h = self.encoder.emit(g, x, ENCODER)?;
        let k = self.config.latent;
        let mean = self
            .head
            .emit_columns(g, &h, (0, k), &format!("{ENCODER_HEAD}.mean"))?;
        let log_var = self
            .head
            .emit_columns(g, &h, (k, k), &format!("{ENCODER_HEAD}.log_var"))?;
        Ok((mean, log_var))
    }

    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.decoder.forward(z)?)
    }

    /// [`Self::decode`] in a graph.
    pub fn emit_decoder(&self, g: &mut GraphBuilder, z: &str) -> Result<String> {
        self.decoder.emit(g, z, DECODER)
    }

    /// The decoder in a graph: its last hidden features (what [`Self::emit_log_variance`]
    /// reads) and the mean.
    pub fn emit_decoder_split(&self, g: &mut GraphBuilder, z: &str) -> Result<(String, String)> {
        self.decoder.emit_split(g, z, DECODER)
    }

    /// The decoder mean and, for the robust decoder, the per-element inlier variance.
    pub fn decode_full(&self, z: &Tensor) -> Result<Decoded> {
        let (Some(head), Some(robust)) = (&self.variance_head, &self.config.robust) else {
            return Ok(Decoded {
                mean: self.decode(z)?,
                variance: None,
            });
        };
        let (hidden, mean) = self.decoder.forward_split(z)?;
        let range = robust.log_variance_range;
        let l = (head.forward(&hidden)?.affine(1.0 / range, 0.0)?.tanh()? * range)?;
        // gamma learns from the mean's term only (see robust_vae_loss); the head learns v / gamma.
        let log_scale = l.broadcast_add(&self.log_gamma.detach())?;
        let variance = log_scale.exp()?.affine(1.0, robust.variance_floor)?;
        Ok(Decoded {
            mean,
            variance: Some(variance),
        })
    }

    /// The log of [`Self::decode_full`]'s variance in a graph, from the decoder's last hidden
    /// features; `None` for a model without the robust decoder.
    pub fn emit_log_variance(&self, g: &mut GraphBuilder, hidden: &str) -> Result<Option<String>> {
        let (Some(head), Some(robust)) = (&self.variance_head, &self.config.robust) else {
            return Ok(None);
        };
        let raw = head.emit(g, hidden, VARIANCE_HEAD)?;
        let range = robust.log_variance_range as f32;
        let inv_range = g.scalar("stage1.variance_range_inv", 1.0 / range)?;
        let range = g.scalar("stage1.variance_range", range)?;
        let squashed = g.node("Mul", &[&raw, &inv_range], vec![], "variance_raw");
        let squashed = g.node("Tanh", &[&squashed], vec![], "variance_tanh");
        let l = g.node("Mul", &[&squashed, &range], vec![], "variance_log_scale");
        let log_gamma = g.scalar(LOG_GAMMA, self.gamma()?.ln() as f32)?;
        let scaled = g.node("Add", &[&l, &log_gamma], vec![], "log_scale");
        let v = g.node("Exp", &[&scaled], vec![], "scale");
        let floor = g.scalar("stage1.variance_floor", robust.variance_floor as f32)?;
        let v = g.node("Add", &[&v, &floor], vec![], "variance");
        Ok(Some(g.node("Log", &[&v], vec![], "log_variance")))
    }

    /// The negative ELBO of one encode-decode pass, `eps` [batch, latent].
    pub fn elbo_loss(&self, x: &Tensor, eps: &Tensor) -> Result<LossParts> {
        Ok(self.pass_loss(x, x, eps, false)?.0)
    }

    /// The posterior-mean reconstruction after `passes` cleaning passes: pass k + 1 encodes `x`
    /// with the elements pass k judged outliers (by the training loss's rule) replaced by its
    /// reconstruction, the inference side of recycling.
    pub fn reconstruct_passes(&self, x: &Tensor, passes: usize) -> Result<Tensor> {
        let zeros = Tensor::zeros((x.dims2()?.0, self.config.latent), x.dtype(), x.device())?;
        let mut input = x.clone();
        let mut mean = None;
        let passes = passes.max(1);
        for pass in 0..passes {
            let (_, cleaned, recon) = self.pass(x, &input, &zeros, pass + 1 < passes)?;
            if let Some(cleaned) = cleaned {
                input = cleaned;
            }
            mean = Some(recon);
        }
        mean.ok_or_else(|| Error::Config("no reconstruction pass".into()))
    }

    /// One pass: encode `input`, decode, score against the original `x`. With `clean`, also
    /// returns the detached cleaned input for the next pass (outlier elements replaced by the
    /// reconstruction); without, that work is skipped.
    fn pass_loss(
        &self,
        x: &Tensor,
        input: &Tensor,
        eps: &Tensor,
        clean: bool,
    ) -> Result<(LossParts, Option<Tensor>)> {
        let (parts, cleaned, _) = self.pass(x, input, eps, clean)?;
        Ok((parts, cleaned))
    }

    /// [`Self::pass_loss`], also returning the detached reconstruction.
    fn pass(
        &self,
        x: &Tensor,
        input: &Tensor,
        eps: &Tensor,
        clean: bool,
    ) -> Result<(LossParts, Option<Tensor>, Tensor)> {
        let q = self.encode(input)?;
        let z = q.sample(eps)?;
        let decoded = self.decode_full(&z)?;
        let robust = self.config.robust.unwrap_or_default();
        let (parts, outlier) = match &decoded.variance {
            Some(v) => robust_vae_loss(
                x,
                &decoded.mean,
                v,
                &self.log_gamma,
                robust.outlier_cost * self.outlier_price_scale.get(),
                robust.variance_floor,
                &q,
            )
            .map(|(parts, outlier)| (parts, Some(outlier)))?,
            None => {
                let parts = vae_loss(x, &decoded.mean, &self.log_gamma, &q)?;
                // The plain decoder's outlier mask only feeds the next pass's cleaned input.
                if !clean {
                    return Ok((parts, None, decoded.mean.detach()));
                }
                let limit = self
                    .log_gamma
                    .detach()
                    .exp()?
                    .affine(outlier_cutoff(robust.outlier_cost), 0.0)?;
                let outlier = (x - &decoded.mean)?
                    .sqr()?
                    .detach()
                    .broadcast_gt(&limit)?
                    .to_dtype(x.dtype())?;
                (parts, Some(outlier))
            }
        };
        let mean = decoded.mean.detach();
        let cleaned = match outlier {
            Some(outlier) if clean => {
                Some(((&outlier * &mean)? + (outlier.affine(-1.0, 1.0)? * x)?)?)
            }
            _ => None,
        };
        Ok((parts, cleaned, mean))
    }

    /// The training loss. With `recycle = K > 1`, the step makes K encoder passes: pass k + 1
    /// encodes the cleaned input of pass k (the elements pass k treated as outliers replaced by
    /// its detached reconstruction; for a plain decoder, those with `r^2 / gamma` above the
    /// cutoff of the default outlier cost), every pass is scored against the original `x`, and the loss is the mean
    /// over passes. No parameter is added; the encoder learns to map partly cleaned inputs to the
    /// same code, which is what several filter passes at inference rely on. `eps` holds one
    /// `[batch, latent]` block per pass, side by side.
    pub fn loss(&self, x: &Tensor, eps: &Tensor) -> Result<LossParts> {
        let passes = self.config.recycle;
        let k = self.config.latent;
        let width = eps.dims2()?.1;
        if width != k * passes {
            return Err(Error::Config(format!(
                "stage-1 loss needs {passes} noise blocks of width {k} ({} columns), got {width}",
                k * passes
            )));
        }
        let mut input = x.clone();
        let mut sum: Option<LossParts> = None;
        for pass in 0..passes {
            let (parts, cleaned) =
                self.pass_loss(x, &input, &eps.narrow(1, pass * k, k)?, pass + 1 < passes)?;
            if let Some(cleaned) = cleaned {
                input = cleaned;
            }
            sum = Some(match sum {
                None => parts,
                Some(s) => LossParts {
                    total: (s.total + parts.total)?,
                    nll: (s.nll + parts.nll)?,
                    kl: (s.kl + parts.kl)?,
                    mse: (s.mse + parts.mse)?,
                },
            });
        }
        let s = sum.ok_or_else(|| Error::Config("no recycling pass".into()))?;
        if passes == 1 {
            return Ok(s);
        }
        let inv = 1.0 / passes as f64;
        Ok(LossParts {
            total: s.total.affine(inv, 0.0)?,
            nll: s.nll.affine(inv, 0.0)?,
            kl: s.kl.affine(inv, 0.0)?,
            mse: s.mse.affine(inv, 0.0)?,
        })
    }

    /// Noise columns one training step needs per row: latent times the recycling passes.
    pub fn noise_width(&self) -> usize {
        self.config.latent * self.config.recycle
    }

    /// gamma as a number.
    pub fn gamma(&self) -> Result<f64> {
        Ok(f64::from(self.log_gamma.to_scalar::<f32>()?).exp())
    }
}
