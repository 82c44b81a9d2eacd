//! `edgevae inspect`.

use std::path::PathBuf;

use clap::Args;

use edgevae_trainer::train::active_dims::{self, ActiveDims};
use edgevae_trainer::train::{grids, read_config, read_state, LoadedRun, RunDir};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Run directory made by `edgevae train`.
    #[arg(long)]
    run: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// (Re)draw losses.png, active_dims.png and traversals.png in the run directory (training
    /// writes them too; this is for a run trained before they existed, or after a resume).
    /// Reloads the run's data for the validation rows.
    #[arg(long)]
    plots: bool,
}

/// Draws the run's diagnostics; returns a line on each.
fn draw_plots(run_dir: &std::path::Path, saved: Option<ActiveDims>) -> anyhow::Result<Vec<String>> {
    let run = LoadedRun::open(run_dir, &candle_core::Device::Cpu, false)?;
    let val = run.config.reload_data(None)?.val;
    let active = match saved {
        Some(a) => a,
        None => active_dims::measure(&run.stage1, &val, &run.device)?,
    };
    let val = val.head(grids::INPUT_ROWS);
    Ok(edgevae_trainer::train::plots::write_run_plots(
        &run, &active, &val,
    )?)
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let config = read_config(&args.run)?;
    let state = read_state(&args.run)?;
    let active_path = RunDir::new(&args.run).active_dims();
    let active: Option<ActiveDims> = if active_path.exists() {
        Some(edgevae_trainer::atomic_file::read_json(&active_path)?)
    } else {
        None
    };
    let plots = if args.plots {
        draw_plots(&args.run, active.clone())?
    } else {
        Vec::new()
    };
    if args.json {
        let v = serde_json::json!({ "config": config, "state": state, "active_dims": active, "plots": plots });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("run: {}", args.run.display());
    println!(
        "data: {} (seed {}, corrupt {:?})",
        config.data, config.seed, config.corrupt
    );
    println!(
        "stage 1: {} -> {:?} -> kappa {} ({:?} output), gamma floor {:e}",
        config.stage1.input_dim,
        config.stage1.hidden,
        config.stage1.latent,
        config.stage1.output,
        config.stage1.gamma_floor
    );
    println!(
        "stage-1 encoder: {}",
        config.stage1.encoder_summary(config.image_shape)
    );
    println!(
        "stage-1 decoder: {}",
        config.stage1.decoder_summary(config.image_shape)
    );
    println!(
        "stage 2: {} x {} ReLU + skip, gamma floor {:e}",
        config.stage2.depth, config.stage2.width, config.stage2.gamma_floor
    );
    for (stage, p, s) in [
        (1, &state.stage1, &config.schedule1),
        (2, &state.stage2, &config.schedule2),
    ] {
        print!(
            "stage {stage}: {}/{} epochs (batch {}, lr {:e})",
            p.epochs_done, s.epochs, s.batch, s.lr
        );
        match p.last() {
            Some(r) => println!(
                ", gamma {:.4e}, loss {:.3}, val loss {:.3}, KL {:.3}, mse {:.6}",
                r.gamma, r.train_loss, r.val_loss, r.train_kl, r.train_mse
            ),
            None => println!(", not started"),
        }
    }
    match active {
        Some(a) => println!("{}; indices {:?}", a.summary(), a.active_indices),
        None => println!("active dimensions: not measured yet (stage 1 unfinished)"),
    }
    for line in plots {
        println!("{line}");
    }
    Ok(())
}
