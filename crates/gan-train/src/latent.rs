//! Working in latent space at inference: the truncation trick (z pulled towards the
//! prior's mean) and paths between two latents (spherical or linear interpolation).
//! Training never calls these.

use gan_tensor::Tensor;

use crate::config::Prior;
use crate::error::{Result, TrainError};

/// Refuses a truncation `psi` outside (0, 1] (NaN included) with a message that says what
/// it means.
pub fn check_truncation(psi: f64) -> Result<()> {
    if psi > 0.0 && psi <= 1.0 {
        Ok(())
    } else {
        Err(TrainError::Config(format!(
            "truncation psi = {psi} must be in (0, 1]: 1 samples the prior as trained, smaller \
             values pull z towards the prior's mean 0 (e.g. 0.7) and trade variety for fidelity"
        )))
    }
}

/// The truncation trick in z space: z' = mean + psi (z - mean), with the prior's mean 0
/// for both priors, so z' = psi z, on the GPU. This is the "pulled towards the mean"
/// variant (StyleGAN's psi, Karras et al. 2019 sec. B, applied to z instead of w), not
/// BigGAN's resampling of coordinates beyond a threshold. `psi` = 1 returns `z` itself.
pub fn truncate(z: &Tensor, psi: f64) -> Result<Tensor> {
    check_truncation(psi)?;
    if psi == 1.0 {
        return Ok(z.clone());
    }
    Ok(z.mul_scalar(psi as f32)?)
}

/// How [`interpolate`] walks from one latent to the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Along the great circle (slerp, White 2016): keeps the norm that normal latents
    /// concentrate at, where a straight line passes through the unlikely region near 0.
    Spherical,
    /// Along the straight line: the natural path inside the uniform prior's cube.
    Linear,
}

impl Path {
    /// The default path for a prior: spherical for normal, linear for uniform.
    pub fn for_prior(prior: Prior) -> Path {
        match prior {
            Prior::Normal => Path::Spherical,
            Prior::Uniform => Path::Linear,
        }
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Path::Spherical => "spherical",
            Path::Linear => "linear",
        })
    }
}

/// (1 - t) a + t b.
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(x, y)| (1.0 - t) * x + t * y)
        .collect()
}

/// Spherical interpolation (White 2016, "Sampling Generative Networks", eq. 1 after
/// Shoemake 1985): sin((1 - t) w) / sin w a + sin(t w) / sin w b, with w the angle
/// between a and b. Falls back to [`lerp`] where sin w is too small to divide by (parallel
/// or opposite vectors, or a zero vector), so it never returns NaN for finite input.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return lerp(a, b, t);
    }
    let omega = (dot / (na * nb)).clamp(-1.0, 1.0).acos();
    let so = omega.sin();
    if so.abs() < 1e-6 {
        return lerp(a, b, t);
    }
    let t = t as f64;
    let (ca, cb) = (((1.0 - t) * omega).sin() / so, (t * omega).sin() / so);
    a.iter()
        .zip(b)
        .map(|(x, y)| (ca * *x as f64 + cb * *y as f64) as f32)
        .collect()
}

/// `steps` (at least 2) latents from `a` to `b` inclusive along `path`, row after row.
pub fn interpolate(a: &[f32], b: &[f32], steps: usize, path: Path) -> Result<Vec<f32>> {
    if steps < 2 || a.len() != b.len() {
        return Err(TrainError::Config(format!(
            "an interpolation needs at least 2 steps (got {steps}) between latents of one \
             dimension (got {} and {})",
            a.len(),
            b.len()
        )));
    }
    let mut z = Vec::with_capacity(steps * a.len());
    for s in 0..steps {
        let t = s as f32 / (steps - 1) as f32;
        z.extend(match path {
            Path::Spherical => slerp(a, b, t),
            Path::Linear => lerp(a, b, t),
        });
    }
    Ok(z)
}
