//! What a run has done so far, saved as `state.json`: the commit point of every epoch.

use serde::{Deserialize, Serialize};

/// One finished epoch of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_kl: f64,
    pub train_mse: f64,
    pub gamma: f64,
    pub val_loss: f64,
    pub val_kl: f64,
    pub val_mse: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageProgress {
    pub epochs_done: usize,
    pub optimizer_steps: u64,
    /// File name under `checkpoints/` holding this stage's parameters and optimiser moments.
    pub checkpoint: Option<String>,
    pub history: Vec<EpochRecord>,
}

impl StageProgress {
    pub fn last(&self) -> Option<&EpochRecord> {
        self.history.last()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub format_version: u32,
    pub trainer_version: String,
    pub stage1: StageProgress,
    pub stage2: StageProgress,
}

impl Default for RunState {
    fn default() -> Self {
        Self {
            format_version: 1,
            trainer_version: env!("CARGO_PKG_VERSION").to_string(),
            stage1: StageProgress::default(),
            stage2: StageProgress::default(),
        }
    }
}

impl RunState {
    pub fn stage(&self, stage: u8) -> &StageProgress {
        if stage == 1 {
            &self.stage1
        } else {
            &self.stage2
        }
    }

    pub fn stage_mut(&mut self, stage: u8) -> &mut StageProgress {
        if stage == 1 {
            &mut self.stage1
        } else {
            &mut self.stage2
        }
    }
}
