//! `traversals.png`: one row per latent dimension, sorted by mean encoder variance (every
//! active one, then a few inactive ones for contrast), each a row of decodings of the first
//! validation image's posterior mean with that one coordinate set to -3 … 3 (the prior's
//! range) and the others kept. A dimension the model uses changes the image; an unused one
//! (variance ≈ 1) leaves it as it is, which is the tutorial's claim to see.

use std::path::Path;

use super::image_rows::{write_image_rows, ImageRow};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::active_dims::ActiveDims;
use crate::train::LoadedRun;

/// Values the swept coordinate takes: -3 to 3 in equal steps.
pub const TRAVERSAL_STEPS: usize = 9;
/// Inactive dimensions shown after the active ones.
const INACTIVE_SHOWN: usize = 3;
/// At most this many active dimensions are drawn (the most certain first); the label says so.
const ACTIVE_SHOWN: usize = 32;
const LABEL_WIDTH: u32 = 190;

fn sweep(i: usize) -> f32 {
    -3.0 + 6.0 * i as f32 / (TRAVERSAL_STEPS - 1) as f32
}

/// The dimensions drawn, in order, and whether each is active.
fn rows_shown(active: &ActiveDims) -> Vec<(usize, bool)> {
    let mut inactive: Vec<usize> = (0..active.latent)
        .filter(|j| !active.active_indices.contains(j))
        .collect();
    inactive.sort_by(|&a, &b| active.mean_variance[a].total_cmp(&active.mean_variance[b]));
    active
        .active_indices
        .iter()
        .take(ACTIVE_SHOWN)
        .map(|&j| (j, true))
        .chain(
            inactive
                .into_iter()
                .take(INACTIVE_SHOWN)
                .map(|j| (j, false)),
        )
        .collect()
}

/// Writes the traversals of `run` around `val`'s first row to `path`; returns the number of
/// dimensions drawn, or `None` (and writes nothing) when the data are not images.
pub fn write_traversals(
    path: &Path,
    run: &LoadedRun,
    active: &ActiveDims,
    val: &Dataset,
) -> Result<Option<usize>> {
    let Some((h, w)) = val.image_shape else {
        return Ok(None);
    };
    if val.is_empty() {
        return Err(Error::Config(
            "traversals need at least one validation row".into(),
        ));
    }
    let k = run.config.stage1.latent;
    if active.mean_variance.len() != k {
        return Err(Error::Config(format!(
            "active_dims has {} variances for a latent of {k}",
            active.mean_variance.len()
        )));
    }
    let base = run.posterior_means(&val.rows(0..1))?;
    let shown = rows_shown(active);
    let mut codes = Vec::with_capacity(shown.len() * TRAVERSAL_STEPS * k);
    for &(j, _) in &shown {
        for i in 0..TRAVERSAL_STEPS {
            let mut z = base.clone();
            z[j] = sweep(i);
            codes.extend(z);
        }
    }
    let images = run.decode_codes(&codes)?;
    let per_row = TRAVERSAL_STEPS * h * w;
    let more = active.active.saturating_sub(ACTIVE_SHOWN);
    let mut header: Vec<String> = (0..TRAVERSAL_STEPS)
        .map(|i| format!("{:+.2}", sweep(i)))
        .collect();
    if more > 0 {
        header[0] = format!(
            "{} (first {ACTIVE_SHOWN} of {} active)",
            header[0], active.active
        );
    }
    let rows: Vec<ImageRow> = shown
        .iter()
        .zip(images.chunks_exact(per_row))
        .map(|(&(j, is_active), images)| ImageRow {
            label: vec![
                format!("z{j}, {}", if is_active { "active" } else { "inactive" }),
                format!("variance {:.2e}", active.mean_variance[j]),
            ],
            images: images.to_vec(),
        })
        .collect();
    write_image_rows(path, (h, w), &header, LABEL_WIDTH, &rows)?;
    Ok(Some(shown.len()))
}
