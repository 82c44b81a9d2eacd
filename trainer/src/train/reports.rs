//! A finished run's own reports, written by the caller of [`super::train`] when it wants them
//! (the CLI and the quickstart do; tests and benchmarks do not): `active_dims.json` (the
//! per-dimension mean encoder variance over the validation rows) and, for image data, the PNG
//! grids. The run is read back from its directory and its validation rows reloaded as training
//! split them, so the reports are the same whether the run was trained in this process, resumed
//! or trained elsewhere.

use std::path::Path;

use candle_core::Device;

use super::{active_dims, grids, LoadedRun};
use crate::data::standardize;
use crate::error::Result;

/// Writes the reports of the finished run in `run_dir`; returns a line on each for the caller to
/// print.
pub fn write_run_reports(run_dir: &Path, device: &Device) -> Result<Vec<String>> {
    let run = LoadedRun::open(run_dir, device, false)?;
    let mut val = run.config.reload_data(None)?.val;
    // The grids take rows in the data's units, as every method of a run does.
    let mut lines = grids::write_run_grids(&run, &val.head(grids::INPUT_ROWS))?;
    // The encoder reads model units.
    if let Some(s) = &run.config.standardization {
        standardize::to_model(s, val.values_mut());
    }
    let active = active_dims::measure(&run.stage1, &val, device)?;
    active.write(&run.dir.active_dims())?;
    lines.insert(0, active.summary());
    Ok(lines)
}
