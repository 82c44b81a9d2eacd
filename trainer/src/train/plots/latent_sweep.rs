//! `latent.png` of `edgevae bench latent`: sample quality against the latent width κ (log2
//! axis) for stage-1-only and two-stage samples, and the active-dimension count.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::canvas::{legend, padded_range, write_png, FONT};
use crate::error::Result;

/// One κ of the sweep.
pub struct SweepPoint {
    pub kappa: usize,
    pub stage1_frechet: f64,
    pub two_stage_frechet: f64,
    pub active: usize,
}

const STAGE1: RGBColor = RGBColor(255, 127, 14);
const TWO_STAGE: RGBColor = RGBColor(31, 119, 180);

type KappaChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The grid and axes of a panel whose x is log2 κ, labelled in κ.
fn kappa_mesh(chart: &mut KappaChart) -> std::result::Result<(), String> {
    chart
        .configure_mesh()
        .x_desc("latent dimension kappa")
        .x_label_formatter(&|v| format!("{:.0}", 2f64.powf(*v)))
        .label_style((FONT, 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())
}

/// Writes the two-panel sweep figure of `points` (sorted by κ) to `path`; `title` names the data.
pub fn write_latent_sweep(path: &Path, title: &str, points: &[SweepPoint]) -> Result<()> {
    let log2 = |k: usize| (k.max(1) as f64).log2();
    let (x_lo, x_hi) = padded_range(points.iter().map(|p| log2(p.kappa)));
    let (_, f_hi) = padded_range(
        points
            .iter()
            .flat_map(|p| [p.stage1_frechet, p.two_stage_frechet]),
    );
    let (_, a_hi) = padded_range(points.iter().map(|p| p.active as f64).chain([0.0]));
    write_png(path, (1100, 460), |root| {
        let panels = root.split_evenly((1, 2));
        let mut chart = ChartBuilder::on(&panels[0])
            .caption(
                format!("{title}: Fréchet distance (lower is better)"),
                (FONT, 16),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_lo..x_hi, 0f64..f_hi.max(1e-9))
            .map_err(|e| e.to_string())?;
        kappa_mesh(&mut chart)?;
        for (name, colour, pick) in [
            (
                "stage-1 only",
                STAGE1,
                (|p: &SweepPoint| p.stage1_frechet) as fn(&SweepPoint) -> f64,
            ),
            ("two-stage", TWO_STAGE, |p: &SweepPoint| p.two_stage_frechet),
        ] {
            let line: Vec<(f64, f64)> = points.iter().map(|p| (log2(p.kappa), pick(p))).collect();
            chart
                .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            chart
                .draw_series(line.into_iter().map(|c| Circle::new(c, 4, colour.filled())))
                .map_err(|e| e.to_string())?;
        }
        legend(&mut chart)?;

        let mut chart = ChartBuilder::on(&panels[1])
            .caption("active latent dimensions", (FONT, 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x_lo..x_hi, 0f64..a_hi.max(1.0))
            .map_err(|e| e.to_string())?;
        kappa_mesh(&mut chart)?;
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (log2(p.kappa), p.active as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), BLACK.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(line.into_iter().map(|c| Circle::new(c, 4, BLACK.filled())))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}
