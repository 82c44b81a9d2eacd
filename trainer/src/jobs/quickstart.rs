//! The whole pipeline on built-in data (`edgevae quickstart`): train both stages on sprites,
//! calibrate and export every precision, open the model through ONNX Runtime and sample a grid.
//! Deterministic: the graphs it writes are byte-identical to the committed `models/quickstart`
//! (CI regenerates and compares them).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::Device;
use edgevae_runtime::core::{Manifest, MicroPrecision, Precision};
use edgevae_runtime::{ModelDir, RuntimeOptions};

use crate::error::{Error, Result};
use crate::export::calibration::validation_rows;
use crate::export::{calibrate, export, CalibrationOptions};
use crate::image_grid::write_grid_png;
use crate::train::{
    train, write_run_reports, Flow, LoadedRun, Outcome, RunDir, RunState, TrainConfig, TrainEvent,
    TrainRequest,
};

/// Samples in the runtime's grid.
const SAMPLES: usize = 100;

/// The quickstart's configuration: built-in sprites, a model small enough to ship in the
/// repository (`models/quickstart`), the default schedules.
pub fn quickstart_config() -> Result<TrainConfig> {
    let mut config = TrainConfig::for_data("sprites", false)?;
    config.stage1.latent = 32;
    config.stage1.hidden = vec![256, 256];
    config.stage2.width = 256;
    Ok(config)
}

/// Where the quickstart puts things under its `out` directory.
#[derive(Clone, Debug)]
pub struct QuickstartPaths {
    pub run_dir: PathBuf,
    pub model_dir: PathBuf,
    /// The runtime's samples as a PNG grid.
    pub grid: PathBuf,
}

impl QuickstartPaths {
    pub fn new(out: &Path) -> Self {
        Self {
            run_dir: out.join("run"),
            model_dir: out.join("model"),
            grid: out.join("samples_runtime.png"),
        }
    }
}

/// What [`quickstart`] did, and how long each step took.
#[derive(Clone, Debug)]
pub struct QuickstartReport {
    pub paths: QuickstartPaths,
    pub state: RunState,
    /// A line on each of the run's reports.
    pub reports: Vec<String>,
    pub manifest: Manifest,
    /// The execution provider the sampler got, in words.
    pub provider: String,
    pub samples: usize,
    pub train: Duration,
    pub export: Duration,
    pub open: Duration,
    pub sample: Duration,
}

/// Runs the pipeline into `out`; a finished quickstart run there is reused and an interrupted one
/// continued, unless `fresh`. `observer` sees the training events.
pub fn quickstart(
    out: &Path,
    fresh: bool,
    observer: &mut dyn FnMut(&TrainEvent) -> Flow,
) -> Result<QuickstartReport> {
    let paths = QuickstartPaths::new(out);
    let run_dir = RunDir::new(&paths.run_dir);
    if fresh && run_dir.root().exists() {
        std::fs::remove_dir_all(run_dir.root()).map_err(|e| Error::io(run_dir.root(), e))?;
    }
    let t = Instant::now();
    let request = TrainRequest {
        run_dir: paths.run_dir.clone(),
        config: quickstart_config()?,
        resume: run_dir.is_started(),
        device: Device::Cpu,
    };
    let mut inputs = None;
    let outcome = train(&request, &mut |e| {
        if let TrainEvent::ReportInputs(r) = e {
            inputs = Some(r.clone());
        }
        observer(e)
    })?;
    let (Outcome::Finished(state), Some(inputs)) = (outcome, inputs) else {
        return Err(Error::Config(
            "training was stopped; run the quickstart again to continue it".into(),
        ));
    };
    let reports = write_run_reports(&paths.run_dir, &Device::Cpu, &inputs)?;
    let train_time = t.elapsed();

    let t = Instant::now();
    let run = LoadedRun::open(&paths.run_dir, &Device::Cpu, false)?;
    let rows = validation_rows(&run)?;
    let outlier = calibrate(&run, &rows, &CalibrationOptions::default())?;
    // The int8 micro blobs are what the Cortex-M4 test runs (runtime/cortex-m4).
    let manifest = export(
        &run,
        &paths.model_dir,
        &Precision::ALL,
        &[MicroPrecision::Int8],
        Some(outlier),
    )?;
    let export_time = t.elapsed();

    let t = Instant::now();
    let model = ModelDir::open(&paths.model_dir, RuntimeOptions::default())?;
    let mut sampler = model.sampler()?;
    let open_time = t.elapsed();
    let d = model.input_dim();
    let mut samples = vec![0.0f32; SAMPLES * d];
    let t = Instant::now();
    sampler.sample_into(SAMPLES, 0, &mut samples)?;
    let sample_time = t.elapsed();
    let [rows, cols] = manifest
        .image_shape
        .ok_or_else(|| Error::Config("the quickstart's data are images".into()))?;
    write_grid_png(
        &paths.grid,
        &samples,
        SAMPLES,
        (rows as usize, cols as usize),
        10,
    )?;
    Ok(QuickstartReport {
        paths,
        state,
        reports,
        manifest,
        provider: sampler.provider().describe(),
        samples: SAMPLES,
        train: train_time,
        export: export_time,
        open: open_time,
        sample: sample_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_valid_and_small() -> Result<()> {
        let config = quickstart_config()?;
        config.validate()?;
        assert_eq!(config.data, "sprites");
        assert_eq!((config.stage1.latent, config.stage2.width), (32, 256));
        Ok(())
    }
}
