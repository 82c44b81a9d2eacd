//! Architecture settings of each stage, stored in the run's `config.json`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::{first_grid, Activation};
use crate::settings::{
    all_at_least_one, at_least_one, fail, fraction, positive, Checked, Fraction,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage1Config {
    /// Data dimension d.
    pub input_dim: usize,
    /// Encoder hidden widths; the decoder mirrors them (the conv decoder, up to its first map).
    pub hidden: Vec<usize>,
    /// Latent dimension kappa.
    pub latent: usize,
    /// Decoder output: sigmoid for data in [0, 1], identity for real-valued data.
    pub output: Activation,
    /// Lower bound on gamma (a variance). Unbounded, gamma keeps shrinking as reconstructions
    /// improve and the loss becomes ill-conditioned; the floor stops that at a resolution finer
    /// than 8-bit pixels need.
    pub gamma_floor: f64,
    /// Initial gamma.
    pub gamma_init: f64,
    /// The encoder body before its head.
    #[serde(default)]
    pub encoder: EncoderKind,
    /// The decoder mean: an MLP mirroring the encoder, affine, or convolutional.
    #[serde(default)]
    pub decoder: DecoderKind,
    /// The convolutional layers' feature-map channels, smallest map first (the conv decoder's
    /// order): each map after the first doubles the sides, and so does the image.
    #[serde(default = "default_conv_channels")]
    pub conv_channels: Vec<usize>,
    /// A per-element decoder variance (method.md section 3); `None`: the scalar gamma.
    #[serde(default)]
    pub robust: Option<RobustConfig>,
    /// Encoder passes per training step (1: no recycling); see [`super::Stage1::loss`].
    #[serde(default = "one")]
    pub recycle: usize,
}

fn one() -> usize {
    1
}

fn default_conv_channels() -> Vec<usize> {
    vec![64, 32]
}

/// Stage 1's encoder body (`--encoder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EncoderKind {
    /// Dense ReLU layers of the hidden widths.
    #[default]
    Mlp,
    /// For images: the conv decoder mirrored, 3x3 convolutions halving the sides down to its
    /// smallest map, then the hidden widths.
    Conv,
}

/// Stage 1's decoder mean (`--decoder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// Dense ReLU layers mirroring the encoder's.
    #[default]
    Mlp,
    /// mu_x = W z + b: the Robust PCA setting (Dai et al., 2018).
    Affine,
    /// For images: the mirrored dense layers to a small feature map, then 3x3 sub-pixel
    /// convolutions up to the image's size.
    Conv,
}

/// The robust decoder: per element, the inlier variance `v_ij = floor + gamma * exp(l_ij(z))`
/// from a second decoder head; an element may instead take the closed-form variance
/// `(x - mu_x)^2` (the paper's infinite-capacity limit) at a price of `outlier_cost` nats, which
/// bounds the pull of sparse corruption on the mean (see [`super::robust_vae_loss`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustConfig {
    /// Lower bound of the per-element variance.
    pub variance_floor: f64,
    /// The price of one outlier element, in nats (3: elements beyond about three inlier
    /// standard deviations become outliers).
    pub outlier_cost: f64,
    /// The head's log-variance is `range * tanh(raw / range)`: per element, the inlier variance
    /// stays within a factor `e^range` of the shared gamma. Unbounded, the head explains the
    /// data with variance instead of with the latent code and the posterior collapses.
    #[serde(default = "default_log_variance_range")]
    pub log_variance_range: f64,
    /// Fraction of stage-1 epochs over which the outlier price falls from ten times
    /// `outlier_cost` to `outlier_cost`. At a full price from the start, structure the decoder
    /// has not learned yet is priced as outliers and never learned (dim, blurred
    /// reconstructions); the warm-up lets the model fit first and exclude outliers later.
    #[serde(default = "default_warmup")]
    pub warmup: f64,
}

fn default_warmup() -> f64 {
    0.3
}

fn default_log_variance_range() -> f64 {
    6.0
}

impl Default for RobustConfig {
    fn default() -> Self {
        Self {
            variance_floor: 1e-4,
            outlier_cost: 3.0,
            log_variance_range: default_log_variance_range(),
            warmup: default_warmup(),
        }
    }
}

impl Stage1Config {
    pub fn new(input_dim: usize, output: Activation) -> Self {
        Self {
            input_dim,
            hidden: vec![512, 512],
            latent: 64,
            output,
            gamma_floor: 1e-4,
            gamma_init: 1.0,
            encoder: EncoderKind::Mlp,
            decoder: DecoderKind::Mlp,
            conv_channels: default_conv_channels(),
            robust: None,
            recycle: 1,
        }
    }

    /// Every setting, each failure naming its field (`input_dim` comes from the data; the conv
    /// channels are checked against the image by [`Self::conv_image`]).
    pub fn validate(&self) -> Checked {
        at_least_one("stage1.latent", self.latent)?;
        all_at_least_one("stage1.hidden", &self.hidden)?;
        positive("stage1.gamma_floor", self.gamma_floor)?;
        positive("stage1.gamma_init", self.gamma_init)?;
        if self.uses_conv_maps() {
            if self.conv_channels.is_empty() {
                return fail(
                    "stage1.conv_channels",
                    "[]",
                    "needs at least one channel count",
                );
            }
            all_at_least_one("stage1.conv_channels", &self.conv_channels)?;
        }
        if let Some(r) = &self.robust {
            positive("stage1.robust.variance_floor", r.variance_floor)?;
            positive("stage1.robust.outlier_cost", r.outlier_cost)?;
            positive("stage1.robust.log_variance_range", r.log_variance_range)?;
            fraction("stage1.robust.warmup", r.warmup, Fraction::Closed)?;
        }
        at_least_one("stage1.recycle", self.recycle)
    }

    /// Whether a stage-1 layer reads or writes feature maps (and so `conv_channels`).
    pub fn uses_conv_maps(&self) -> bool {
        self.encoder == EncoderKind::Conv || self.decoder == DecoderKind::Conv
    }

    /// The image shape of data rows of `image_shape` (the data's, `None` when its rows are not
    /// images) once checked against the data's width and `conv_channels`, or an error naming
    /// `layer` (the one that needs images) and why the rows do not fit.
    pub fn conv_image(
        &self,
        image_shape: Option<(usize, usize)>,
        layer: &str,
    ) -> Result<(usize, usize)> {
        let image = image_shape.ok_or_else(|| {
            Error::Config(format!(
                "the {layer} needs image data (rows with a known image shape)"
            ))
        })?;
        if image.0.checked_mul(image.1) != Some(self.input_dim) {
            return Err(Error::Config(format!(
                "image shape {} x {} does not match the data's {} values per row",
                image.0, image.1, self.input_dim
            )));
        }
        first_grid(image, &self.conv_channels)?;
        Ok(image)
    }

    /// One line on the encoder for `edgevae inspect`: its kind and layer widths.
    pub fn encoder_summary(&self, image_shape: Option<(usize, usize)>) -> String {
        match self.encoder {
            EncoderKind::Mlp => format!("mlp {:?}", self.hidden),
            EncoderKind::Conv => {
                let mut maps = self.conv_maps(image_shape);
                maps.reverse();
                format!("conv ({}) -> mlp {:?}", maps.join(" -> "), self.hidden)
            }
        }
    }

    /// The conv layers' maps, channels x rows x columns, smallest first and the image last, for
    /// rows of `image_shape`; the channel counts alone when the image does not fit them.
    fn conv_maps(&self, image_shape: Option<(usize, usize)>) -> Vec<String> {
        let Some((rows, cols)) =
            image_shape.and_then(|image| first_grid(image, &self.conv_channels).ok())
        else {
            return vec![format!("channels {:?}", self.conv_channels)];
        };
        let mut side = (rows, cols);
        let mut maps = Vec::new();
        for c in self.conv_channels.iter().chain([&1]) {
            maps.push(format!("{c} x {} x {}", side.0, side.1));
            side = (side.0 * 2, side.1 * 2);
        }
        maps
    }

    /// One line on the decoder for `edgevae inspect`: its kind (for the conv decoder, its maps,
    /// channels x rows x columns, for rows of `image_shape`), robustness and recycling.
    pub fn decoder_summary(&self, image_shape: Option<(usize, usize)>) -> String {
        let kind = match self.decoder {
            DecoderKind::Mlp => "mlp (mirrors the encoder)".to_string(),
            DecoderKind::Affine => "affine (mu_x = W z + b)".to_string(),
            DecoderKind::Conv => format!("conv ({})", self.conv_maps(image_shape).join(" -> ")),
        };
        let robust = match &self.robust {
            Some(r) => format!(
                ", robust (outlier cost {}, variance range {}, warm-up {})",
                r.outlier_cost, r.log_variance_range, r.warmup
            ),
            None => String::new(),
        };
        format!("{kind}{robust}, recycle {}", self.recycle)
    }

    /// Layer widths of the decoder mean, latent first: for the conv decoder, its dense layers'
    /// widths before the first feature map.
    pub fn decoder_widths(&self) -> Vec<usize> {
        let mut widths = vec![self.latent];
        if self.decoder != DecoderKind::Affine {
            widths.extend(self.hidden.iter().rev());
        }
        if self.decoder != DecoderKind::Conv {
            widths.push(self.input_dim);
        }
        widths
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage2Config {
    /// Width of each hidden layer (1024 in the authors' code).
    pub width: usize,
    /// Number of hidden ReLU layers (3 in the authors' code).
    pub depth: usize,
    pub gamma_floor: f64,
    pub gamma_init: f64,
}

impl Stage2Config {
    /// Every setting, each failure naming its field (`depth` may be 0: the skip alone).
    pub fn validate(&self) -> Checked {
        at_least_one("stage2.width", self.width)?;
        positive("stage2.gamma_floor", self.gamma_floor)?;
        positive("stage2.gamma_init", self.gamma_init)
    }
}

impl Default for Stage2Config {
    fn default() -> Self {
        Self {
            width: 1024,
            depth: 3,
            gamma_floor: 1e-6,
            gamma_init: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_summary_names_the_conv_maps_and_the_robust_settings() {
        let mut config = Stage1Config::new(784, Activation::Sigmoid);
        config.decoder = DecoderKind::Conv;
        config.robust = Some(RobustConfig::default());
        assert_eq!(
            config.decoder_summary(Some((28, 28))),
            "conv (64 x 7 x 7 -> 32 x 14 x 14 -> 1 x 28 x 28), robust (outlier cost 3, \
             variance range 6, warm-up 0.3), recycle 1"
        );
        assert!(config
            .decoder_summary(None)
            .starts_with("conv (channels [64, 32])"));
    }

    #[test]
    fn encoder_summary_names_the_conv_maps_from_the_image_down() {
        let mut config = Stage1Config::new(784, Activation::Sigmoid);
        assert_eq!(config.encoder_summary(Some((28, 28))), "mlp [512, 512]");
        config.encoder = EncoderKind::Conv;
        assert_eq!(
            config.encoder_summary(Some((28, 28))),
            "conv (1 x 28 x 28 -> 32 x 14 x 14 -> 64 x 7 x 7) -> mlp [512, 512]"
        );
        assert!(config.uses_conv_maps());
    }
}
