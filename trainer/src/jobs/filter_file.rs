//! Outlier filtering of a data file through an exported, calibrated model (`edgevae filter`):
//! the runtime's `OutlierFilter` (the code a device runs) in chunks, so memory stays bounded by
//! the input plus its mask; the cleaned rows, the mask, the scores and, for images, a grid are
//! written atomically into a directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use edgevae_runtime::core::OutlierThresholds;
use edgevae_runtime::{FilterOutput, ModelDir};

use crate::atomic_file;
use crate::data::{load_file, npy, Scaling};
use crate::error::{Error, Result};
use crate::image_grid::write_grid_png;
use crate::settings::at_least_one;

/// Rows per call of the filter: bounds the runtime's buffers.
const CHUNK: usize = 256;
/// Rows shown in the grid.
const GRID_ROWS: usize = 16;
/// `[N, d]` f32: the input with every masked element replaced by its reconstruction.
pub const CLEANED: &str = "cleaned.npy";
/// `[N, d]` u8, 1 = outlier.
pub const MASK: &str = "mask.npy";
/// `[N]` f32: each row's score.
pub const SCORES: &str = "scores.npy";
/// Input | mask | cleaned, up to 16 rows, for image data.
pub const GRID: &str = "grid.png";

/// What [`filter_file`] did.
#[derive(Clone, Debug)]
pub struct FilteredFile {
    pub rows: usize,
    pub dim: usize,
    pub passes: usize,
    /// Rows whose score is above the calibrated threshold.
    pub outlier_rows: usize,
    pub masked_elements: usize,
    pub thresholds: OutlierThresholds,
    /// The execution provider, in words.
    pub provider: String,
    /// Time in the filter alone.
    pub filter_seconds: f64,
    /// Loading, filtering and writing.
    pub total_seconds: f64,
    /// The files written, in `out_dir`.
    pub files: Vec<PathBuf>,
    /// Said once, not an error: real-valued rows given to a model trained on pixels.
    pub warning: Option<String>,
}

/// Filters `input` (an .npy or IDX file of the model's row width; u8 values scaled to [0, 1]
/// as for training) with `passes` reconstruction passes into `out_dir`.
pub fn filter_file(
    model: &ModelDir,
    input: &Path,
    out_dir: &Path,
    passes: usize,
) -> Result<FilteredFile> {
    at_least_one("passes", passes)?;
    let start = Instant::now();
    let mut filter = model.filter()?;
    let d = model.input_dim();
    let mut data = load_file(input)?;
    if data.dim != d {
        return Err(Error::bad_file(
            input,
            format!(
                "rows have {} values, the model in {} takes {d}",
                data.dim,
                model.dir.display()
            ),
        ));
    }
    let n = data.len();
    if n == 0 {
        return Err(Error::bad_file(input, "no rows to filter"));
    }
    let scaling = data.scaling;
    // Filtered in place: the cleaned rows overwrite the input.
    let values = data.values_mut();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::bad_file(
            input,
            format!(
                "row {}, column {} is {}; the filter needs finite values",
                k / d,
                k % d,
                values[k]
            ),
        ));
    }
    let warning =
        (model.manifest.scaling == Scaling::Unit && scaling == Scaling::Real).then(|| {
            format!(
                "{}: values outside [0, 1], but the model was trained on [0, 1] pixels",
                input.display()
            )
        });

    let shown = n.min(GRID_ROWS);
    let grid_inputs = values[..shown * d].to_vec();
    let mut mask = vec![0u8; n * d];
    let mut scores = Vec::with_capacity(n);
    let (mut outlier_rows, mut masked_elements) = (0, 0);
    let mut out = FilterOutput::new(CHUNK.min(n), d);
    let filter_start = Instant::now();
    for (rows, mask_rows) in values.chunks_mut(CHUNK * d).zip(mask.chunks_mut(CHUNK * d)) {
        filter.filter_into(rows, rows.len() / d, passes, &mut out)?;
        rows.copy_from_slice(out.cleaned());
        mask_rows.copy_from_slice(out.mask());
        scores.extend_from_slice(out.scores());
        outlier_rows += out.outlier_count();
        masked_elements += out.masked_elements();
    }
    let filter_seconds = filter_start.elapsed().as_secs_f64();

    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut files = Vec::new();
    let mut write = |name: &str, fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>| {
        let path = out_dir.join(name);
        atomic_file::write_streamed(&path, |w| fill(w))?;
        files.push(path);
        Ok::<(), Error>(())
    };
    write(CLEANED, &|w| npy::encode(w, &[n, d], values))?;
    write(MASK, &|w| npy::encode(w, &[n, d], &mask))?;
    write(SCORES, &|w| npy::encode(w, &[n], &scores))?;
    if let Some([r, c]) = model.manifest.image_shape {
        let mut images = Vec::with_capacity(3 * shown * d);
        for i in 0..shown {
            let row = i * d..(i + 1) * d;
            images.extend_from_slice(&grid_inputs[row.clone()]);
            images.extend(mask[row.clone()].iter().map(|&v| f32::from(v)));
            images.extend_from_slice(&values[row]);
        }
        let path = out_dir.join(GRID);
        write_grid_png(&path, &images, 3 * shown, (r as usize, c as usize), 3)?;
        files.push(path);
    }
    Ok(FilteredFile {
        rows: n,
        dim: d,
        passes,
        outlier_rows,
        masked_elements,
        thresholds: filter.thresholds().clone(),
        provider: filter.provider().describe(),
        filter_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        files,
        warning,
    })
}
