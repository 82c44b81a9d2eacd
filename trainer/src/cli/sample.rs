//! `edgevae sample`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use edgevae_trainer::atomic_file;
use edgevae_trainer::data::npy;
use edgevae_trainer::report::image_grid::write_grid_png;
use edgevae_trainer::train::LoadedRun;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Run directory made by `edgevae train`.
    #[arg(long)]
    run: PathBuf,
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
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n > 0, "-n must be at least 1");
    let device = edgevae_trainer::device::parse(&args.device)?;
    let run = LoadedRun::open(&args.run, &device, false)?;
    let d = run.config.stage1.input_dim;
    let mut samples = Vec::with_capacity(args.n * d);
    // Chunks bound memory for large n; each chunk gets its own seed so the result is a function
    // of (seed, n) only.
    const CHUNK: usize = 2000;
    for (i, start) in (0..args.n).step_by(CHUNK).enumerate() {
        let m = CHUNK.min(args.n - start);
        let seed = args.seed.wrapping_add((i as u64) << 32);
        samples.extend(if args.stage1_only {
            run.sample_stage1(m, seed)?
        } else {
            run.sample_two_stage(m, seed)?
        });
    }
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "npy" => {
            let bytes = npy::encode_f32(&[args.n, d], &samples).context("encoding npy")?;
            atomic_file::write(&args.out, &bytes)?;
        }
        "png" => {
            let shape =
                image_shape(&run).context("this run's data are not images; use an .npy output")?;
            let cols = (args.n as f64).sqrt().ceil() as usize;
            write_grid_png(&args.out, &samples, args.n, shape, cols)?;
        }
        _ => anyhow::bail!("{}: output must end in .png or .npy", args.out.display()),
    }
    println!(
        "{} {} samples ({}) written to {}",
        args.n,
        if args.stage1_only {
            "stage-1-only"
        } else {
            "two-stage"
        },
        format_args!("{d} values each"),
        args.out.display()
    );
    Ok(())
}

/// The run's image shape; runs written before it was recorded fall back to square pixel data.
fn image_shape(run: &LoadedRun) -> Option<(usize, usize)> {
    let d = run.config.stage1.input_dim;
    let side = (d as f64).sqrt().round() as usize;
    let square =
        side * side == d && run.config.stage1.output == edgevae_trainer::nn::Activation::Sigmoid;
    run.config.image_shape.or(square.then_some((side, side)))
}
