//! What the `edgevae` subcommands do, as library functions: each CLI file parses its flags, calls
//! one of these and prints what it returns.

mod filter_file;
mod quickstart;
mod sample_file;

pub use filter_file::{filter_file, FilteredFile};
pub use quickstart::{quickstart, quickstart_config, QuickstartPaths, QuickstartReport};
pub use sample_file::{
    sample_model, sample_run, sampler_noise, write_noise, write_samples, Samples,
};
