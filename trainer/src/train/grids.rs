//! The PNG grids of a finished run: inputs vs reconstructions, stage-1-only samples and
//! two-stage samples.

use super::LoadedRun;
use crate::data::Dataset;
use crate::error::Result;
use crate::image_grid::{interleave_rows, write_grid_png};

const COLS: usize = 10;
/// Validation rows shown in the reconstruction grid: all the reports read of the validation set.
pub const INPUT_ROWS: usize = 5 * COLS;
const SAMPLES: usize = 100;
/// Fixed so the grids of two runs compare sample for sample.
const GRID_SEED: u64 = 2024;

/// Writes the three grids when the data are images; returns a line per file written.
pub fn write_run_grids(run: &LoadedRun, val: &Dataset) -> Result<Vec<String>> {
    let Some(shape) = val.image_shape else {
        return Ok(vec!["data are not images: no PNG grids written".into()]);
    };
    let d = val.dim;
    let shown = val.len().min(INPUT_ROWS);
    let inputs = &val.rows(0..shown)[..];
    let recon = run.reconstruct(inputs)?;
    let per_row = COLS.min(shown);
    let paired = interleave_rows(inputs, &recon, d, per_row);
    let mut lines = Vec::new();
    let path = run.dir.reconstructions();
    // A short last row of inputs is padded (`interleave_rows`), so count what it returned.
    write_grid_png(&path, &paired, paired.len() / d, shape, per_row)?;
    lines.push(format!(
        "inputs (odd rows) vs reconstructions (even rows): {}",
        path.display()
    ));
    let path = run.dir.samples_stage1();
    write_grid_png(
        &path,
        &run.sample_stage1(SAMPLES, GRID_SEED)?,
        SAMPLES,
        shape,
        COLS,
    )?;
    lines.push(format!("stage-1-only samples: {}", path.display()));
    let path = run.dir.samples_two_stage();
    write_grid_png(
        &path,
        &run.sample_two_stage(SAMPLES, GRID_SEED)?,
        SAMPLES,
        shape,
        COLS,
    )?;
    lines.push(format!("two-stage samples: {}", path.display()));
    Ok(lines)
}
