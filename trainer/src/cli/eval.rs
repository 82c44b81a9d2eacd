//! `edgevae eval`.

use std::path::PathBuf;

use clap::Args;

use edgevae_trainer::report::evaluation::{evaluate, EvalOptions};
use edgevae_trainer::report::nll;
use edgevae_trainer::train::{LoadedRun, RunDir};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run directory made by `edgevae train`.
    #[arg(long)]
    run: PathBuf,
    /// Evaluation data, as for `train --data`; its test split (t10k-* files, or the generated
    /// test set of a built-in) is used, else its validation split. Defaults to the run's data.
    #[arg(long)]
    data: Option<String>,
    #[command(flatten)]
    scoring: super::sample_scoring::SampleScoringArgs,
    /// Also estimate -log p(x) on the test split by importance sampling with this many draws
    /// from q(z|x) per row (K = 1 is the ELBO; the estimate tightens as K grows; e.g. 1000).
    /// Plain (non-robust) models only. Written to eval.json as `nll`.
    #[arg(long, value_name = "K")]
    nll: Option<usize>,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.scoring.samples >= 2, "--samples must be at least 2");
    anyhow::ensure!(args.nll != Some(0), "--nll must be at least 1");
    let device = edgevae_trainer::device::parse(&args.device)?;
    let run = LoadedRun::open(&args.run, &device, false)?;
    let spec = args.data.clone().unwrap_or_else(|| run.config.data.clone());
    // The whole training set fits the feature space, whatever row limit training had.
    let mut config = run.config.clone();
    config.limit = None;
    let splits = config.reload_data(Some(&spec))?;
    let (test, source) = match &splits.test {
        Some(t) => (t, "test split"),
        None => (
            &splits.val,
            "validation split (the data have no test split)",
        ),
    };
    let report = evaluate(
        &run,
        &splits.train,
        test,
        source,
        &EvalOptions {
            samples: args.scoring.samples,
            pca_components: args.scoring.pca_components,
            seed: args.scoring.seed,
            ..EvalOptions::default()
        },
    )?;
    let mut report = report;
    if let Some(k) = args.nll {
        report.nll = Some(nll::estimate(&run, test, k, args.scoring.seed)?);
    }
    let path = RunDir::new(&args.run).eval();
    report.write(&path)?;
    println!(
        "evaluated on the {} of {spec} ({} rows)",
        report.test_source, report.test_rows
    );
    println!("reconstruction MSE per element: {:.5}", report.recon_mse);
    println!("negative ELBO: {:.2} nats per row", report.neg_elbo);
    if let Some(e) = &report.nll {
        println!(
            "importance-weighted NLL, K = {} per row ({} rows): {:.2} nats per row, {:.4} bits \
             per dimension; negative ELBO on the same draws {:.2} nats, {:.4} bits per dimension",
            e.samples_per_row,
            e.rows,
            e.nll,
            e.nll_bits_per_dim,
            e.neg_elbo,
            e.neg_elbo_bits_per_dim
        );
    }
    println!(
        "Fréchet distance in a {}-component PCA space, {} samples vs the test rows (lower is better);",
        report.pca_components, report.samples
    );
    println!(
        "diversity = mean pairwise distance / that of the test rows (1 = as diverse as the data):"
    );
    println!("  {:<18} {:>10} {:>10}", "sampler", "Fréchet", "diversity");
    for (name, s) in [
        ("real training data", &report.real_data),
        ("stage-1 only", &report.stage1_only),
        ("two-stage", &report.two_stage),
    ] {
        println!(
            "  {name:<18} {:>10.3} {:>10.3}",
            s.frechet, s.diversity_ratio
        );
    }
    println!("written to {}", path.display());
    Ok(())
}
