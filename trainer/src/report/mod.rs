//! What is measured on a trained run: sample quality (Fréchet distance, diversity) and the
//! evaluation behind `edgevae eval`.

pub mod evaluation;
pub mod frechet;
