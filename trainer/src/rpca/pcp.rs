//! Principal Component Pursuit (Candès, Li, Ma, Wright 2011): splits `X` into a low-rank `L` and
//! a sparse `S` by solving
//!
//! ```text
//! min ||L||_* + lambda ||S||_1   subject to   X = L + S
//! ```
//!
//! with the inexact augmented Lagrangian method of Lin, Chen and Ma (2010), with that paper's
//! constants: `lambda = 1 / sqrt(max(m, n))`, `Y0 = X / max(||X||_2, ||X||_inf / lambda)`,
//! `mu0 = 1.25 / ||X||_2`, `mu` grown by `rho = 1.5` per iteration up to `mu0 * 1e7`, stopping
//! when `||X - L - S||_F < 1e-7 ||X||_F`. Each iteration is one soft threshold (for `S`) and one
//! singular value threshold (for `L`), so the cost is one full SVD per iteration.
//!
//! The SVD is nalgebra's: pure Rust, so there is no LAPACK/BLAS system library to install or
//! link (the trainer builds from a clean clone with cargo alone, on any target), and nalgebra is
//! already in the tree for the Fréchet distance. ndarray is the interface type; the matrices are
//! copied into nalgebra once on the way in and once on the way out.

use nalgebra::{DMatrix, SVD};
use ndarray::Array2;

use crate::error::{Error, Result};

/// `mu0 = MU0_SCALE / ||X||_2`: Lin et al.'s start, small enough that the first singular value
/// threshold (`1 / mu0`) removes almost everything and the rank grows from below.
const MU0_SCALE: f64 = 1.25;

/// `mu` stops growing at `mu0 * MU_BAR_FACTOR`, which keeps the subproblems well conditioned.
const MU_BAR_FACTOR: f64 = 1e7;

/// nalgebra's SVD loops until convergence when given no limit. A few implicit-shift sweeps per
/// singular value is the norm, so this many per value only trips on input it cannot handle,
/// which then becomes an error rather than a hang.
const SVD_SWEEPS_PER_VALUE: usize = 100;

/// Settings of [`pcp`]. `Default` gives the values of Lin, Chen and Ma (2010).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PcpOptions {
    /// Weight of `||S||_1`; `None` means `1 / sqrt(max(m, n))`, the choice under which
    /// Candès et al. prove exact recovery.
    pub lambda: Option<f64>,
    /// Stop when `||X - L - S||_F < tol * ||X||_F`.
    pub tol: f64,
    /// Give up after this many iterations (each costs one SVD); the result then says
    /// `converged: false`.
    pub max_iter: usize,
    /// Growth factor of the penalty `mu` per iteration; larger converges in fewer iterations
    /// but less accurately per iteration.
    pub rho: f64,
}

impl Default for PcpOptions {
    fn default() -> Self {
        Self {
            lambda: None,
            tol: 1e-7,
            max_iter: 1000,
            rho: 1.5,
        }
    }
}

/// What [`pcp`] found.
#[derive(Debug, Clone)]
pub struct PcpResult {
    /// The low-rank part `L`, same shape as the input.
    pub low_rank: Array2<f64>,
    /// The sparse part `S`, same shape as the input; exactly zero where no outlier was found.
    pub sparse: Array2<f64>,
    /// Iterations run (SVDs computed).
    pub iterations: usize,
    /// Whether the stopping criterion was met within `max_iter` iterations.
    pub converged: bool,
    /// Rank of `low_rank`: singular values that survived the last threshold.
    pub rank: usize,
}

/// Robust PCA by Principal Component Pursuit: returns `L` (low rank) and `S` (sparse) with
/// `x ≈ L + S`.
///
/// Errors on an empty matrix, a non-finite entry, a matrix too large in magnitude to take its
/// norms, and on options that the method cannot run with (`lambda` or `tol` not positive and
/// finite, `rho < 1`, `max_iter == 0`). An all-zero matrix is returned as `L = S = 0` without
/// iterating.
pub fn pcp(x: &Array2<f64>, opts: &PcpOptions) -> Result<PcpResult> {
    let (m, n) = x.dim();
    if m == 0 || n == 0 {
        return Err(Error::InvalidInput(format!(
            "PCP needs a non-empty matrix, got {m}x{n}"
        )));
    }
    if let Some(((i, j), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "PCP input has the non-finite entry {v} at ({i}, {j})"
        )));
    }
    let lambda = check_options(opts, m, n)?;

    let d = to_nalgebra(x);
    let norm_fro = d.norm();
    if norm_fro == 0.0 {
        return Ok(PcpResult {
            low_rank: Array2::zeros((m, n)),
            sparse: Array2::zeros((m, n)),
            iterations: 0,
            converged: true,
            rank: 0,
        });
    }
    let norm_two = checked_svd(d.clone(), false)?.singular_values.max();
    let norm_inf = d.amax();
    if !norm_fro.is_finite() || !norm_two.is_finite() {
        return Err(Error::InvalidInput(
            "PCP input is too large in magnitude to take its norms; rescale it".into(),
        ));
    }

    // Dual variable scaled so that its spectral norm is at most 1 and its largest entry at
    // most lambda: feasible for the dual of PCP, which is what makes the method start well.
    let mut y = &d / norm_two.max(norm_inf / lambda);
    let mut mu = MU0_SCALE / norm_two;
    let mu_bar = mu * MU_BAR_FACTOR;
    let mut low_rank = DMatrix::<f64>::zeros(m, n);
    let mut sparse = DMatrix::<f64>::zeros(m, n);
    let mut rank = 0;

    for iteration in 1..=opts.max_iter {
        let inv_mu = 1.0 / mu;
        // S first, as in Lin et al.'s reference code: with L = 0 at the start the first S
        // picks up the largest entries before any of them leak into L.
        sparse = &d - &low_rank + &y * inv_mu;
        sparse.apply(|v| *v = soft_threshold(*v, lambda * inv_mu));
        let (l, r) = singular_value_threshold(&d - &sparse + &y * inv_mu, inv_mu)?;
        low_rank = l;
        rank = r;

        let residual = &d - &low_rank - &sparse;
        y += &residual * mu;
        mu = (mu * opts.rho).min(mu_bar);
        if residual.norm() < opts.tol * norm_fro {
            return Ok(PcpResult {
                low_rank: to_ndarray(&low_rank),
                sparse: to_ndarray(&sparse),
                iterations: iteration,
                converged: true,
                rank,
            });
        }
    }
    Ok(PcpResult {
        low_rank: to_ndarray(&low_rank),
        sparse: to_ndarray(&sparse),
        iterations: opts.max_iter,
        converged: false,
        rank,
    })
}

/// Checks the options and returns the lambda to use for an `m x n` input.
fn check_options(opts: &PcpOptions, m: usize, n: usize) -> Result<f64> {
    let lambda = opts
        .lambda
        .unwrap_or_else(|| 1.0 / (m.max(n) as f64).sqrt());
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(Error::Config(format!(
            "PCP lambda must be positive and finite, got {lambda}"
        )));
    }
    if !(opts.tol.is_finite() && opts.tol > 0.0) {
        return Err(Error::Config(format!(
            "PCP tol must be positive and finite, got {}",
            opts.tol
        )));
    }
    // rho = 1 keeps mu fixed, which still converges, only slowly; below 1 it would shrink.
    if !(opts.rho.is_finite() && opts.rho >= 1.0) {
        return Err(Error::Config(format!(
            "PCP rho must be finite and at least 1, got {}",
            opts.rho
        )));
    }
    if opts.max_iter == 0 {
        return Err(Error::Config("PCP max_iter must be at least 1".into()));
    }
    Ok(lambda)
}

/// `sign(v) * max(|v| - t, 0)`: the proximal operator of `t ||.||_1`.
fn soft_threshold(v: f64, t: f64) -> f64 {
    if v > t {
        v - t
    } else if v < -t {
        v + t
    } else {
        0.0
    }
}

/// The proximal operator of `tau ||.||_*`: shrinks every singular value of `a` by `tau`, drops
/// those that reach zero, and returns the result with its rank.
fn singular_value_threshold(a: DMatrix<f64>, tau: f64) -> Result<(DMatrix<f64>, usize)> {
    let (m, n) = a.shape();
    let svd = checked_svd(a, true)?;
    let (Some(u), Some(v_t)) = (svd.u, svd.v_t) else {
        return Err(Error::InvalidInput(
            "SVD returned no singular vectors although they were asked for".into(),
        ));
    };
    // nalgebra's `try_svd` sorts singular values in descending order, so the survivors are a
    // prefix and their vectors the leading columns of U and rows of V^T.
    let rank = svd.singular_values.iter().take_while(|&&s| s > tau).count();
    if rank == 0 {
        return Ok((DMatrix::zeros(m, n), 0));
    }
    let mut u_scaled = u.columns(0, rank).into_owned();
    for (k, mut column) in u_scaled.column_iter_mut().enumerate() {
        column *= svd.singular_values[k] - tau;
    }
    Ok((u_scaled * v_t.rows(0, rank), rank))
}

/// nalgebra's SVD (singular values sorted descending), with the two ways it can misbehave
/// turned into errors: it asserts on empty matrices and need not terminate on non-finite ones.
fn checked_svd(a: DMatrix<f64>, vectors: bool) -> Result<SVD<f64, nalgebra::Dyn, nalgebra::Dyn>> {
    let (m, n) = a.shape();
    if m == 0 || n == 0 {
        return Err(Error::InvalidInput(format!(
            "cannot take the SVD of a {m}x{n} matrix"
        )));
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(
            "PCP iterate became non-finite; the input is too large in magnitude".into(),
        ));
    }
    let max_sweeps = SVD_SWEEPS_PER_VALUE * m.min(n) + 1000;
    a.try_svd(vectors, vectors, f64::EPSILON, max_sweeps)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "SVD of a {m}x{n} matrix did not converge in {max_sweeps} sweeps"
            ))
        })
}

/// ndarray -> nalgebra. `iter()` walks an ndarray in logical row-major order whatever its
/// memory layout, and `from_row_iterator` fills row by row, so this is right for C-order,
/// Fortran-order and strided arrays alike, although nalgebra stores column-major.
fn to_nalgebra(x: &Array2<f64>) -> DMatrix<f64> {
    let (m, n) = x.dim();
    DMatrix::from_row_iterator(m, n, x.iter().copied())
}

/// nalgebra -> ndarray (C order), element by element so that the layouts cannot get mixed up.
fn to_ndarray(a: &DMatrix<f64>) -> Array2<f64> {
    Array2::from_shape_fn(a.shape(), |(i, j)| a[(i, j)])
}

#[cfg(test)]
mod tests {
    use ndarray::ShapeBuilder;

    use super::*;
    use crate::rng::SeededRng;
    use crate::rpca::nmse;

    /// A rank-`r` matrix `U V^T` with N(0, 1) factors, plus `count` entries of magnitude in
    /// [5, 10) and random sign at distinct random positions. Returns (X, L, S).
    fn low_rank_plus_sparse(
        m: usize,
        n: usize,
        r: usize,
        count: usize,
        seed: u64,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
        let mut rng = SeededRng::new(seed);
        let u = Array2::from_shape_vec((m, r), rng.normal_vec(m * r)).unwrap();
        let v = Array2::from_shape_vec((n, r), rng.normal_vec(n * r)).unwrap();
        let l = u.mapv(f64::from).dot(&v.mapv(f64::from).t());
        let mut s = Array2::<f64>::zeros((m, n));
        for &k in rng.permutation(m * n).iter().take(count) {
            let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
            s[[k / n, k % n]] = sign * f64::from(rng.uniform_range(5.0, 10.0));
        }
        (&l + &s, l, s)
    }

    #[test]
    fn recovers_low_rank_plus_sparse() {
        let (m, n) = (60, 40);
        let count = m * n / 20; // 5% of the entries
        let (x, l, s) = low_rank_plus_sparse(m, n, 2, count, 11);
        let result = pcp(&x, &PcpOptions::default()).unwrap();
        assert!(result.converged, "{} iterations", result.iterations);
        assert_eq!(result.rank, 2);
        let err = nmse(&l, &result.low_rank);
        assert!(err < 1e-4, "NMSE of L = {err}");
        let found: Vec<bool> = result.sparse.iter().map(|v| v.abs() > 1e-3).collect();
        let truth: Vec<bool> = s.iter().map(|&v| v != 0.0).collect();
        assert_eq!(found, truth, "support of S");
    }

    #[test]
    fn rejects_empty_and_non_finite_input() {
        let opts = PcpOptions::default();
        assert!(matches!(
            pcp(&Array2::zeros((0, 3)), &opts),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            pcp(&Array2::zeros((3, 0)), &opts),
            Err(Error::InvalidInput(_))
        ));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x = Array2::<f64>::ones((4, 3));
            x[[2, 1]] = bad;
            assert!(
                matches!(pcp(&x, &opts), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_bad_options() {
        let x = Array2::<f64>::ones((4, 3));
        let bad = [
            PcpOptions {
                lambda: Some(0.0),
                ..PcpOptions::default()
            },
            PcpOptions {
                lambda: Some(f64::NAN),
                ..PcpOptions::default()
            },
            PcpOptions {
                tol: 0.0,
                ..PcpOptions::default()
            },
            PcpOptions {
                rho: 0.9,
                ..PcpOptions::default()
            },
            PcpOptions {
                max_iter: 0,
                ..PcpOptions::default()
            },
        ];
        for opts in bad {
            assert!(matches!(pcp(&x, &opts), Err(Error::Config(_))), "{opts:?}");
        }
    }

    #[test]
    fn zero_matrix_is_all_low_rank_zero() {
        let result = pcp(&Array2::zeros((3, 5)), &PcpOptions::default()).unwrap();
        assert!(result.converged);
        assert_eq!(result.rank, 0);
        assert!(result
            .low_rank
            .iter()
            .chain(&result.sparse)
            .all(|&v| v == 0.0));
    }

    #[test]
    fn max_iter_reached_is_reported_not_converged() {
        let (x, _, _) = low_rank_plus_sparse(20, 10, 2, 10, 3);
        let opts = PcpOptions {
            max_iter: 2,
            ..PcpOptions::default()
        };
        let result = pcp(&x, &opts).unwrap();
        assert!(!result.converged);
        assert_eq!(result.iterations, 2);
    }

    #[test]
    fn conversions_keep_entries_in_place_for_any_layout() {
        let c_order = Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        // The same logical matrix stored column-major.
        let f_order =
            Array2::from_shape_vec((2, 3).f(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
        assert_eq!(c_order, f_order);
        for x in [&c_order, &f_order] {
            let a = to_nalgebra(x);
            assert_eq!(a.shape(), (2, 3));
            assert_eq!(a[(0, 2)], 3.0);
            assert_eq!(a[(1, 0)], 4.0);
            assert_eq!(&to_ndarray(&a), x);
        }
        let t = c_order.t().to_owned();
        assert_eq!(to_nalgebra(&t), to_nalgebra(&c_order).transpose());
    }

    #[test]
    fn singular_value_threshold_shrinks_and_counts() {
        // diag(3, 1, 0.5) thresholded at 0.75 keeps diag(2.25, 0.25, 0) of rank 2.
        let a = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![1.0, 3.0, 0.5]));
        let (l, rank) = singular_value_threshold(a, 0.75).unwrap();
        assert_eq!(rank, 2);
        let want = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![0.25, 2.25, 0.0]));
        assert!((l - want).amax() < 1e-12);
    }
}
