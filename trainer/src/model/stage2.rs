//! Stage 2: a VAE on the stage-1 latent codes z, with latent u of the same size. Encoder and
//! decoder are `depth` dense ReLU layers of `width`, and the network input is concatenated to
//! the last hidden layer before the output layer, as in the authors' code. Its own gamma_z.

use candle_core::{Module, Tensor};

use super::{vae_loss, DiagonalGaussian, LossParts, Stage2Config};
use crate::error::Result;
use crate::nn::{Activation, Dense, Mlp, ParamRole, ParamStore};
use crate::rng::SeededRng;

/// Hidden ReLU layers, then `[hidden, input]` into one output layer.
pub struct SkipMlp {
    pub hidden: Mlp,
    pub out: Dense,
}

impl SkipMlp {
    /// `first`: the role of the first layer's weight (the decoder's reads the latent code).
    fn new(
        params: &mut ParamStore,
        prefix: &str,
        (inp, out): (usize, usize),
        first: ParamRole,
        cfg: &Stage2Config,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let mut widths = vec![inp];
        widths.extend(std::iter::repeat_n(cfg.width, cfg.depth));
        let hidden = Mlp::new(
            params,
            &format!("{prefix}.hidden"),
            &widths,
            Activation::Relu,
            first,
            rng,
        )?;
        let out = Dense::new(params, &format!("{prefix}.out"), cfg.width + inp, out, rng)?;
        Ok(Self { hidden, out })
    }
}

impl Module for SkipMlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.hidden.forward(x)?;
        self.out.forward(&Tensor::cat(&[&h, x], 1)?)
    }
}

pub struct Stage2 {
    pub config: Stage2Config,
    pub latent: usize,
    pub encoder: SkipMlp,
    pub decoder: SkipMlp,
    pub log_gamma: Tensor,
}

impl Stage2 {
    pub fn new(
        config: &Stage2Config,
        latent: usize,
        params: &mut ParamStore,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let encoder = SkipMlp::new(
            params,
            "stage2.encoder",
            (latent, 2 * latent),
            ParamRole::Weight,
            config,
            rng,
        )?;
        let decoder = SkipMlp::new(
            params,
            "stage2.decoder",
            (latent, latent),
            ParamRole::LatentReader,
            config,
            rng,
        )?;
        let log_gamma = params.scalar(
            "stage2.log_gamma",
            config.gamma_init.ln() as f32,
            ParamRole::LogGamma,
        )?;
        Ok(Self {
            config: config.clone(),
            latent,
            encoder,
            decoder,
            log_gamma,
        })
    }

    pub fn encode(&self, z: &Tensor) -> Result<DiagonalGaussian> {
        DiagonalGaussian::from_head(&self.encoder.forward(z)?, self.latent)
    }

    pub fn decode(&self, u: &Tensor) -> Result<Tensor> {
        Ok(self.decoder.forward(u)?)
    }

    pub fn loss(&self, z: &Tensor, eps: &Tensor) -> Result<LossParts> {
        let q = self.encode(z)?;
        let u = q.sample(eps)?;
        let mean_z = self.decode(&u)?;
        vae_loss(z, &mean_z, &self.log_gamma, &q)
    }

    pub fn gamma(&self) -> Result<f64> {
        Ok(f64::from(self.log_gamma.to_scalar::<f32>()?).exp())
    }
}
