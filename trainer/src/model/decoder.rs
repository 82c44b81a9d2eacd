//! Stage 1's decoder mean (dense or convolutional) and the robust decoder's variance head that
//! reads the decoder's last hidden features.

use candle_core::{Module, Tensor};

use super::{DecoderKind, Stage1Config};
use crate::error::Result;
use crate::nn::{
    emit_flat_image, flat_image, ConvDecoder, Dense, Mlp, ParamRole, ParamStore, SubPixelConv,
};
use crate::onnx::GraphBuilder;
use crate::rng::SeededRng;

/// Whether `config`'s decoder can decode data rows of `image_shape` (the data's, `None` when its
/// rows are not images): for the conv decoder, images whose sides its doublings divide.
/// Training checks this before it writes anything.
pub fn check_decoder(config: &Stage1Config, image_shape: Option<(usize, usize)>) -> Result<()> {
    if config.decoder == DecoderKind::Conv {
        config.conv_image(image_shape, CONV_DECODER)?;
    }
    Ok(())
}

/// What the image checks call the conv decoder.
const CONV_DECODER: &str = "conv decoder";

#[derive(Clone, Debug)]
pub enum Decoder {
    /// An MLP mirroring the encoder, or one affine layer.
    Dense(Mlp),
    Conv(ConvDecoder),
}

#[derive(Clone, Debug)]
pub enum VarianceHead {
    /// The last hidden layer (z for an affine decoder) to d values.
    Dense(Dense),
    /// The last feature map to one channel at the image's size.
    Conv(SubPixelConv),
}

impl Decoder {
    /// Layers named `{prefix}.0`, `{prefix}.1`, ... (the dense ones), `{prefix}.up.i` and
    /// `{prefix}.out` (the convolutions); `image_shape` as in [`check_decoder`].
    pub fn new(
        config: &Stage1Config,
        image_shape: Option<(usize, usize)>,
        params: &mut ParamStore,
        prefix: &str,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let widths = config.decoder_widths();
        Ok(match config.decoder {
            DecoderKind::Mlp | DecoderKind::Affine => Decoder::Dense(Mlp::new(
                params,
                prefix,
                &widths,
                config.output,
                ParamRole::LatentReader,
                rng,
            )?),
            DecoderKind::Conv => {
                let image = config.conv_image(image_shape, CONV_DECODER)?;
                Decoder::Conv(ConvDecoder::new(
                    params,
                    prefix,
                    &widths,
                    &config.conv_channels,
                    image,
                    config.output,
                    rng,
                )?)
            }
        })
    }

    /// A variance head reading this decoder's last hidden features, named `prefix`.
    pub fn variance_head(
        &self,
        config: &Stage1Config,
        params: &mut ParamStore,
        prefix: &str,
        rng: &mut SeededRng,
    ) -> Result<VarianceHead> {
        Ok(match self {
            Decoder::Dense(mlp) => {
                let feed = mlp
                    .layers
                    .last()
                    .map_or(config.latent, |layer| layer.in_dim());
                VarianceHead::Dense(Dense::new(params, prefix, feed, config.input_dim, rng)?)
            }
            Decoder::Conv(conv) => {
                VarianceHead::Conv(SubPixelConv::new(params, prefix, conv.out.c_in, 1, rng)?)
            }
        })
    }

    /// The MLP or affine decoder, if this is one.
    pub fn dense(&self) -> Option<&Mlp> {
        match self {
            Decoder::Dense(mlp) => Some(mlp),
            Decoder::Conv(_) => None,
        }
    }

    /// The last hidden features (what the variance head reads) and the mean [n, d].
    pub fn forward_split(&self, z: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        match self {
            Decoder::Dense(mlp) => mlp.forward_split(z),
            Decoder::Conv(conv) => conv.forward_split(z),
        }
    }

    /// The mean [N, d] in a graph.
    pub fn emit(&self, g: &mut GraphBuilder, z: &str, name: &str) -> Result<String> {
        match self {
            Decoder::Dense(mlp) => mlp.emit(g, z, name),
            Decoder::Conv(conv) => Ok(conv.emit_split(g, z, name)?.1),
        }
    }

    /// [`Self::forward_split`] in a graph.
    pub fn emit_split(
        &self,
        g: &mut GraphBuilder,
        z: &str,
        name: &str,
    ) -> Result<(String, String)> {
        match self {
            Decoder::Dense(mlp) => mlp.emit_split(g, z, name),
            Decoder::Conv(conv) => conv.emit_split(g, z, name),
        }
    }
}

impl Module for Decoder {
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Decoder::Dense(mlp) => mlp.forward(z),
            Decoder::Conv(conv) => conv.forward(z),
        }
    }
}

impl VarianceHead {
    /// The dense head of an MLP or affine decoder, if this is one.
    pub fn dense(&self) -> Option<&Dense> {
        match self {
            VarianceHead::Dense(dense) => Some(dense),
            VarianceHead::Conv(_) => None,
        }
    }

    /// The raw output [N, d] in a graph, from the decoder's last hidden features.
    pub fn emit(&self, g: &mut GraphBuilder, hidden: &str, name: &str) -> Result<String> {
        match self {
            VarianceHead::Dense(dense) => dense.emit(g, hidden, name),
            VarianceHead::Conv(conv) => {
                let map = conv.emit(g, hidden, name)?;
                Ok(emit_flat_image(g, &map, name))
            }
        }
    }
}

impl Module for VarianceHead {
    /// The raw per-element output [n, d] for the decoder's hidden features.
    fn forward(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            VarianceHead::Dense(dense) => dense.forward(hidden),
            VarianceHead::Conv(conv) => flat_image(&conv.forward(hidden)?),
        }
    }
}
