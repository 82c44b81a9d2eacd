//! `edgevae sample`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use edgevae_runtime::ModelDir;
use edgevae_trainer::atomic_file;
use edgevae_trainer::data::npy;
use edgevae_trainer::image_grid::write_grid_png;
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

/// Samples, values per sample, and the image shape when samples are images.
struct Drawn {
    samples: Vec<f32>,
    dim: usize,
    shape: Option<(usize, usize)>,
}

/// Chunks bound memory for large n; each chunk gets its own seed so the result is a function of
/// (seed, n) only.
const CHUNK: usize = 2000;

fn chunk_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add((i as u64) << 32)
}

/// Samples through ONNX Runtime; returns (samples, dim, image shape).
fn sample_model(args: &SampleArgs, dir: &std::path::Path) -> anyhow::Result<Drawn> {
    anyhow::ensure!(
        !args.stage1_only,
        "--stage1-only needs --run (exported models sample two-stage)"
    );
    let model = ModelDir::open(dir, args.runtime.options()?)?;
    let mut sampler = model.sampler()?;
    eprintln!("{}", sampler.provider().describe());
    let d = model.input_dim();
    let mut samples = sample_buffer(args.n, d)?;
    samples.resize(args.n * d, 0.0);
    for (i, chunk) in samples.chunks_mut(CHUNK * d).enumerate() {
        sampler.sample_into(chunk.len() / d, chunk_seed(args.seed, i), chunk)?;
    }
    if let Some(path) = &args.save_noise {
        save_noise(path, args.n, model.latent(), args.seed)?;
    }
    let shape = model
        .manifest
        .image_shape
        .map(|[r, c]| (r as usize, c as usize));
    Ok(Drawn {
        samples,
        dim: d,
        shape,
    })
}

/// An empty buffer with room for `n` samples of `d` values. A huge `-n` was a panic (n * d
/// overflowing) or an abort (an allocation that cannot be made); it is now an error.
fn sample_buffer(n: usize, d: usize) -> anyhow::Result<Vec<f32>> {
    let too_many = || anyhow::anyhow!("-n {n}: {n} samples of {d} values do not fit in memory");
    let len = n.checked_mul(d).ok_or_else(too_many)?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| too_many())?;
    Ok(buf)
}

/// Regenerates the sampler's noise (per chunk: u then eps from `GaussianRng::new(chunk seed)`).
fn save_noise(path: &std::path::Path, n: usize, k: usize, seed: u64) -> anyhow::Result<()> {
    let mut u = Vec::with_capacity(n * k);
    let mut eps = Vec::with_capacity(n * k);
    for (i, start) in (0..n).step_by(CHUNK).enumerate() {
        let m = CHUNK.min(n - start);
        let mut rng = edgevae_runtime::core::GaussianRng::new(chunk_seed(seed, i));
        let mut chunk = vec![0.0f32; m * k];
        rng.fill_normal(&mut chunk);
        u.extend_from_slice(&chunk);
        rng.fill_normal(&mut chunk);
        eps.extend_from_slice(&chunk);
    }
    u.extend_from_slice(&eps);
    let bytes = npy::encode_f32(&[2, n, k], &u).context("encoding npy")?;
    atomic_file::write(path, &bytes)?;
    Ok(())
}

/// Samples with candle from a run directory; returns (samples, dim, image shape).
fn sample_run(args: &SampleArgs, dir: &std::path::Path) -> anyhow::Result<Drawn> {
    let device = edgevae_trainer::device::parse(&args.device)?;
    let run = LoadedRun::open(dir, &device, false)?;
    let d = run.config.stage1.input_dim;
    let mut samples = sample_buffer(args.n, d)?;
    for (i, start) in (0..args.n).step_by(CHUNK).enumerate() {
        let m = CHUNK.min(args.n - start);
        let seed = chunk_seed(args.seed, i);
        samples.extend(if args.stage1_only {
            run.sample_stage1(m, seed)?
        } else {
            run.sample_two_stage(m, seed)?
        });
    }
    Ok(Drawn {
        samples,
        dim: d,
        shape: image_shape(&run),
    })
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n > 0, "-n must be at least 1");
    let Drawn {
        samples,
        dim: d,
        shape,
    } = match (&args.model, &args.run) {
        (Some(dir), _) => sample_model(&args, dir)?,
        (None, Some(dir)) => sample_run(&args, dir)?,
        (None, None) => anyhow::bail!("give --run or --model"),
    };
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "npy" => {
            let bytes = npy::encode_f32(&[args.n, d], &samples).context("encoding npy")?;
            atomic_file::write(&args.out, &bytes)?;
        }
        "png" => {
            let shape = shape.context("this model's data are not images; use an .npy output")?;
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
