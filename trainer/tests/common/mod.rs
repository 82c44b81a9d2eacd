//! Tiny training configurations shared by the integration tests.

use std::path::Path;

use candle_core::Device;
use edgevae_trainer::model::{RobustConfig, Stage1Config, Stage2Config};
use edgevae_trainer::nn::{Activation, AdamWConfig};
use edgevae_trainer::train::{StageSchedule, TrainConfig, TrainRequest};

/// Sprites (160 rows, 20 % validation), 2 + 2 epochs of batch 32: seconds to train.
pub fn tiny_config(seed: u64, hidden: &[usize], latent: usize, stage2_width: usize) -> TrainConfig {
    let mut stage1 = Stage1Config::new(0, Activation::Sigmoid);
    stage1.hidden = hidden.to_vec();
    stage1.latent = latent;
    let schedule = StageSchedule {
        epochs: 2,
        batch: 32,
        lr: 1e-3,
        halve_every: 1,
    };
    TrainConfig {
        data: "sprites:n=160".into(),
        seed,
        val_fraction: 0.2,
        corrupt: None,
        limit: None,
        stage1,
        image_shape: None,
        standardization: None,
        stage2: Stage2Config {
            width: stage2_width,
            ..Stage2Config::default()
        },
        schedule1: schedule.clone(),
        schedule2: schedule,
        optimizer: AdamWConfig::default(),
    }
}

/// A CPU request without reports (no PNG grids, no active-dims file).
pub fn request(dir: &Path, config: TrainConfig, resume: bool) -> TrainRequest {
    TrainRequest {
        run_dir: dir.to_path_buf(),
        config,
        resume,
        device: Device::Cpu,
    }
}

/// `data` (a `manifold:...` spec, real-valued), a stage 1 of one hidden layer of 64 units and 4
/// latent dimensions trained `epochs` epochs of batch 32 at a constant rate 3e-3 (with the
/// robust decoder's defaults when `robust`), and one epoch of a small stage 2.
#[allow(dead_code)] // not every test binary uses it
pub fn manifold_config(seed: u64, data: &str, robust: bool, epochs: usize) -> TrainConfig {
    let mut config = tiny_config(seed, &[64], 4, 16);
    config.data = data.into();
    config.stage1.robust = robust.then(RobustConfig::default);
    config.schedule1 = StageSchedule {
        epochs,
        batch: 32,
        lr: 3e-3,
        halve_every: 0,
    };
    config.schedule2.epochs = 1;
    config.stage2.depth = 1;
    config
}

/// A robust model of `manifold_config(seed, data, true, epochs)` trained in `dir/run`,
/// calibrated on its validation rows and exported in fp32 to `dir/model`: (validation rows,
/// the thresholds written, the model directory).
#[allow(dead_code)] // not every test binary uses it
pub fn calibrated_manifold_model(
    dir: &Path,
    seed: u64,
    data: &str,
    epochs: usize,
) -> (
    edgevae_trainer::data::Dataset,
    edgevae_runtime::core::OutlierThresholds,
    std::path::PathBuf,
) {
    use edgevae_trainer::export::{calibrate, calibration::validation_rows, export_run};
    let run_dir = dir.join("run");
    let config = manifold_config(seed, data, true, epochs);
    edgevae_trainer::train::train(&request(&run_dir, config, false), &mut |_| {
        edgevae_trainer::train::Flow::Continue
    })
    .expect("train");
    let run =
        edgevae_trainer::train::LoadedRun::open(&run_dir, &Device::Cpu, false).expect("open run");
    let rows = validation_rows(&run).expect("validation rows");
    let thresholds = calibrate(
        &run,
        &rows,
        &edgevae_trainer::export::CalibrationOptions::default(),
    )
    .expect("calibrate");
    let model_dir = dir.join("model");
    let manifest = export_run(
        &run,
        &model_dir,
        &[edgevae_runtime::core::Precision::Fp32],
        Some(thresholds.clone()),
    )
    .expect("export");
    assert!(manifest.robust, "the filter graph must have x_log_var");
    (rows, thresholds, model_dir)
}
