//! Element-level outlier detection and cleaning metrics (the MNIST table of `edgevae bench
//! outliers`): AUROC of per-element outlier scores against the planted mask, and the NMSE of a
//! cleaned signal against the clean one.

use std::path::Path;

use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};
use ndarray::Array2;

use edgevae_trainer::data::Dataset;
use edgevae_trainer::error::{Error, Result};
use edgevae_trainer::nmse::nmse;
use edgevae_trainer::rpca::{pcp, PcpOptions};

/// Area under the ROC curve of `scores` for the positives in `labels` (the Mann-Whitney
/// statistic, ties counted half). NaN when either class is empty.
pub fn auroc(scores: &[f32], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0f64, 0usize);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += mean_rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = order.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// AUROC within the elements whose clean value is zero and within the rest, `(zero, nonzero)`:
/// for images, background and strokes. The overall AUROC also ranks one region against the
/// other, so the split shows where detection fails.
pub fn auroc_by_clean_zero(scores: &[f32], labels: &[bool], clean: &[f32]) -> (f64, f64) {
    let region = |zero: bool| {
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for ((&score, &label), &c) in scores.iter().zip(labels).zip(clean) {
            if (c == 0.0) == zero {
                s.push(score);
                l.push(label);
            }
        }
        auroc(&s, &l)
    };
    (region(true), region(false))
}

/// One method's result on corrupted rows.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierScore {
    pub method: String,
    pub auroc: f64,
    /// AUROC within the elements whose clean value is 0 (image background), and the rest.
    pub auroc_clean_zero: f64,
    pub auroc_clean_nonzero: f64,
    pub nmse_cleaned: f64,
    /// Fraction of elements the method masked (NaN for PCP, which has no threshold).
    pub masked: f64,
    pub seconds: f64,
}

fn checked(data: &Dataset) -> Result<(&[f32], &[bool])> {
    match (&data.clean, &data.outlier_mask) {
        (Some(c), Some(m)) => Ok((c, m)),
        _ => Err(Error::Config(
            "outlier evaluation needs corrupted data with its clean copy (use --corrupt)".into(),
        )),
    }
}

/// Runs a model directory's filter over `data` with `passes`; element scores are the filter's
/// (log-likelihoods against the last pass's reconstruction).
pub fn score_model(
    model_dir: &Path,
    options: RuntimeOptions,
    data: &Dataset,
    passes: usize,
    label: &str,
) -> Result<OutlierScore> {
    let (clean, mask) = checked(data)?;
    let started = std::time::Instant::now();
    let model = ModelDir::open(model_dir, options).map_err(|e| Error::Config(e.to_string()))?;
    let mut filter = model.filter().map_err(|e| Error::Config(e.to_string()))?;
    let d = data.dim;
    if model.input_dim() != d {
        return Err(Error::Config(format!(
            "{} reads {} columns, the data have {d}",
            model_dir.display(),
            model.input_dim()
        )));
    }
    let chunk = 256;
    let mut out = FilterOutput::new(chunk, d);
    let mut scores = Vec::with_capacity(data.len() * d);
    let mut cleaned = Vec::with_capacity(data.len() * d);
    let mut masked = 0usize;
    for rows in data.row_chunks(chunk) {
        let n = rows.len() / d;
        filter
            .filter_into(&rows, n, passes, &mut out)
            .map_err(|e| Error::Config(e.to_string()))?;
        scores.extend_from_slice(out.element_scores());
        cleaned.extend_from_slice(out.cleaned());
        masked += out.mask().iter().filter(|&&v| v != 0).count();
    }
    let (auroc_clean_zero, auroc_clean_nonzero) = auroc_by_clean_zero(&scores, mask, clean);
    Ok(OutlierScore {
        method: label.to_string(),
        auroc: auroc(&scores, mask),
        auroc_clean_zero,
        auroc_clean_nonzero,
        nmse_cleaned: nmse(clean, &cleaned),
        masked: masked as f64 / scores.len() as f64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Principal Component Pursuit on the rows: element scores `|S|`, cleaned signal `L`.
pub fn score_pcp(data: &Dataset) -> Result<OutlierScore> {
    let (clean, mask) = checked(data)?;
    let started = std::time::Instant::now();
    let x = Array2::from_shape_vec(
        (data.len(), data.dim),
        data.values().iter().map(|&v| f64::from(v)).collect(),
    )
    .map_err(|e| Error::Config(format!("data shape: {e}")))?;
    let result = pcp(&x, &PcpOptions::default())?;
    let scores: Vec<f32> = result.sparse.iter().map(|v| v.abs() as f32).collect();
    let low_rank: Vec<f32> = result.low_rank.iter().map(|&v| v as f32).collect();
    let (auroc_clean_zero, auroc_clean_nonzero) = auroc_by_clean_zero(&scores, mask, clean);
    Ok(OutlierScore {
        method: format!(
            "PCP ({} iterations, rank {})",
            result.iterations, result.rank
        ),
        auroc: auroc(&scores, mask),
        auroc_clean_zero,
        auroc_clean_nonzero,
        nmse_cleaned: nmse(clean, &low_rank),
        masked: f64::NAN,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_perfect_reversed_and_tied_scores() {
        let labels = [false, false, true, true];
        assert_eq!(auroc(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert_eq!(auroc(&[0.9, 0.8, 0.2, 0.1], &labels), 0.0);
        assert_eq!(auroc(&[0.5; 4], &labels), 0.5);
        // One positive below one negative: 3 of 4 pairs ordered.
        assert_eq!(auroc(&[0.1, 0.6, 0.5, 0.9], &labels), 0.75);
        assert!(auroc(&[0.1, 0.2], &[true, true]).is_nan());
    }

    #[test]
    fn auroc_splits_by_clean_zero() {
        let clean = [0.0, 0.0, 0.0, 0.0, 0.7, 0.9, 0.8, 1.0];
        let labels = [false, false, true, true, false, false, true, true];
        // Perfect in the zero region, reversed in the other.
        let scores = [0.1, 0.2, 0.8, 0.9, 0.9, 0.8, 0.2, 0.1];
        assert_eq!(auroc_by_clean_zero(&scores, &labels, &clean), (1.0, 0.0));
    }

    #[test]
    fn nmse_is_relative_squared_error() {
        assert_eq!(nmse(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
        assert!((nmse(&[2.0, 0.0], &[1.0, 1.0]) - 0.5).abs() < 1e-12);
    }
}
