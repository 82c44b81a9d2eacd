//! The diagnostics every run directory gets (and `edgevae inspect --plots` redraws):
//! `losses.png` (per-epoch losses, KL and γ of both stages), `active_dims.png` (the histogram of
//! per-dimension mean encoder variance) and, for image data, `traversals.png` (decodings as one
//! latent coordinate sweeps the prior's range). Drawn with plotters into a buffer, encoded with
//! the png crate, written atomically.

mod active_dims;
mod canvas;
mod image_rows;
mod latent_sweep;
mod losses;
mod traversals;

pub use active_dims::write_active_dims;
pub use image_rows::{write_image_rows, ImageRow};
pub use latent_sweep::{write_latent_sweep, SweepPoint};
pub use losses::write_losses;
pub use traversals::{write_traversals, TRAVERSAL_STEPS};

use crate::data::Dataset;
use crate::error::Result;
use crate::train::active_dims::ActiveDims;
use crate::train::LoadedRun;

/// Writes the three diagnostics of `run` (`val`: validation rows in the data's units, the first
/// one's code is traversed); returns a line on each for the caller to print.
pub fn write_run_plots(run: &LoadedRun, active: &ActiveDims, val: &Dataset) -> Result<Vec<String>> {
    let dir = &run.dir;
    let mut lines = Vec::new();
    write_losses(&dir.losses_png(), &run.state)?;
    lines.push(format!(
        "losses, KL and gamma per epoch: {}",
        dir.losses_png().display()
    ));
    write_active_dims(&dir.active_dims_png(), active)?;
    lines.push(format!(
        "encoder-variance histogram: {}",
        dir.active_dims_png().display()
    ));
    match write_traversals(&dir.traversals_png(), run, active, val)? {
        Some(rows) => lines.push(format!(
            "latent traversals ({rows} dimensions): {}",
            dir.traversals_png().display()
        )),
        None => lines.push("data are not images: no traversals.png".into()),
    }
    Ok(lines)
}
