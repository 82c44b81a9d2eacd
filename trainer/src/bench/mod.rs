//! Benchmarks behind `edgevae bench`: they use the library as any caller would, so they live with
//! the command line rather than in the library's public surface.

pub mod frey;
pub mod latent;
pub mod micro;
pub mod outliers;
pub mod rpca;
pub mod step;

use edgevae_trainer::train::TrainConfig;

/// For the benchmarks that score stage 1's reconstructions (Frey, RPCA): stage 2 is only
/// trained because a run has two stages, so it gets a token network and one epoch.
pub(crate) fn token_stage2(config: &mut TrainConfig) {
    config.stage2.width = 16;
    config.stage2.depth = 1;
    config.schedule2 = config.schedule2.with_epochs(1);
}
