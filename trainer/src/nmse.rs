//! The normalised squared error every benchmark and report scores reconstructions with, written
//! once: `||truth - estimate||^2 / ||truth||^2`, 0 for perfect recovery and 1 for no better than
//! returning zeros, summed in f64.

/// NaN when the lengths differ (or both are all zero), infinite when only `truth` is zero, so a
/// bad comparison never reads as a good score.
pub fn nmse<T: Copy + Into<f64>>(truth: &[T], estimate: &[T]) -> f64 {
    if truth.len() != estimate.len() {
        return f64::NAN;
    }
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for (&t, &e) in truth.iter().zip(estimate) {
        let (t, e) = (t.into(), e.into());
        err += (t - e) * (t - e);
        norm += t * t;
    }
    err / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_squared_error_and_refusals() {
        assert_eq!(nmse(&[1.0f32, 1.0], &[1.0, 1.0]), 0.0);
        assert!((nmse(&[2.0f32, 0.0], &[1.0, 1.0]) - 0.5).abs() < 1e-12);
        assert_eq!(nmse(&[1.0f64, 2.0], &[0.0, 0.0]), 1.0);
        assert!(nmse(&[1.0f32, 2.0], &[1.0]).is_nan());
        assert!(nmse(&[0.0f32], &[0.0]).is_nan());
        assert!(nmse(&[0.0f32], &[1.0]).is_infinite());
    }
}
