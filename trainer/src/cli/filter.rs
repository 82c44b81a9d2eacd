//! `edgevae filter`: outlier filtering of a data file through an exported, calibrated model, with
//! the runtime's `OutlierFilter` (the code a device runs), in chunks so memory stays bounded by
//! the input plus its mask.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use npyz::WriterBuilder;

use edgevae_runtime::{FilterOutput, ModelDir};
use edgevae_trainer::atomic_file;
use edgevae_trainer::data::{load_file, Scaling};
use edgevae_trainer::image_grid::write_grid_png;

use super::runtime_args::RuntimeArgs;

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Model directory made by `edgevae export` with outlier calibration.
    #[arg(long)]
    model: PathBuf,
    /// Data to filter: an .npy file (f32 or u8) or an IDX file (u8 or f32, gzipped or raw),
    /// `[N, d]` or `[N, rows, cols]`; u8 values are scaled to [0, 1] as for training.
    #[arg(long)]
    input: PathBuf,
    /// Output directory: cleaned.npy ([N, d] f32), mask.npy ([N, d] u8, 1 = outlier),
    /// scores.npy ([N] f32), and grid.png (input | mask | cleaned, up to 16 rows) for images.
    #[arg(long)]
    out: PathBuf,
    /// Reconstruction passes: pass k > 1 reconstructs the cleaned rows of pass k - 1; every
    /// pass masks against the original input.
    #[arg(long, default_value_t = 1)]
    passes: usize,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// Rows per call of the filter: bounds the runtime's buffers.
const CHUNK: usize = 256;
/// Rows shown in grid.png.
const GRID_ROWS: usize = 16;

pub fn run(args: FilterArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.passes >= 1, "--passes must be at least 1");
    let start = Instant::now();
    let model = ModelDir::open(&args.model, args.runtime.options()?)?;
    let mut filter = model.filter()?;
    let d = model.input_dim();

    let input = args.input.display();
    let mut data = load_file(&args.input)?;
    anyhow::ensure!(
        data.dim == d,
        "{input}: rows have {} values, the model in {} takes {d}",
        data.dim,
        args.model.display()
    );
    let n = data.len();
    anyhow::ensure!(n > 0, "{input}: no rows to filter");
    let scaling = data.scaling;
    // Filtered in place: the cleaned rows overwrite the input.
    let values = data.values_mut();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        anyhow::bail!(
            "{input}: row {}, column {} is {}; the filter needs finite values",
            k / d,
            k % d,
            values[k]
        );
    }
    if model.manifest.scaling == Scaling::Unit && scaling == Scaling::Real {
        eprintln!(
            "warning: {input}: values outside [0, 1], but the model was trained on [0, 1] pixels"
        );
    }

    let shown = n.min(GRID_ROWS);
    let grid_inputs = values[..shown * d].to_vec();
    let mut mask = vec![0u8; n * d];
    let mut scores = Vec::with_capacity(n);
    let mut outlier_rows = 0usize;
    let mut masked = 0usize;
    let mut out = FilterOutput::new(CHUNK.min(n), d);
    let filter_start = Instant::now();
    // The cleaned rows overwrite the input chunk by chunk (its first rows were copied for the grid).
    for (rows, mask_rows) in values.chunks_mut(CHUNK * d).zip(mask.chunks_mut(CHUNK * d)) {
        let m = rows.len() / d;
        filter
            .filter_into(rows, m, args.passes, &mut out)
            .with_context(|| format!("filtering {input}"))?;
        rows.copy_from_slice(out.cleaned());
        mask_rows.copy_from_slice(out.mask());
        scores.extend_from_slice(out.scores());
        outlier_rows += out.outlier_count();
        masked += out.masked_elements();
    }
    let filter_time = filter_start.elapsed();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    write_npy(&args.out.join("cleaned.npy"), &[n, d], values)?;
    write_npy(&args.out.join("mask.npy"), &[n, d], &mask)?;
    write_npy(&args.out.join("scores.npy"), &[n], &scores)?;
    let grid = match model.manifest.image_shape {
        Some([r, c]) => {
            let mut images = Vec::with_capacity(3 * shown * d);
            for i in 0..shown {
                let row = i * d..(i + 1) * d;
                images.extend_from_slice(&grid_inputs[row.clone()]);
                images.extend(mask[row.clone()].iter().map(|&v| f32::from(v)));
                images.extend_from_slice(&values[row]);
            }
            let path = args.out.join("grid.png");
            write_grid_png(&path, &images, 3 * shown, (r as usize, c as usize), 3)?;
            Some(path)
        }
        None => None,
    };

    let thresholds = filter.thresholds();
    println!(
        "{n} rows of {d} values from {input}, {} pass{}",
        args.passes,
        if args.passes == 1 { "" } else { "es" }
    );
    println!(
        "outlier rows: {outlier_rows} ({:.1} %) with score above {:.4} (calibrated for contamination {})",
        100.0 * outlier_rows as f64 / n as f64,
        thresholds.score_threshold,
        thresholds.contamination
    );
    println!(
        "masked elements: {masked} ({:.2} %) with element score (2 x negative log-likelihood) above {:.3}",
        100.0 * masked as f64 / (n * d) as f64,
        thresholds.element_threshold
    );
    println!(
        "{}; filtering took {:.3} s, {:.3} s in all",
        filter.provider().describe(),
        filter_time.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    let mut written = vec!["cleaned.npy", "mask.npy", "scores.npy"];
    if grid.is_some() {
        written.push("grid.png");
    }
    println!("wrote {} in {}", written.join(", "), args.out.display());
    Ok(())
}

/// Writes a row-major array of `shape` as .npy with npyz, streamed to the temporary file of an
/// atomic write (no second copy of the array in memory).
fn write_npy<T>(path: &Path, shape: &[usize], values: &[T]) -> anyhow::Result<()>
where
    T: npyz::AutoSerialize + Copy,
{
    let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    atomic_file::write_with(path, |tmp| {
        let mut file = BufWriter::new(File::create(tmp)?);
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut file)
            .begin_nd()?;
        writer.extend(values.iter().copied())?;
        writer.finish()?;
        file.flush()
    })?;
    Ok(())
}
