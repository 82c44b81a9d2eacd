//! Outlier calibration at export (method.md section 5): from the run's validation rows, the
//! per-element inlier noise variance, and the per-sample score threshold for a contamination
//! fraction. Scoring goes through `edgevae_runtime::core::outlier`, the code the runtime runs, so
//! the threshold means the same thing on the device.

use candle_core::Tensor;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::LoadedRun;
use edgevae_runtime::core::outlier::{filter_row, quantile, score_threshold};
use edgevae_runtime::core::{OutlierThresholds, MAX_CALIBRATED_DIM};

/// The median of a chi-square variable with one degree of freedom: the median squared residual
/// of Gaussian noise of variance s^2 is 0.4549 s^2.
const CHI2_1_MEDIAN: f32 = 0.454_936_4;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationOptions {
    /// Expected fraction of outlier rows (PyOD's convention): the score threshold is the
    /// `1 - contamination` quantile of the calibration scores.
    pub contamination: f64,
    /// Standardised squared residual above which an element is an outlier (9: three noise
    /// standard deviations).
    pub element_threshold: f64,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        Self {
            contamination: 0.1,
            element_threshold: 9.0,
        }
    }
}

/// Reconstructions (decoded from the posterior mean) and, for a robust model, the per-element
/// inlier variance, of every row of `data`.
fn reconstruct(run: &LoadedRun, data: &Dataset) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
    let d = data.dim;
    let mut means = Vec::with_capacity(data.values.len());
    let mut variances = run.stage1.variance_head.as_ref().map(|_| Vec::new());
    for chunk in data.values.chunks(512 * d) {
        let x = Tensor::from_slice(chunk, (chunk.len() / d, d), &run.device)?;
        let q = run.stage1.encode(&x)?;
        let decoded = run.stage1.decode_full(&q.mean)?;
        means.extend(decoded.mean.flatten_all()?.to_vec1::<f32>()?);
        if let (Some(all), Some(v)) = (variances.as_mut(), decoded.variance) {
            all.extend(v.flatten_all()?.to_vec1::<f32>()?);
        }
    }
    Ok((means, variances))
}

/// Per-element inlier noise variance: the median over rows of the robust decoder's variance, or
/// for a plain decoder the median squared residual rescaled to a Gaussian variance. Medians,
/// because calibration rows may themselves hold outliers (up to half of them per element).
fn element_noise(data: &Dataset, means: &[f32], variances: Option<&[f32]>, floor: f32) -> Vec<f32> {
    let (n, d) = (data.len(), data.dim);
    let mut column = vec![0.0f32; n];
    (0..d)
        .map(|j| {
            for (i, c) in column.iter_mut().enumerate() {
                let k = i * d + j;
                *c = match variances {
                    Some(v) => v[k],
                    None => {
                        let e = data.values[k] - means[k];
                        e * e / CHI2_1_MEDIAN
                    }
                };
            }
            quantile(&mut column, 0.5).unwrap_or(floor).max(floor)
        })
        .collect()
}

/// Calibrates the outlier thresholds of `run` on `data` (normally its validation split).
pub fn calibrate(
    run: &LoadedRun,
    data: &Dataset,
    opts: &CalibrationOptions,
) -> Result<OutlierThresholds> {
    let bad = |m: String| Err(Error::Config(m));
    if data.is_empty() {
        return bad("no rows to calibrate the outlier thresholds on".into());
    }
    if data.dim != run.config.stage1.input_dim {
        return bad(format!(
            "calibration rows have {} columns, the model reads {}",
            data.dim, run.config.stage1.input_dim
        ));
    }
    if data.dim > MAX_CALIBRATED_DIM {
        return bad(format!(
            "input_dim {} is wider than a manifest's calibration holds ({MAX_CALIBRATED_DIM})",
            data.dim
        ));
    }
    if !(0.0..=0.5).contains(&opts.contamination) {
        return bad("--contamination must be in [0, 0.5]".into());
    }
    if !(opts.element_threshold.is_finite() && opts.element_threshold > 0.0) {
        return bad("the element threshold must be a positive number".into());
    }
    let (means, variances) = reconstruct(run, data)?;
    let floor = match &run.config.stage1.robust {
        Some(r) => r.variance_floor,
        None => run.config.stage1.gamma_floor,
    } as f32;
    let noise = element_noise(data, &means, variances.as_deref(), floor);
    let d = data.dim;
    let (mut mask, mut cleaned) = (vec![0u8; d], vec![0.0f32; d]);
    let mut scores = (0..data.len())
        .map(|i| {
            filter_row(
                data.row(i),
                &means[i * d..(i + 1) * d],
                &noise,
                opts.element_threshold as f32,
                &mut mask,
                &mut cleaned,
            )
        })
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|e| Error::Config(format!("scoring calibration rows: {e}")))?;
    let threshold = score_threshold(&mut scores, opts.contamination)
        .ok_or_else(|| Error::Config("calibration scores are not numbers".into()))?;
    let element_noise = heapless::Vec::from_slice(&noise)
        .map_err(|_| Error::Config("calibration does not fit the manifest".into()))?;
    Ok(OutlierThresholds {
        score_threshold: f64::from(threshold),
        element_threshold: opts.element_threshold,
        contamination: opts.contamination,
        element_noise,
    })
}

/// The run's validation rows (its data reloaded with the saved split, seed and corruption).
pub fn validation_rows(run: &LoadedRun) -> Result<Dataset> {
    let source = run.config.source()?;
    Ok(crate::data::load_splits(&source, &run.config.load_options())?.val)
}
