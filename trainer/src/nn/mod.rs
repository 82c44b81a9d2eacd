//! Building blocks on candle: a named parameter store, dense layers, MLPs, a convolutional
//! encoder and decoder, and the optimiser.

mod adam_update;
mod adamw;
mod bias_add;
mod conv_decoder;
mod conv_encoder;
mod dense;
mod dense_product;
mod mlp;
mod params;
mod patches;
mod schedule;
mod sub_pixel_conv;

pub use adamw::{AdamW, AdamWConfig, STATE_PREFIX as OPTIMIZER_STATE_PREFIX};
pub use bias_add::{add_bias, add_bias_relu};
pub use conv_decoder::{emit_flat_image, first_grid, flat_image, ConvDecoder};
pub use conv_encoder::{ConvEncoder, DownConv};
pub use dense::Dense;
pub use mlp::{Activation, Mlp};
pub use params::{ParamRole, ParamStore};
pub use patches::{kernel_3x3_params, onnx_kernel_3x3, patches_3x3};
pub use schedule::halving_lr;
pub use sub_pixel_conv::SubPixelConv;
