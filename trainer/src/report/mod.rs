//! What is measured on a trained run: sample quality (Fréchet distance, diversity), the
//! importance-weighted NLL, and the evaluation behind `edgevae eval`.

pub mod evaluation;
pub mod frechet;
pub mod nll;
