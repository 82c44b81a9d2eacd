//! The synthetic robust-recovery benchmark of Dai et al. (2018, "Connections with robust PCA
//! and the role of emergent sparsity in variational autoencoder models"): data on a
//! `kappa`-dimensional non-linear manifold in `R^d`, with a fraction `nu` of the entries
//! replaced by outliers. A method is scored by how well it recovers the clean matrix ([`nmse`]).
//!
//! Choices the paper leaves open, fixed here:
//! - The manifold is a fixed random network `kappa -> HIDDEN -> HIDDEN -> d`, ReLU after the two
//!   hidden layers, linear output, no biases, applied to `z ~ N(0, I_kappa)`. `HIDDEN` = 100,
//!   the paper's `d`, so the network never narrows below the output.
//! - Weights are N(0, 2 / fan_in) (He): each ReLU halves the second moment and the factor 2
//!   restores it, so every layer stays at O(1) scale whatever `kappa` is.
//! - The clean matrix is then standardised to mean 0 and variance 1 over all its entries, and
//!   outliers are plain N(0, 1) draws: as large as a typical clean entry, so they cannot be
//!   spotted by magnitude alone, and the same for every `kappa`.
//! - Streams: network and latents depend on `(seed, kappa)` only, so all cells of one `kappa`
//!   share the clean matrix; outlier positions and values depend on `seed` only and are drawn
//!   as one sequence of which a cell takes the first `round(nu * n * d)`, so a larger `nu`
//!   corrupts a superset of the entries a smaller one does. Differences between cells are then
//!   due to `kappa` and `nu`, not to a fresh draw.

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::rng::SeededRng;

/// Width of both hidden layers of the generating network.
pub const HIDDEN: usize = 100;

/// One benchmark cell: the clean matrix, the matrix a method sees, and where they differ.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRpca {
    /// `[n, d]`, standardised to mean 0 and variance 1 over all entries.
    pub clean: Array2<f64>,
    /// `clean` with the outlier entries replaced by N(0, 1) draws.
    pub corrupted: Array2<f64>,
    /// `true` at the replaced entries; exactly `round(nu * n * d)` of them.
    pub outlier_mask: Array2<bool>,
}

/// Generates one cell of the benchmark: `n` points in `R^d` on a `kappa`-dimensional manifold,
/// a fraction `nu` of the entries replaced. Deterministic in all arguments; see the module doc
/// for what is shared between cells.
///
/// Errors when a size is zero, `nu` is not in [0, 1], `n * d` overflows, or the clean matrix is
/// constant and so cannot be standardised (e.g. a single entry).
pub fn generate(n: usize, d: usize, kappa: usize, nu: f64, seed: u64) -> Result<SyntheticRpca> {
    if n == 0 || d == 0 || kappa == 0 {
        return Err(Error::Config(format!(
            "synthetic RPCA needs n, d and kappa of at least 1, got n={n}, d={d}, kappa={kappa}"
        )));
    }
    if !(0.0..=1.0).contains(&nu) {
        return Err(Error::Config(format!(
            "synthetic RPCA outlier fraction nu must be in [0, 1], got {nu}"
        )));
    }
    let entries = n
        .checked_mul(d)
        .ok_or_else(|| Error::Config(format!("synthetic RPCA of {n}x{d} entries is too large")))?;

    let clean = standardise(manifold_points(n, d, kappa, seed)?)?;

    // nu is in [0, 1], so the count is at most `entries` and the cast cannot wrap.
    let count = (nu * entries as f64).round() as usize;
    let mut corrupted = clean.clone();
    let mut outlier_mask = Array2::from_elem((n, d), false);
    let mut values = SeededRng::derive(seed, "rpca-synthetic-outlier-values", 0);
    for k in outlier_positions(entries, count, seed) {
        let at = [k / d, k % d];
        corrupted[at] = f64::from(values.normal());
        outlier_mask[at] = true;
    }
    Ok(SyntheticRpca {
        clean,
        corrupted,
        outlier_mask,
    })
}

/// [`crate::nmse::nmse`] of two matrices in the Frobenius norm, NaN when their shapes differ.
pub fn nmse(truth: &Array2<f64>, estimate: &Array2<f64>) -> f64 {
    if truth.dim() != estimate.dim() {
        return f64::NAN;
    }
    let (truth, estimate) = (truth.as_standard_layout(), estimate.as_standard_layout());
    match (truth.as_slice(), estimate.as_slice()) {
        (Some(t), Some(e)) => crate::nmse::nmse(t, e),
        _ => f64::NAN,
    }
}

/// The `[n, d]` network outputs for `n` latent draws, before standardisation.
fn manifold_points(n: usize, d: usize, kappa: usize, seed: u64) -> Result<Array2<f64>> {
    let index = kappa as u64;
    let mut weights = SeededRng::derive(seed, "rpca-synthetic-network", index);
    let w1 = he_weights(&mut weights, kappa, HIDDEN)?;
    let w2 = he_weights(&mut weights, HIDDEN, HIDDEN)?;
    let w3 = he_weights(&mut weights, HIDDEN, d)?;

    let mut latent = SeededRng::derive(seed, "rpca-synthetic-latent", index);
    let z = normal_matrix(&mut latent, n, kappa, 1.0)?;
    let h1 = z.dot(&w1).mapv(relu);
    let h2 = h1.dot(&w2).mapv(relu);
    Ok(h2.dot(&w3))
}

/// A `[fan_in, fan_out]` matrix of N(0, 2 / fan_in) entries.
fn he_weights(rng: &mut SeededRng, fan_in: usize, fan_out: usize) -> Result<Array2<f64>> {
    normal_matrix(rng, fan_in, fan_out, (2.0 / fan_in as f64).sqrt())
}

fn normal_matrix(rng: &mut SeededRng, rows: usize, cols: usize, std: f64) -> Result<Array2<f64>> {
    let len = rows
        .checked_mul(cols)
        .ok_or_else(|| Error::Config(format!("{rows}x{cols} matrix is too large")))?;
    let values = rng
        .normal_vec(len)
        .into_iter()
        .map(|v| std * f64::from(v))
        .collect();
    Array2::from_shape_vec((rows, cols), values)
        .map_err(|e| Error::Config(format!("cannot shape {rows}x{cols} matrix: {e}")))
}

fn relu(v: f64) -> f64 {
    v.max(0.0)
}

/// Shifts and scales to mean 0 and (population) variance 1 over all entries.
fn standardise(mut x: Array2<f64>) -> Result<Array2<f64>> {
    let len = x.len() as f64;
    let mean = x.sum() / len;
    let var = x.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / len;
    if !(var.is_finite() && var > 0.0) {
        return Err(Error::Config(format!(
            "synthetic RPCA clean matrix of {} entries has variance {var} and cannot be \
             standardised; use more rows or columns",
            x.len()
        )));
    }
    let std = var.sqrt();
    x.mapv_inplace(|v| (v - mean) / std);
    Ok(x)
}

/// The first `count` of a seeded random order of `0..entries`: a partial Fisher-Yates shuffle,
/// whose step `i` uses only the `i`-th draw, so the positions for a smaller count are a prefix
/// of those for a larger one.
fn outlier_positions(entries: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SeededRng::derive(seed, "rpca-synthetic-outlier-positions", 0);
    let mut order: Vec<usize> = (0..entries).collect();
    for i in 0..count.min(entries) {
        let j = i + rng.below(entries - i);
        order.swap(i, j);
    }
    order.truncate(count);
    order
}

#[cfg(test)]
mod tests {
    use nalgebra::DMatrix;
    use ndarray::Zip;

    use super::*;

    #[test]
    fn deterministic_by_seed() {
        let a = generate(30, 20, 3, 0.1, 7).unwrap();
        let b = generate(30, 20, 3, 0.1, 7).unwrap();
        let c = generate(30, 20, 3, 0.1, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.clean, c.clean);
        assert_ne!(a.outlier_mask, c.outlier_mask);
    }

    #[test]
    fn exact_outlier_count_and_only_masked_entries_change() {
        let (n, d) = (30, 20);
        for nu in [0.0, 0.137, 0.5, 1.0] {
            let cell = generate(n, d, 2, nu, 1).unwrap();
            let want = (nu * (n * d) as f64).round() as usize;
            assert_eq!(
                cell.outlier_mask.iter().filter(|&&m| m).count(),
                want,
                "{nu}"
            );
            Zip::from(&cell.clean)
                .and(&cell.corrupted)
                .and(&cell.outlier_mask)
                .for_each(|&c, &x, &m| assert_eq!(c != x, m, "nu={nu}"));
        }
    }

    #[test]
    fn clean_is_standardised_and_outliers_comparable() {
        let cell = generate(50, 100, 4, 0.3, 2).unwrap();
        let len = cell.clean.len() as f64;
        let mean = cell.clean.sum() / len;
        let var = cell
            .clean
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / len;
        assert!(mean.abs() < 1e-12, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-12, "variance {var}");
        // 1500 N(0, 1) draws: their variance is within a few standard errors (0.037) of 1.
        let outliers: Vec<f64> = Zip::from(&cell.corrupted).and(&cell.outlier_mask).fold(
            Vec::new(),
            |mut acc, &x, &m| {
                if m {
                    acc.push(x);
                }
                acc
            },
        );
        let second = outliers.iter().map(|v| v * v).sum::<f64>() / outliers.len() as f64;
        assert!(
            (second - 1.0).abs() < 0.15,
            "outlier second moment {second}"
        );
    }

    #[test]
    fn same_kappa_shares_the_manifold_across_nu() {
        let low = generate(40, 30, 3, 0.05, 9).unwrap();
        let high = generate(40, 30, 3, 0.4, 9).unwrap();
        assert_eq!(low.clean, high.clean);
        // Outliers are nested: every entry corrupted at nu=0.05 is corrupted, identically, at 0.4.
        Zip::from(&low.outlier_mask)
            .and(&high.outlier_mask)
            .and(&low.corrupted)
            .and(&high.corrupted)
            .for_each(|&ml, &mh, &xl, &xh| {
                if ml {
                    assert!(mh);
                    assert_eq!(xl, xh);
                }
            });
        let other = generate(40, 30, 4, 0.05, 9).unwrap();
        assert_ne!(low.clean, other.clean);
    }

    #[test]
    fn manifold_is_not_a_linear_subspace() {
        // A kappa-dimensional linear subspace would have rank kappa; the ReLU network's image
        // spans many more directions, which is what makes the benchmark hard for PCP.
        let kappa = 2;
        let cell = generate(60, 40, kappa, 0.0, 4).unwrap();
        let m = DMatrix::from_row_iterator(60, 40, cell.clean.iter().copied());
        let sv = m.singular_values();
        let rank = sv.iter().filter(|&&s| s > 1e-6 * sv.max()).count();
        assert!(rank > 3 * kappa, "numerical rank {rank}");
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(generate(0, 10, 2, 0.1, 0).is_err());
        assert!(generate(10, 0, 2, 0.1, 0).is_err());
        assert!(generate(10, 10, 0, 0.1, 0).is_err());
        assert!(generate(10, 10, 2, -0.1, 0).is_err());
        assert!(generate(10, 10, 2, 1.5, 0).is_err());
        assert!(generate(10, 10, 2, f64::NAN, 0).is_err());
        assert!(
            generate(1, 1, 2, 0.0, 0).is_err(),
            "one entry cannot be standardised"
        );
        assert!(
            generate(usize::MAX, 2, 2, 0.0, 0).is_err(),
            "n * d overflows"
        );
    }

    #[test]
    fn nmse_scores() {
        let t = Array2::from_shape_vec((2, 2), vec![1.0, -2.0, 0.0, 2.0]).unwrap();
        assert_eq!(nmse(&t, &t), 0.0);
        assert_eq!(nmse(&t, &Array2::zeros((2, 2))), 1.0);
        assert!((nmse(&t, &(&t * 0.5)) - 0.25).abs() < 1e-15);
        assert!(nmse(&t, &Array2::zeros((2, 3))).is_nan());
    }
}
