//! `edgevae export`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use edgevae_runtime::core::Precision;
use edgevae_trainer::export::export_run;
use edgevae_trainer::train::LoadedRun;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory made by `edgevae train`.
    #[arg(long)]
    run: PathBuf,
    /// Model directory to write (ONNX graphs and manifest.json).
    #[arg(long)]
    out: PathBuf,
    /// Precisions, comma-separated: fp32 (CPU, reference), fp16 (CUDA/TensorRT compute),
    /// fp16w (fp16-stored weights, fp32 compute: half the size, for CPU).
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16,fp16w")]
    precision: Vec<String>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let precisions = args
        .precision
        .iter()
        .map(|p| {
            Precision::parse(p)
                .with_context(|| format!("unknown precision {p:?}: use fp32, fp16 or fp16w"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let run = LoadedRun::open(&args.run, &candle_core::Device::Cpu, false)?;
    let manifest = export_run(&run, &args.out, &precisions)
        .with_context(|| format!("exporting {} to {}", args.run.display(), args.out.display()))?;
    for g in &manifest.graphs {
        println!(
            "{:<8} {:<6} {:>10} bytes  {}",
            g.role.name(),
            g.precision.name(),
            g.bytes,
            args.out.join(g.file.as_str()).display()
        );
    }
    println!(
        "manifest: {}",
        args.out.join(edgevae_trainer::export::MANIFEST).display()
    );
    Ok(())
}
