//! `edgevae bench micro`: what each micro blob precision costs against ONNX Runtime fp32 on the
//! same model directory: file size, sample quality (Fréchet distance and diversity against the
//! test split in `edgevae eval`'s feature space, same seeds), and the filter's agreement (mask
//! elements that differ from fp32's, element AUROC on corrupted rows).

use std::path::Path;
use std::time::Instant;

use edgevae_runtime::core::{GraphRole, Manifest};
use edgevae_runtime::micro::{required_arena, MicroFilterOutput, MicroModel, MicroPrecision};
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

use super::outliers::auroc;
use edgevae_trainer::data::Dataset;
use edgevae_trainer::error::{Error, Result};
use edgevae_trainer::report::evaluation::{SampleReference, SamplerScore};

/// Rows per call, in both backends.
const CHUNK: usize = 256;

/// One backend and precision.
#[derive(Clone, Debug)]
pub struct MicroRow {
    pub backend: String,
    /// Sampler plus filter file bytes (those present).
    pub bytes: u64,
    /// Fréchet distance and diversity against the reference (None without one).
    pub samples: Option<SamplerScore>,
    /// Largest |difference| of a sample value from ONNX Runtime fp32's, same noise.
    pub sample_max_diff: f64,
    /// Share of mask elements that differ from ONNX Runtime fp32's (NaN without a filter).
    pub mask_differs: f64,
    pub auroc: f64,
    pub masked: f64,
    /// Seconds to draw the samples (one thread for the micro kernels; ORT as configured).
    pub sample_seconds: f64,
}

/// What the filter gives on the corrupted rows: element scores and mask, all rows.
struct FilterRun {
    element_scores: Vec<f32>,
    mask: Vec<u8>,
}

fn config(e: impl std::fmt::Display) -> Error {
    Error::Config(e.to_string())
}

/// `path`'s bytes at a 16-byte boundary, as a blob in flash is.
fn aligned_file(path: &Path) -> Result<(Vec<u128>, usize)> {
    let bytes = std::fs::read(path).map_err(|e| config(format!("{}: {e}", path.display())))?;
    let mut words = vec![0u128; bytes.len().div_ceil(16)];
    bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    Ok((words, bytes.len()))
}

fn ort_samples(model: &ModelDir, n: usize, seed: u64) -> Result<Vec<f32>> {
    let mut sampler = model.sampler().map_err(config)?;
    let d = model.input_dim();
    let mut out = vec![0f32; n * d];
    for (i, rows) in out.chunks_mut(CHUNK * d).enumerate() {
        sampler
            .sample_into(rows.len() / d, seed.wrapping_add(i as u64), rows)
            .map_err(config)?;
    }
    Ok(out)
}

fn ort_filter(model: &ModelDir, data: &Dataset, passes: usize) -> Result<FilterRun> {
    let mut filter = model.filter().map_err(config)?;
    let d = data.dim;
    let mut out = FilterOutput::new(CHUNK, d);
    let mut run = FilterRun {
        element_scores: Vec::with_capacity(data.len() * d),
        mask: Vec::with_capacity(data.len() * d),
    };
    for rows in data.row_chunks(CHUNK) {
        filter
            .filter_into(&rows, rows.len() / d, passes, &mut out)
            .map_err(config)?;
        run.element_scores.extend_from_slice(out.element_scores());
        run.mask.extend_from_slice(out.mask());
    }
    Ok(run)
}

fn micro_model<'a>(
    words: &'a [u128],
    len: usize,
    manifest: &'a Manifest,
) -> Result<MicroModel<'a>> {
    MicroModel::from_blob(&bytemuck::cast_slice(words)[..len], manifest).map_err(config)
}

fn arena(manifest: &Manifest, role: GraphRole) -> Result<Vec<u32>> {
    let bytes = required_arena(manifest, role, CHUNK).map_err(config)?;
    Ok(vec![0u32; bytes.div_ceil(4)])
}

fn micro_samples(
    model: &MicroModel<'_>,
    manifest: &Manifest,
    n: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let d = manifest.input_dim as usize;
    let mut arena = arena(manifest, GraphRole::Sampler)?;
    let mut out = vec![0f32; n * d];
    for (i, rows) in out.chunks_mut(CHUNK * d).enumerate() {
        model
            .sample_into(
                bytemuck::cast_slice_mut(&mut arena),
                rows.len() / d,
                seed.wrapping_add(i as u64),
                rows,
            )
            .map_err(config)?;
    }
    Ok(out)
}

fn micro_filter(
    model: &MicroModel<'_>,
    manifest: &Manifest,
    data: &Dataset,
    passes: usize,
) -> Result<FilterRun> {
    let d = data.dim;
    let mut arena = arena(manifest, GraphRole::Filter)?;
    let (mut scores, mut cleaned, mut reconstruction) = (
        vec![0f32; CHUNK],
        vec![0f32; CHUNK * d],
        vec![0f32; CHUNK * d],
    );
    let mut run = FilterRun {
        element_scores: vec![0f32; data.len() * d],
        mask: vec![0u8; data.len() * d],
    };
    for (i, rows) in data.row_chunks(CHUNK).enumerate() {
        let n = rows.len() / d;
        let span = i * CHUNK * d..i * CHUNK * d + n * d;
        let out = MicroFilterOutput {
            scores: &mut scores[..n],
            element_scores: &mut run.element_scores[span.clone()],
            mask: &mut run.mask[span],
            cleaned: &mut cleaned[..n * d],
            reconstruction: &mut reconstruction[..n * d],
        };
        model
            .filter_into(bytemuck::cast_slice_mut(&mut arena), &rows, n, passes, out)
            .map_err(config)?;
    }
    Ok(run)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .fold(0.0, f64::max)
}

/// The filter's figures against the planted mask and against fp32's mask.
fn filter_figures(
    run: &FilterRun,
    labels: &[bool],
    reference: Option<&FilterRun>,
) -> (f64, f64, f64) {
    let n = run.mask.len().max(1) as f64;
    let masked = run.mask.iter().filter(|&&m| m != 0).count() as f64 / n;
    let differs = reference.map_or(0.0, |r| {
        run.mask.iter().zip(&r.mask).filter(|(a, b)| a != b).count() as f64 / n
    });
    (auroc(&run.element_scores, labels), differs, masked)
}

/// Compares ONNX Runtime fp32 with every micro blob `model_dir`'s manifest lists: `samples`
/// samples from `seed` scored against `reference` (when given: fitting it is the slow part), and (when the model is calibrated) the
/// filter in `passes` passes on `corrupted`, whose `outlier_mask` is the truth.
pub fn compare(
    model_dir: &Path,
    reference: Option<&SampleReference>,
    corrupted: &Dataset,
    samples: usize,
    seed: u64,
    passes: usize,
) -> Result<Vec<MicroRow>> {
    let model = ModelDir::open(model_dir, RuntimeOptions::default()).map_err(config)?;
    let manifest = &model.manifest;
    if manifest.micro.is_empty() {
        return Err(config(format!(
            "{} lists no micro blob: export with --precision fp32,micro-int8 (or micro-fp32, micro-fp16)",
            model_dir.display()
        )));
    }
    let labels = corrupted
        .outlier_mask
        .as_deref()
        .ok_or_else(|| config("the filter comparison needs corrupted rows (--corrupt)"))?;
    let calibrated = manifest.outlier.is_some();
    let file_bytes = |name: &str| std::fs::metadata(model_dir.join(name)).map_or(0, |m| m.len());

    let started = Instant::now();
    let ort_x = ort_samples(&model, samples, seed)?;
    let ort_seconds = started.elapsed().as_secs_f64();
    let ort_filter = if calibrated {
        Some(ort_filter(&model, corrupted, passes)?)
    } else {
        None
    };
    let ort_bytes: u64 = [GraphRole::Sampler, GraphRole::Filter]
        .iter()
        .filter_map(|&r| manifest.graph(r, edgevae_runtime::core::Precision::Fp32))
        .map(|g| file_bytes(&g.file))
        .sum();
    let (auroc, _, masked) = ort_filter.as_ref().map_or((f64::NAN, 0.0, f64::NAN), |f| {
        filter_figures(f, labels, None)
    });
    let mut rows = vec![MicroRow {
        backend: "ONNX Runtime fp32".into(),
        bytes: ort_bytes,
        samples: reference.map(|r| r.score(&ort_x)).transpose()?,
        sample_max_diff: 0.0,
        mask_differs: if calibrated { 0.0 } else { f64::NAN },
        auroc,
        masked,
        sample_seconds: ort_seconds,
    }];

    for precision in [
        MicroPrecision::Fp32,
        MicroPrecision::Fp16,
        MicroPrecision::Int8,
    ] {
        let Some(sampler_entry) = manifest.micro_blob(GraphRole::Sampler, precision) else {
            continue;
        };
        let (words, len) = aligned_file(&model_dir.join(sampler_entry.file.as_str()))?;
        let sampler = micro_model(&words, len, manifest)?;
        let started = Instant::now();
        let x = micro_samples(&sampler, manifest, samples, seed)?;
        let sample_seconds = started.elapsed().as_secs_f64();
        let mut bytes = sampler_entry.bytes;
        let (mut auroc, mut mask_differs, mut masked) = (f64::NAN, f64::NAN, f64::NAN);
        if let (Some(entry), true) = (
            manifest.micro_blob(GraphRole::Filter, precision),
            calibrated,
        ) {
            let (words, len) = aligned_file(&model_dir.join(entry.file.as_str()))?;
            let filter = micro_model(&words, len, manifest)?;
            let run = micro_filter(&filter, manifest, corrupted, passes)?;
            (auroc, mask_differs, masked) = filter_figures(&run, labels, ort_filter.as_ref());
            bytes += entry.bytes;
        }
        rows.push(MicroRow {
            backend: format!("micro {}", precision.name()),
            bytes,
            samples: reference.map(|r| r.score(&x)).transpose()?,
            sample_max_diff: max_abs_diff(&x, &ort_x),
            mask_differs,
            auroc,
            masked,
            sample_seconds,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgevae_trainer::data::{load_splits, DataSource, LoadOptions};

    /// The committed quickstart (sprites, int8 blobs): the int8 row is there, a quarter of the
    /// ONNX size, its samples close to fp32's and its mask almost never differs. The bounds are
    /// loose on purpose (0.1 per value, 1 % of the mask): the figures themselves, Fréchet
    /// distances included (their PCA fit takes a minute in a debug build), are measured by the
    /// command (docs/micro-format.md).
    #[test]
    fn int8_blobs_stay_close_to_fp32_on_the_quickstart() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
        let source = DataSource::parse("sprites:n=400").expect("spec");
        let opts = LoadOptions {
            seed: 1,
            val_fraction: 0.1,
            corrupt: Some(0.2),
            limit: None,
        };
        let splits = load_splits(&source, &opts).expect("sprites");
        let test = splits.test.unwrap_or(splits.val);
        let rows = compare(&model, None, &test.head(10), 64, 1, 1).expect("compare");
        assert_eq!(rows.len(), 2, "ORT fp32 and micro int8: {rows:?}");
        let (fp32, int8) = (&rows[0], &rows[1]);
        assert_eq!(int8.backend, "micro int8");
        let ratio = int8.bytes as f64 / fp32.bytes as f64;
        assert!((0.2..0.3).contains(&ratio), "size ratio {ratio}");
        assert!(int8.samples.is_none());
        assert!(
            int8.sample_max_diff > 0.0 && int8.sample_max_diff < 0.1,
            "{int8:?}"
        );
        assert!(int8.mask_differs < 0.01, "{int8:?}");
        assert!((int8.auroc - fp32.auroc).abs() < 0.01, "{fp32:?} {int8:?}");
    }
}
