//! The learning-rate schedule of the reference recipe: halve every `every` epochs.

/// The learning rate for `epoch` (0-based); `every == 0` keeps it constant.
pub fn halving_lr(base: f64, epoch: usize, every: usize) -> f64 {
    if every == 0 {
        return base;
    }
    let halvings = (epoch / every).min(1000) as i32;
    base * 0.5f64.powi(halvings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_schedule() {
        assert_eq!(halving_lr(1e-3, 0, 10), 1e-3);
        assert_eq!(halving_lr(1e-3, 9, 10), 1e-3);
        assert_eq!(halving_lr(1e-3, 10, 10), 5e-4);
        assert_eq!(halving_lr(1e-3, 25, 10), 2.5e-4);
        assert_eq!(halving_lr(1e-3, 25, 0), 1e-3);
    }
}
