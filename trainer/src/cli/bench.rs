//! `edgevae bench`: the stage-1 training-step benchmark (the PyTorch peer is
//! `shared/bench/torch_vae_step.py`; `benches/train_step.sh` runs both in one go), the
//! runtime's cold start, the Robust PCA grid, the outlier-detection table, the micro
//! backend's precisions, the latent-width sweep and the Frey-faces recycling demo.

use clap::{Args, Subcommand};

use crate::bench::step::time_stage1_steps;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Median time of one stage-1 training step (784-512-512, kappa 64).
    Step {
        /// Batch size.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 60)]
        steps: usize,
        /// cpu, cuda or cuda:N (CUDA needs a build with `--features cuda`).
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Cold start of the runtime: open a model directory (manifest, checksums, session) and
    /// draw the first sample, each time in a fresh process that has not loaded ONNX Runtime.
    ColdStart(super::bench_cold_start::ColdStartArgs),
    /// The Robust PCA grid of Dai et al. (2018): data on a kappa-dimensional non-linear
    /// manifold in R^100 with a fraction nu of entries replaced by N(0, 1) outliers; NMSE of the
    /// recovered clean matrix for PCP, a plain VAE and the robust VAE per (kappa, nu) cell.
    /// Writes results.csv and one heat map per method.
    Rpca(super::bench_rpca::RpcaArgs),
    /// Element-level outlier detection on corrupted data (e.g. MNIST with 20% uniform noise):
    /// AUROC and cleaned-signal NMSE for exported models (robust and plain) and for PCP.
    Outliers(super::bench_outliers::OutliersArgs),
    /// The micro blobs against ONNX Runtime fp32 on one model directory: size, sample quality
    /// (Fréchet distance, diversity; same seeds), filter mask agreement and element AUROC.
    Micro(super::bench_micro::MicroArgs),
    /// Robustness to the latent width: both stages trained for each kappa, stage-1-only and
    /// two-stage samples scored (Fréchet distance, diversity) with the active-dimension count;
    /// writes latent.csv and latent.png.
    Latent(super::bench_latent::LatentArgs),
    /// The Frey-faces recycling demo: corrupted faces cleaned by PCP, a plain VAE, the robust
    /// VAE and the robust VAE with recycling; NMSE against the clean faces (results.csv) and
    /// the figure frey.png (clean | corrupted | each method).
    Frey(super::bench_frey::FreyArgs),
}

impl BenchArgs {
    /// The training-step benchmark: training work, timed (see `cli::run` on flush-to-zero).
    pub fn is_training_step(&self) -> bool {
        matches!(self.what, BenchWhat::Step { .. })
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Rpca(a) => return super::bench_rpca::run(a),
        BenchWhat::Outliers(a) => return super::bench_outliers::run(a),
        BenchWhat::Micro(a) => return super::bench_micro::run(a),
        BenchWhat::Latent(a) => return super::bench_latent::run(a),
        BenchWhat::Frey(a) => return super::bench_frey::run(a),
        BenchWhat::Step {
            batch,
            warmup,
            steps,
            device,
        } => {
            anyhow::ensure!(
                batch > 0 && steps > 0,
                "--batch and --steps must be at least 1"
            );
            let device = edgevae_trainer::device::parse(&device)?;
            let t = time_stage1_steps(batch, warmup, steps, &device)?;
            let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
            let on = if device.is_cpu() { "cpu" } else { "cuda" };
            println!(
                "candle device={on} batch={} threads={threads} steps={} median_ms={:.3} mean_ms={:.3} p10={:.3} p90={:.3} final_loss={:.2}",
                t.batch, t.steps, t.median_ms, t.mean_ms, t.p10_ms, t.p90_ms, t.final_loss
            );
        }
        BenchWhat::ColdStart(a) => return super::bench_cold_start::run(a),
    }
    Ok(())
}
