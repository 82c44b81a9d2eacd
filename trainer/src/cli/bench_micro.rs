//! `edgevae bench micro`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::bench::micro::compare;
use edgevae_trainer::atomic_file;
use edgevae_trainer::report::evaluation::{EvalOptions, SampleReference};

#[derive(Debug, Args)]
pub struct MicroArgs {
    /// Model directory with fp32 ONNX graphs and micro blobs (`edgevae export --precision
    /// fp32,micro-fp32,micro-fp16,micro-int8`).
    #[arg(long)]
    model: PathBuf,
    /// The data the model was trained on (e.g. ../shared/data/mnist, sprites): its training
    /// split fits the feature space, its test split (validation split without one) is the
    /// reference, and its first --rows test rows, corrupted, are filtered.
    #[arg(long)]
    data: String,
    /// Samples per backend, from the same seeds.
    #[arg(long, default_value_t = EvalOptions::default().samples)]
    samples: usize,
    /// Corrupted rows filtered per backend.
    #[arg(long, default_value_t = 2000)]
    rows: usize,
    /// Fraction of elements replaced by noise in the filtered rows.
    #[arg(long, default_value_t = 0.2)]
    corrupt: f32,
    /// Filter passes.
    #[arg(long, default_value_t = 1)]
    passes: usize,
    /// Seed of the samples and of the corruption.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the table as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn run(args: MicroArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.samples > 1, "--samples must be at least 2");
    anyhow::ensure!(args.rows > 0, "--rows must be at least 1");
    anyhow::ensure!(args.passes > 0, "--passes must be at least 1");
    anyhow::ensure!(
        args.corrupt > 0.0 && args.corrupt < 1.0,
        "--corrupt must be in (0, 1)"
    );
    let splits = super::bench_outliers::load_corrupted(&args.data, args.corrupt, args.seed)?;
    let test = splits.test.unwrap_or(splits.val);
    let eval = EvalOptions::default();
    let reference = SampleReference::new(
        &splits.train,
        &test,
        eval.pca_components,
        eval.diversity_rows,
    )?;
    let corrupted = test.head(args.rows.min(test.len()));
    let table = compare(
        &args.model,
        Some(&reference),
        &corrupted,
        args.samples,
        args.seed,
        args.passes,
    )
    .with_context(|| format!("comparing the backends of {}", args.model.display()))?;
    println!(
        "{} samples against {} test rows ({} PCA components); filter: {} rows, {:.0}% of elements replaced by noise, {} pass(es)",
        args.samples,
        test.len(),
        reference.pca.k,
        corrupted.len(),
        args.corrupt * 100.0,
        args.passes
    );
    println!(
        "| backend | bytes | size vs ORT fp32 | Fréchet | diversity | max sample diff vs ORT fp32 | mask elements differing | element AUROC | masked | sampling time |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    let base = table[0].bytes.max(1) as f64;
    let mut csv = String::from(
        "backend,bytes,size_ratio,frechet,diversity_ratio,sample_max_diff,mask_differs,auroc,masked,sample_seconds\n",
    );
    for r in &table {
        let samples = r
            .samples
            .clone()
            .context("every row is scored when a reference is given")?;
        println!(
            "| {} | {} | {:.3} | {:.4} | {:.4} | {:.2e} | {:.4}% | {:.4} | {:.2}% | {:.2} s |",
            r.backend,
            r.bytes,
            r.bytes as f64 / base,
            samples.frechet,
            samples.diversity_ratio,
            r.sample_max_diff,
            r.mask_differs * 100.0,
            r.auroc,
            r.masked * 100.0,
            r.sample_seconds
        );
        csv.push_str(&format!(
            "{},{},{:.6},{:.6},{:.6},{:.6e},{:.6e},{:.6},{:.6},{:.3}\n",
            r.backend,
            r.bytes,
            r.bytes as f64 / base,
            samples.frechet,
            samples.diversity_ratio,
            r.sample_max_diff,
            r.mask_differs,
            r.auroc,
            r.masked,
            r.sample_seconds
        ));
    }
    if let Some(path) = &args.csv {
        atomic_file::write(path, csv.as_bytes())?;
    }
    Ok(())
}
