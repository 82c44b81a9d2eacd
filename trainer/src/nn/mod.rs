//! Building blocks on candle: a named parameter store, dense layers, MLPs and the optimiser.

mod adamw;
mod bias_add;
mod dense;
mod mlp;
mod params;
mod schedule;

pub use adamw::{AdamW, AdamWConfig};
pub use bias_add::add_bias;
pub use dense::Dense;
pub use mlp::{Activation, Mlp};
pub use params::ParamStore;
pub use schedule::halving_lr;
