//! Stacked MNIST (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): the MNIST
//! classifier labels each of the three channels of a generated image, giving one of
//! 1000 modes (100 red + 10 green + blue, gan-data's labelling); report the modes
//! captured over 26000 samples and KL(p_g || uniform) of the 1000-mode histogram.

use gan_data::stacked::STACKED_CLASSES;
use serde::Serialize;

use super::classes::kl_to_uniform;

/// Samples of the protocol.
pub const SAMPLES: usize = 26_000;

/// Published modes captured (of 1000), for comparison: DCGAN 99 and VEEGAN 150 as
/// reported by VEEGAN, PacGAN (PacDCGAN) 1000 as reported by PacGAN.
pub const ANCHORS: [(&str, f64); 3] = [("DCGAN", 99.0), ("VEEGAN", 150.0), ("PacGAN", 1000.0)];

/// Mode scores of generated Stacked MNIST images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StackedScores {
    /// Images judged.
    pub samples: usize,
    /// Modes (of 1000) with at least one image.
    pub modes_captured: usize,
    /// KL(p_g || uniform) in nats of the 1000-mode histogram; ln 1000 = 6.91 at worst.
    pub kl_to_uniform: f64,
    /// The most frequent modes, (mode, count), most frequent first (at most 10).
    pub top_modes: Vec<(u32, usize)>,
}

/// Scores of per-channel digits, three per image (red, green, blue).
///
/// # Panics
/// When the digits are not whole triples or a digit is above 9.
pub fn stacked_scores(digits: &[u32]) -> StackedScores {
    assert!(digits.len().is_multiple_of(3), "three digits per image");
    let mut hist = vec![0usize; STACKED_CLASSES];
    for d in digits.chunks_exact(3) {
        assert!(d.iter().all(|&v| v < 10), "digits are 0-9");
        hist[(100 * d[0] + 10 * d[1] + d[2]) as usize] += 1;
    }
    let mut top: Vec<(u32, usize)> = hist
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(m, &c)| (m as u32, c))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    StackedScores {
        samples: digits.len() / 3,
        modes_captured: hist.iter().filter(|&&c| c > 0).count(),
        kl_to_uniform: kl_to_uniform(&hist).unwrap_or(0.0),
        top_modes: top,
    }
}
