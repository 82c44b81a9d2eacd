//! Stage 2: a VAE on the stage-1 latent codes z, with latent u of the same size. Encoder and
//! decoder are `depth` dense ReLU layers of `width`, and the network input is concatenated to
//! the last hidden layer before the output layer, as in the authors' code. Its own gamma_z.

use candle_core::{Module, Tensor};

use super::{vae_loss, DiagonalGaussian, LossParts, Stage2Config};
use crate::error::Result;
use crate::nn::{Activation, Dense, Mlp, ParamRole, ParamStore};
use crate::onnx::{int_attr, GraphBuilder};
use crate::rng::SeededRng;

// Parameter prefixes, which are also the exported graphs' initializer names.
const ENCODER: &str = "stage2.encoder";
const DECODER: &str = "stage2.decoder";
const LOG_GAMMA: &str = "stage2.log_gamma";

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

    /// The forward pass in a graph, layers named as in [`Self::new`].
    fn emit(&self, g: &mut GraphBuilder, x: &str, prefix: &str) -> Result<String> {
        let h = self.hidden.emit(g, x, &format!("{prefix}.hidden"))?;
        let cat = g.node("Concat", &[&h, x], vec![int_attr("axis", 1)], "concat");
        self.out.emit(g, &cat, &format!("{prefix}.out"))
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
        config.validate()?;
        let encoder = SkipMlp::new(
            params,
            ENCODER,
            (latent, 2 * latent),
            ParamRole::Weight,
            config,
            rng,
        )?;
        let decoder = SkipMlp::new(
            params,
            DECODER,
            (latent, latent),
            ParamRole::LatentReader,
            config,
            rng,
        )?;
        let log_gamma = params.scalar(
            LOG_GAMMA,
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

    /// Stage-1 codes from stage-2 noise: `z = f2(u) + sqrt(gamma_z) eps`.
    pub fn sample_codes(&self, u: &Tensor, eps: &Tensor) -> Result<Tensor> {
        let sd = self.gamma()?.sqrt();
        Ok((self.decode(u)? + (eps * sd)?)?)
    }

    /// [`Self::sample_codes`] in a graph.
    pub fn emit_sample_codes(&self, g: &mut GraphBuilder, u: &str, eps: &str) -> Result<String> {
        let mean_z = self.decoder.emit(g, u, DECODER)?;
        let sd = g.scalar("stage2.gamma_sqrt", self.gamma()?.sqrt() as f32)?;
        let noise = g.node("Mul", &[eps, &sd], vec![], "noise");
        Ok(g.node("Add", &[&mean_z, &noise], vec![], "z"))
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
