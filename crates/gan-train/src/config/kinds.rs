//! The enumerated settings of a [`super::Config`]: network family, prior, loss and
//! spectral normalization, with their config-file spellings.

use serde::{Deserialize, Serialize};

/// Network family of both players.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Fully connected players (Goodfellow et al. 2014); the only choice for 2-D toy data.
    Mlp,
    /// Convolutional players (Radford et al. 2015) for 28x28 or 32x32 images.
    Dcgan,
    /// The DCGAN of carpedm20/DCGAN-tensorflow, which VEEGAN's and PacGAN's Stacked MNIST
    /// experiments use: 5x5 stride-2 convolutions, G projecting z to 8 ngf x s/16 x s/16
    /// through a Linear, D with 4 convolutions (ndf, 2, 4, 8 ndf) and a Linear logit,
    /// biases everywhere, BatchNorm on every layer but D's first and G's last; square
    /// images of any size.
    #[serde(rename = "dcgan-tf")]
    #[value(name = "dcgan-tf")]
    DcganTf,
}

impl Arch {
    /// Convolutional players (either DCGAN).
    pub fn is_conv(self) -> bool {
        matches!(self, Arch::Dcgan | Arch::DcganTf)
    }
}

/// The prior P(z) of the latent code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Prior {
    /// U[-1, 1) per coordinate.
    Uniform,
    /// N(0, 1) per coordinate.
    Normal,
}

/// The game's loss: what both players descend (see [`crate::Objective`]). The name is
/// historical: it once chose only the generator's half.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GLoss {
    /// D: BCE; G minimises log(1 - D(G(z))) = -BCE(D_logit(G(z)), 0): the game as written.
    Minimax,
    /// D: BCE; G minimises -log D(G(z)) = BCE(D_logit(G(z)), 1): stronger gradients early on.
    NonSaturating,
    /// Hinge (Lim & Ye 2017; Miyato et al. 2018 eq. 17) on D's raw output: D minimises
    /// E relu(1 - D(x)) + E relu(1 + D(G(z))), G minimises -E D(G(z)).
    Hinge,
    /// Least squares (LSGAN, Mao et al. 2017 eq. 2, a = 0, b = c = 1) on D's raw output:
    /// D minimises 0.5 E (D(x) - 1)^2 + 0.5 E D(G(z))^2, G minimises 0.5 E (D(G(z)) - 1)^2.
    LeastSquares,
}

/// Which players' Linear and Conv2d weights are spectrally normalized (Miyato et al.
/// 2018; see `gan_nn::Linear::spectral_norm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SpectralNorm {
    /// Neither.
    None,
    /// The discriminator, last layer included (as Miyato et al.).
    D,
    /// The generator (MLP only: DCGAN's transposed convolutions are not normalized).
    G,
    /// Both players.
    Both,
}

impl SpectralNorm {
    /// True when the discriminator is normalized.
    pub fn on_d(self) -> bool {
        matches!(self, SpectralNorm::D | SpectralNorm::Both)
    }

    /// True when the generator is normalized.
    pub fn on_g(self) -> bool {
        matches!(self, SpectralNorm::G | SpectralNorm::Both)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arch::Mlp => "mlp",
            Arch::Dcgan => "dcgan",
            Arch::DcganTf => "dcgan-tf",
        })
    }
}

impl std::fmt::Display for Prior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Prior::Uniform => "uniform",
            Prior::Normal => "normal",
        })
    }
}

impl std::fmt::Display for GLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GLoss::Minimax => "minimax",
            GLoss::NonSaturating => "non-saturating",
            GLoss::Hinge => "hinge",
            GLoss::LeastSquares => "least-squares",
        })
    }
}
