//! Outlier arithmetic of method.md section 5, shared by the runtime filter, the C ABI and the
//! trainer's calibration so that all three agree to the bit.
//!
//! Per element, the score is twice the element's negative log-likelihood under the decoder's
//! inlier Gaussian, `s_j = (x_j - x_mean_j)^2 / v_j + ln(2 pi v_j)`, with `v_j` the inlier
//! variance: the decoder's variance head at this element for a robust model, the per-element
//! noise calibrated at export otherwise. An element is an outlier when `s_j > element_threshold`;
//! [`element_threshold`] sets it where an outlier drawn uniformly over the data's range becomes
//! the likelier explanation. The `ln v_j` term is why this beats the standardised residual
//! alone: a large residual where the model expects little spread is strong evidence, the same
//! residual where it expects much spread is weak (on corrupted MNIST the element AUROC went from
//! 0.933 to 0.968; docs/results.md, "Robust decoder on corrupted MNIST"). The cleaned signal takes the
//! reconstruction at outliers and the input elsewhere; the per-sample score is the mean of `s_j`.

use super::{CoreError, Scaling};

/// ln(2 pi).
const LN_2PI: f32 = 1.837_877_1;

/// The element score given in place of one that is not finite (a NaN or infinite
/// reconstruction, an overflowing residual) and to every value the [`InputGate`] refuses: above
/// any threshold, so the element is an outlier and its row is flagged, and finite, so that
/// means, comparisons and the caller's own arithmetic stay defined. The filter fails closed:
/// a value it cannot score is never passed through as clean.
pub const SCORE_CEILING: f32 = f32::MAX;

/// Which input values are scored against the model at all. Pixel data (`Scaling::Unit`) lie in
/// [0, 1]; a value more than one full range beyond either end cannot be a pixel, so it is an
/// outlier by definition, and the network is shown the nearest value of [0, 1] in its place
/// (a value such as 3e38 would otherwise overflow the network into a NaN reconstruction of the
/// whole row). Real-valued data (`Scaling::Real`) get the same rule from the calibration rows'
/// range in the manifest ([`InputGate::for_model`]); without one (manifests written before it),
/// every finite value is scored, and a non-finite reconstruction is an error naming the element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputGate {
    /// The range the data themselves occupy.
    data: (f32, f32),
    /// The range accepted for scoring (contains `data`).
    accepted: (f32, f32),
}

impl InputGate {
    /// Every finite value is accepted and shown to the network as it is.
    pub const OPEN: Self = Self {
        data: (f32::MIN, f32::MAX),
        accepted: (f32::MIN, f32::MAX),
    };
    /// Pixel data in [0, 1]; values in [-1, 2] are scored.
    pub const UNIT: Self = Self {
        data: (0.0, 1.0),
        accepted: (-1.0, 2.0),
    };

    /// The gate of a model: pixel data are [`InputGate::UNIT`]; real-valued data with the
    /// calibration rows' `value_range` [lo, hi] score values in [lo - w, hi + w], w = hi - lo
    /// (the same one span on each side as UNIT), and are shown the nearest value of [lo, hi]
    /// beyond it; real-valued data without a range (older manifests) are [`InputGate::OPEN`].
    pub fn for_model(scaling: Scaling, value_range: Option<[f32; 2]>) -> Self {
        match (scaling, value_range) {
            (Scaling::Unit, _) => Self::UNIT,
            (Scaling::Real, Some([lo, hi])) if lo < hi => {
                let span = hi - lo;
                Self {
                    data: (lo, hi),
                    // Saturates at ±f32::MAX rather than reaching ±inf for huge ranges.
                    accepted: ((lo - span).max(f32::MIN), (hi + span).min(f32::MAX)),
                }
            }
            (Scaling::Real, _) => Self::OPEN,
        }
    }

    /// Whether `value` is scored against the model (false for NaN).
    pub fn accepts(&self, value: f32) -> bool {
        value >= self.accepted.0 && value <= self.accepted.1
    }

    /// What the network is shown for `value`: the value itself when accepted, else the nearest
    /// value of the data's range.
    pub fn network_value(&self, value: f32) -> f32 {
        if self.accepts(value) {
            value
        } else if value < self.data.0 {
            self.data.0
        } else if value > self.data.1 {
            self.data.1
        } else {
            // NaN: the filter refuses non-finite input before this is asked.
            self.data.0
        }
    }

    /// Applies [`InputGate::network_value`] to every value of `row` in place.
    pub fn gate(&self, row: &mut [f32]) {
        for v in row {
            *v = self.network_value(*v);
        }
    }
}

/// Twice the negative log-likelihood of `x` under N(`x_mean`, exp(`log_var`)).
#[inline]
pub fn element_score(x: f32, x_mean: f32, log_var: f32) -> f32 {
    let e = x - x_mean;
    e * e * libm::expf(-log_var) + log_var + LN_2PI
}

/// The element threshold at which an outlier uniform over a range of width `range` (with prior
/// probability `prior` per element) and an inlier explain a value equally well:
/// `2 ln((1 - prior) / prior) + 2 ln(range)`. `None` unless 0 < `prior` < 1 and `range` > 0.
pub fn element_threshold(prior: f64, range: f64) -> Option<f64> {
    let valid = prior > 0.0 && prior < 1.0 && range.is_finite() && range > 0.0;
    valid.then(|| 2.0 * libm::log((1.0 - prior) / prior) + 2.0 * libm::log(range))
}

/// The inlier log-variance of an element whose calibrated noise variance is `noise`: one
/// function, so that both backends score with the same bits.
#[inline]
pub fn noise_log_var(noise: f32) -> f32 {
    libm::logf(noise)
}

/// Row `i`'s inlier log-variances: the variance head's row `i` (`head`: `n` rows of
/// `noise_log_var.len()` values) for a robust model, else the calibrated noise's, the same for
/// every row. A row the head does not hold comes back empty, which [`filter_row`] refuses.
pub fn row_log_var<'a>(head: Option<&'a [f32]>, noise_log_var: &'a [f32], i: usize) -> &'a [f32] {
    let d = noise_log_var.len();
    match head {
        Some(h) => h.get(i * d..(i + 1) * d).unwrap_or(&[]),
        None => noise_log_var,
    }
}

/// The rows [`filter_row`] writes: one value per element each.
pub struct RowOutput<'a> {
    /// 1 where the element is an outlier.
    pub mask: &'a mut [u8],
    /// The input with outliers replaced by the reconstruction.
    pub cleaned: &'a mut [f32],
    /// Each element's score `s_j`.
    pub element_scores: &'a mut [f32],
}

/// Scores one row, writes its mask, cleaned values and element scores, and returns the
/// per-sample score. `x` is the original input (every pass re-masks against it), `x_mean` the
/// latest reconstruction, `log_var` the inlier log-variance of each element. All slices must
/// have the same length.
///
/// Fails closed: an element the `gate` refuses or whose score is not finite scores
/// [`SCORE_CEILING`] and is an outlier, so every score returned is finite and a row holding
/// such an element is flagged. An outlier is cleaned to its reconstruction; when that is not
/// finite the row cannot be cleaned and the call fails with
/// [`CoreError::NonFiniteReconstruction`] naming the element, rather than return a NaN or pass
/// the outlier through.
pub fn filter_row(
    x: &[f32],
    x_mean: &[f32],
    log_var: &[f32],
    element_threshold: f32,
    gate: &InputGate,
    out: RowOutput<'_>,
) -> Result<f32, CoreError> {
    let d = x.len();
    let lens = [
        x_mean.len(),
        log_var.len(),
        out.mask.len(),
        out.cleaned.len(),
        out.element_scores.len(),
    ];
    for len in lens {
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
    let mut total = 0.0f64;
    for j in 0..d {
        let score = element_score(x[j], x_mean[j], log_var[j]);
        let scored = gate.accepts(x[j]) && score.is_finite();
        let s = if scored { score } else { SCORE_CEILING };
        let outlier = !scored || s > element_threshold;
        if outlier && !x_mean[j].is_finite() {
            return Err(CoreError::NonFiniteReconstruction {
                column: j,
                value: x_mean[j],
            });
        }
        total += f64::from(s);
        out.element_scores[j] = s;
        out.mask[j] = u8::from(outlier);
        out.cleaned[j] = if outlier { x_mean[j] } else { x[j] };
    }
    Ok((total / d as f64) as f32)
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
