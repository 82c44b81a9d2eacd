//! `edgevae train`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use edgevae_trainer::model::{DecoderKind, EncoderKind};
use edgevae_trainer::settings::InvalidSetting;
use edgevae_trainer::train::{
    self, Outcome, RunState, StageSchedule, TrainConfig, TrainEvent, TrainRequest,
};

use super::progress::TrainProgress;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: `sprites[:n=N]`, `manifold[:n=N,k=K,d=D,outliers=F]` (built in, generated
    /// from the seed), an MNIST-style directory (train-*/t10k-* IDX files, gzipped or raw), an
    /// IDX file or an .npy file (f32 or u8, [N, d] or [N, rows, cols]).
    #[arg(long)]
    data: Option<String>,
    /// Run directory: config, checkpoints, reports and image grids go here.
    #[arg(long)]
    out: PathBuf,
    /// Stage-1 epochs [default: 30].
    #[arg(long)]
    epochs: Option<usize>,
    /// Stage-2 epochs [default: 20].
    #[arg(long)]
    stage2_epochs: Option<usize>,
    /// Latent dimension kappa of both stages [default: 64].
    #[arg(long)]
    latent: Option<usize>,
    /// Stage-1 encoder hidden widths, comma-separated; the decoder mirrors them [default: 512,512].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Stage-2 hidden width [default: 1024].
    #[arg(long)]
    stage2_width: Option<usize>,
    /// Stage-2 hidden ReLU layers [default: 3].
    #[arg(long)]
    stage2_depth: Option<usize>,
    /// Mini-batch size of both stages [default: 64].
    #[arg(long)]
    batch: Option<usize>,
    /// AdamW learning rate of both stages [default: 1e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// Halve the learning rate every N epochs, 0 for never [default: a third of each stage's epochs].
    #[arg(long)]
    halve_every: Option<usize>,
    /// AdamW weight decay (never applied to log gamma or biases) [default: 0].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Group shrinkage of the decoder layer that reads the latent code: each latent
    /// dimension's weight row loses lr * this of its norm per step, which prunes dimensions the
    /// data do not need (0 turns it off) [default: 2 for pixel data, 0 for real values:
    /// edgevae_trainer::train::DataDefaults].
    #[arg(long)]
    latent_decay: Option<f64>,
    /// Floor on the stage-1 decoder variance gamma [default: 1e-4].
    #[arg(long)]
    gamma_floor: Option<f64>,
    /// Robust decoder (method.md section 3): a per-element inlier variance from a second
    /// decoder head; an element may instead be an outlier with the closed-form variance
    /// (x - mu_x)^2 at a price of --outlier-cost nats, so sparse corruption does not pull the
    /// mean.
    #[arg(long)]
    robust: bool,
    /// With --robust: the price of one outlier element in nats; 3 makes elements beyond about
    /// three inlier standard deviations outliers [default: 3 for pixel data, 1 for real
    /// values].
    #[arg(long)]
    outlier_cost: Option<f64>,
    /// With --robust: the per-element inlier variance stays within a factor e^R of the shared
    /// gamma (its log-variance is R tanh(raw / R)) [default: 6].
    #[arg(long)]
    variance_range: Option<f64>,
    /// With --robust: fraction of stage-1 epochs over which the outlier price falls from 10x to
    /// its value, so the model fits before it excludes [default: 0.3].
    #[arg(long)]
    robust_warmup: Option<f64>,
    /// Stage-1 encoder body, before the head [default: mlp].
    #[arg(long, value_enum)]
    encoder: Option<EncoderKind>,
    /// Stage-1 decoder mean [default: mlp].
    #[arg(long, value_enum)]
    decoder: Option<DecoderKind>,
    /// Channels of the convolutional layers' feature maps, comma-separated, smallest map
    /// first; each doubles the sides (the smallest is the image's size / 2^count)
    /// [default: 64,32].
    #[arg(long, value_delimiter = ',')]
    conv_channels: Option<Vec<usize>>,
    /// Recycling: encoder passes per stage-1 step. Pass k + 1 encodes the input with the
    /// elements pass k judged outliers replaced by its reconstruction; every pass is scored
    /// against the original input and the loss is their mean. 1 turns it off [default: 1].
    #[arg(long)]
    recycle: Option<usize>,
    /// Seed for data generation, splits, initial weights and noise [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Replace this fraction of data elements with noise (the clean copy is kept for evaluation).
    #[arg(long)]
    corrupt: Option<f32>,
    /// Fraction of training rows held out for validation [default: 0.1].
    #[arg(long)]
    val_fraction: Option<f32>,
    /// Use at most this many training rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Device: cpu, cuda or cuda:N (CUDA needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Continue the run in --out from its last checkpoint (stage and epoch). Only the epoch
    /// counts may change.
    #[arg(long)]
    pub(super) resume: bool,
    /// No progress bars, only the final summary.
    #[arg(long, short)]
    quiet: bool,
}

/// A flag given on the command line replaces the default.
fn set<T>(field: &mut T, flag: Option<T>) {
    if let Some(value) = flag {
        *field = value;
    }
}

impl TrainArgs {
    /// A fresh configuration: the library's defaults for the data, with the flags given.
    fn new_config(&self) -> anyhow::Result<TrainConfig> {
        let data = self
            .data
            .as_deref()
            .context("--data is required for a new run")?;
        let mut config = TrainConfig::for_data(data, self.robust)?;
        let stage1 = &mut config.stage1;
        set(&mut stage1.latent, self.latent);
        set(&mut stage1.hidden, self.hidden.clone());
        set(&mut stage1.gamma_floor, self.gamma_floor);
        match &mut stage1.robust {
            Some(robust) => {
                set(&mut robust.outlier_cost, self.outlier_cost);
                set(&mut robust.log_variance_range, self.variance_range);
                set(&mut robust.warmup, self.robust_warmup);
            }
            None => anyhow::ensure!(
                self.outlier_cost.is_none()
                    && self.variance_range.is_none()
                    && self.robust_warmup.is_none(),
                "--outlier-cost, --variance-range and --robust-warmup need --robust"
            ),
        }
        set(&mut stage1.encoder, self.encoder);
        set(&mut stage1.decoder, self.decoder);
        if let Some(c) = &self.conv_channels {
            anyhow::ensure!(
                stage1.uses_conv_maps(),
                "--conv-channels needs a convolutional stage-1 layer (--encoder, --decoder)"
            );
            // Their counts are checked with the data (`Stage1Config::conv_image`), before the
            // run directory is written.
            stage1.conv_channels = c.clone();
        }
        set(&mut stage1.recycle, self.recycle);
        set(&mut config.stage2.width, self.stage2_width);
        set(&mut config.stage2.depth, self.stage2_depth);
        for (schedule, epochs) in [
            (&mut config.schedule1, self.epochs),
            (&mut config.schedule2, self.stage2_epochs),
        ] {
            *schedule = StageSchedule::new(
                epochs.unwrap_or(schedule.epochs),
                self.batch.unwrap_or(schedule.batch),
                self.lr.unwrap_or(schedule.lr),
            );
            set(&mut schedule.halve_every, self.halve_every);
        }
        set(&mut config.seed, self.seed);
        set(&mut config.val_fraction, self.val_fraction);
        config.corrupt = self.corrupt;
        config.limit = self.limit;
        set(&mut config.optimizer.weight_decay, self.weight_decay);
        set(&mut config.optimizer.latent_decay, self.latent_decay);
        Ok(config)
    }

    /// The saved configuration with the epoch counts given on the command line.
    fn resumed_config(&self) -> anyhow::Result<TrainConfig> {
        let mut config = train::read_config(&self.out)
            .with_context(|| format!("cannot resume {}", self.out.display()))?;
        if let Some(e) = self.epochs {
            config.schedule1.epochs = e;
        }
        if let Some(e) = self.stage2_epochs {
            config.schedule2.epochs = e;
        }
        if let Some(d) = &self.data {
            config.data = d.clone();
        }
        Ok(config)
    }
}

/// The flag that sets a configuration field (as [`InvalidSetting`] names it), if one does.
fn flag_for(field: &str) -> Option<&'static str> {
    let field = field.split('[').next().unwrap_or(field);
    Some(match field {
        "data" => "--data",
        "val_fraction" => "--val-fraction",
        "corrupt" => "--corrupt",
        "limit" => "--limit",
        "stage1.latent" => "--latent",
        "stage1.hidden" => "--hidden",
        "stage1.gamma_floor" => "--gamma-floor",
        "stage1.conv_channels" => "--conv-channels",
        "stage1.recycle" => "--recycle",
        "stage1.robust.outlier_cost" => "--outlier-cost",
        "stage1.robust.log_variance_range" => "--variance-range",
        "stage1.robust.warmup" => "--robust-warmup",
        "stage2.width" => "--stage2-width",
        "schedule1.epochs" => "--epochs",
        "schedule2.epochs" => "--stage2-epochs",
        "schedule1.batch" | "schedule2.batch" => "--batch",
        "schedule1.lr" | "schedule2.lr" => "--lr",
        "optimizer.weight_decay" => "--weight-decay",
        "optimizer.latent_decay" => "--latent-decay",
        _ => return None,
    })
}

/// A setting the library refuses, said in terms of the flag that set it.
fn in_flag_terms(e: InvalidSetting) -> anyhow::Error {
    match flag_for(&e.field) {
        Some(flag) => anyhow::anyhow!("{flag} {}: {} ({})", e.value, e.problem, e.field),
        None => anyhow::anyhow!("{e}"),
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let device = edgevae_trainer::device::parse(&args.device)?;
    let config = if args.resume {
        args.resumed_config()?
    } else {
        args.new_config()?
    };
    config.validate().map_err(in_flag_terms)?;
    let request = TrainRequest {
        run_dir: args.out.clone(),
        config,
        resume: args.resume,
        device,
    };
    let started = Instant::now();
    let mut progress = TrainProgress::new(args.quiet);
    let mut inputs = None;
    let outcome = train::train(&request, &mut |e| {
        if let TrainEvent::ReportInputs(r) = e {
            inputs = Some(r.clone());
        }
        progress.on_event(e)
    })
    .with_context(|| format!("training into {}", args.out.display()))?;
    let state = match (outcome, inputs) {
        (Outcome::Finished(s), Some(inputs)) => {
            let reports = train::write_run_reports(&args.out, &request.device, &inputs)
                .with_context(|| format!("writing the reports of {}", args.out.display()))?;
            for line in reports {
                eprintln!("{line}");
            }
            s
        }
        (Outcome::Finished(s) | Outcome::Stopped(s), _) => s,
    };
    println!("run directory: {}", args.out.display());
    print_stages(&state);
    println!("total time: {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A line per stage: epochs, final losses, KL, gamma and time.
pub(super) fn print_stages(state: &RunState) {
    for (stage, p) in [(1, &state.stage1), (2, &state.stage2)] {
        if let Some(r) = p.last() {
            println!(
                "stage {stage}: {} epochs, final loss {:.2}, val loss {:.2}, KL {:.2}, gamma {:.3e}, {:.1}s",
                p.epochs_done,
                r.train_loss,
                r.val_loss,
                r.train_kl,
                r.gamma,
                p.history.iter().map(|h| h.seconds).sum::<f64>()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Train {
        #[command(flatten)]
        args: TrainArgs,
    }

    /// The `[default: ...]` a flag's help states (clap cannot show the defaults of optional
    /// flags itself: they are `None` until given, so the library's defaults apply).
    fn stated_default(flag: &str) -> String {
        let cmd = Train::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("no --{flag}"));
        let help = arg.get_help().expect("help").to_string();
        let start = help.find("[default: ").expect("a stated default") + "[default: ".len();
        let end = start + help[start..].find(']').expect("closing bracket");
        help[start..end].to_string()
    }

    /// Every default the help states is the library's (`TrainConfig::for_data`), so the two
    /// cannot drift apart.
    #[test]
    fn the_help_states_the_library_defaults() -> anyhow::Result<()> {
        let pixels = TrainConfig::for_data("sprites", true)?;
        let real = TrainConfig::for_data("manifold", true)?;
        let robust = pixels.stage1.robust.expect("robust");
        let list = |v: &[usize]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let number = |flag: &str| -> f64 { stated_default(flag).parse().expect(flag) };
        assert_eq!(number("epochs"), pixels.schedule1.epochs as f64);
        assert_eq!(number("stage2-epochs"), pixels.schedule2.epochs as f64);
        assert_eq!(number("latent"), pixels.stage1.latent as f64);
        assert_eq!(stated_default("hidden"), list(&pixels.stage1.hidden));
        assert_eq!(number("stage2-width"), pixels.stage2.width as f64);
        assert_eq!(number("stage2-depth"), pixels.stage2.depth as f64);
        assert_eq!(number("batch"), pixels.schedule1.batch as f64);
        assert_eq!(number("lr"), pixels.schedule1.lr);
        assert_eq!(number("weight-decay"), pixels.optimizer.weight_decay);
        assert_eq!(number("gamma-floor"), pixels.stage1.gamma_floor);
        assert_eq!(number("variance-range"), robust.log_variance_range);
        assert_eq!(number("robust-warmup"), robust.warmup);
        assert_eq!(number("recycle"), pixels.stage1.recycle as f64);
        assert_eq!(number("seed"), pixels.seed as f64);
        assert_eq!(number("val-fraction") as f32, pixels.val_fraction);
        assert_eq!(
            stated_default("conv-channels"),
            list(&pixels.stage1.conv_channels)
        );
        assert_eq!(stated_default("encoder"), "mlp");
        assert_eq!(pixels.stage1.encoder, EncoderKind::Mlp);
        assert_eq!(stated_default("decoder"), "mlp");
        assert_eq!(pixels.stage1.decoder, DecoderKind::Mlp);
        let by_kind = |flag: &str, pixel: f64, real: f64| {
            let text = stated_default(flag);
            assert!(
                text.starts_with(&format!("{pixel} for pixel data, {real} for real")),
                "--{flag}: {text}"
            );
        };
        by_kind(
            "latent-decay",
            pixels.optimizer.latent_decay,
            real.optimizer.latent_decay,
        );
        let real_robust = real.stage1.robust.expect("robust");
        by_kind(
            "outlier-cost",
            robust.outlier_cost,
            real_robust.outlier_cost,
        );
        assert_eq!(
            stated_default("halve-every"),
            "a third of each stage's epochs"
        );
        assert_eq!(pixels.schedule1.halve_every, pixels.schedule1.epochs / 3);
        Ok(())
    }
}
