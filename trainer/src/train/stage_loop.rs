//! The epoch loop shared by both stages: shuffle, step, keep gamma above its floor, stop on a
//! non-finite loss, validate, commit a checkpoint.

use std::time::Instant;

use candle_core::{Device, Tensor};

use super::{
    checkpoint, BatchSource, EpochRecord, Flow, RunDir, RunState, StageSchedule, TrainEvent,
};
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::model::LossParts;
use crate::nn::{halving_lr, AdamW, ParamStore};
use crate::rng::SeededRng;

/// The loss of a stage given a batch and its reparameterisation noise.
pub type LossFn<'a> = dyn Fn(&Tensor, &Tensor) -> Result<LossParts> + 'a;

pub struct StageContext<'a> {
    pub stage: u8,
    pub run_dir: &'a RunDir,
    pub seed: u64,
    pub schedule: &'a StageSchedule,
    /// Noise columns per row for one loss evaluation.
    pub noise_width: usize,
    pub gamma_floor: f64,
    pub device: &'a Device,
}

/// Rows per evaluation chunk. The forward pass runs on trainable parameters, so candle keeps every
/// intermediate until the chunk's loss is dropped: at 512 rows that was 43 MB on MNIST's stage 2,
/// the run's peak; at 128 it stays below a training step's own.
const EVAL_ROWS: usize = 128;

/// Mean loss, KL and MSE over `source`, with noise from a fixed stream so that epochs compare.
pub fn evaluate(
    ctx: &StageContext,
    loss: &LossFn,
    source: &dyn BatchSource,
) -> Result<(f64, f64, f64)> {
    let mut rng = SeededRng::derive(ctx.seed, &format!("stage{}-val", ctx.stage), 0);
    let n = source.len();
    let (mut total, mut kl, mut mse) = (0.0, 0.0, 0.0);
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(EVAL_ROWS) {
        let x = source.batch(chunk, &mut rng, ctx.device)?;
        let eps = Tensor::from_vec(
            rng.normal_vec(chunk.len() * ctx.noise_width),
            (chunk.len(), ctx.noise_width),
            ctx.device,
        )?;
        let parts = loss(&x, &eps)?;
        let w = chunk.len() as f64 / n as f64;
        total += w * f64::from(parts.total.to_scalar::<f32>()?);
        kl += w * f64::from(parts.kl.to_scalar::<f32>()?);
        mse += w * f64::from(parts.mse.to_scalar::<f32>()?);
    }
    Ok((total, kl, mse))
}

fn non_finite(
    ctx: &StageContext,
    state: &RunState,
    epoch: usize,
    step: usize,
    what: &str,
) -> Error {
    Error::NonFinite {
        stage: ctx.stage,
        epoch,
        step,
        what: what.to_string(),
        last_good_epoch: state.stage(ctx.stage).epochs_done,
        run_dir: ctx.run_dir.root().to_path_buf(),
    }
}

/// Projects log gamma back onto [ln floor, inf) after a step.
fn apply_gamma_floor(params: &ParamStore, floor: f64) -> Result<f64> {
    let var = params.log_gamma()?;
    let lg = f64::from(var.as_tensor().to_scalar::<f32>()?);
    let min = floor.ln();
    if lg < min {
        var.set(&Tensor::new(min as f32, params.device())?)?;
        return Ok(floor);
    }
    Ok(lg.exp())
}

/// The training and validation batches of a stage.
pub struct StageData<'a> {
    pub train: &'a dyn BatchSource,
    pub val: &'a dyn BatchSource,
}

/// Runs the remaining epochs of one stage. Returns `false` when the observer asked to stop.
pub fn run_stage(
    ctx: &StageContext,
    loss: &LossFn,
    params: &ParamStore,
    opt: &mut AdamW,
    data: StageData,
    state: &mut RunState,
    observer: &mut dyn FnMut(&TrainEvent) -> Flow,
) -> Result<bool> {
    let StageData { train, val } = data;
    let n = train.len();
    let batch = ctx.schedule.batch.min(n).max(1);
    let steps_per_epoch = n.div_ceil(batch);
    let first_epoch = state.stage(ctx.stage).epochs_done;
    observer(&TrainEvent::StageStart {
        stage: ctx.stage,
        first_epoch,
        epochs: ctx.schedule.epochs,
        steps_per_epoch,
    });
    for epoch in first_epoch..ctx.schedule.epochs {
        let started = Instant::now();
        let lr = halving_lr(ctx.schedule.lr, epoch, ctx.schedule.halve_every);
        // One stream per (stage, epoch): a resumed run draws what an unbroken one would.
        let mut rng =
            SeededRng::derive(ctx.seed, &format!("stage{}-epoch", ctx.stage), epoch as u64);
        let order = rng.permutation(n);
        let (mut sum_loss, mut sum_kl, mut sum_mse, mut gamma) = (0.0, 0.0, 0.0, f64::NAN);
        for (step, chunk) in order.chunks(batch).enumerate() {
            let x = train.batch(chunk, &mut rng, ctx.device)?;
            let eps = Tensor::from_vec(
                rng.normal_vec(chunk.len() * ctx.noise_width),
                (chunk.len(), ctx.noise_width),
                ctx.device,
            )?;
            let parts = loss(&x, &eps)?;
            let loss_value = f64::from(parts.total.to_scalar::<f32>()?);
            if !loss_value.is_finite() {
                return Err(non_finite(
                    ctx,
                    state,
                    epoch,
                    step,
                    &format!("the loss ({loss_value})"),
                ));
            }
            let kl = f64::from(parts.kl.to_scalar::<f32>()?);
            sum_loss += loss_value;
            sum_kl += kl;
            sum_mse += f64::from(parts.mse.to_scalar::<f32>()?);
            opt.backward_step(&parts.total, lr)?;
            gamma = apply_gamma_floor(params, ctx.gamma_floor)?;
            if !gamma.is_finite() {
                return Err(non_finite(ctx, state, epoch, step, "gamma"));
            }
            let _ = observer(&TrainEvent::Step {
                stage: ctx.stage,
                epoch,
                step,
                loss: loss_value,
                kl,
                gamma,
            });
        }
        let (val_loss, val_kl, val_mse) = evaluate(ctx, loss, val)?;
        if !val_loss.is_finite() {
            return Err(non_finite(
                ctx,
                state,
                epoch,
                steps_per_epoch,
                "the validation loss",
            ));
        }
        let steps = steps_per_epoch as f64;
        let record = EpochRecord {
            epoch,
            lr,
            train_loss: sum_loss / steps,
            train_kl: sum_kl / steps,
            train_mse: sum_mse / steps,
            gamma,
            val_loss,
            val_kl,
            val_mse,
            seconds: started.elapsed().as_secs_f64(),
        };
        commit_epoch(ctx, params, opt, state, record.clone())?;
        if observer(&TrainEvent::EpochEnd {
            stage: ctx.stage,
            record,
        }) == Flow::Stop
        {
            return Ok(false);
        }
    }
    observer(&TrainEvent::StageEnd { stage: ctx.stage });
    Ok(true)
}

/// Checkpoint first, then `state.json` (the commit point), then the superseded checkpoint goes.
fn commit_epoch(
    ctx: &StageContext,
    params: &ParamStore,
    opt: &AdamW,
    state: &mut RunState,
    record: EpochRecord,
) -> Result<()> {
    let name = checkpoint::save(ctx.run_dir, ctx.stage, record.epoch + 1, params, opt)?;
    let progress = state.stage_mut(ctx.stage);
    let old = progress.checkpoint.replace(name.clone());
    progress.epochs_done = record.epoch + 1;
    progress.optimizer_steps = opt.steps_taken();
    progress.history.push(record);
    atomic_file::write_json(&ctx.run_dir.state(), state)?;
    if let Some(old) = old.filter(|o| *o != name) {
        let _ = std::fs::remove_file(ctx.run_dir.checkpoint(&old));
    }
    Ok(())
}
