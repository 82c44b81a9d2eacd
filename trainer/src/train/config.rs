//! What a run was asked to do, saved as `config.json` in the run directory.

use serde::{Deserialize, Serialize};

use super::{probe_scaling, DataDefaults};
use crate::data::{load_splits, DataSource, LoadOptions, Splits};
use crate::error::Result;
use crate::model::{RobustConfig, Stage1Config, Stage2Config};
use crate::nn::{Activation, AdamWConfig};
use crate::settings::{at_least_one, fail, fraction, positive, Checked, Fraction};

/// Epochs, batch size and learning-rate schedule of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageSchedule {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    /// Halve the learning rate every this many epochs (0: never).
    pub halve_every: usize,
}

impl StageSchedule {
    /// A schedule of `epochs` that halves the learning rate every third of them (the default).
    pub fn new(epochs: usize, batch: usize, lr: f64) -> Self {
        Self {
            epochs,
            batch,
            lr,
            halve_every: (epochs / 3).max(1),
        }
    }

    /// This schedule's batch and learning rate over `epochs`, halving as [`StageSchedule::new`]
    /// does for that length (what `train --epochs N` gives).
    pub fn with_epochs(&self, epochs: usize) -> Self {
        Self::new(epochs, self.batch, self.lr)
    }

    /// Every field, named `{prefix}.field` (`halve_every` takes any value).
    pub fn validate(&self, prefix: &str) -> Checked {
        at_least_one(&format!("{prefix}.epochs"), self.epochs)?;
        at_least_one(&format!("{prefix}.batch"), self.batch)?;
        positive(&format!("{prefix}.lr"), self.lr)
    }
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
    /// What `edgevae train --data <data>` trains when no other flag is given: every default of
    /// a new run, in one place (those that depend on the kind of data from [`DataDefaults`],
    /// which probes `data`). `robust`: with the robust decoder at its defaults.
    pub fn for_data(data: &str, robust: bool) -> Result<Self> {
        let kind = DataDefaults::for_scaling(probe_scaling(&DataSource::parse(data)?)?);
        let mut stage1 = Stage1Config::new(0, Activation::Sigmoid);
        stage1.robust = robust.then(|| RobustConfig {
            outlier_cost: kind.outlier_cost,
            ..RobustConfig::default()
        });
        Ok(Self {
            data: data.to_string(),
            seed: 0,
            val_fraction: 0.1,
            corrupt: None,
            limit: None,
            stage1,
            image_shape: None,
            standardization: None,
            stage2: Stage2Config::default(),
            schedule1: StageSchedule::new(30, 64, 1e-3),
            schedule2: StageSchedule::new(20, 64, 1e-3),
            optimizer: AdamWConfig {
                latent_decay: kind.latent_decay,
                ..AdamWConfig::default()
            },
        })
    }

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

    /// Refuses settings that cannot train, before any work is done: every field, each failure
    /// naming it (`seed` takes any value; `stage1.input_dim`, `image_shape` and
    /// `standardization` come from the data).
    pub fn validate(&self) -> Checked {
        if self.data.trim().is_empty() {
            return fail("data", "\"\"", "must name the data");
        }
        fraction("val_fraction", f64::from(self.val_fraction), Fraction::Open)?;
        if let Some(c) = self.corrupt {
            fraction("corrupt", f64::from(c), Fraction::UpToOne)?;
        }
        if let Some(n) = self.limit {
            at_least_one("limit", n)?;
        }
        self.stage1.validate()?;
        self.stage2.validate()?;
        self.schedule1.validate("schedule1")?;
        self.schedule2.validate("schedule2")?;
        self.optimizer.validate()
    }
}
