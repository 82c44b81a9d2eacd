//! What the training loop reports as it goes, so a front end can draw progress without the
//! library knowing about terminals; the front end answers whether to go on.

use super::{EpochRecord, ReportInputs};

#[derive(Clone, Debug)]
pub enum TrainEvent {
    StageStart {
        stage: u8,
        first_epoch: usize,
        epochs: usize,
        steps_per_epoch: usize,
    },
    Step {
        stage: u8,
        epoch: usize,
        step: usize,
        loss: f64,
        kl: f64,
        gamma: f64,
    },
    /// The epoch's checkpoint is committed when this is sent.
    EpochEnd {
        stage: u8,
        record: EpochRecord,
    },
    StageEnd {
        stage: u8,
    },
    /// Sent once stage 1 is done: what the run's reports need ([`super::write_run_reports`]).
    ReportInputs(Box<ReportInputs>),
    /// A line worth showing (active dimensions found, files written, ...).
    Info(String),
}

/// Whether training should go on after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop cleanly after the current event (only honoured at epoch ends, where a checkpoint is
    /// committed).
    Stop,
}
