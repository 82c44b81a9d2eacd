//! A finished run's own reports, written by the caller of [`super::train`] when it wants them
//! (the CLI and the quickstart do; tests and benchmarks do not): `active_dims.json` (the
//! per-dimension mean encoder variance over the validation rows), the diagnostics of
//! [`super::plots`] and, for image data, the PNG grids. Training measures what they need while it holds the data and sends it as
//! [`super::TrainEvent::ReportInputs`], so writing them reads no data again: reloading MNIST
//! after training raised the run's peak RSS from 139 to 156 MB.

use std::path::Path;

use candle_core::Device;

use super::active_dims::ActiveDims;
use super::{grids, LoadedRun};
use crate::data::Dataset;
use crate::error::Result;

/// What the reports need from training: the active dimensions, measured on the validation rows
/// after stage 1, and the first validation rows, in the data's units, for the grids.
#[derive(Clone, Debug)]
pub struct ReportInputs {
    pub active: ActiveDims,
    pub grid_rows: Dataset,
}

/// Writes the reports of the finished run in `run_dir`; returns a line on each for the caller to
/// print.
pub fn write_run_reports(
    run_dir: &Path,
    device: &Device,
    inputs: &ReportInputs,
) -> Result<Vec<String>> {
    let run = LoadedRun::open(run_dir, device, false)?;
    inputs.active.write(&run.dir.active_dims())?;
    let mut lines = vec![inputs.active.summary()];
    lines.extend(grids::write_run_grids(&run, &inputs.grid_rows)?);
    lines.extend(super::plots::write_run_plots(
        &run,
        &inputs.active,
        &inputs.grid_rows,
    )?);
    Ok(lines)
}
