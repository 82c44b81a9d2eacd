//! edgevae-trainer: fits Two-Stage VAEs with candle, on CPU or CUDA, and writes run directories
//! that the `edgevae` binary samples from, inspects, evaluates and exports.
//!
//! Layers, from the bottom: [`rng`], [`settings`] (checks naming a config field), [`nmse`], [`mapped_vec`], [`data`] and [`image_grid`] (no candle),
//! [`onnx`] (the graph builder), [`nn`] (parameters, dense layers, optimiser; each layer emits its
//! own ONNX nodes), [`model`] (stage 1, stage 2, losses), [`train`]
//! (the loop, checkpoints, resume, and the run's own reports: active dimensions, image grids), then
//! [`report`] (evaluation metrics) and [`export`] (ONNX graphs) over trained runs, and
//! [`jobs`] (what the subcommands do) over those; beside them
//! [`rpca`] (the Robust PCA baseline, no candle). No module uses one above it: CI runs
//! `scripts/check_module_cycles.py`, which fails on a dependency cycle.

pub mod atomic_file;
pub mod cpu_threads;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod float_mode;
pub mod image_grid;
pub mod jobs;
pub mod mapped_vec;
pub mod model;
pub mod nmse;
pub mod nn;
pub mod onnx;
pub mod report;
pub mod rng;
pub mod rpca;
pub mod settings;
pub mod train;

pub use error::{Error, Result};
