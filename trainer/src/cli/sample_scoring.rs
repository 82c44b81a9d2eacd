//! The flags that say how samples are scored, shared by `eval` and `bench latent`; the defaults
//! are the library's (`EvalOptions::default()`).

use clap::Args;

use edgevae_trainer::report::evaluation::EvalOptions;

#[derive(Debug, Args)]
pub struct SampleScoringArgs {
    /// Samples drawn from each sampler (10,000 as in the published FIDs).
    #[arg(long, default_value_t = EvalOptions::default().samples)]
    pub samples: usize,
    /// Principal components of the training data that span the feature space.
    #[arg(long, default_value_t = EvalOptions::default().pca_components)]
    pub pca_components: usize,
    /// Seed of the sampling noise.
    #[arg(long, default_value_t = EvalOptions::default().seed)]
    pub seed: u64,
}
