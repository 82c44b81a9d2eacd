//! What a run reports: active latent dimensions, image grids, and sample-quality metrics.

pub mod active_dims;
pub mod evaluation;
pub mod frechet;
pub mod grids;
pub mod image_grid;
pub mod outlier_eval;
