//! Outlier arithmetic of method.md section 5, shared by the runtime filter, the C ABI and the
//! trainer's calibration so that all three agree to the bit.
//!
//! Per element, the standardised squared residual `r_j = (x_j - x_mean_j)^2 / noise_j`, with
//! `noise_j` the inlier noise variance calibrated at export. An element is an outlier when
//! `r_j > element_threshold`; the cleaned signal takes the reconstruction there and the input
//! elsewhere. The per-sample score is the mean of `r_j` (a standardised residual energy, so
//! one score threshold serves every element scale).

use super::CoreError;

/// Standardised squared residual of one element.
#[inline]
pub fn standardised_residual(x: f32, x_mean: f32, noise: f32) -> f32 {
    let e = x - x_mean;
    e * e / noise
}

/// Scores one row: writes the mask (1 = outlier) and the cleaned row, returns the score.
/// `x` is the original input (every pass re-masks against it), `x_mean` the latest
/// reconstruction. All slices must have the same length.
pub fn filter_row(
    x: &[f32],
    x_mean: &[f32],
    noise: &[f32],
    element_threshold: f32,
    mask: &mut [u8],
    cleaned: &mut [f32],
) -> Result<f32, CoreError> {
    let d = x.len();
    for len in [x_mean.len(), noise.len(), mask.len(), cleaned.len()] {
        if len != d {
            return Err(CoreError::BufferLength {
                expected: d,
                found: len,
            });
        }
    }
    if d == 0 {
        return Err(CoreError::BufferLength {
            expected: 1,
            found: 0,
        });
    }
    let mut energy = 0.0f64;
    for j in 0..d {
        let r = standardised_residual(x[j], x_mean[j], noise[j]);
        energy += f64::from(r);
        let outlier = r > element_threshold;
        mask[j] = u8::from(outlier);
        cleaned[j] = if outlier { x_mean[j] } else { x[j] };
    }
    Ok((energy / d as f64) as f32)
}

/// The `q` quantile (0 <= q <= 1) of `values` with linear interpolation between order
/// statistics (numpy's default), computed by sorting `values` in place. `None` when empty, when
/// `q` is outside [0, 1] or when a value is NaN.
pub fn quantile(values: &mut [f32], q: f64) -> Option<f32> {
    if values.is_empty() || !(0.0..=1.0).contains(&q) || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    values.sort_unstable_by(f32::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let lo = pos as usize;
    let hi = (lo + 1).min(values.len() - 1);
    let frac = (pos - lo as f64) as f32;
    Some(values[lo] + (values[hi] - values[lo]) * frac)
}

/// The score threshold for a contamination fraction (PyOD's convention: the
/// `100 * (1 - contamination)` percentile of the calibration scores).
pub fn score_threshold(scores: &mut [f32], contamination: f64) -> Option<f32> {
    if !(0.0..=1.0).contains(&contamination) {
        return None;
    }
    quantile(scores, 1.0 - contamination)
}
