//! 2-D mixtures of Gaussians for studying mode collapse (VEEGAN, PacGAN): a ring of 8
//! and a 5x5 grid. Each knows its modes and sigma, so an evaluation can count the
//! modes a generator captures.

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, Result};
use rand::{Rng, SeedableRng};

/// An isotropic mixture of equally weighted 2-D Gaussians.
#[derive(Clone, Debug, PartialEq)]
pub struct ToyDistribution {
    name: String,
    modes: Vec<[f32; 2]>,
    sigma: f32,
}

/// Shape of one toy sample as a dataset item: two values (x, y).
pub const TOY_SHAPE: ImageShape = ImageShape::new(2, 1, 1);

impl ToyDistribution {
    /// A mixture with the given means and standard deviation.
    pub fn new(name: impl Into<String>, modes: Vec<[f32; 2]>, sigma: f32) -> Result<Self> {
        if modes.is_empty() || !(sigma.is_finite() && sigma > 0.0) {
            return Err(DataError::InvalidArgument(format!(
                "toy distribution with {} modes and sigma {sigma}; expected at least one \
                 mode and a finite sigma above zero",
                modes.len()
            )));
        }
        Ok(ToyDistribution {
            name: name.into(),
            modes,
            sigma,
        })
    }

    /// `n` Gaussians evenly spaced on a circle of `radius`, the first at angle 0.
    pub fn ring(n: usize, radius: f32, sigma: f32) -> Result<Self> {
        let modes = (0..n)
            .map(|i| {
                let a = std::f32::consts::TAU * i as f32 / n as f32;
                [radius * a.cos(), radius * a.sin()]
            })
            .collect();
        Self::new(format!("ring{n}"), modes, sigma)
    }

    /// The ring of 8 of PacGAN: radius 1, sigma 0.01.
    pub fn ring8() -> Self {
        Self::ring(8, 1.0, 0.01).expect("valid preset")
    }

    /// The ring of 8 of VEEGAN and unrolled GANs: radius 2, sigma 0.02.
    pub fn ring8_wide() -> Self {
        Self::ring(8, 2.0, 0.02).expect("valid preset")
    }

    /// The 5x5 grid: means in {-4, -2, 0, 2, 4}^2, sigma 0.05.
    pub fn grid25() -> Self {
        let coords = [-4.0, -2.0, 0.0, 2.0, 4.0];
        let modes = coords
            .iter()
            .flat_map(|&x| coords.iter().map(move |&y| [x, y]))
            .collect();
        Self::new("grid25", modes, 0.05).expect("valid preset")
    }

    /// A short name ("ring8", "grid25").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The means of the Gaussians.
    pub fn modes(&self) -> &[[f32; 2]] {
        &self.modes
    }

    /// The standard deviation of every Gaussian (per coordinate).
    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    /// `n` points drawn with `seed`, as x0, y0, x1, y1 ..., with the mode of each.
    pub fn sample_with_modes(&self, n: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut points = Vec::with_capacity(2 * n);
        let mut modes = Vec::with_capacity(n);
        for _ in 0..n {
            let m = rng.random_range(0..self.modes.len());
            let (gx, gy) = gaussian_pair(&mut rng);
            points.push(self.modes[m][0] + self.sigma * gx);
            points.push(self.modes[m][1] + self.sigma * gy);
            modes.push(m as u32);
        }
        (points, modes)
    }

    /// `n` points drawn with `seed`, as x0, y0, x1, y1 ...
    pub fn sample(&self, n: usize, seed: u64) -> Vec<f32> {
        self.sample_with_modes(n, seed).0
    }

    /// `n` points as a dataset of shape (2, 1, 1), labelled with their mode. The values
    /// keep the distribution's scale (the grid spans about +-4), they are not in [-1, 1].
    pub fn sample_dataset(&self, n: usize, seed: u64) -> Result<Dataset> {
        let (points, labels) = self.sample_with_modes(n, seed);
        Dataset::new(points, TOY_SHAPE, Some(labels), self.modes.len())
    }

    /// The nearest mode of point (x, y) and its distance.
    pub fn nearest_mode(&self, x: f32, y: f32) -> (usize, f32) {
        self.modes
            .iter()
            .map(|m| (m[0] - x).hypot(m[1] - y))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("at least one mode")
    }

    /// Assign each point (x, y pairs) to its nearest mode; points farther than
    /// `max_sigmas` * sigma from every mode are low quality (VEEGAN and PacGAN use 3).
    pub fn coverage(&self, points: &[f32], max_sigmas: f32) -> Coverage {
        let mut counts = vec![0; self.modes.len()];
        let mut total = 0;
        for p in points.chunks_exact(2) {
            total += 1;
            let (m, d) = self.nearest_mode(p[0], p[1]);
            if d <= max_sigmas * self.sigma {
                counts[m] += 1;
            }
        }
        Coverage { counts, total }
    }
}

/// Two independent standard normal values (Box-Muller).
fn gaussian_pair(rng: &mut impl Rng) -> (f32, f32) {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]: ln is finite
    let u2: f64 = rng.random();
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    ((r * t.cos()) as f32, (r * t.sin()) as f32)
}

/// How generated points spread over the modes of a [`ToyDistribution`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// High-quality points assigned to each mode.
    pub counts: Vec<usize>,
    /// All points looked at.
    pub total: usize,
}

impl Coverage {
    /// Points within the distance threshold of some mode.
    pub fn high_quality(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Fraction of points that are high quality (0 when there is none).
    pub fn high_quality_fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.high_quality() as f64 / self.total as f64
        }
    }

    /// Modes with at least `min_count` high-quality points.
    pub fn modes_captured(&self, min_count: usize) -> usize {
        self.counts
            .iter()
            .filter(|&&c| c >= min_count.max(1))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_published_modes() {
        let g = ToyDistribution::grid25();
        assert_eq!(g.modes().len(), 25);
        assert!(g.modes().contains(&[-4.0, 4.0]));
        assert_eq!(g.sigma(), 0.05);
        let r = ToyDistribution::ring8();
        assert_eq!(r.modes().len(), 8);
        for m in r.modes() {
            assert!((m[0].hypot(m[1]) - 1.0).abs() < 1e-6);
        }
        assert_eq!(ToyDistribution::ring8_wide().sigma(), 0.02);
    }

    #[test]
    fn samples_cover_every_mode_and_stay_close() {
        for dist in [ToyDistribution::ring8(), ToyDistribution::grid25()] {
            let pts = dist.sample(5000, 7);
            assert_eq!(pts, dist.sample(5000, 7), "seeded");
            let cov = dist.coverage(&pts, 3.0);
            assert_eq!(cov.modes_captured(1), dist.modes().len());
            assert!(cov.high_quality_fraction() > 0.97, "{cov:?}");
        }
    }

    #[test]
    fn samples_have_the_stated_sigma() {
        let dist = ToyDistribution::ring8_wide();
        let (pts, modes) = dist.sample_with_modes(20000, 3);
        let mut sq = 0.0f64;
        for (p, &m) in pts.chunks_exact(2).zip(&modes) {
            let c = dist.modes()[m as usize];
            sq += ((p[0] - c[0]) as f64).powi(2) + ((p[1] - c[1]) as f64).powi(2);
        }
        let sd = (sq / (2.0 * modes.len() as f64)).sqrt();
        assert!((sd - 0.02).abs() < 0.001, "sd {sd}");
    }

    #[test]
    fn collapsed_samples_capture_one_mode() {
        let dist = ToyDistribution::grid25();
        let pts: Vec<f32> = [0.0, 0.0, 0.01, -0.01, 1.0, 1.0].to_vec();
        let cov = dist.coverage(&pts, 3.0);
        assert_eq!(cov.modes_captured(1), 1);
        assert_eq!(cov.high_quality(), 2);
        assert_eq!(cov.total, 3);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(ToyDistribution::ring(0, 1.0, 0.01).is_err());
        assert!(ToyDistribution::ring(8, 1.0, 0.0).is_err());
        assert!(ToyDistribution::ring(8, 1.0, f32::NAN).is_err());
    }
}
