//! `edgevae quickstart`: the whole pipeline on built-in data. Train both stages, export every
//! precision, sample through ONNX Runtime, and say where everything is and what each step took.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use edgevae_runtime::core::Precision;
use edgevae_runtime::{ModelDir, RuntimeOptions};
use edgevae_trainer::export::calibration::validation_rows;
use edgevae_trainer::export::{calibrate, export_run, CalibrationOptions};
use edgevae_trainer::image_grid::write_grid_png;
use edgevae_trainer::train::{LoadedRun, RunDir};

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
    let run_dir = args.out.join("run");
    let model_dir = args.out.join("model");
    if args.fresh && run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)
            .with_context(|| format!("removing {}", run_dir.display()))?;
    }
    let started = Instant::now();
    let mut train_args = super::train::TrainArgs::quickstart(&run_dir)?;
    // A finished quickstart run is reused (and an interrupted one continued).
    train_args.resume = RunDir::new(&run_dir).is_started();
    super::train::run(train_args)?;
    let trained = started.elapsed();

    let t = Instant::now();
    let run = LoadedRun::open(&run_dir, &candle_core::Device::Cpu, false)?;
    let rows = validation_rows(&run)?;
    let outlier = calibrate(&run, &rows, &CalibrationOptions::default())?;
    let manifest = export_run(&run, &model_dir, &Precision::ALL, Some(outlier))?;
    let exported = t.elapsed();

    let t = Instant::now();
    let model = ModelDir::open(&model_dir, RuntimeOptions::default())?;
    let mut sampler = model.sampler()?;
    let opened = t.elapsed();
    let n = 100;
    let d = model.input_dim();
    let mut samples = vec![0.0f32; n * d];
    let t = Instant::now();
    sampler.sample_into(n, 0, &mut samples)?;
    let sampled = t.elapsed();
    let shape = model
        .manifest
        .image_shape
        .map(|[r, c]| (r as usize, c as usize))
        .context("quickstart data are images")?;
    let grid = args.out.join("samples_runtime.png");
    write_grid_png(&grid, &samples, n, shape, 10)?;

    println!();
    println!(
        "quickstart finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  train (both stages)   {:>7.1}s  run directory: {}",
        trained.as_secs_f64(),
        run_dir.display()
    );
    println!(
        "  export (3 precisions) {:>7.1}s  model directory: {}",
        exported.as_secs_f64(),
        model_dir.display()
    );
    for g in &manifest.graphs {
        println!(
            "      {:<8} {:<6} {:>9} bytes  {}",
            g.role.name(),
            g.precision.name(),
            g.bytes,
            g.file
        );
    }
    println!(
        "  open model + sampler  {:>7.1}ms ({})",
        opened.as_secs_f64() * 1e3,
        sampler.provider().describe()
    );
    println!(
        "  {n} samples via ONNX Runtime {:>5.1}ms  grid: {}",
        sampled.as_secs_f64() * 1e3,
        grid.display()
    );
    println!(
        "  training grids: {}/samples_two_stage.png, samples_stage1.png, reconstructions.png",
        run_dir.display()
    );
    println!(
        "next: edgevae sample --model {} -n 16 --out samples.png",
        model_dir.display()
    );
    Ok(())
}
