//! `edgevae train`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use edgevae_trainer::model::{DecoderKind, EncoderKind, RobustConfig, Stage1Config, Stage2Config};
use edgevae_trainer::nn::{Activation, AdamWConfig};
use edgevae_trainer::settings::InvalidSetting;
use edgevae_trainer::train::{self, Outcome, StageSchedule, TrainConfig, TrainRequest};

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

const DEFAULT_EPOCHS: usize = 30;
const DEFAULT_STAGE2_EPOCHS: usize = 20;

fn schedule(epochs: usize, batch: usize, lr: f64, halve_every: Option<usize>) -> StageSchedule {
    StageSchedule {
        epochs,
        batch,
        lr,
        halve_every: halve_every.unwrap_or((epochs / 3).max(1)),
    }
}

impl TrainArgs {
    /// The flags of `edgevae quickstart`: built-in sprites, a model small enough to ship in the
    /// repository (`models/quickstart`), the default schedules.
    pub fn quickstart(out: PathBuf) -> Self {
        Self {
            data: Some("sprites".into()),
            out,
            epochs: None,
            stage2_epochs: None,
            latent: Some(32),
            hidden: Some(vec![256, 256]),
            stage2_width: Some(256),
            stage2_depth: None,
            batch: None,
            lr: None,
            halve_every: None,
            weight_decay: None,
            latent_decay: None,
            gamma_floor: None,
            robust: false,
            outlier_cost: None,
            variance_range: None,
            robust_warmup: None,
            encoder: None,
            decoder: None,
            conv_channels: None,
            recycle: None,
            seed: None,
            corrupt: None,
            val_fraction: None,
            limit: None,
            device: "cpu".into(),
            resume: false,
            quiet: false,
        }
    }

    /// A fresh configuration from the flags and the defaults.
    fn new_config(&self) -> anyhow::Result<TrainConfig> {
        let data = self
            .data
            .clone()
            .context("--data is required for a new run")?;
        let source = edgevae_trainer::data::DataSource::parse(&data)?;
        let defaults = train::DataDefaults::for_scaling(train::probe_scaling(&source)?);
        let mut stage1 = Stage1Config::new(0, Activation::Sigmoid);
        if let Some(k) = self.latent {
            stage1.latent = k;
        }
        if let Some(h) = &self.hidden {
            stage1.hidden = h.clone();
        }
        if let Some(f) = self.gamma_floor {
            stage1.gamma_floor = f;
        }
        if self.robust {
            let mut robust = RobustConfig {
                outlier_cost: defaults.outlier_cost,
                ..RobustConfig::default()
            };
            if let Some(c) = self.outlier_cost {
                robust.outlier_cost = c;
            }
            if let Some(r) = self.variance_range {
                robust.log_variance_range = r;
            }
            if let Some(w) = self.robust_warmup {
                robust.warmup = w;
            }
            stage1.robust = Some(robust);
        } else {
            anyhow::ensure!(
                self.outlier_cost.is_none()
                    && self.variance_range.is_none()
                    && self.robust_warmup.is_none(),
                "--outlier-cost, --variance-range and --robust-warmup need --robust"
            );
        }
        if let Some(kind) = self.encoder {
            stage1.encoder = kind;
        }
        if let Some(kind) = self.decoder {
            stage1.decoder = kind;
        }
        if let Some(c) = &self.conv_channels {
            anyhow::ensure!(
                stage1.uses_conv_maps(),
                "--conv-channels needs a convolutional stage-1 layer (--encoder, --decoder)"
            );
            // Their counts are checked with the data (`Stage1Config::conv_image`), before the
            // run directory is written.
            stage1.conv_channels = c.clone();
        }
        if let Some(k) = self.recycle {
            stage1.recycle = k;
        }
        let mut stage2 = Stage2Config::default();
        if let Some(w) = self.stage2_width {
            stage2.width = w;
        }
        if let Some(d) = self.stage2_depth {
            stage2.depth = d;
        }
        let batch = self.batch.unwrap_or(64);
        let lr = self.lr.unwrap_or(1e-3);
        Ok(TrainConfig {
            data,
            seed: self.seed.unwrap_or(0),
            val_fraction: self.val_fraction.unwrap_or(0.1),
            corrupt: self.corrupt,
            limit: self.limit,
            stage1,
            image_shape: None,
            standardization: None,
            stage2,
            schedule1: schedule(
                self.epochs.unwrap_or(DEFAULT_EPOCHS),
                batch,
                lr,
                self.halve_every,
            ),
            schedule2: schedule(
                self.stage2_epochs.unwrap_or(DEFAULT_STAGE2_EPOCHS),
                batch,
                lr,
                self.halve_every,
            ),
            optimizer: AdamWConfig {
                weight_decay: self.weight_decay.unwrap_or(0.0),
                latent_decay: self.latent_decay.unwrap_or(defaults.latent_decay),
                ..AdamWConfig::default()
            },
        })
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
        write_reports: true,
    };
    let started = Instant::now();
    let mut progress = TrainProgress::new(args.quiet);
    let outcome = train::train(&request, &mut |e| progress.on_event(e))
        .with_context(|| format!("training into {}", args.out.display()))?;
    let state = match outcome {
        Outcome::Finished(s) => s,
        Outcome::Stopped(s) => s,
    };
    println!("run directory: {}", args.out.display());
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
    println!("total time: {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
