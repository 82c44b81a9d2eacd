//! `edgevae bench latent`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::bench::latent::{run_kappa, to_csv, SweepOptions};
use edgevae_trainer::atomic_file;
use edgevae_trainer::report::evaluation::SampleReference;
use edgevae_trainer::train::plots::{write_latent_sweep, SweepPoint};

#[derive(Debug, Args)]
pub struct LatentArgs {
    /// Data, as for `train --data` (e.g. ../shared/data/mnist); its test split (else its
    /// validation split) is what samples are scored against.
    #[arg(long, default_value = "sprites")]
    data: String,
    /// Latent widths to train.
    #[arg(long, value_delimiter = ',', default_value = "8,16,32,64,128")]
    kappa: Vec<usize>,
    /// Stage-1 epochs of every run (a shorter schedule than `train`'s, so the sweep fits in
    /// half an hour on MNIST on 2 cores; docs/results.md has the figures).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Stage-2 epochs of every run.
    #[arg(long, default_value_t = 10)]
    stage2_epochs: usize,
    /// Scoring as `eval` does; the seed is also every run's training seed.
    #[command(flatten)]
    scoring: super::sample_scoring::SampleScoringArgs,
    /// Where latent.csv, latent.png and the runs (kappa-K/) go; finished runs are reused and
    /// unfinished ones resumed.
    #[arg(long, default_value = "runs/bench-latent")]
    out: PathBuf,
}

pub fn run(args: LatentArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.kappa.is_empty(), "--kappa needs at least one value");
    anyhow::ensure!(
        args.kappa.iter().all(|&k| k >= 1),
        "--kappa values must be >= 1"
    );
    anyhow::ensure!(args.scoring.samples >= 2, "--samples must be at least 2");
    let mut kappas = args.kappa.clone();
    kappas.sort_unstable();
    kappas.dedup();
    let opts = SweepOptions {
        data: args.data.clone(),
        kappas,
        epochs: args.epochs,
        stage2_epochs: args.stage2_epochs,
        samples: args.scoring.samples,
        seed: args.scoring.seed,
        work_dir: args.out.clone(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();
    let mut config = crate::bench::latent::config_for(&opts, opts.kappas[0])?;
    config.limit = None;
    let splits = config.reload_data(None)?;
    let test = splits.test.as_ref().unwrap_or(&splits.val);
    let reference = SampleReference::new(&splits.train, test, args.scoring.pca_components, 1000)?;
    drop(splits);
    println!("kappa  active  stage-1 Fréchet  two-stage Fréchet  (diversity)     train");
    let mut rows = Vec::new();
    for &kappa in &opts.kappas {
        let r = run_kappa(&opts, kappa, &reference).with_context(|| format!("kappa {kappa}"))?;
        println!(
            "{:>5}  {:>6}  {:>15.3}  {:>17.3}  ({:.3} / {:.3})  {:>6.0}s",
            r.kappa,
            r.active,
            r.stage1.frechet,
            r.two_stage.frechet,
            r.stage1.diversity_ratio,
            r.two_stage.diversity_ratio,
            r.train_seconds
        );
        rows.push(r);
        // Partial results survive an interrupted sweep.
        atomic_file::write(&args.out.join("latent.csv"), to_csv(&rows).as_bytes())?;
    }
    let points: Vec<SweepPoint> = rows
        .iter()
        .map(|r| SweepPoint {
            kappa: r.kappa,
            stage1_frechet: r.stage1.frechet,
            two_stage_frechet: r.two_stage.frechet,
            active: r.active,
        })
        .collect();
    let plot = args.out.join("latent.png");
    write_latent_sweep(&plot, &args.data, &points)?;
    println!(
        "written: {}, {} ({:.1} min)",
        args.out.join("latent.csv").display(),
        plot.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
