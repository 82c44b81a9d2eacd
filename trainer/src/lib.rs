//! edgevae-trainer: fits Two-Stage VAEs with candle, on CPU or CUDA, and writes run directories
//! that the `edgevae` binary samples from, inspects, evaluates and exports.
//!
//! Layers, from the bottom: [`rng`] and [`data`] (no candle), [`nn`] (parameters, dense layers,
//! optimiser), [`model`] (stage 1, stage 2, losses), [`train`] (the loop, checkpoints, resume),
//! [`report`] (diagnostics, image grids, evaluation metrics); beside them [`rpca`] (the Robust
//! PCA baseline and its synthetic benchmark, no candle).

pub mod atomic_file;
pub mod cpu_threads;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod float_mode;
pub mod model;
pub mod nn;
pub mod report;
pub mod rng;
pub mod rpca;
pub mod step_bench;
pub mod train;

pub use error::{Error, Result};
