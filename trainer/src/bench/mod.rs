//! Benchmarks behind `edgevae bench`: they use the library as any caller would, so they live with
//! the command line rather than in the library's public surface.

pub mod frey;
pub mod latent;
pub mod micro;
pub mod outliers;
pub mod rpca;
pub mod step;
