//! The Frechet distance between two Gaussians fitted to feature vectors (Heusel et al.
//! 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
//! Equilibrium", eq. for the FID; Dowson and Landau 1982 for the closed form):
//!
//! d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}).
//!
//! S1 S2 is not symmetric, but it is similar to S1^{1/2} S2 S1^{1/2}, which is symmetric
//! positive semi-definite, so Tr((S1 S2)^{1/2}) = sum_i sqrt(lambda_i) over the
//! eigenvalues of S1^{1/2} S2 S1^{1/2}. Both square roots come from nalgebra's symmetric
//! eigendecomposition, with eigenvalues that rounding pushed below zero clamped to zero.
//! All arithmetic is f64 on the host: the features are 128-dimensional.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance of a set of feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianStats {
    /// Length of a feature vector.
    pub dim: usize,
    /// Number of vectors the statistics were computed from.
    pub count: usize,
    /// Mean vector.
    pub mean: Vec<f64>,
    /// Covariance, row-major `dim x dim`, unbiased (divides by count - 1, as numpy's
    /// `np.cov` that the reference FID code uses).
    pub cov: Vec<f64>,
}

impl GaussianStats {
    /// Statistics of `features`, row-major `[count, dim]`.
    ///
    /// # Panics
    /// When `dim` is 0 or `features.len()` is not a multiple of `dim`, or there are
    /// fewer than two vectors (no covariance).
    pub fn of(features: &[f32], dim: usize) -> Self {
        assert!(
            dim > 0 && features.len().is_multiple_of(dim),
            "features must be [count, {dim}]"
        );
        let count = features.len() / dim;
        assert!(count >= 2, "a covariance needs at least two vectors");
        let x = DMatrix::from_row_iterator(count, dim, features.iter().map(|&v| v as f64));
        let mean: DVector<f64> = x.row_mean().transpose();
        let mut centered = x;
        for mut row in centered.row_iter_mut() {
            row -= mean.transpose();
        }
        let cov = centered.tr_mul(&centered) / (count - 1) as f64;
        GaussianStats {
            dim,
            count,
            mean: mean.iter().copied().collect(),
            cov: cov.transpose().as_slice().to_vec(), // column-major -> row-major
        }
    }

    fn cov_matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.dim, self.dim, &self.cov)
    }
}

/// The square root of a symmetric positive semi-definite matrix (row-major `n x n`):
/// V diag(sqrt(max(lambda, 0))) V^T from the symmetric eigendecomposition.
pub fn sqrtm_psd(m: &[f64], n: usize) -> Vec<f64> {
    let s = sqrtm(&DMatrix::from_row_slice(n, n, m));
    s.transpose().as_slice().to_vec()
}

fn sqrtm(m: &DMatrix<f64>) -> DMatrix<f64> {
    // Symmetrise first: rounding in the covariance makes it asymmetric in the last bits.
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let roots = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&roots) * eig.eigenvectors.transpose()
}

/// Tr((S1 S2)^{1/2}) for symmetric positive semi-definite S1, S2 (row-major `n x n`).
pub fn trace_sqrt_product(s1: &[f64], s2: &[f64], n: usize) -> f64 {
    trace_sqrt(
        &DMatrix::from_row_slice(n, n, s1),
        &DMatrix::from_row_slice(n, n, s2),
    )
}

fn trace_sqrt(s1: &DMatrix<f64>, s2: &DMatrix<f64>) -> f64 {
    let r = sqrtm(s1);
    let inner = &r * s2 * &r;
    let sym = (&inner + inner.transpose()) * 0.5;
    SymmetricEigen::new(sym)
        .eigenvalues
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum()
}

/// The Frechet distance between the Gaussians of `a` and `b` (the squared form that FID
/// reports: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})), clamped at 0.
///
/// # Panics
/// When the feature lengths differ.
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> f64 {
    assert_eq!(a.dim, b.dim, "feature lengths differ");
    let mean_sq: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let (s1, s2) = (a.cov_matrix(), b.cov_matrix());
    let tr = s1.trace() + s2.trace() - 2.0 * trace_sqrt(&s1, &s2);
    (mean_sq + tr).max(0.0)
}
