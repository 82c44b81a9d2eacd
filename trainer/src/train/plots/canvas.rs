//! One PNG drawn with plotters: an RGB buffer, DejaVu Sans for text (registered once, from the
//! `dejavu` crate, so no system font is needed), PNG encoding and an atomic write.

use std::path::Path;
use std::sync::Once;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::image_grid::encode_png;

/// The font family every plot names.
pub const FONT: &str = "sans-serif";

static REGISTER: Once = Once::new();

fn register_font() -> Result<()> {
    let mut failed = false;
    REGISTER.call_once(|| {
        failed = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .is_err();
    });
    if failed {
        return Err(Error::Config(
            "the embedded DejaVu Sans font could not be read".into(),
        ));
    }
    Ok(())
}

pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws the legend of `chart`'s labelled series, in the plots' one style.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws a `width` x `height` picture with `draw` on a white background and writes it to
/// `path` as a PNG; a drawing error names the file.
pub fn write_png<F>(path: &Path, (width, height): (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area) -> std::result::Result<(), String>,
{
    register_font()?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        drawn
            .map_err(|problem| Error::bad_file(path, format!("cannot draw the plot: {problem}")))?;
    }
    let png = encode_png(width, height, png::ColorType::Rgb, &rgb)?;
    atomic_file::write(path, &png)
}

/// `(lo, hi)` of the finite values, widened by 5 % (and to a unit span when they are equal);
/// `(0, 1)` when there are none.
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}
