//! Standardising real-valued data for training: `(x - center) / scale` with robust statistics
//! of the training rows, so a user's raw units (a mean of 50, a spread of 10) train like the
//! unit-scale data the model's defaults (γ floor, outlier price, variance range) were tuned on.
//! The exported graphs undo it at their ports, so samples and cleaned rows come back in the
//! data's units.
//!
//! One center and one scale for all elements (not per element): the manifest stays two numbers
//! (a microcontroller parses it with a few KiB), and on matrices whose entries share one scale
//! (the Robust PCA setting) it is the same transform. Per-element scaling, for columns in
//! different units, is not measured here yet.
//!
//! Robust: the median and 1.4826 × the median absolute deviation (the standard deviation for
//! Gaussian data). A tenth of the entries set to 1e6 moves them by about 0.14 and 0.2 spreads
//! (tested); the mean and standard deviation would move by 1e5, dragged by the very outliers
//! the robust decoder must find. Their breakdown point is one half: outliers on both sides, as
//! Robust PCA's are, move them less than outliers on one side.

use edgevae_runtime::core::Standardization;

/// 1 / Φ⁻¹(3/4): the MAD of a Gaussian times this is its standard deviation.
const MAD_TO_SD: f32 = 1.482_602_2;

fn median(values: &mut [f32]) -> f32 {
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    *m
}

/// The robust standardisation of `values` (finite, as the loaders guarantee). A scale of 0 (at
/// least half the entries equal) falls back to the mean absolute deviation from the median,
/// then to 1, so no entry is divided by zero.
pub fn robust(values: &[f32]) -> Standardization {
    if values.is_empty() {
        return Standardization {
            center: 0.0,
            scale: 1.0,
        };
    }
    let mut work = values.to_vec();
    let center = median(&mut work);
    for (w, v) in work.iter_mut().zip(values) {
        *w = (v - center).abs();
    }
    let mad = median(&mut work) * MAD_TO_SD;
    let mean_abs = work.iter().map(|&d| f64::from(d)).sum::<f64>() / work.len() as f64;
    let scale = [mad, mean_abs as f32, 1.0]
        .into_iter()
        .find(|s| s.is_finite() && *s > f32::MIN_POSITIVE)
        .unwrap_or(1.0);
    Standardization { center, scale }
}

/// `values` into model units, in place.
pub fn to_model(s: &Standardization, values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = s.to_model(*v));
}

/// `values` into data units, in place.
pub fn to_data(s: &Standardization, values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = s.to_data(*v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenth_of_wild_values_barely_moves_median_and_mad() {
        // 3,000 evenly spread values around 50 with a spread of about 10.
        let mut values: Vec<f32> = (0..3000)
            .map(|i| 50.0 + 10.0 * ((i % 61) as f32 - 30.0) / 17.6)
            .collect();
        let clean = robust(&values);
        for v in values.iter_mut().step_by(10) {
            *v = 1.0e6;
        }
        let dirty = robust(&values);
        assert!((clean.center - 50.0).abs() < 0.5, "{clean:?}");
        assert!(
            (dirty.center - clean.center).abs() < 0.2 * clean.scale,
            "{dirty:?} vs {clean:?}"
        );
        assert!(dirty.scale < 1.3 * clean.scale, "{dirty:?} vs {clean:?}");
    }

    #[test]
    fn constant_data_get_scale_one() {
        let s = robust(&[3.0; 10]);
        assert_eq!((s.center, s.scale), (3.0, 1.0));
        let mut v = [3.0, 4.0];
        to_model(&s, &mut v);
        assert_eq!(v, [0.0, 1.0]);
        to_data(&s, &mut v);
        assert_eq!(v, [3.0, 4.0]);
    }
}
