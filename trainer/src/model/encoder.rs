//! Stage 1's encoder body: the data rows to the features the encoder head reads (an MLP of the
//! hidden widths, or the conv decoder mirrored). Encoder variants only dispatch here; each layer type owns its parameters, its
//! forward pass and its ONNX emission.

use candle_core::{Module, Tensor};

use super::{EncoderKind, Stage1Config};
use crate::error::Result;
use crate::nn::{Activation, ConvEncoder, Mlp, ParamRole, ParamStore};
use crate::onnx::GraphBuilder;
use crate::rng::SeededRng;

#[derive(Clone, Debug)]
pub enum Encoder {
    /// The hidden widths, ReLU after each.
    Mlp(Mlp),
    /// Halving 3x3 convolutions down to the smallest map, then the hidden widths.
    Conv(ConvEncoder),
}

/// What the image checks call the conv encoder.
const CONV_ENCODER: &str = "conv encoder";

/// Whether `config`'s encoder can read data rows of `image_shape` (the data's, `None` when its
/// rows are not images): for the conv encoder, images whose sides its halvings divide.
/// Training checks this before it writes anything.
pub fn check_encoder(config: &Stage1Config, image_shape: Option<(usize, usize)>) -> Result<()> {
    match config.encoder {
        EncoderKind::Mlp => Ok(()),
        EncoderKind::Conv => config.conv_image(image_shape, CONV_ENCODER).map(|_| ()),
    }
}

impl Encoder {
    /// Layers named `{prefix}.0`, `{prefix}.1`, ... (the dense ones) and `{prefix}.down.i` (the
    /// convolutions); `image_shape` as in [`check_encoder`].
    pub fn new(
        config: &Stage1Config,
        image_shape: Option<(usize, usize)>,
        params: &mut ParamStore,
        prefix: &str,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        check_encoder(config, image_shape)?;
        let mut widths = vec![config.input_dim];
        widths.extend(&config.hidden);
        Ok(match config.encoder {
            EncoderKind::Mlp => Encoder::Mlp(Mlp::new(
                params,
                prefix,
                &widths,
                Activation::Relu,
                ParamRole::Weight,
                rng,
            )?),
            EncoderKind::Conv => Encoder::Conv(ConvEncoder::new(
                params,
                prefix,
                &config.conv_channels,
                &config.hidden,
                config.conv_image(image_shape, CONV_ENCODER)?,
                rng,
            )?),
        })
    }

    /// Width of the features the head reads.
    pub fn out_dim(&self, config: &Stage1Config) -> usize {
        match self {
            Encoder::Mlp(mlp) => mlp.layers.last().map_or(config.input_dim, |l| l.out_dim()),
            Encoder::Conv(conv) => conv.out_dim(),
        }
    }

    /// [`Module::forward`] in a graph.
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        match self {
            Encoder::Mlp(mlp) => mlp.emit(g, x, name),
            Encoder::Conv(conv) => conv.emit(g, x, name),
        }
    }
}

impl Module for Encoder {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Encoder::Mlp(mlp) => mlp.forward(x),
            Encoder::Conv(conv) => conv.forward(x),
        }
    }
}
