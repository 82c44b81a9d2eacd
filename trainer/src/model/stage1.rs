//! Stage 1: an MLP encoder to q(z|x) and an MLP decoder to mu_x(z), with a learned scalar decoder
//! variance gamma stored as log gamma and kept above a floor.

use candle_core::{Module, Tensor};

use super::{vae_loss, DiagonalGaussian, LossParts, Stage1Config};
use crate::error::Result;
use crate::nn::{Activation, Dense, Mlp, ParamStore};
use crate::rng::SeededRng;

pub struct Stage1 {
    pub config: Stage1Config,
    pub encoder: Mlp,
    /// Encoder head: last hidden layer to [mean | log-variance].
    pub head: Dense,
    pub decoder: Mlp,
    pub log_gamma: Tensor,
}

impl Stage1 {
    pub fn new(
        config: &Stage1Config,
        params: &mut ParamStore,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let mut enc_widths = vec![config.input_dim];
        enc_widths.extend(&config.hidden);
        let encoder = Mlp::new(params, "stage1.encoder", &enc_widths, Activation::Relu, rng)?;
        let last = *enc_widths.last().unwrap_or(&config.input_dim);
        let head = Dense::new(params, "stage1.encoder_head", last, 2 * config.latent, rng)?;
        let mut dec_widths = vec![config.latent];
        dec_widths.extend(config.hidden.iter().rev());
        dec_widths.push(config.input_dim);
        let decoder = Mlp::new(params, "stage1.decoder", &dec_widths, config.output, rng)?;
        let log_gamma = params.scalar("stage1.log_gamma", config.gamma_init.ln() as f32)?;
        Ok(Self {
            config: config.clone(),
            encoder,
            head,
            decoder,
            log_gamma,
        })
    }

    pub fn encode(&self, x: &Tensor) -> Result<DiagonalGaussian> {
        let h = self.encoder.forward(x)?;
        DiagonalGaussian::from_head(&self.head.forward(&h)?, self.config.latent)
    }

    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.decoder.forward(z)?)
    }

    /// The negative ELBO with one reparameterised draw, `eps` [batch, latent] from the caller.
    pub fn loss(&self, x: &Tensor, eps: &Tensor) -> Result<LossParts> {
        let q = self.encode(x)?;
        let z = q.sample(eps)?;
        let mean_x = self.decode(&z)?;
        vae_loss(x, &mean_x, &self.log_gamma, &q)
    }

    /// gamma as a number.
    pub fn gamma(&self) -> Result<f64> {
        Ok(f64::from(self.log_gamma.to_scalar::<f32>()?).exp())
    }
}
