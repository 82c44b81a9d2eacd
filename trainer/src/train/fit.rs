//! Training a run end to end: create or resume the run directory, fit stage 1, fit stage 2 on
//! the stage-1 posterior, telling the caller's observer what happens; the run's reports are the
//! caller's to write ([`super::write_run_reports`]).

use std::path::PathBuf;

use candle_core::Device;

use super::run::{build_stage1, build_stage2, read_config, read_state};
use super::stage_loop::{run_stage, StageContext, StageData};
use super::{
    active_dims, checkpoint, encode_codes, grids, Flow, ReportInputs, RowBatches, RunDir, RunState,
    TrainConfig, TrainEvent,
};
use crate::atomic_file;
use crate::data::{load_splits, standardize, Scaling, Splits};
use crate::error::{Error, Result};
use crate::model::{check_decoder, check_encoder};
use crate::nn::{Activation, AdamW};

pub struct TrainRequest {
    pub run_dir: PathBuf,
    pub config: TrainConfig,
    /// Continue the run in `run_dir` from its last committed epoch. The saved configuration must
    /// match `config` except for the number of epochs.
    pub resume: bool,
    pub device: Device,
}

#[derive(Debug)]
pub enum Outcome {
    Finished(RunState),
    /// The observer asked to stop; the run resumes from the last committed epoch.
    Stopped(RunState),
}

fn same_except_epochs(a: &TrainConfig, b: &TrainConfig) -> bool {
    let mut b = b.clone();
    b.schedule1.epochs = a.schedule1.epochs;
    b.schedule2.epochs = a.schedule2.epochs;
    *a == b
}

/// The settings in which `a` and `b` differ, by name, with the saved value (`b`) where short.
fn differing_settings(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let mut out = Vec::new();
    if a.data != b.data {
        out.push(format!("data: saved {:?}", b.data));
    }
    if a.seed != b.seed {
        out.push(format!("seed: saved {}", b.seed));
    }
    if a.stage1.decoder != b.stage1.decoder {
        out.push(format!("decoder: saved {:?}", b.stage1.decoder));
    }
    if a.stage1.latent != b.stage1.latent {
        out.push(format!("latent: saved {}", b.stage1.latent));
    }
    if a.stage1 != b.stage1 {
        out.push("stage-1 architecture".into());
    }
    if a.stage2 != b.stage2 {
        out.push("stage-2 architecture".into());
    }
    if out.is_empty() {
        out.push("training options".into());
    }
    out
}

/// Creates the run directory (or checks it for a resume) and returns the config and state.
fn open_run(req: &TrainRequest, splits: &Splits) -> Result<(TrainConfig, RunState)> {
    let dir = RunDir::new(&req.run_dir);
    let mut config = req.config.clone();
    config.stage1.input_dim = splits.train.dim;
    config.image_shape = splits.train.image_shape;
    config.stage1.output = match splits.train.scaling {
        Scaling::Unit => Activation::Sigmoid,
        Scaling::Real => Activation::Identity,
    };
    config.standardization = match splits.train.scaling {
        Scaling::Unit => None,
        Scaling::Real => Some(standardize::robust(&splits.train.values())),
    };
    // Before anything is written, so a decoder the data cannot take leaves no run behind.
    check_encoder(&config.stage1, config.image_shape)?;
    check_decoder(&config.stage1, config.image_shape)?;
    if req.resume {
        let saved = read_config(dir.root())?;
        // A run keeps the standardisation it was created with (none, for runs made before it
        // existed): resuming continues the same networks on the same inputs.
        config.standardization = saved.standardization;
        if !same_except_epochs(&config, &saved) {
            return Err(Error::Config(format!(
                "{} was made with other settings ({}); --resume may only change the number of \
                 epochs",
                dir.config().display(),
                differing_settings(&config, &saved).join(", ")
            )));
        }
        let state = if dir.is_started() {
            read_state(dir.root())?
        } else {
            RunState::default()
        };
        // A run killed mid-write leaves temporary files named after its pid (never reused by
        // this process's writes) and maybe an uncommitted or superseded checkpoint.
        atomic_file::remove_stale_temps(dir.root())?;
        checkpoint::remove_stale(&dir, &state)?;
        atomic_file::write_json(&dir.config(), &config)?;
        return Ok((config, state));
    }
    if dir.is_started() {
        return Err(Error::Config(format!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            dir.root().display()
        )));
    }
    dir.create()?;
    atomic_file::write_json(&dir.config(), &config)?;
    let state = RunState::default();
    atomic_file::write_json(&dir.state(), &state)?;
    Ok((config, state))
}

pub fn train(req: &TrainRequest, observer: &mut dyn FnMut(&TrainEvent) -> Flow) -> Result<Outcome> {
    req.config.validate()?;
    let source = req.config.source()?;
    let mut splits = load_splits(&source, &req.config.load_options())?;
    let (config, mut state) = open_run(req, &splits)?;
    // Training never reads the test split: its memory goes back now (`edgevae eval` loads it).
    splits.test = None;
    if let Some(s) = &config.standardization {
        for part in [&mut splits.train, &mut splits.val] {
            standardize::to_model(s, part.values_mut());
            if let Some(clean) = part.clean.as_mut() {
                standardize::to_model(s, clean);
            }
        }
    }
    let dir = &RunDir::new(&req.run_dir);
    let device = &req.device;
    let (params1, stage1) = build_stage1(&config, device, None)?;

    let mut opt1 = AdamW::new(&params1, config.optimizer)?;
    if let Some(name) = &state.stage1.checkpoint {
        checkpoint::load(
            dir,
            name,
            &params1,
            Some((&mut opt1, state.stage1.optimizer_steps)),
        )?;
    }
    let ctx1 = StageContext {
        stage: 1,
        run_dir: dir,
        seed: config.seed,
        schedule: &config.schedule1,
        noise_width: stage1.noise_width(),
        gamma_floor: config.stage1.gamma_floor,
        device,
    };
    let loss1 = |x: &candle_core::Tensor, eps: &candle_core::Tensor| stage1.loss(x, eps);
    let rows = StageData {
        train: &RowBatches(&splits.train),
        val: &RowBatches(&splits.val),
    };
    let epochs1 = config.schedule1.epochs;
    let mut observe1 = |e: &TrainEvent| {
        match e {
            TrainEvent::StageStart { first_epoch, .. } => stage1.set_epoch(*first_epoch, epochs1),
            TrainEvent::EpochEnd { record, .. } => stage1.set_epoch(record.epoch + 1, epochs1),
            _ => {}
        }
        observer(e)
    };
    if !run_stage(
        &ctx1,
        &loss1,
        &params1,
        &mut opt1,
        rows,
        &mut state,
        &mut observe1,
    )? {
        return Ok(Outcome::Stopped(state));
    }
    drop(opt1);

    let mut grid_rows = splits.val.head(grids::INPUT_ROWS);
    if let Some(s) = &config.standardization {
        standardize::to_data(s, grid_rows.values_mut());
    }
    let active = active_dims::measure(&stage1, &splits.val, device)?;
    observer(&TrainEvent::ReportInputs(Box::new(ReportInputs {
        active,
        grid_rows,
    })));

    let train_codes = encode_codes(&stage1, &splits.train, device)?;
    let val_codes = encode_codes(&stage1, &splits.val, device)?;
    // Stage 2 trains on the codes: the rows' memory and stage 1's go back before stage 2's is
    // made.
    drop((params1, stage1, splits));
    let (params2, stage2) = build_stage2(&config, device, None)?;
    let mut opt2 = AdamW::new(&params2, config.optimizer)?;
    if let Some(name) = &state.stage2.checkpoint {
        checkpoint::load(
            dir,
            name,
            &params2,
            Some((&mut opt2, state.stage2.optimizer_steps)),
        )?;
    }
    let ctx2 = StageContext {
        stage: 2,
        noise_width: config.stage1.latent,
        schedule: &config.schedule2,
        gamma_floor: config.stage2.gamma_floor,
        ..ctx1
    };
    let loss2 = |z: &candle_core::Tensor, eps: &candle_core::Tensor| stage2.loss(z, eps);
    let codes = StageData {
        train: &train_codes,
        val: &val_codes,
    };
    if !run_stage(
        &ctx2, &loss2, &params2, &mut opt2, codes, &mut state, observer,
    )? {
        return Ok(Outcome::Stopped(state));
    }
    Ok(Outcome::Finished(state))
}
