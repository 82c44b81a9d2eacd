//! `edgevae bench rpca`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::bench::rpca::{grid_of, run_cell, successes, to_csv, CellResult, GridOptions};
use edgevae_trainer::atomic_file;
use edgevae_trainer::rpca::write_heatmap;

#[derive(Debug, Args)]
pub struct RpcaArgs {
    /// Where results.csv, the heat maps and the VAE run directories go.
    #[arg(long, default_value = "runs/bench-rpca")]
    out: PathBuf,
    /// Manifold dimensions (grid rows).
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,12,16,20")]
    kappa: Vec<usize>,
    /// Outlier fractions (grid columns).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.05,0.1,0.2,0.3,0.4,0.5"
    )]
    nu: Vec<f64>,
    /// Rows per cell.
    #[arg(long, default_value_t = 10000)]
    rows: usize,
    /// Stage-1 epochs of each VAE.
    #[arg(long, default_value_t = 60)]
    epochs: usize,
    /// Each VAE's latent width, the same for every cell whatever κ is (the paper's protocol:
    /// a user does not know the rank).
    #[arg(long, default_value_t = 32)]
    latent: usize,
    /// Oracle setting instead: give each VAE a latent of κ, the true rank of its row.
    #[arg(long)]
    oracle_latent: bool,
    /// Hidden widths of each VAE's encoder (the decoder mirrors them).
    #[arg(long, value_delimiter = ',', default_value = "128,128")]
    hidden: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Cleaning passes of each VAE's reconstruction (re-encode with the outliers replaced).
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// The robust VAE's price of an outlier element in nats (`train --outlier-cost`) [default:
    /// edgevae train's for real values, 1].
    #[arg(long)]
    outlier_cost: Option<f64>,
    /// The robust VAE's warm-up: the fraction of stage-1 epochs over which the outlier price
    /// falls from 10x to 1x (`train --robust-warmup`).
    #[arg(long, default_value_t = 0.3)]
    robust_warmup: f64,
    /// Recycling passes while training each VAE (`train --recycle`).
    #[arg(long, default_value_t = 2)]
    recycle: usize,
}

pub fn run(args: RpcaArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.kappa.is_empty() && !args.nu.is_empty(),
        "--kappa and --nu need at least one value each"
    );
    anyhow::ensure!(
        args.nu.iter().all(|nu| (0.0..1.0).contains(nu)),
        "--nu values must be fractions in [0, 1)"
    );
    anyhow::ensure!(
        args.kappa.iter().all(|&k| k >= 1),
        "--kappa values must be >= 1"
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let opts = GridOptions {
        kappas: args.kappa.clone(),
        nus: args.nu.clone(),
        rows: args.rows,
        dim: 100,
        epochs: args.epochs,
        hidden: args.hidden.clone(),
        latent: (!args.oracle_latent).then_some(args.latent),
        seed: args.seed,
        passes: args.passes,
        recycle: args.recycle,
        outlier_cost: args.outlier_cost.unwrap_or(
            edgevae_trainer::train::DataDefaults::for_scaling(edgevae_trainer::data::Scaling::Real)
                .outlier_cost,
        ),
        robust_warmup: args.robust_warmup,
        work_dir: args.out.join("runs"),
    };
    anyhow::ensure!(args.latent >= 1, "--latent must be at least 1");
    println!(
        "each VAE's latent: {}",
        match opts.latent {
            Some(k) => format!("{k} for every cell (the paper's protocol)"),
            None => "κ of its row (--oracle-latent: the VAE is told the rank)".into(),
        }
    );
    let started = Instant::now();
    let mut cells = Vec::new();
    println!("kappa    nu    PCP      VAE      robust VAE   (NMSE; < 0.05 is a success)");
    for &kappa in &opts.kappas {
        for &nu in &opts.nus {
            let c = run_cell(&opts, kappa, nu)
                .with_context(|| format!("cell kappa={kappa} nu={nu}"))?;
            println!(
                "{:>5} {:>5.2}  {:>7.4}  {:>7.4}  {:>7.4}      {:.0}s",
                c.kappa, c.nu, c.nmse_pcp, c.nmse_vae, c.nmse_robust, c.seconds
            );
            cells.push(c);
            // Partial results survive an interrupted grid.
            atomic_file::write(&args.out.join("results.csv"), to_csv(&cells).as_bytes())?;
        }
    }
    type Pick = fn(&CellResult) -> f64;
    let maps: [(&str, Pick); 3] = [
        ("pcp", |c| c.nmse_pcp),
        ("vae", |c| c.nmse_vae),
        ("robust_vae", |c| c.nmse_robust),
    ];
    println!();
    for (name, pick) in maps {
        let path = args.out.join(format!("heatmap_{name}.png"));
        write_heatmap(&path, &grid_of(&cells, &opts, pick))?;
        println!(
            "{name:<11} successes (NMSE < 0.05): {:>3} of {}   heat map: {}",
            successes(&cells, pick),
            cells.len(),
            path.display()
        );
    }
    println!(
        "results: {}  ({:.1} min; heat map rows = kappa {:?}, columns = nu {:?})",
        args.out.join("results.csv").display(),
        started.elapsed().as_secs_f64() / 60.0,
        opts.kappas,
        opts.nus
    );
    Ok(())
}
