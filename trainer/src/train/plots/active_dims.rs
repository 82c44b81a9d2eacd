//! `active_dims.png`: the histogram of the per-dimension mean encoder variance over the
//! validation rows, on a log10 axis, with the activity threshold marked (the tutorial's MNIST
//! figure: a cluster near 0 for the dimensions the data use, one near 1 for the rest).

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{legend, padded_range, write_png, FONT};
use crate::error::Result;
use crate::train::active_dims::ActiveDims;

const BINS: usize = 40;
/// Variances below this are drawn in the first bin (log10 of 0 is not a position).
const FLOOR: f64 = 1e-8;

/// Writes the histogram of `active` to `path`.
pub fn write_active_dims(path: &Path, active: &ActiveDims) -> Result<()> {
    let logs: Vec<f64> = active
        .mean_variance
        .iter()
        .map(|v| v.max(FLOOR).log10())
        .collect();
    let threshold = active.threshold.log10();
    let (lo, hi) = padded_range(logs.iter().copied().chain([threshold, 0.0]));
    let width = (hi - lo) / BINS as f64;
    let mut counts = [0usize; BINS];
    for v in logs.iter().filter(|v| v.is_finite()) {
        let bin = (((v - lo) / width) as usize).min(BINS - 1);
        counts[bin] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    let caption = format!(
        "kappa = {}: {} active (mean encoder variance < {}), {} validation rows",
        active.latent, active.active, active.threshold, active.rows
    );
    write_png(path, (900, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0f64..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("mean encoder variance (log scale)")
            .y_desc("dimensions")
            .x_label_formatter(&|v| format!("{:.0e}", 10f64.powf(*v)))
            .label_style((FONT, 12))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(i, c)| {
                        let x0 = lo + i as f64 * width;
                        Rectangle::new(
                            [(x0, 0.0), (x0 + width, *c as f64)],
                            RGBColor(31, 119, 180).filled(),
                        )
                    }),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(threshold, 0.0), (threshold, top)],
                RED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(format!("threshold {}", active.threshold))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        legend(&mut chart)
    })
}
