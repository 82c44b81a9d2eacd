//! Heat map PNG of a grid of scores, e.g. recovery NMSE per (kappa, nu) cell of the synthetic
//! benchmark: one square block per cell, a colour ramp from good (0) to bad (1), and the
//! cells that count as recovered marked. No axes or text: the caller knows the grid.

use std::path::Path;

use crate::error::{Error, Result};
use crate::image_grid::encode_png;

/// Side of one cell's block, in pixels.
pub const CELL: usize = 24;

/// Cells below this value count as recovered and get a white dot in the centre.
pub const SUCCESS: f64 = 0.05;

/// Side of the success dot, in pixels: large enough to see at a glance, small enough that the
/// cell's colour still shows around it.
const DOT: usize = 6;

/// Colour of NaN cells (e.g. a run that failed): a neutral grey that is not on the ramp.
const NAN_GREY: [u8; 3] = [128, 128, 128];

const DOT_WHITE: [u8; 3] = [255, 255, 255];

/// Control points of viridis at 0, 1/4, 1/2, 3/4, 1: dark blue-violet to yellow, perceptually
/// near-uniform and readable in greyscale and by most colour-blind readers. Interpolated
/// linearly in between, which is close enough at five points.
const RAMP: [[f64; 3]; 5] = [
    [68.0, 1.0, 84.0],
    [59.0, 82.0, 139.0],
    [33.0, 145.0, 140.0],
    [94.0, 201.0, 98.0],
    [253.0, 231.0, 37.0],
];

/// Encodes `values` (`values[r][c]` is drawn as the block in row `r` from the top, column `c`
/// from the left) as an 8-bit RGB PNG of `cols * CELL` by `rows * CELL` pixels. Values are
/// clamped to [0, 1] on the ramp, NaN is grey, and values below [`SUCCESS`] get a white dot.
///
/// Errors when there are no rows, no columns, or rows of different lengths.
pub fn encode_heatmap(values: &[Vec<f64>]) -> Result<Vec<u8>> {
    let rows = values.len();
    let cols = values.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return Err(Error::InvalidInput(format!(
            "heat map needs at least one row and one column, got {rows}x{cols}"
        )));
    }
    if let Some((r, row)) = values.iter().enumerate().find(|(_, row)| row.len() != cols) {
        return Err(Error::InvalidInput(format!(
            "heat map rows must all have {cols} values, row {r} has {}",
            row.len()
        )));
    }

    let too_big = || Error::InvalidInput(format!("heat map of {rows}x{cols} cells is too large"));
    let width = cols.checked_mul(CELL).ok_or_else(too_big)?;
    let height = rows.checked_mul(CELL).ok_or_else(too_big)?;
    let png_width = u32::try_from(width).map_err(|_| too_big())?;
    let png_height = u32::try_from(height).map_err(|_| too_big())?;
    let canvas_len = width
        .checked_mul(height)
        .and_then(|p| p.checked_mul(3))
        .ok_or_else(too_big)?;

    let mut canvas = vec![0u8; canvas_len];
    let dot = (CELL - DOT) / 2..(CELL + DOT) / 2;
    for (r, row) in values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let fill = colour(v);
            let marked = v < SUCCESS; // false for NaN
            for y in 0..CELL {
                let line = (r * CELL + y) * width;
                for x in 0..CELL {
                    let in_dot = marked && dot.contains(&y) && dot.contains(&x);
                    let px = 3 * (line + c * CELL + x);
                    canvas[px..px + 3].copy_from_slice(if in_dot { &DOT_WHITE } else { &fill });
                }
            }
        }
    }

    encode_png(png_width, png_height, png::ColorType::Rgb, &canvas)
}

/// [`encode_heatmap`], written atomically to `path`.
pub fn write_heatmap(path: &Path, values: &[Vec<f64>]) -> Result<()> {
    let bytes = encode_heatmap(values)?;
    crate::atomic_file::write(path, &bytes)
}

/// The ramp colour of `v` clamped to [0, 1]; grey for NaN.
fn colour(v: f64) -> [u8; 3] {
    // `clamp` passes NaN through, so it is caught first.
    if v.is_nan() {
        return NAN_GREY;
    }
    let t = v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64;
    let lo = (t.floor() as usize).min(RAMP.len() - 2);
    let frac = t - lo as f64;
    let (a, b) = (RAMP[lo], RAMP[lo + 1]);
    [0, 1, 2].map(|k| (a[k] + frac * (b[k] - a[k])).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes an 8-bit RGB PNG into (width, height, pixels).
    fn decode(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn writes_png_of_expected_size_and_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nmse.png");
        let values = vec![vec![0.0, 0.5, 1.0], vec![f64::NAN, 2.0, 0.04]];
        write_heatmap(&path, &values).unwrap();
        let (w, h, px) = decode(&std::fs::read(&path).unwrap());
        assert_eq!((w, h), (3 * CELL, 2 * CELL));
        let at = |x: usize, y: usize| -> [u8; 3] {
            let i = 3 * (y * w + x);
            [px[i], px[i + 1], px[i + 2]]
        };
        let (centre, corner) = (CELL / 2, 1);
        assert_eq!(at(corner, corner), [68, 1, 84], "0 is the dark end");
        assert_eq!(at(centre, centre), DOT_WHITE, "0 is a success");
        assert_eq!(at(CELL + centre, centre), [33, 145, 140], "0.5 is mid-ramp");
        assert_eq!(at(2 * CELL + centre, centre), [253, 231, 37], "1 is yellow");
        assert_eq!(at(centre, CELL + centre), NAN_GREY, "NaN is grey, no dot");
        assert_eq!(at(CELL + centre, CELL + centre), [253, 231, 37], "2 clamps");
        assert_eq!(
            at(2 * CELL + centre, CELL + centre),
            DOT_WHITE,
            "0.04 < 0.05"
        );
        assert_ne!(at(2 * CELL + corner, CELL + corner), DOT_WHITE);
    }

    #[test]
    fn rejects_ragged_and_empty_grids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        let ragged = vec![vec![0.1, 0.2], vec![0.3]];
        assert!(matches!(
            write_heatmap(&path, &ragged),
            Err(Error::InvalidInput(_))
        ));
        assert!(!path.exists(), "nothing written on error");
        assert!(encode_heatmap(&[]).is_err());
        assert!(encode_heatmap(&[Vec::new()]).is_err());
    }
}
