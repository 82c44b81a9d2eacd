//! Training: the run directory ([`RunDir`]: config, progress, checkpoints, reports), the
//! per-stage loop, and loading a trained run back ([`LoadedRun`]).
//!
//! Every file of a run is written atomically, and `state.json` is written last: it is the
//! commit point, so a run killed at any moment resumes from the last epoch whose state was
//! committed.

pub mod active_dims;
mod batches;
mod checkpoint;
mod config;
mod data_defaults;
mod events;
mod fit;
pub mod grids;
pub mod plots;
mod reports;
mod run;
mod run_dir;
mod stage_loop;
mod state;

pub use batches::{BatchSource, CodeBatches, RowBatches};
pub use config::{StageSchedule, TrainConfig};
pub use data_defaults::{probe_scaling, DataDefaults};
pub use events::{Flow, TrainEvent};
pub use fit::{train, Outcome, TrainRequest};
pub use reports::{write_run_reports, ReportInputs};
pub use run::{encode_codes, read_config, read_state, LoadedRun};
pub use run_dir::RunDir;
pub use state::{EpochRecord, RunState, StageProgress};
