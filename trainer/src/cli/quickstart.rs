//! `edgevae quickstart`: calls [`edgevae_trainer::jobs::quickstart`] (train on built-in data,
//! export every precision, sample through ONNX Runtime) and says where everything is and what
//! each step took.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use edgevae_trainer::jobs::quickstart;

use super::progress::TrainProgress;
use super::train::print_stages;

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Where the run directory (`run/`), the model directory (`model/`) and the samples go.
    #[arg(long, default_value = "runs/quickstart")]
    out: PathBuf,
    /// Start over when --out already holds a quickstart run.
    #[arg(long)]
    fresh: bool,
}

pub fn run(args: QuickstartArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut progress = TrainProgress::new(false);
    let report = quickstart(&args.out, args.fresh, &mut |e| progress.on_event(e))
        .with_context(|| format!("quickstart into {}", args.out.display()))?;
    let paths = &report.paths;
    for line in &report.reports {
        println!("{line}");
    }
    print_stages(&report.state);
    println!();
    println!(
        "quickstart finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  train (both stages)   {:>7.1}s  run directory: {}",
        report.train.as_secs_f64(),
        paths.run_dir.display()
    );
    println!(
        "  export ({} precisions, int8 micro) {:>5.1}s  model directory: {}",
        edgevae_runtime::core::Precision::ALL.len(),
        report.export.as_secs_f64(),
        paths.model_dir.display()
    );
    for g in &report.manifest.graphs {
        println!(
            "      {:<8} {:<6} {:>9} bytes  {}",
            g.role.name(),
            g.precision.name(),
            g.bytes,
            g.file
        );
    }
    for m in &report.manifest.micro {
        println!(
            "      {:<8} m-{:<4} {:>9} bytes  {}",
            m.role.name(),
            m.precision.name(),
            m.bytes,
            m.file
        );
    }
    println!(
        "  open model + sampler  {:>7.1}ms ({})",
        report.open.as_secs_f64() * 1e3,
        report.provider
    );
    println!(
        "  {} samples via ONNX Runtime {:>5.1}ms  grid: {}",
        report.samples,
        report.sample.as_secs_f64() * 1e3,
        paths.grid.display()
    );
    println!(
        "  training grids: {}/samples_two_stage.png, samples_stage1.png, reconstructions.png",
        paths.run_dir.display()
    );
    println!(
        "next: edgevae sample --model {} -n 16 --out samples.png",
        paths.model_dir.display()
    );
    Ok(())
}
