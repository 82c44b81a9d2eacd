//! What is measured on a trained run: sample quality (Fréchet distance, diversity), the
//! evaluation behind `edgevae eval`, and outlier detection against Robust PCA.

pub mod evaluation;
pub mod frechet;
pub mod outlier_eval;
