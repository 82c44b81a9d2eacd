//! Robust PCA, the classical baseline for the robust VAE: [`pcp`] splits a matrix into a
//! low-rank part and a sparse part, [`synthetic`] makes the benchmark of Dai et al. (2018), data
//! on a non-linear manifold with a fraction of entries replaced by outliers, and [`heatmap`]
//! draws the recovery error over a grid of (latent dimension, outlier fraction) cells.
//!
//! PCP uses no candle: the matrices are small and dense, and the SVD comes from nalgebra. The
//! comparison with the VAEs (`edgevae bench rpca`) lives with the command line, above training.

pub mod heatmap;
pub mod pcp;
pub mod synthetic;

pub use heatmap::{encode_heatmap, write_heatmap};
pub use pcp::{pcp, PcpOptions, PcpResult};
pub use synthetic::{generate, nmse, SyntheticRpca};
