//! Mode collapse on 2-D Gaussian mixtures, with the protocol of VEEGAN (Srivastava et
//! al. 2017) and PacGAN (Lin et al. 2018): draw 2500 samples; a sample is high quality
//! when it lies within 3 sigma of its nearest mode; a mode is captured when at least one
//! high-quality sample is nearest to it. The reverse KL (as PacGAN reports it) is
//! KL(p_g || p) between the mode histogram of the high-quality samples, p_g, and the
//! true mode distribution, p, here uniform: sum over non-empty modes of
//! p_g,i ln(p_g,i K). "Reverse" is the model-first direction; it stays finite when the
//! generator misses modes (an empty mode adds 0 ln 0 = 0), is 0 for a perfectly even
//! spread and ln K when every high-quality sample sits on one mode, and is undefined
//! (None) when no sample is high quality. (PacGAN's public code logs the JSD of the same
//! histograms; the paper reports a reverse KL.) Distances are Euclidean: the mixtures are
//! isotropic with one sigma, where the code's per-coordinate Mahalanobis distance is
//! the same test.

use gan_data::ToyDistribution;
use serde::Serialize;

use super::classes::kl_to_uniform;
use crate::error::Result;
use crate::plot::{scatter_chart_png, Circles, Points, Scatter};

/// Colour of the 3-sigma circles of [`modes_png`].
pub const CIRCLE: [u8; 3] = [30, 60, 220];
/// Colour of the generated points of [`modes_png`].
pub const POINT: [u8; 3] = [220, 30, 30];

/// Samples of the protocol.
pub const SAMPLES: usize = 2500;
/// The high-quality radius in units of sigma.
pub const MAX_SIGMAS: f32 = 3.0;

/// Mode-collapse scores of generated 2-D points.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModeScores {
    /// The mixture ("ring8", "grid25" ...).
    pub distribution: String,
    /// Its number of modes.
    pub modes: usize,
    /// Its sigma.
    pub sigma: f32,
    /// Points judged.
    pub samples: usize,
    /// High-quality points nearest to each mode.
    pub counts: Vec<usize>,
    /// Modes with at least one high-quality point.
    pub modes_captured: usize,
    /// Percentage (0-100) of points within 3 sigma of their nearest mode.
    pub high_quality_percent: f64,
    /// KL(p_g || uniform) in nats of the high-quality points' mode histogram; None
    /// when no point is high quality.
    pub reverse_kl: Option<f64>,
}

/// Scores of `points` (x0, y0, x1, y1 ...) against `dist`.
pub fn mode_scores(dist: &ToyDistribution, points: &[f32]) -> ModeScores {
    let cov = dist.coverage(points, MAX_SIGMAS);
    ModeScores {
        distribution: dist.name().to_string(),
        modes: dist.modes().len(),
        sigma: dist.sigma(),
        samples: cov.total,
        modes_captured: cov.modes_captured(1),
        high_quality_percent: 100.0 * cov.high_quality_fraction(),
        reverse_kl: kl_to_uniform(&cov.counts),
        counts: cov.counts,
    }
}

/// A 640 x 640 PNG of `points` (red) with the modes of `dist` drawn over them: each
/// mode's 3-sigma circle (blue, at least 3 pixels in radius so that narrow modes stay
/// visible) and its centre (black). The view spans the modes plus a margin, so points far
/// outside fall off the picture; their share is the 100 - high_quality_percent of the
/// scores.
pub fn modes_png(dist: &ToyDistribution, points: &[f32]) -> Result<Vec<u8>> {
    let lim = dist
        .modes()
        .iter()
        .fold(0.0f32, |m, p| m.max(p[0].abs()).max(p[1].abs()))
        * 1.25
        + 6.0 * dist.sigma();
    let title = format!("Generated samples and the modes of {}", dist.name());
    let label = format!("{MAX_SIGMAS}-sigma circle of a mode");
    scatter_chart_png(&Scatter {
        title: &title,
        points: vec![Points {
            xy: points,
            color: POINT,
            size: 2,
            label: "generated",
        }],
        circles: Some(Circles {
            centres: dist.modes(),
            radius: MAX_SIGMAS * dist.sigma(),
            min_pixels: 3.0,
            color: CIRCLE,
            label: &label,
        }),
        lim: lim as f64,
        size: 640,
    })
}
