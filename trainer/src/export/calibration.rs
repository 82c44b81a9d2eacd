//! Outlier calibration at export (method.md section 5): from the run's validation rows, the
//! per-element inlier noise variance, the element threshold, and the per-sample score threshold
//! for a contamination fraction. Scoring goes through `edgevae_runtime::core::outlier`, the code
//! the runtime runs, so the thresholds mean the same thing on the device.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::LoadedRun;
use edgevae_runtime::core::outlier::{
    element_threshold, filter_row, quantile, row_log_var, score_threshold, InputGate, RowOutput,
};
use edgevae_runtime::core::{OutlierThresholds, Scaling, MAX_CALIBRATED_DIM};

/// The median of a chi-square variable with one degree of freedom: the median squared residual
/// of Gaussian noise of variance s^2 is 0.4549 s^2.
const CHI2_1_MEDIAN: f32 = 0.454_936_4;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationOptions {
    /// Expected fraction of outlier rows (PyOD's convention): the score threshold is the
    /// `1 - contamination` quantile of the calibration scores.
    pub contamination: f64,
    /// Prior probability that an element is an outlier: with the calibration values' range it
    /// sets the element threshold ([`element_threshold`]).
    pub element_prior: f64,
    /// An element threshold to use instead of the one from `element_prior`.
    pub element_threshold: Option<f64>,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        Self {
            contamination: 0.1,
            element_prior: 0.1,
            element_threshold: None,
        }
    }
}

/// The width of the calibration values' range: the support of the uniform outlier density.
/// [min, max] of the calibration rows.
fn min_max(data: &Dataset) -> [f32; 2] {
    let (lo, hi) = data
        .values()
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    [lo, hi]
}

fn value_range(data: &Dataset) -> f64 {
    let [lo, hi] = min_max(data);
    f64::from(hi) - f64::from(lo)
}

/// Per-element inlier noise variance: the median squared residual over rows, rescaled to a
/// Gaussian variance. The median, because calibration rows may themselves hold outliers (up to
/// half of them per element). The residual is used for robust models too: the median of their
/// variance head came out 0.6-3.5x below the held-out residuals (the head learns from training
/// rows), which flagged 5-10 % of clean elements.
fn element_noise(data: &Dataset, means: &[f32], floor: f32) -> Vec<f32> {
    let (n, d) = (data.len(), data.dim);
    let values = data.values();
    let mut column = vec![0.0f32; n];
    (0..d)
        .map(|j| {
            for (i, c) in column.iter_mut().enumerate() {
                let k = i * d + j;
                let e = values[k] - means[k];
                *c = e * e / CHI2_1_MEDIAN;
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
        return bad(format!(
            "contamination {} must be in [0, 0.5]",
            opts.contamination
        ));
    }
    let element_threshold = match opts.element_threshold {
        Some(t) if t.is_finite() => t,
        Some(_) => return bad("the element threshold must be a number".into()),
        None => {
            let range = value_range(data);
            element_threshold(opts.element_prior, range).ok_or_else(|| {
                Error::Config(format!(
                    "cannot set the element threshold from prior {} and value range {range} \
                     (the prior must be in (0, 1), the calibration rows must not be constant)",
                    opts.element_prior
                ))
            })?
        }
    };
    let (means, head_log_var) = run.reconstruct_with_log_var(&data.values())?;
    let floor = match &run.config.stage1.robust {
        Some(r) => r.variance_floor,
        None => run.config.stage1.gamma_floor,
    } as f32;
    let noise = element_noise(data, &means, floor);
    let noise_log_var: Vec<f32> = noise.iter().map(|v| v.ln()).collect();
    let d = data.dim;
    let (mut mask, mut cleaned, mut element_scores) =
        (vec![0u8; d], vec![0.0f32; d], vec![0.0f32; d]);
    let mut scores = (0..data.len())
        .map(|i| {
            filter_row(
                &data.row(i),
                &means[i * d..(i + 1) * d],
                row_log_var(head_log_var.as_deref(), &noise_log_var, i),
                element_threshold as f32,
                // Calibration rows are the run's own validation data: every value is scored.
                &InputGate::OPEN,
                RowOutput {
                    mask: &mut mask,
                    cleaned: &mut cleaned,
                    element_scores: &mut element_scores,
                },
            )
        })
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|e| Error::Config(format!("scoring calibration rows: {e}")))?;
    let threshold = score_threshold(&mut scores, opts.contamination)
        .ok_or_else(|| Error::Config("calibration scores are not numbers".into()))?;
    let element_noise = heapless::Vec::from_slice(&noise)
        .map_err(|_| Error::Config("calibration does not fit the manifest".into()))?;
    // Real-valued data: the range the filter scores values in (edgevae_runtime's InputGate).
    // Pixel data have theirs by construction.
    let value_range = match super::manifest_scaling(run) {
        Scaling::Real => Some(min_max(data)).filter(|[lo, hi]| lo < hi),
        Scaling::Unit => None,
    };
    Ok(OutlierThresholds {
        score_threshold: f64::from(threshold),
        element_threshold,
        contamination: opts.contamination,
        element_noise,
        value_range,
    })
}

/// The run's validation rows (its data reloaded with the saved split, seed and corruption).
pub fn validation_rows(run: &LoadedRun) -> Result<Dataset> {
    Ok(run.config.reload_data(None)?.val)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;
    use crate::data::Scaling;
    use crate::model::{RobustConfig, Stage1, Stage1Config, Stage2, Stage2Config};
    use crate::nn::{Activation, AdamWConfig, ParamStore};
    use crate::rng::SeededRng;
    use crate::train::{RunDir, RunState, StageSchedule, TrainConfig};

    const GAMMA_FLOOR: f64 = 1e-4;
    const VARIANCE_FLOOR: f64 = 1e-3;
    /// The decoder's output for every row.
    const MEAN: [f32; 3] = [0.5, -1.0, 2.0];
    /// Residuals x - MEAN of the five calibration rows: column 0 has one gross outlier (its
    /// median ignores it), column 1 ties, column 2 is so small that the floor applies.
    const RESIDUALS: [[f32; 3]; 5] = [
        [0.1, 1.0, 1e-3],
        [-0.3, -1.0, -1e-3],
        [0.2, 0.5, 2e-3],
        [0.05, 0.5, 0.0],
        [-2.0, -0.5, 1e-3],
    ];

    /// A run whose parameters are all zero except the decoder's last bias (= [`MEAN`]) and log
    /// gamma: the encoder returns 0, so every reconstruction is `MEAN`, and the robust variance is
    /// `variance_floor + gamma` everywhere.
    fn hand_made_run(robust: bool, gamma: f32) -> Result<LoadedRun> {
        let device = Device::Cpu;
        let mut stage1_config = Stage1Config::new(MEAN.len(), Activation::Identity);
        stage1_config.hidden = vec![4];
        stage1_config.latent = 2;
        stage1_config.gamma_floor = GAMMA_FLOOR;
        stage1_config.robust = robust.then_some(RobustConfig {
            variance_floor: VARIANCE_FLOOR,
            outlier_cost: 3.0,
            log_variance_range: 1.0,
            ..RobustConfig::default()
        });
        let schedule = StageSchedule {
            epochs: 1,
            batch: 4,
            lr: 1e-3,
            halve_every: 0,
        };
        let config = TrainConfig {
            data: "manifold:n=10,d=3".into(),
            seed: 0,
            val_fraction: 0.2,
            corrupt: None,
            limit: None,
            stage1: stage1_config.clone(),
            image_shape: None,
            standardization: None,
            stage2: Stage2Config {
                width: 4,
                depth: 1,
                ..Stage2Config::default()
            },
            schedule1: schedule.clone(),
            schedule2: schedule,
            optimizer: AdamWConfig::default(),
        };
        let mut rng = SeededRng::derive(0, "calibration-test", 0);
        let mut params1 = ParamStore::new(&device);
        let stage1 = Stage1::new(&stage1_config, None, &mut params1, &mut rng)?;
        for (_, var) in params1.vars() {
            var.set(&var.as_tensor().zeros_like()?)?;
        }
        let set = |name: &str, t: Tensor| -> Result<()> {
            params1.get(name).expect(name).set(&t)?;
            Ok(())
        };
        set("stage1.decoder.1.bias", Tensor::new(&MEAN, &device)?)?;
        set("stage1.log_gamma", Tensor::new(gamma.ln(), &device)?)?;
        let mut params2 = ParamStore::new(&device);
        let stage2 = Stage2::new(&config.stage2, 2, &mut params2, &mut rng)?;
        Ok(LoadedRun {
            dir: RunDir::new("unused"),
            config,
            state: RunState::default(),
            device,
            params1,
            stage1,
            params2,
            stage2,
        })
    }

    fn rows() -> Dataset {
        let values: Vec<f32> = RESIDUALS
            .iter()
            .flat_map(|r| r.iter().zip(MEAN).map(|(e, m)| m + e))
            .collect();
        Dataset::new(MEAN.len(), None, Scaling::Real, values)
    }

    /// Each row's score worked by hand: the mean over its elements of e^2 / v + ln(2 pi v), with
    /// e the residual against [`MEAN`] and v the inlier variance of column j.
    fn hand_scores(data: &Dataset, variance: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..data.len())
            .map(|i| {
                let row = data.row(i);
                (0..MEAN.len())
                    .map(|j| {
                        let v = variance(j);
                        f64::from(row[j] - MEAN[j]).powi(2) / v
                            + (2.0 * std::f64::consts::PI * v).ln()
                    })
                    .sum::<f64>()
                    / MEAN.len() as f64
            })
            .collect()
    }

    /// The `q` quantile with numpy's default (linear) rule: position `q (n - 1)` in the sorted
    /// values, interpolated between its neighbours.
    fn numpy_quantile(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let pos = q * (v.len() - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos.fract());
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] + frac * (v[hi] - v[lo])
    }

    fn close(got: f64, want: f64, rel: f64, what: &str) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "{what}: {got} vs {want}"
        );
    }

    #[test]
    fn numpy_quantile_rule_on_a_known_case() {
        // numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], q) for q = 0.9, 0.25, 0.5.
        let data = [3.0f32, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        for (q, want) in [(0.9, 6.3), (0.25, 2.25), (0.5, 3.5)] {
            let got = quantile(&mut data.clone(), q).expect("quantile");
            close(f64::from(got), want, 1e-6, &format!("q = {q}"));
            let as_f64: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
            close(numpy_quantile(&as_f64, q), want, 1e-12, "test helper");
        }
    }

    #[test]
    fn plain_decoder_noise_is_the_median_squared_residual_over_0_4549() -> Result<()> {
        let run = hand_made_run(false, 0.5)?;
        let data = rows();
        let opts = CalibrationOptions {
            contamination: 0.1,
            element_threshold: Some(9.0),
            ..CalibrationOptions::default()
        };
        let t = calibrate(&run, &data, &opts)?;
        let residual = |i: usize, j: usize| data.values()[i * 3 + j] - MEAN[j];
        let mut noise = [0.0f64; 3];
        for (j, n) in noise.iter_mut().enumerate() {
            let mut sq: Vec<f32> = (0..5).map(|i| residual(i, j) * residual(i, j)).collect();
            sq.sort_by(f32::total_cmp);
            *n = (f64::from(sq[2]) / 0.454_936_4).max(GAMMA_FLOOR);
        }
        // Column 0: median of 0.01, 0.09, 0.04, 0.0025, 4 is 0.04; column 1: 0.25; column 2:
        // 1e-6 / 0.4549 is below the floor.
        close(noise[0], 0.04 / 0.454_936_4, 1e-5, "hand value, column 0");
        close(noise[1], 0.25 / 0.454_936_4, 1e-5, "hand value, column 1");
        assert_eq!(noise[2], GAMMA_FLOOR);
        assert_eq!(t.element_noise.len(), 3);
        for (j, (&got, want)) in t.element_noise.iter().zip(noise).enumerate() {
            close(f64::from(got), want, 1e-6, &format!("noise of column {j}"));
        }
        assert_eq!(t.element_noise[2], GAMMA_FLOOR as f32, "the floor applies");

        // Scores: the mean over a row of e^2 / v + ln(2 pi v), v the calibrated noise; the
        // threshold is their numpy-style 0.9 quantile.
        let scores = hand_scores(&data, |j| f64::from(t.element_noise[j]));
        close(
            t.score_threshold,
            numpy_quantile(&scores, 0.9),
            1e-5,
            "score threshold",
        );
        assert_eq!(t.contamination, 0.1);
        assert_eq!(t.element_threshold, 9.0);
        // Contamination 0 is the largest score, 0.5 the median.
        for (c, q) in [(0.0, 1.0), (0.5, 0.5), (0.25, 0.75)] {
            let t = calibrate(
                &run,
                &data,
                &CalibrationOptions {
                    contamination: c,
                    ..opts
                },
            )?;
            close(
                t.score_threshold,
                numpy_quantile(&scores, q),
                1e-5,
                &format!("contamination {c}"),
            );
        }
        Ok(())
    }

    #[test]
    fn robust_decoder_noise_is_the_median_residual_too_with_its_own_floor() -> Result<()> {
        // The variance head does not enter: two very different gammas, the same noise.
        let data = rows();
        let a = calibrate(
            &hand_made_run(true, 0.02)?,
            &data,
            &CalibrationOptions::default(),
        )?;
        let b = calibrate(
            &hand_made_run(true, 1e-12)?,
            &data,
            &CalibrationOptions::default(),
        )?;
        assert_eq!(a.element_noise, b.element_noise);
        let residual = |i: usize, j: usize| data.values()[i * 3 + j] - MEAN[j];
        for (j, &got) in a.element_noise.iter().enumerate() {
            let mut sq: Vec<f32> = (0..5).map(|i| residual(i, j) * residual(i, j)).collect();
            sq.sort_by(f32::total_cmp);
            let want = (f64::from(sq[2]) / 0.454_936_4).max(VARIANCE_FLOOR);
            close(f64::from(got), want, 1e-5, &format!("column {j}"));
        }
        assert!(a.element_noise.iter().all(|&v| v >= VARIANCE_FLOOR as f32));

        // The scores do use the head: its variance is floor + gamma at every element here.
        for (t, gamma) in [(&a, 0.02), (&b, 1e-12)] {
            let scores = hand_scores(&data, |_| VARIANCE_FLOOR + gamma);
            close(
                t.score_threshold,
                numpy_quantile(&scores, 0.9),
                1e-4,
                &format!("score threshold, gamma {gamma}"),
            );
        }
        Ok(())
    }

    #[test]
    fn bad_options_and_wrong_widths_are_errors() -> Result<()> {
        let run = hand_made_run(false, 0.5)?;
        let data = rows();
        let with = |contamination: f64, element_threshold: f64| {
            calibrate(
                &run,
                &data,
                &CalibrationOptions {
                    contamination,
                    element_threshold: Some(element_threshold),
                    ..CalibrationOptions::default()
                },
            )
        };
        for c in [-0.01, 0.51, 1.0, f64::NAN] {
            assert!(
                matches!(with(c, 9.0), Err(Error::Config(m)) if m.contains("contamination")),
                "contamination {c}"
            );
        }
        for c in [0.0, 0.5] {
            assert!(with(c, 9.0).is_ok(), "contamination {c} is allowed");
        }
        for e in [f64::NAN, f64::INFINITY] {
            assert!(
                matches!(with(0.1, e), Err(Error::Config(_))),
                "threshold {e}"
            );
        }
        // A log-likelihood threshold may be zero or negative.
        for e in [0.0, -1.0] {
            assert_eq!(with(0.1, e)?.element_threshold, e);
        }
        for prior in [0.0, 1.0, -0.1, f64::NAN] {
            let opts = CalibrationOptions {
                element_prior: prior,
                ..CalibrationOptions::default()
            };
            assert!(
                matches!(calibrate(&run, &data, &opts), Err(Error::Config(m)) if m.contains("prior")),
                "prior {prior}"
            );
        }
        let constant = Dataset::new(3, None, Scaling::Real, vec![1.0; 9]);
        assert!(matches!(
            calibrate(&run, &constant, &CalibrationOptions::default()),
            Err(Error::Config(m)) if m.contains("constant")
        ));
        let wide = Dataset::new(4, None, Scaling::Real, vec![0.0; 8]);
        assert!(matches!(
            calibrate(&run, &wide, &CalibrationOptions::default()),
            Err(Error::Config(m)) if m.contains("4 columns")
        ));
        let narrow = Dataset::new(2, None, Scaling::Real, vec![0.0; 8]);
        assert!(calibrate(&run, &narrow, &CalibrationOptions::default()).is_err());
        let empty = Dataset::new(3, None, Scaling::Real, Vec::new());
        assert!(matches!(
            calibrate(&run, &empty, &CalibrationOptions::default()),
            Err(Error::Config(_))
        ));
        Ok(())
    }
}
