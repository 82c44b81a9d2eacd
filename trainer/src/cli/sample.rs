//! `edgevae sample`: parses, calls [`edgevae_trainer::jobs`]' sampling, prints.

use std::path::PathBuf;

use clap::Args;

use edgevae_runtime::ModelDir;
use edgevae_trainer::jobs::{sample_model, sample_run, write_noise, write_samples};
use edgevae_trainer::train::LoadedRun;

use super::runtime_args::RuntimeArgs;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "model"])))]
pub struct SampleArgs {
    /// Run directory made by `edgevae train` (samples with candle).
    #[arg(long)]
    run: Option<PathBuf>,
    /// Model directory made by `edgevae export` (samples through ONNX Runtime).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number of samples.
    #[arg(short = 'n', long, default_value_t = 100)]
    n: usize,
    /// Seed of the sampling noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .png (a grid; needs image data) or .npy (an [n, d] f32 array).
    #[arg(long)]
    out: PathBuf,
    /// Sample z ~ N(0, I) and decode with stage 1 alone, skipping stage 2 (for comparison).
    #[arg(long)]
    stage1_only: bool,
    /// With --model: also write the noise used, as a [2, n, latent] f32 .npy (u, then eps), so
    /// another runtime can be checked against these samples on the same inputs.
    #[arg(long)]
    save_noise: Option<PathBuf>,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    // The ONNX Runtime flags, which apply with --model only; last, because the help heading
    // also holds for the flags after it.
    #[command(flatten, next_help_heading = "With --model (ONNX Runtime)")]
    runtime: RuntimeArgs,
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n > 0, "-n must be at least 1");
    let samples = match (&args.model, &args.run) {
        (Some(dir), _) => {
            anyhow::ensure!(
                !args.stage1_only,
                "--stage1-only needs --run (exported models sample two-stage)"
            );
            let model = ModelDir::open(dir, args.runtime.options()?)?;
            let samples =
                sample_model(&model, args.n, args.seed).map_err(|e| in_flag_terms(e, args.n))?;
            if let Some(path) = &args.save_noise {
                write_noise(path, args.n, model.latent(), args.seed)?;
            }
            samples
        }
        (None, Some(dir)) => {
            let device = edgevae_trainer::device::parse(&args.device)?;
            let run = LoadedRun::open(dir, &device, false)?;
            sample_run(&run, args.n, args.seed, args.stage1_only)
                .map_err(|e| in_flag_terms(e, args.n))?
        }
        (None, None) => anyhow::bail!("give --run or --model"),
    };
    if let Some(provider) = &samples.provider {
        eprintln!("{provider}");
    }
    write_samples(&args.out, &samples)?;
    println!(
        "{} {} samples ({} values each) written to {}",
        args.n,
        if args.stage1_only {
            "stage-1-only"
        } else {
            "two-stage"
        },
        samples.dim,
        args.out.display()
    );
    Ok(())
}

/// A sample count the library refuses, said as the flag.
fn in_flag_terms(e: edgevae_trainer::Error, n: usize) -> anyhow::Error {
    match e {
        edgevae_trainer::Error::InvalidInput(problem) => anyhow::anyhow!("-n {n}: {problem}"),
        e => e.into(),
    }
}
