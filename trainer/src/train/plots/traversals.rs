//! `traversals.png`: one row per latent dimension, sorted by mean encoder variance (every
//! active one, then a few inactive ones for contrast), each a row of decodings of the first
//! validation image's posterior mean with that one coordinate set to -3 … 3 (the prior's
//! range) and the others kept. A dimension the model uses changes the image; an unused one
//! (variance ≈ 1) leaves it as it is, which is the tutorial's claim to see.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{write_png, FONT};
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
/// Screen pixels per image pixel.
const SCALE: u32 = 2;
const LABEL_WIDTH: u32 = 190;
const HEADER: u32 = 28;
const GAP: u32 = 4;

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
    let d = h * w;
    let (cell_w, cell_h) = (w as u32 * SCALE + GAP, h as u32 * SCALE + GAP);
    let size = (
        LABEL_WIDTH + TRAVERSAL_STEPS as u32 * cell_w,
        HEADER + shown.len() as u32 * cell_h + GAP,
    );
    let more = active.active.saturating_sub(ACTIVE_SHOWN);
    write_png(path, size, |root| {
        let text = |s: String, x: u32, y: u32, size: u32| {
            root.draw(&Text::new(
                s,
                (x as i32, y as i32),
                (FONT, size).into_font(),
            ))
            .map_err(|e| e.to_string())
        };
        let header = if more > 0 {
            format!("z_j = (first {ACTIVE_SHOWN} of {} active)", active.active)
        } else {
            "z_j =".to_string()
        };
        text(header, 6, 6, 13)?;
        for i in 0..TRAVERSAL_STEPS {
            text(
                format!("{:+.2}", sweep(i)),
                LABEL_WIDTH + i as u32 * cell_w + cell_w / 2 - 16,
                6,
                13,
            )?;
        }
        for (r, &(j, is_active)) in shown.iter().enumerate() {
            let y0 = HEADER + r as u32 * cell_h;
            let state = if is_active { "active" } else { "inactive" };
            text(format!("z{j}, {state}"), 6, y0 + cell_h / 2 - 16, 14)?;
            text(
                format!("variance {:.2e}", active.mean_variance[j]),
                6,
                y0 + cell_h / 2 + 2,
                13,
            )?;
            for i in 0..TRAVERSAL_STEPS {
                let image = &images[(r * TRAVERSAL_STEPS + i) * d..][..d];
                let x0 = LABEL_WIDTH + i as u32 * cell_w;
                for (p, v) in image.iter().enumerate() {
                    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                    let (py, px) = ((p / w) as u32, (p % w) as u32);
                    for (dy, dx) in (0..SCALE).flat_map(|dy| (0..SCALE).map(move |dx| (dy, dx))) {
                        let (x, y) = (x0 + px * SCALE + dx, y0 + py * SCALE + dy);
                        root.draw_pixel((x as i32, y as i32), &RGBColor(g, g, g))
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(Some(shown.len()))
}
