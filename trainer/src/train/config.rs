//! What a run was asked to do, saved as `config.json` in the run directory.

use serde::{Deserialize, Serialize};

use crate::data::{load_splits, DataSource, LoadOptions, Splits};
use crate::error::{Error, Result};
use crate::model::{Stage1Config, Stage2Config};
use crate::nn::AdamWConfig;

/// Epochs, batch size and learning-rate schedule of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageSchedule {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    /// Halve the learning rate every this many epochs (0: never).
    pub halve_every: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The `--data` value: a built-in name with parameters, or a path.
    pub data: String,
    pub seed: u64,
    pub val_fraction: f32,
    pub corrupt: Option<f32>,
    /// Train on at most this many rows.
    pub limit: Option<usize>,
    /// `input_dim` and `output` are filled in from the data when the run is created.
    pub stage1: Stage1Config,
    /// (rows, cols) when the data are images; filled in from the data when the run is created.
    #[serde(default)]
    pub image_shape: Option<(usize, usize)>,
    /// Real-valued data: the robust standardisation of the training rows the networks were
    /// trained on (`data::standardize`), filled in from the data when the run is created.
    /// Absent for pixel data and in runs made before it existed (trained on raw values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardization: Option<edgevae_runtime::core::Standardization>,
    pub stage2: Stage2Config,
    pub schedule1: StageSchedule,
    pub schedule2: StageSchedule,
    pub optimizer: AdamWConfig,
}

impl TrainConfig {
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            seed: self.seed,
            val_fraction: self.val_fraction,
            corrupt: self.corrupt,
            limit: self.limit,
        }
    }

    pub fn source(&self) -> Result<DataSource> {
        Ok(DataSource::parse(&self.data)?)
    }

    /// The run's data loaded again as training split them (same seed, validation share,
    /// corruption and row limit), so the validation rows are the ones training held out; or,
    /// with `data`, other data (a spec as `--data` takes) under the same treatment.
    pub fn reload_data(&self, data: Option<&str>) -> Result<Splits> {
        let source = match data {
            Some(spec) => DataSource::parse(spec)?,
            None => self.source()?,
        };
        Ok(load_splits(&source, &self.load_options())?)
    }

    /// Refuses settings that cannot train, before any work is done.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_string()));
        if self.stage1.latent == 0 {
            return bad("latent dimension must be at least 1");
        }
        if self.stage1.hidden.contains(&0) || self.stage2.width == 0 {
            return bad("hidden widths must be at least 1");
        }
        for s in [&self.schedule1, &self.schedule2] {
            if s.batch == 0 {
                return bad("batch size must be at least 1");
            }
            if s.epochs == 0 {
                return bad("each stage needs at least 1 epoch");
            }
            if !(s.lr.is_finite() && s.lr > 0.0) {
                return bad("learning rate must be a positive number");
            }
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return bad("validation fraction must be in (0, 1)");
        }
        if let Some(c) = self.corrupt {
            if !(0.0..1.0).contains(&c) {
                return bad("--corrupt must be a fraction in [0, 1)");
            }
        }
        for f in [self.stage1.gamma_floor, self.stage2.gamma_floor] {
            if !(f.is_finite() && f > 0.0) {
                return bad("gamma floor must be a positive number");
            }
        }
        Ok(())
    }
}
