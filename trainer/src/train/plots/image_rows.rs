//! A figure of image rows: a text label on the left of each row, a header over the columns,
//! greyscale images (values in [0, 1], clamped; NaN black) drawn 2x. The layout of
//! `traversals.png` and of the Frey-faces comparison.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{write_png, FONT};
use crate::error::{Error, Result};

/// One row of the figure: its label lines and its images, `columns` of `shape` pixels each.
pub struct ImageRow {
    pub label: Vec<String>,
    pub images: Vec<f32>,
}

/// Screen pixels per image pixel.
const SCALE: u32 = 2;
const HEADER: u32 = 28;
const GAP: u32 = 4;
const LINE: u32 = 17;

/// Writes `rows` (each `header.len()` images of `shape = (height, width)`) to `path`, with a
/// label column `label_width` pixels wide.
pub fn write_image_rows(
    path: &Path,
    (h, w): (usize, usize),
    header: &[String],
    label_width: u32,
    rows: &[ImageRow],
) -> Result<()> {
    let columns = header.len();
    let d = h * w;
    if let Some(bad) = rows.iter().find(|r| r.images.len() != columns * d) {
        return Err(Error::Config(format!(
            "image row {:?} has {} values, not {columns} images of {h}x{w}",
            bad.label,
            bad.images.len()
        )));
    }
    let (cell_w, cell_h) = (w as u32 * SCALE + GAP, h as u32 * SCALE + GAP);
    let size = (
        label_width + columns as u32 * cell_w,
        HEADER + rows.len() as u32 * cell_h + GAP,
    );
    write_png(path, size, |root| {
        let text = |s: &str, x: u32, y: u32| {
            root.draw(&Text::new(
                s.to_string(),
                (x as i32, y as i32),
                (FONT, 13).into_font(),
            ))
            .map_err(|e| e.to_string())
        };
        for (i, title) in header.iter().enumerate() {
            text(title, label_width + i as u32 * cell_w + 2, 6)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let y0 = HEADER + r as u32 * cell_h;
            let top = (y0 + cell_h / 2).saturating_sub(row.label.len() as u32 * LINE / 2);
            for (l, line) in row.label.iter().enumerate() {
                text(line, 6, top + l as u32 * LINE)?;
            }
            for (c, image) in row.images.chunks_exact(d).enumerate() {
                let x0 = label_width + c as u32 * cell_w;
                for (p, v) in image.iter().enumerate() {
                    let g = if v.is_nan() {
                        0
                    } else {
                        (v.clamp(0.0, 1.0) * 255.0).round() as u8
                    };
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
    })
}
