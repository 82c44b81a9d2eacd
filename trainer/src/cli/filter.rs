//! `edgevae filter`: parses, calls [`edgevae_trainer::jobs::filter_file`], prints.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use edgevae_runtime::ModelDir;
use edgevae_trainer::jobs::filter_file;

use super::runtime_args::RuntimeArgs;

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Model directory made by `edgevae export` with outlier calibration.
    #[arg(long)]
    model: PathBuf,
    /// Data to filter: an .npy file (f32 or u8) or an IDX file (u8 or f32, gzipped or raw),
    /// `[N, d]` or `[N, rows, cols]`; u8 values are scaled to [0, 1] as for training.
    #[arg(long)]
    input: PathBuf,
    /// Output directory: cleaned.npy ([N, d] f32), mask.npy ([N, d] u8, 1 = outlier),
    /// scores.npy ([N] f32), and grid.png (input | mask | cleaned, up to 16 rows) for images.
    #[arg(long)]
    out: PathBuf,
    /// Reconstruction passes: pass k > 1 reconstructs the cleaned rows of pass k - 1; every
    /// pass masks against the original input.
    #[arg(long, default_value_t = 1)]
    passes: usize,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub fn run(args: FilterArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.passes >= 1, "--passes must be at least 1");
    let model = ModelDir::open(&args.model, args.runtime.options()?)?;
    let done = filter_file(&model, &args.input, &args.out, args.passes)
        .with_context(|| format!("filtering {}", args.input.display()))?;
    if let Some(warning) = &done.warning {
        eprintln!("warning: {warning}");
    }
    let (n, d, t) = (done.rows, done.dim, &done.thresholds);
    println!(
        "{n} rows of {d} values from {}, {} pass{}",
        args.input.display(),
        done.passes,
        if done.passes == 1 { "" } else { "es" }
    );
    println!(
        "outlier rows: {} ({:.1} %) with score above {:.4} (calibrated for contamination {})",
        done.outlier_rows,
        100.0 * done.outlier_rows as f64 / n as f64,
        t.score_threshold,
        t.contamination
    );
    println!(
        "masked elements: {} ({:.2} %) with element score (2 x negative log-likelihood) above {:.3}",
        done.masked_elements,
        100.0 * done.masked_elements as f64 / (n * d) as f64,
        t.element_threshold
    );
    println!(
        "{}; filtering took {:.3} s, {:.3} s in all",
        done.provider, done.filter_seconds, done.total_seconds
    );
    let names: Vec<String> = done
        .files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    println!("wrote {} in {}", names.join(", "), args.out.display());
    Ok(())
}
