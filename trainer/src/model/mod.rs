//! The Two-Stage VAE (method.md sections 1 and 2): stage 1 on the data with a learned scalar
//! decoder variance gamma, stage 2 on the stage-1 latent codes with its own gamma.

mod config;
mod decoder;
mod encoder;
mod gaussian;
mod loss;
mod stage1;
mod stage2;

pub use config::{DecoderKind, EncoderKind, RobustConfig, Stage1Config, Stage2Config};
pub use decoder::{check_decoder, Decoder, VarianceHead};
pub use encoder::{check_encoder, Encoder};
pub use gaussian::DiagonalGaussian;
pub use loss::{gaussian_kl, outlier_cutoff, robust_vae_loss, vae_loss, LossParts, LN_2PI};
pub use stage1::Stage1;
pub use stage2::Stage2;
