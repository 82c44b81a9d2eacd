//! Command-line arguments and the dispatch to each subcommand.

mod bench;
mod bench_cold_start;
mod bench_frey;
mod bench_latent;
mod bench_micro;
mod bench_outliers;
mod bench_rpca;
mod eval;
mod export;
mod filter;
mod inspect;
mod progress;
mod quickstart;
mod runtime_args;
mod sample;
mod sample_scoring;
mod train;
mod triton;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "edgevae",
    version,
    about = "Train Two-Stage VAEs offline; sample and filter at the edge"
)]
pub struct Cli {
    /// Worker threads for tensor maths (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train both stages of a Two-Stage VAE into a run directory.
    Train(Box<train::TrainArgs>),
    /// Draw samples from a trained run into a PNG grid or an .npy array.
    Sample(sample::SampleArgs),
    /// Show a run's configuration, gamma per stage, active dimensions and final losses.
    Inspect(inspect::InspectArgs),
    /// Evaluate a run on test data: reconstruction error, negative ELBO, and sample quality.
    Eval(eval::EvalArgs),
    /// Export a trained run as ONNX graphs (fp32, fp16, fp16w) with a manifest.
    Export(export::ExportArgs),
    /// Find and clean outliers in data with an exported, calibrated model (ONNX Runtime).
    Filter(filter::FilterArgs),
    /// The whole pipeline on built-in data: train, export, sample through ONNX Runtime.
    Quickstart(quickstart::QuickstartArgs),
    /// Write a Triton Inference Server model repository from a model directory.
    Triton(triton::TritonArgs),
    /// Benchmarks (the training step against the PyTorch peer: see benches/train_step.sh).
    Bench(bench::BenchArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(t) = cli.threads {
        anyhow::ensure!(t > 0, "--threads must be at least 1");
    }
    // Flush-to-zero (trainer/src/float_mode.rs) only for the commands that train: it is what
    // makes candle's training fast on Intel cores, but numerics that rely on gradual underflow
    // break under it (`eval`'s Fréchet distance came out with non-finite features), and the
    // evaluation, export and PCP code is left with IEEE arithmetic.
    let flush_subnormals = match &cli.command {
        Command::Train(_) | Command::Quickstart(_) => true,
        Command::Bench(b) => b.is_training_step(),
        _ => false,
    };
    let threads = cli.threads;
    edgevae_trainer::cpu_threads::with_cpu_threads(threads, flush_subnormals, || {
        match cli.command {
            Command::Train(a) => train::run(*a),
            Command::Sample(a) => sample::run(a),
            Command::Inspect(a) => inspect::run(a),
            Command::Eval(a) => eval::run(a),
            Command::Bench(a) => bench::run(a),
            Command::Export(a) => export::run(a),
            Command::Filter(a) => filter::run(a),
            Command::Quickstart(a) => quickstart::run(a),
            Command::Triton(a) => triton::run(a),
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
