//! PNG grids of greyscale images: samples, and inputs next to their reconstructions, laid out
//! in tiles separated by thin grey lines so that neighbouring digits never run together.

use std::path::Path;

use crate::error::{Error, Result};

/// Grey level of the separator lines: dark enough not to read as ink, light enough to tell the
/// tiles of black backgrounds apart.
const SEPARATOR: u8 = 64;

/// Encodes `n` images of `shape = (rows, cols)` pixels each (row-major, values in [0, 1]) as one
/// 8-bit greyscale PNG with `cols` images per grid row. Values are clamped to [0, 1] and NaN is
/// drawn black, so a diverging model still yields a viewable image. Cells after the last image
/// are left black.
pub fn encode_grid_png(
    images: &[f32],
    n: usize,
    shape: (usize, usize),
    cols: usize,
) -> Result<Vec<u8>> {
    let (img_h, img_w) = shape;
    if n == 0 {
        return Err(Error::Config("image grid needs at least one image".into()));
    }
    if cols == 0 {
        return Err(Error::Config("image grid needs at least one column".into()));
    }
    if img_h == 0 || img_w == 0 {
        return Err(Error::Config(format!(
            "image grid cannot draw empty {img_h}x{img_w} images"
        )));
    }
    let pixels = img_h.checked_mul(img_w).and_then(|p| p.checked_mul(n));
    if pixels != Some(images.len()) {
        return Err(Error::Config(format!(
            "image grid got {} values for {n} images of {img_h}x{img_w} pixels",
            images.len()
        )));
    }

    let grid_rows = n.div_ceil(cols);
    let too_big = || Error::Config(format!("image grid of {n} images is too large for a PNG"));
    // One separator line before every tile and one after the last.
    let width = cols
        .checked_mul(img_w + 1)
        .and_then(|w| w.checked_add(1))
        .ok_or_else(too_big)?;
    let height = grid_rows
        .checked_mul(img_h + 1)
        .and_then(|h| h.checked_add(1))
        .ok_or_else(too_big)?;
    let png_width = u32::try_from(width).map_err(|_| too_big())?;
    let png_height = u32::try_from(height).map_err(|_| too_big())?;
    let canvas_len = width.checked_mul(height).ok_or_else(too_big)?;

    let mut canvas = vec![0u8; canvas_len];
    for gr in 0..=grid_rows {
        let y = gr * (img_h + 1);
        canvas[y * width..(y + 1) * width].fill(SEPARATOR);
    }
    for y in 0..height {
        for gc in 0..=cols {
            canvas[y * width + gc * (img_w + 1)] = SEPARATOR;
        }
    }
    for (i, image) in images.chunks_exact(img_h * img_w).enumerate() {
        let top = (i / cols) * (img_h + 1) + 1;
        let left = (i % cols) * (img_w + 1) + 1;
        for (r, src) in image.chunks_exact(img_w).enumerate() {
            let start = (top + r) * width + left;
            for (dst, &v) in canvas[start..start + img_w].iter_mut().zip(src) {
                *dst = to_grey(v);
            }
        }
    }

    encode_png(png_width, png_height, png::ColorType::Grayscale, &canvas)
}

/// Encodes 8-bit `pixels` (row-major, `color`'s channels interleaved) as a `width` by `height`
/// PNG in memory. Encoding into memory fails only on bad parameters, e.g. a pixel buffer of the
/// wrong length.
pub(crate) fn encode_png(
    width: u32,
    height: u32,
    color: png::ColorType,
    pixels: &[u8],
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let encode_err = |e: png::EncodingError| Error::Config(format!("cannot encode PNG: {e}"));
    let mut writer = encoder.write_header().map_err(encode_err)?;
    writer.write_image_data(pixels).map_err(encode_err)?;
    writer.finish().map_err(encode_err)?;
    Ok(bytes)
}

/// [`encode_grid_png`], written atomically to `path`.
pub fn write_grid_png(
    path: &Path,
    images: &[f32],
    n: usize,
    shape: (usize, usize),
    cols: usize,
) -> Result<()> {
    let bytes = encode_grid_png(images, n, shape, cols)?;
    crate::atomic_file::write(path, &bytes)
}

/// Orders two matching sets of images (e.g. inputs and their reconstructions) so that a grid
/// with `per_row` columns shows a row of `a` directly above the row of the matching `b`.
///
/// Each set holds images of `dim` values; only whole images present in both sets are used. A
/// short last row of `a` is padded with black images so that its partners in `b` still start
/// on the next grid row; the result therefore holds `result.len() / dim` images. Returns an
/// empty vector when `dim` or `per_row` is zero.
pub fn interleave_rows(a: &[f32], b: &[f32], dim: usize, per_row: usize) -> Vec<f32> {
    if dim == 0 || per_row == 0 {
        return Vec::new();
    }
    let n = (a.len() / dim).min(b.len() / dim);
    let mut out = Vec::with_capacity(2 * n.div_ceil(per_row) * per_row * dim);
    for start in (0..n).step_by(per_row) {
        let end = (start + per_row).min(n);
        out.extend_from_slice(&a[start * dim..end * dim]);
        out.resize(out.len() + (start + per_row - end) * dim, 0.0);
        out.extend_from_slice(&b[start * dim..end * dim]);
    }
    out
}

fn to_grey(v: f32) -> u8 {
    // `clamp` passes NaN through, so it is caught first.
    if v.is_nan() {
        return 0;
    }
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes an 8-bit greyscale PNG into (width, height, pixels).
    fn decode(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("valid PNG header");
        let mut buf = vec![0u8; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut buf).expect("valid PNG data");
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn grid_dimensions_separators_and_pixel_values() {
        // Three 2x3 images, two per grid row: 2*3+3 = 9 wide, 2*2+3 = 7 high.
        let mut images = vec![0.5f32; 3 * 6];
        images[0] = 1.0; // image 0, pixel (0, 0)
        images[6 + 5] = 2.0; // image 1, pixel (1, 2)
        images[12 + 1] = f32::NAN; // image 2, pixel (0, 1)
        images[12 + 2] = -1.0; // image 2, pixel (0, 2)
        let (w, h, px) = decode(&encode_grid_png(&images, 3, (2, 3), 2).expect("encodes"));
        assert_eq!((w, h), (9, 7));
        let at = |x: usize, y: usize| px[y * w + x];

        for x in 0..w {
            assert_eq!(at(x, 0), SEPARATOR, "top border at x={x}");
            assert_eq!(at(x, 3), SEPARATOR, "middle line at x={x}");
            assert_eq!(at(x, 6), SEPARATOR, "bottom border at x={x}");
        }
        for y in 0..h {
            assert_eq!(at(0, y), SEPARATOR, "left border at y={y}");
            assert_eq!(at(4, y), SEPARATOR, "middle line at y={y}");
            assert_eq!(at(8, y), SEPARATOR, "right border at y={y}");
        }
        assert_eq!(at(1, 1), 255, "1.0 is white");
        assert_eq!(at(2, 1), 128, "0.5 rounds to 128");
        assert_eq!(at(5 + 2, 1 + 1), 255, "2.0 clamps to white");
        assert_eq!(at(1 + 1, 4), 0, "NaN is black");
        assert_eq!(at(1 + 2, 4), 0, "-1.0 clamps to black");
        assert_eq!(at(1, 5), 128, "image 2 occupies the second grid row");
        for (x, y) in [(5, 4), (6, 4), (7, 4), (5, 5), (6, 5), (7, 5)] {
            assert_eq!(at(x, y), 0, "empty trailing cell at ({x}, {y}) is black");
        }
    }

    #[test]
    fn grid_rejects_bad_arguments() {
        let images = vec![0.0f32; 12];
        assert!(
            encode_grid_png(&images, 3, (2, 3), 2).is_err(),
            "12 values != 3*6"
        );
        assert!(encode_grid_png(&images, 0, (2, 3), 2).is_err(), "no images");
        assert!(
            encode_grid_png(&images, 2, (2, 3), 0).is_err(),
            "no columns"
        );
        assert!(encode_grid_png(&[], 2, (0, 3), 1).is_err(), "empty images");
        assert!(encode_grid_png(&images, 2, (2, 3), 1).is_ok());
    }

    #[test]
    fn encode_png_writes_the_pixels_and_checks_their_count() {
        let pixels = [0u8, 64, 128, 255, 1, 2];
        let bytes = encode_png(3, 2, png::ColorType::Grayscale, &pixels).expect("encodes");
        assert_eq!(decode(&bytes), (3, 2, pixels.to_vec()));
        assert!(matches!(
            encode_png(3, 2, png::ColorType::Grayscale, &pixels[..5]),
            Err(Error::Config(_))
        ));
        // Three channels need three times the bytes.
        assert!(encode_png(3, 2, png::ColorType::Rgb, &pixels).is_err());
    }

    #[test]
    fn write_grid_png_writes_the_encoded_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("grid.png");
        let images = [0.0f32, 0.25, 0.75, 1.0];
        write_grid_png(&path, &images, 1, (2, 2), 1).expect("writes");
        let written = std::fs::read(&path).expect("reads back");
        assert_eq!(
            written,
            encode_grid_png(&images, 1, (2, 2), 1).expect("encodes")
        );
        assert!(write_grid_png(&path, &images, 2, (2, 2), 1).is_err());
    }

    #[test]
    fn interleave_puts_each_row_of_b_under_its_row_of_a() {
        // Five one-value images per set, two per row: rows a0 a1 | b0 b1 | a2 a3 | b2 b3 | a4 pad | b4.
        let a = [0.0f32, 1.0, 2.0, 3.0, 4.0];
        let b = [10.0f32, 11.0, 12.0, 13.0, 14.0];
        assert_eq!(
            interleave_rows(&a, &b, 1, 2),
            vec![0.0, 1.0, 10.0, 11.0, 2.0, 3.0, 12.0, 13.0, 4.0, 0.0, 14.0]
        );
    }

    #[test]
    fn interleave_keeps_multi_value_images_whole() {
        let a = [1.0f32, 1.0, 2.0, 2.0];
        let b = [5.0f32, 5.0, 6.0, 6.0];
        assert_eq!(
            interleave_rows(&a, &b, 2, 2),
            vec![1.0, 1.0, 2.0, 2.0, 5.0, 5.0, 6.0, 6.0]
        );
        assert_eq!(
            interleave_rows(&a, &b, 2, 1),
            vec![1.0, 1.0, 5.0, 5.0, 2.0, 2.0, 6.0, 6.0]
        );
        assert!(interleave_rows(&a, &b, 0, 2).is_empty());
        assert!(interleave_rows(&a, &b, 2, 0).is_empty());
    }
}
