//! Tiny training configurations shared by the integration tests.

use std::path::Path;

use candle_core::Device;
use edgevae_trainer::model::{Stage1Config, Stage2Config};
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
        write_reports: false,
    }
}
