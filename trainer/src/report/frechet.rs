//! The fixed feature space in which sample quality is judged: a PCA of the training data, the
//! Fréchet distance between Gaussian fits of two feature sets, and a diversity figure.
//!
//! There is no pretrained Inception network offline, so the PCA stands in for FID's feature
//! extractor. Distances are comparable only between sets projected with the same fitted
//! [`PcaFeatures`].

use nalgebra::{DMatrix, DVector, Dyn, SymmetricEigen};

use crate::error::{Error, Result};

/// Rows converted to f64 per matrix product: bounds the temporary copies to a few tens of MB
/// per thread for 784-pixel images while keeping the products large enough to run at full speed.
const CHUNK_ROWS: usize = 4096;

/// A principal-component basis fitted on training data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PcaFeatures {
    /// Per-dimension mean of the training data (`dim` values).
    pub mean: Vec<f32>,
    /// `k` unit-length components of `dim` values each, row-major, by decreasing variance.
    pub components: Vec<f32>,
    pub dim: usize,
    pub k: usize,
    /// The variance of the training data along each component (its covariance eigenvalue).
    pub explained: Vec<f64>,
}

impl PcaFeatures {
    /// Fits the top `k` principal components of `data`, rows of `dim` values.
    ///
    /// Each component's sign is chosen so that its entry of largest magnitude is positive:
    /// eigenvectors are otherwise defined only up to sign, and features of two fits on the same
    /// data should agree.
    pub fn fit(data: &[f32], dim: usize, k: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::Config(
                "PCA needs data of at least one dimension".into(),
            ));
        }
        if k == 0 || k > dim {
            return Err(Error::Config(format!(
                "PCA cannot keep {k} components of {dim}-dimensional data"
            )));
        }
        if !data.len().is_multiple_of(dim) {
            return Err(Error::Config(format!(
                "PCA data of {} values is not a whole number of {dim}-value rows",
                data.len()
            )));
        }
        let n = data.len() / dim;
        if n < 2 {
            return Err(Error::Config(format!(
                "PCA needs at least 2 rows of data, got {n}"
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "PCA data value #{i} is {}; data must be finite",
                data[i]
            )));
        }

        let mean = column_means(data, dim);
        let cov = scatter_matrix(data, dim, &mean) / (n - 1) as f64;
        let eigen = symmetric_eigen(cov, "PCA covariance")?;

        let mut order: Vec<usize> = (0..dim).collect();
        // Stable sort, so equal eigenvalues keep a deterministic order.
        order.sort_by(|&i, &j| eigen.eigenvalues[j].total_cmp(&eigen.eigenvalues[i]));

        let mut components = Vec::with_capacity(k * dim);
        let mut explained = Vec::with_capacity(k);
        for &c in &order[..k] {
            let v = eigen.eigenvectors.column(c);
            let mut pivot = 0;
            for (i, x) in v.iter().enumerate() {
                if x.abs() > v[pivot].abs() {
                    pivot = i;
                }
            }
            let sign = if v[pivot] < 0.0 { -1.0 } else { 1.0 };
            components.extend(v.iter().map(|&x| (sign * x) as f32));
            // A covariance is positive semi-definite; negative values are rounding.
            explained.push(eigen.eigenvalues[c].max(0.0));
        }

        Ok(Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            components,
            dim,
            k,
            explained,
        })
    }

    /// Projects rows of `dim` values onto the components: `n × k` features, row-major. A
    /// trailing partial row is ignored.
    pub fn project(&self, data: &[f32]) -> Vec<f64> {
        if self.dim == 0 {
            return Vec::new();
        }
        let k = self.components.len() / self.dim;
        let basis = DMatrix::from_iterator(
            self.dim,
            k,
            self.components[..k * self.dim]
                .iter()
                .map(|&c| f64::from(c)),
        )
        .transpose();
        let mean: Vec<f64> = self.mean.iter().map(|&m| f64::from(m)).collect();
        let rows = data.len() / self.dim;
        let mut out = Vec::with_capacity(rows * k);
        for chunk in data[..rows * self.dim].chunks(CHUNK_ROWS * self.dim) {
            // k × m, column-major: column j holds the features of the chunk's row j, so the
            // storage is already the row-major n × k layout.
            let features = &basis * centred_columns(chunk, self.dim, &mean);
            out.extend_from_slice(features.as_slice());
        }
        out
    }
}

/// The Fréchet distance between Gaussian fits (mean, unbiased covariance) of two sets of
/// `k`-dimensional features, rows of `a` and `b`:
/// `‖μa − μb‖² + Tr(Ca + Cb − 2 (Ca Cb)^½)`.
///
/// `Ca Cb` is not symmetric, so `Tr (Ca Cb)^½` is taken as the sum of square roots of the
/// eigenvalues of the similar, symmetric `Ca^½ Cb Ca^½`, which a symmetric eigensolver handles
/// stably even when the covariances are singular.
pub fn frechet_distance(a: &[f64], b: &[f64], k: usize) -> Result<f64> {
    let (mu_a, cov_a) = gaussian_fit(a, k, "first")?;
    let (mu_b, cov_b) = gaussian_fit(b, k, "second")?;

    let eig_a = symmetric_eigen(cov_a.clone(), "first feature covariance")?;
    let roots = eig_a.eigenvalues.map(|l| l.max(0.0).sqrt());
    let sqrt_a =
        &eig_a.eigenvectors * DMatrix::from_diagonal(&roots) * eig_a.eigenvectors.transpose();
    let product = &sqrt_a * &cov_b * &sqrt_a;
    // Rounding leaves the product slightly asymmetric, and the solver reads one triangle only.
    let product = (&product + product.transpose()) * 0.5;
    let tr_sqrt: f64 = symmetric_eigen(product, "covariance product")?
        .eigenvalues
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();

    let distance = (mu_a - mu_b).norm_squared() + cov_a.trace() + cov_b.trace() - 2.0 * tr_sqrt;
    // Identical sets give a tiny negative value from rounding.
    Ok(distance.max(0.0))
}

/// Mean Euclidean distance over all pairs of the first `min(n, max_rows)` rows of `data`
/// (rows of `dim` values): how spread out a set of samples is, so that a collapsed generator
/// shows up even when its samples look good. 0.0 with fewer than two rows.
pub fn mean_pairwise_distance(data: &[f32], dim: usize, max_rows: usize) -> f64 {
    if dim == 0 {
        return 0.0;
    }
    let m = (data.len() / dim).min(max_rows);
    if m < 2 {
        return 0.0;
    }
    let rows: Vec<&[f32]> = data.chunks_exact(dim).take(m).collect();
    let mut total = 0.0;
    for (i, x) in rows.iter().enumerate() {
        for y in &rows[i + 1..] {
            let sq: f64 = x
                .iter()
                .zip(y.iter())
                .map(|(&p, &q)| {
                    let d = f64::from(p) - f64::from(q);
                    d * d
                })
                .sum();
            total += sq.sqrt();
        }
    }
    total / (m * (m - 1) / 2) as f64
}

fn column_means(data: &[f32], dim: usize) -> Vec<f64> {
    let mut sums = vec![0.0f64; dim];
    for row in data.chunks_exact(dim) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let n = (data.len() / dim) as f64;
    sums.iter().map(|s| s / n).collect()
}

/// Rows of `chunk`, minus `mean`, as the columns of a `dim × m` matrix. Row-major rows laid end
/// to end are exactly nalgebra's column-major storage of that matrix, so this is a plain copy.
fn centred_columns(chunk: &[f32], dim: usize, mean: &[f64]) -> DMatrix<f64> {
    DMatrix::from_iterator(
        dim,
        chunk.len() / dim,
        chunk
            .iter()
            .zip(mean.iter().cycle())
            .map(|(&v, &mu)| f64::from(v) - mu),
    )
}

/// `Σ (x − mean)(x − mean)ᵀ` over the rows of `data`, as chunked matrix products spread over
/// the available cores: a 60000 × 784 training set is about 7·10¹⁰ flops.
fn scatter_matrix(data: &[f32], dim: usize, mean: &[f64]) -> DMatrix<f64> {
    let rows = data.len() / dim;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(rows.div_ceil(CHUNK_ROWS))
        .max(1);
    let rows_per_thread = rows.div_ceil(threads);
    let partial = |part: &[f32]| {
        let mut acc = DMatrix::<f64>::zeros(dim, dim);
        for chunk in part.chunks(CHUNK_ROWS * dim) {
            let xt = centred_columns(chunk, dim, mean);
            acc.gemm(1.0, &xt, &xt.transpose(), 1.0);
        }
        acc
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(rows_per_thread * dim)
            .map(|part| s.spawn(move || partial(part)))
            .collect();
        handles
            .into_iter()
            .fold(DMatrix::zeros(dim, dim), |acc, h| {
                acc + h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
    })
}

/// Mean and unbiased covariance of rows of `k` values; `which` names the set in errors.
fn gaussian_fit(data: &[f64], k: usize, which: &str) -> Result<(DVector<f64>, DMatrix<f64>)> {
    if k == 0 {
        return Err(Error::Config(
            "Fréchet distance needs at least one feature".into(),
        ));
    }
    if !data.len().is_multiple_of(k) {
        return Err(Error::Config(format!(
            "{which} feature set of {} values is not a whole number of {k}-value rows",
            data.len()
        )));
    }
    let n = data.len() / k;
    if n < 2 {
        return Err(Error::Config(format!(
            "{which} feature set needs at least 2 rows for a covariance, got {n}"
        )));
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err(Error::Config(format!(
            "{which} feature set contains non-finite values"
        )));
    }
    let x = DMatrix::from_column_slice(k, n, data);
    let mean = x.column_mean();
    let centred = DMatrix::from_fn(k, n, |i, j| x[(i, j)] - mean[i]);
    let cov = &centred * centred.transpose() / (n - 1) as f64;
    Ok((mean, cov))
}

/// nalgebra's QR iteration need not terminate on non-finite input, so that is refused first.
fn symmetric_eigen(m: DMatrix<f64>, what: &str) -> Result<SymmetricEigen<f64, Dyn>> {
    if m.iter().any(|v| !v.is_finite()) {
        return Err(Error::Config(format!("{what} is not finite")));
    }
    Ok(SymmetricEigen::new(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// An orthonormal pair in R^5 along no axis.
    fn basis() -> [[f64; 5]; 2] {
        let s7 = 7f64.sqrt();
        [
            [1.0 / s7, 2.0 / s7, 0.0, -1.0 / s7, 1.0 / s7],
            [0.0, 0.5, 0.5, 0.5, -0.5],
        ]
    }

    /// Points `offset + 3 z1 u1 + z2 u2 + 0.05 noise`: variances 9 and 1 in the plane.
    fn plane_data(n: usize, seed: u64) -> Vec<f32> {
        let [u1, u2] = basis();
        let offset = [0.5, -1.0, 2.0, 0.0, 0.25];
        let mut rng = SeededRng::new(seed);
        let mut data = Vec::with_capacity(n * 5);
        for _ in 0..n {
            let (z1, z2) = (3.0 * f64::from(rng.normal()), f64::from(rng.normal()));
            for ((o, a), b) in offset.iter().zip(u1).zip(u2) {
                let noise = 0.05 * f64::from(rng.normal());
                data.push((o + z1 * a + z2 * b + noise) as f32);
            }
        }
        data
    }

    fn component(pca: &PcaFeatures, c: usize) -> Vec<f64> {
        pca.components[c * pca.dim..(c + 1) * pca.dim]
            .iter()
            .map(|&x| f64::from(x))
            .collect()
    }

    #[test]
    fn pca_recovers_a_noisy_plane() {
        let pca = PcaFeatures::fit(&plane_data(4000, 1), 5, 2).expect("fits");
        assert_eq!((pca.dim, pca.k, pca.components.len()), (5, 2, 10));
        let (c1, c2) = (component(&pca, 0), component(&pca, 1));
        for (i, c) in [&c1, &c2].into_iter().enumerate() {
            assert!(
                (dot(c, c) - 1.0).abs() < 1e-5,
                "component {i} is unit length"
            );
        }
        assert!(dot(&c1, &c2).abs() < 1e-5, "components are orthogonal");
        for (i, u) in basis().iter().enumerate() {
            let in_span = dot(u, &c1).powi(2) + dot(u, &c2).powi(2);
            assert!(
                in_span > 0.999,
                "basis vector {i} lies in the span: {in_span}"
            );
        }
        // The larger variance is along u1, so the first component is ±u1.
        assert!(dot(&basis()[0], &c1).abs() > 0.999);
        // Sampling error of a variance over 4000 draws is about 2%.
        assert!((pca.explained[0] - 9.0).abs() < 0.9, "{:?}", pca.explained);
        assert!((pca.explained[1] - 1.0).abs() < 0.1, "{:?}", pca.explained);
        let offset = [0.5, -1.0, 2.0, 0.0, 0.25];
        for (m, o) in pca.mean.iter().zip(offset) {
            assert!((f64::from(*m) - o).abs() < 0.15, "mean {:?}", pca.mean);
        }
    }

    #[test]
    fn pca_signs_and_order_are_fixed() {
        let pca = PcaFeatures::fit(&plane_data(500, 2), 5, 4).expect("fits");
        for c in 0..pca.k {
            let v = component(&pca, c);
            let largest = v
                .iter()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { *x } else { m });
            assert!(largest > 0.0, "component {c} = {v:?}");
        }
        assert!(pca.explained.windows(2).all(|w| w[0] >= w[1]));
        // Refitting the same data gives the same basis.
        assert_eq!(
            pca,
            PcaFeatures::fit(&plane_data(500, 2), 5, 4).expect("fits")
        );
    }

    #[test]
    fn projection_measures_offsets_along_components() {
        let pca = PcaFeatures::fit(&plane_data(1000, 3), 5, 2).expect("fits");
        let c1 = component(&pca, 0);
        // The mean, and the mean moved 2 along the first component.
        let moved: Vec<f32> = pca
            .mean
            .iter()
            .zip(&c1)
            .map(|(&m, &c)| m + 2.0 * c as f32)
            .collect();
        let rows: Vec<f32> = pca.mean.iter().chain(&moved).copied().collect();
        let f = pca.project(&rows);
        assert_eq!(f.len(), 4);
        for (got, want) in f.iter().zip([0.0, 0.0, 2.0, 0.0]) {
            assert!((got - want).abs() < 1e-5, "features {f:?}");
        }
    }

    #[test]
    fn pca_rejects_bad_input() {
        let data = plane_data(10, 4);
        assert!(PcaFeatures::fit(&data, 0, 1).is_err(), "dim 0");
        assert!(PcaFeatures::fit(&data, 5, 0).is_err(), "k 0");
        assert!(PcaFeatures::fit(&data, 5, 6).is_err(), "k > dim");
        assert!(PcaFeatures::fit(&data[..49], 5, 2).is_err(), "partial row");
        assert!(PcaFeatures::fit(&data[..5], 5, 2).is_err(), "one row");
        let mut bad = data.clone();
        bad[7] = f32::NAN;
        assert!(PcaFeatures::fit(&bad, 5, 2).is_err(), "NaN");
        assert!(PcaFeatures::fit(&data, 5, 5).is_ok());
    }

    /// Four points whose sample mean is `mean` and whose unbiased covariance is
    /// `R diag(var) Rᵀ`, R a rotation by `angle`: ±p along one rotated axis, ±q along the other,
    /// with 2p²/3 = var.0 and 2q²/3 = var.1.
    fn cross(mean: (f64, f64), var: (f64, f64), angle: f64) -> Vec<f64> {
        let (p, q) = ((1.5 * var.0).sqrt(), (1.5 * var.1).sqrt());
        let (c, s) = (angle.cos(), angle.sin());
        let mut out = Vec::new();
        for (x, y) in [(p, 0.0), (-p, 0.0), (0.0, q), (0.0, -q)] {
            out.push(mean.0 + c * x - s * y);
            out.push(mean.1 + s * x + c * y);
        }
        out
    }

    #[test]
    fn frechet_matches_closed_form_for_diagonal_covariances() {
        let a = cross((0.0, 0.0), (4.0, 1.0), 0.0);
        let b = cross((1.0, 2.0), (1.0, 9.0), 0.0);
        // |Δμ|² = 5; Σ (√va − √vb)² = (2 − 1)² + (1 − 3)² = 5.
        let d = frechet_distance(&a, &b, 2).expect("computes");
        assert!((d - 10.0).abs() < 1e-9, "{d}");
        let back = frechet_distance(&b, &a, 2).expect("computes");
        assert!((back - d).abs() < 1e-9, "symmetric: {back} vs {d}");
    }

    #[test]
    fn frechet_matches_closed_form_for_non_commuting_covariances() {
        let angle = 0.5f64;
        let a = cross((0.0, 0.0), (4.0, 1.0), angle);
        let b = cross((0.0, 0.0), (1.0, 9.0), 0.0);
        // For 2 × 2 M with non-negative eigenvalues, Tr M^½ = √(Tr M + 2 √det M).
        let (c, s) = (angle.cos(), angle.sin());
        let ca = [
            [4.0 * c * c + s * s, 3.0 * c * s],
            [3.0 * c * s, 4.0 * s * s + c * c],
        ];
        let cb = [[1.0, 0.0], [0.0, 9.0]];
        let tr_ab = ca[0][0] * cb[0][0] + ca[1][1] * cb[1][1];
        let det_ab = 4.0 * 9.0;
        let tr_sqrt = (tr_ab + 2.0 * f64::sqrt(det_ab)).sqrt();
        let want = 5.0 + 10.0 - 2.0 * tr_sqrt;
        let got = frechet_distance(&a, &b, 2).expect("computes");
        assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
        // Rotating a changes the distance, so the off-diagonal terms are really used.
        let aligned = frechet_distance(&cross((0.0, 0.0), (4.0, 1.0), 0.0), &b, 2).expect("ok");
        assert!((got - aligned).abs() > 0.1, "{got} vs {aligned}");
    }

    #[test]
    fn frechet_of_a_set_with_itself_is_zero() {
        let mut rng = SeededRng::new(5);
        let a: Vec<f64> = (0..300)
            .map(|_| f64::from(rng.normal()) * 3.0 + 1.0)
            .collect();
        let d = frechet_distance(&a, &a, 3).expect("computes");
        assert!((0.0..1e-9).contains(&d), "{d}");
    }

    #[test]
    fn frechet_approaches_population_value_for_gaussian_samples() {
        // N((0, 0, 0), diag(1, 4, 0.25)) vs N((1, 0, -1), diag(4, 4, 1)):
        // |Δμ|² = 2; Σ (σa − σb)² = 1 + 0 + 0.25; total 3.25.
        let mut rng = SeededRng::new(6);
        let (sa, sb, mb) = ([1.0, 2.0, 0.5], [2.0, 2.0, 1.0], [1.0, 0.0, -1.0]);
        let n = 20_000;
        let mut a = Vec::with_capacity(n * 3);
        let mut b = Vec::with_capacity(n * 3);
        for _ in 0..n {
            for ((s_a, s_b), m_b) in sa.iter().zip(sb).zip(mb) {
                a.push(s_a * f64::from(rng.normal()));
                b.push(m_b + s_b * f64::from(rng.normal()));
            }
        }
        let d = frechet_distance(&a, &b, 3).expect("computes");
        assert!((d - 3.25).abs() < 0.15, "{d}");
    }

    #[test]
    fn frechet_rejects_bad_input() {
        let two_rows = [0.0, 1.0, 2.0, 3.0];
        assert!(
            frechet_distance(&two_rows[..2], &two_rows, 2).is_err(),
            "one row in a"
        );
        assert!(
            frechet_distance(&two_rows, &two_rows[..2], 2).is_err(),
            "one row in b"
        );
        assert!(frechet_distance(&two_rows, &two_rows, 0).is_err(), "k 0");
        assert!(
            frechet_distance(&two_rows, &two_rows, 3).is_err(),
            "partial row"
        );
        let nan = [0.0, f64::NAN, 2.0, 3.0];
        assert!(frechet_distance(&nan, &two_rows, 2).is_err(), "NaN");
        assert!(frechet_distance(&two_rows, &two_rows, 2).is_ok());
    }

    #[test]
    fn mean_pairwise_distance_of_a_3_4_5_triangle() {
        let pts = [0.0f32, 0.0, 3.0, 0.0, 0.0, 4.0];
        assert!((mean_pairwise_distance(&pts, 2, 10) - 4.0).abs() < 1e-12);
        assert!(
            (mean_pairwise_distance(&pts, 2, 2) - 3.0).abs() < 1e-12,
            "first two only"
        );
        assert_eq!(mean_pairwise_distance(&pts, 2, 1), 0.0);
        assert_eq!(mean_pairwise_distance(&pts[..2], 2, 10), 0.0);
        assert_eq!(mean_pairwise_distance(&pts, 0, 10), 0.0);
    }
}
