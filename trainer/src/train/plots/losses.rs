//! `losses.png`: for each stage (rows), the training and validation loss, the training and
//! validation KL, and γ (log10) per epoch (columns), from `state.json`'s history.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{legend, padded_range, write_png, Area, FONT};
use crate::error::Result;
use crate::train::{EpochRecord, RunState};

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VAL: RGBColor = RGBColor(255, 127, 14);

/// One panel: named series of per-epoch values (epochs counted from 1).
fn panel(
    area: &Area,
    title: &str,
    series: &[(&str, RGBColor, Vec<f64>)],
) -> std::result::Result<(), String> {
    let epochs = series.iter().map(|s| s.2.len()).max().unwrap_or(0);
    if epochs == 0 {
        area.draw(&Text::new(
            format!("{title}: no epochs yet"),
            (20, 40),
            (FONT, 16).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let (lo, hi) = padded_range(series.iter().flat_map(|s| s.2.iter().copied()));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(1f64..(epochs.max(2) as f64), lo..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style((FONT, 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, colour, values) in series {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| ((i + 1) as f64, *v))
            .collect();
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    if series.len() > 1 {
        legend(&mut chart)?;
    }
    Ok(())
}

fn column(history: &[EpochRecord], f: impl Fn(&EpochRecord) -> f64) -> Vec<f64> {
    history.iter().map(f).collect()
}

/// Writes the 2 x 3 panel figure of `state`'s two stages to `path`.
pub fn write_losses(path: &Path, state: &RunState) -> Result<()> {
    write_png(path, (1200, 640), |root| {
        let panels = root.split_evenly((2, 3));
        for (row, (stage, progress)) in [(1, &state.stage1), (2, &state.stage2)]
            .into_iter()
            .enumerate()
        {
            let h = &progress.history;
            let at = |c: usize| &panels[row * 3 + c];
            panel(
                at(0),
                &format!("stage {stage}: loss (negative ELBO)"),
                &[
                    ("train", TRAIN, column(h, |r| r.train_loss)),
                    ("validation", VAL, column(h, |r| r.val_loss)),
                ],
            )?;
            panel(
                at(1),
                &format!("stage {stage}: KL"),
                &[
                    ("train", TRAIN, column(h, |r| r.train_kl)),
                    ("validation", VAL, column(h, |r| r.val_kl)),
                ],
            )?;
            panel(
                at(2),
                &format!("stage {stage}: log10 gamma"),
                &[("gamma", TRAIN, column(h, |r| r.gamma.log10()))],
            )?;
        }
        Ok(())
    })
}
