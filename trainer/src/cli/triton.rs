//! `edgevae triton`: a Triton Inference Server model repository from a model directory.

use std::path::PathBuf;

use clap::Args;
use edgevae_trainer::export::triton::{write_repository, TritonOptions};

#[derive(Debug, Args)]
pub struct TritonArgs {
    /// The model directory (`edgevae export`'s output).
    #[arg(long)]
    model: PathBuf,
    /// Where to write the repository (one model per graph).
    #[arg(long)]
    out: PathBuf,
    /// Triton's max_batch_size.
    #[arg(long, default_value_t = TritonOptions::default().max_batch_size)]
    max_batch_size: usize,
    /// Model instances (instance_group count).
    #[arg(long, default_value_t = TritonOptions::default().instances)]
    instances: usize,
    /// How long Triton may queue a request to form a batch, in microseconds.
    #[arg(long, default_value_t = TritonOptions::default().max_queue_delay_us)]
    max_queue_delay_us: u64,
}

pub fn run(args: TritonArgs) -> anyhow::Result<()> {
    let options = TritonOptions {
        max_batch_size: args.max_batch_size,
        instances: args.instances,
        max_queue_delay_us: args.max_queue_delay_us,
    };
    let names = write_repository(&args.model, &args.out, &options)?;
    println!(
        "Triton model repository {}: {} (see its README.md for the outlier thresholds)",
        args.out.display(),
        names.join(", ")
    );
    Ok(())
}
