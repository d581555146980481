//! The two players, built from a [`Config`] and the data's item shape.
//!
//! Both are `Sequential`s whose stores are built with the prefixes `gen` and `disc`, so
//! the checkpoint keys are those of `self.gen = nn.Sequential(...)` /
//! `self.disc = nn.Sequential(...)` in PyTorch (`gen.0.weight`, `disc.3.running_mean`).
//! The generator maps z `[B, latent_dim]` to items `[B, C, H, W]` (2-D toy data:
//! `[B, 2]`); the discriminator maps items packed `pack` at a time
//! (`[B/pack, pack*C, H, W]`, toy `[B/pack, 2*pack]`) to logits `[B/pack, 1]`.
//! With `g_batchnorm` and `d_maxout` the MLPs are PacGAN's 2-D players (Lin et al. 2018,
//! fjxmlzn/PacGAN `synthetic_data_experiments`): hidden layers `Linear(bias=False),
//! BatchNorm1d, ReLU` in G, `Maxout` (`disc.0.lin.weight` ...) in D.

use gan_data::ImageShape;
use gan_nn::{
    BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Flatten, LeakyReLU, Linear, Maxout,
    ReLU, Reshape, Sequential, Tanh,
};

use crate::config::{Arch, Config};
use crate::data::DataSpec;
use crate::error::{Result, TrainError};

/// What the players generate and judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemShape {
    /// Images (C, H, W), values in [-1, 1].
    Image(ImageShape),
    /// Points of this many coordinates (2 for the 2-D mixtures).
    Points(usize),
}

impl ItemShape {
    /// The items of a run of `cfg` on data of `data_shape`: 2-D points for the toy
    /// mixtures, images otherwise.
    pub fn for_config(cfg: &Config, data_shape: ImageShape) -> ItemShape {
        if DataSpec::parse(&cfg.dataset).is_ok_and(|s| s.is_toy()) {
            ItemShape::Points(2)
        } else {
            ItemShape::Image(data_shape)
        }
    }

    /// Values per item.
    pub fn numel(&self) -> usize {
        match self {
            ItemShape::Image(s) => s.channels * s.height * s.width,
            ItemShape::Points(d) => *d,
        }
    }

    /// Dims of a batch of `n` items as the players see them.
    pub fn batch_dims(&self, n: usize) -> Vec<usize> {
        match self {
            ItemShape::Image(s) => vec![n, s.channels, s.height, s.width],
            ItemShape::Points(d) => vec![n, *d],
        }
    }

    /// The shape as gan-data names it (points: d x 1 x 1).
    pub fn image_shape(&self) -> ImageShape {
        match self {
            ItemShape::Image(s) => *s,
            ItemShape::Points(d) => ImageShape {
                channels: *d,
                height: 1,
                width: 1,
            },
        }
    }
}

/// The generator for `cfg` (resolved) and items of `item`.
pub fn generator(cfg: &Config, item: ItemShape) -> Result<Sequential> {
    let slope = cfg.leaky_slope as f32;
    let sn = |l: Linear| sn_linear(l, cfg.spectral_norm.on_g());
    match (cfg.arch, item) {
        (Arch::Mlp, _) => {
            let mut g = Sequential::new();
            let mut width = cfg.latent_dim;
            for &h in &cfg.g_hidden {
                if cfg.g_batchnorm {
                    // PacGAN's 2-D generator: no bias before the BatchNorm's shift.
                    g.push(sn(Linear::new(width, h).no_bias()));
                    g.push(BatchNorm1d::new(h));
                    g.push(ReLU);
                } else {
                    g.push(sn(Linear::new(width, h)));
                    g.push(LeakyReLU::new(slope));
                }
                width = h;
            }
            g.push(sn(Linear::new(width, item.numel())));
            if let ItemShape::Image(s) = item {
                g.push(Tanh);
                g.push(Reshape::new(&[s.channels, s.height, s.width]));
            }
            Ok(g)
        }
        (Arch::Dcgan, ItemShape::Image(s)) => {
            let (z, f, c) = (cfg.latent_dim, cfg.ngf, s.channels);
            let mut g = Sequential::new().add(Reshape::new(&[z, 1, 1]));
            match (s.height, s.width) {
                (28, 28) => {
                    // 1 -> 7 -> 14 -> 28
                    g.push(ConvTranspose2d::new(z, 2 * f, 7).no_bias());
                    g.push(BatchNorm2d::new(2 * f));
                    g.push(ReLU);
                    g.push(
                        ConvTranspose2d::new(2 * f, f, 4)
                            .stride(2)
                            .padding(1)
                            .no_bias(),
                    );
                    g.push(BatchNorm2d::new(f));
                    g.push(ReLU);
                    g.push(ConvTranspose2d::new(f, c, 4).stride(2).padding(1).no_bias());
                }
                (32, 32) => {
                    // 1 -> 4 -> 8 -> 16 -> 32
                    g.push(ConvTranspose2d::new(z, 4 * f, 4).no_bias());
                    g.push(BatchNorm2d::new(4 * f));
                    g.push(ReLU);
                    g.push(
                        ConvTranspose2d::new(4 * f, 2 * f, 4)
                            .stride(2)
                            .padding(1)
                            .no_bias(),
                    );
                    g.push(BatchNorm2d::new(2 * f));
                    g.push(ReLU);
                    g.push(
                        ConvTranspose2d::new(2 * f, f, 4)
                            .stride(2)
                            .padding(1)
                            .no_bias(),
                    );
                    g.push(BatchNorm2d::new(f));
                    g.push(ReLU);
                    g.push(ConvTranspose2d::new(f, c, 4).stride(2).padding(1).no_bias());
                }
                (h, w) => return Err(dcgan_size(h, w)),
            }
            g.push(Tanh);
            Ok(g)
        }
        (Arch::DcganTf, ItemShape::Image(s)) => tf_generator(cfg, s),
        (Arch::Dcgan | Arch::DcganTf, ItemShape::Points(_)) => Err(TrainError::Config(format!(
            "{} needs images; use arch = \"mlp\" for 2-D data",
            cfg.arch
        ))),
    }
}

fn dcgan_size(h: usize, w: usize) -> TrainError {
    TrainError::Config(format!(
        "dcgan is sized for 28x28 or 32x32 images, the data are {h}x{w}; use arch = \"mlp\" \
         or resize the images"
    ))
}

/// The discriminator for `cfg` (resolved) and items of `item` (logits out).
pub fn discriminator(cfg: &Config, item: ItemShape) -> Result<Sequential> {
    let slope = cfg.leaky_slope as f32;
    let m = cfg.pack;
    let on = cfg.spectral_norm.on_d();
    let sn = |l: Linear| sn_linear(l, on);
    let conv = |c: Conv2d| if on { c.spectral_norm() } else { c };
    match (cfg.arch, item) {
        (Arch::Mlp, _) => {
            let mut d = Sequential::new();
            if let ItemShape::Image(_) = item {
                d.push(Flatten);
            }
            let mut width = item.numel() * m;
            for &h in &cfg.d_hidden {
                if cfg.d_maxout > 0 {
                    d.push(Maxout::new(width, h, cfg.d_maxout));
                } else {
                    d.push(sn(Linear::new(width, h)));
                    d.push(LeakyReLU::new(slope));
                }
                if cfg.dropout() > 0.0 {
                    d.push(Dropout::new(cfg.dropout() as f32));
                }
                width = h;
            }
            d.push(sn(Linear::new(width, 1)));
            Ok(d)
        }
        (Arch::Dcgan, ItemShape::Image(s)) => {
            let (f, c) = (cfg.ndf, s.channels * m);
            let mut d = Sequential::new();
            d.push(conv(Conv2d::new(c, f, 4).stride(2).padding(1).no_bias()));
            d.push(LeakyReLU::new(slope));
            d.push(conv(
                Conv2d::new(f, 2 * f, 4).stride(2).padding(1).no_bias(),
            ));
            d.push(BatchNorm2d::new(2 * f));
            d.push(LeakyReLU::new(slope));
            match (s.height, s.width) {
                // 28 -> 14 -> 7 -> 1
                (28, 28) => d.push(conv(Conv2d::new(2 * f, 1, 7).no_bias())),
                // 32 -> 16 -> 8 -> 4 -> 1
                (32, 32) => {
                    d.push(conv(
                        Conv2d::new(2 * f, 4 * f, 4).stride(2).padding(1).no_bias(),
                    ));
                    d.push(BatchNorm2d::new(4 * f));
                    d.push(LeakyReLU::new(slope));
                    d.push(conv(Conv2d::new(4 * f, 1, 4).no_bias()));
                }
                (h, w) => return Err(dcgan_size(h, w)),
            }
            d.push(Flatten);
            Ok(d)
        }
        (Arch::DcganTf, ItemShape::Image(s)) => tf_discriminator(cfg, s, conv),
        (Arch::Dcgan | Arch::DcganTf, ItemShape::Points(_)) => Err(TrainError::Config(format!(
            "{} needs images; use arch = \"mlp\" for 2-D data",
            cfg.arch
        ))),
    }
}

/// The sides of carpedm20's DCGAN: the image's and 4 halvings rounded up ("SAME"
/// convolutions of stride 2): 28 -> 14 -> 7 -> 4 -> 2, 32 -> 16 -> 8 -> 4 -> 2.
pub fn tf_sides(s: ImageShape) -> Result<[usize; 5]> {
    if s.height != s.width || s.height < 16 {
        return Err(TrainError::Config(format!(
            "dcgan-tf is built for square images of at least 16x16, the data are {}x{}; use \
             arch = \"dcgan\" or \"mlp\"",
            s.height, s.width
        )));
    }
    let mut sides = [s.height; 5];
    for i in 1..5 {
        sides[i] = sides[i - 1].div_ceil(2);
    }
    Ok(sides)
}

/// carpedm20/DCGAN-tensorflow's generator (model.py `generator`, ops.py `linear`,
/// `deconv2d`: 5x5, stride 2, with biases): Linear(z, 8 ngf x s16 x s16), BN, ReLU, then
/// 4 transposed convolutions doubling the side (padding 2, output padding to reach the
/// next side: 2 -> 4 -> 7 -> 14 -> 28), BN + ReLU after each but the last, tanh.
fn tf_generator(cfg: &Config, s: ImageShape) -> Result<Sequential> {
    let sides = tf_sides(s)?;
    let (z, f) = (cfg.latent_dim, cfg.ngf);
    let widths = [8 * f, 4 * f, 2 * f, f, s.channels];
    let mut g = Sequential::new()
        .add(Linear::new(z, widths[0] * sides[4] * sides[4]))
        .add(Reshape::new(&[widths[0], sides[4], sides[4]]))
        .add(BatchNorm2d::new(widths[0]))
        .add(ReLU);
    for i in 0..4 {
        let (from, to) = (sides[4 - i], sides[3 - i]);
        // (from - 1) * 2 - 2 * 2 + 5 = 2 from - 1; the output padding makes up the rest.
        let t = ConvTranspose2d::new(widths[i], widths[i + 1], 5)
            .stride(2)
            .padding(2)
            .output_padding(to + 1 - 2 * from);
        g.push(t);
        if i < 3 {
            g.push(BatchNorm2d::new(widths[i + 1]));
            g.push(ReLU);
        }
    }
    g.push(Tanh);
    Ok(g)
}

/// carpedm20/DCGAN-tensorflow's discriminator (model.py `discriminator`): 4 convolutions
/// 5x5, stride 2, padding 2, with biases (ndf, 2, 4, 8 ndf), LeakyReLU after each and BN
/// before it on all but the first, then a Linear logit.
fn tf_discriminator(
    cfg: &Config,
    s: ImageShape,
    conv: impl Fn(Conv2d) -> Conv2d,
) -> Result<Sequential> {
    let sides = tf_sides(s)?;
    let slope = cfg.leaky_slope as f32;
    let f = cfg.ndf;
    let widths = [s.channels * cfg.pack, f, 2 * f, 4 * f, 8 * f];
    let mut d = Sequential::new();
    for i in 0..4 {
        d.push(conv(
            Conv2d::new(widths[i], widths[i + 1], 5)
                .stride(2)
                .padding(2),
        ));
        if i > 0 {
            d.push(BatchNorm2d::new(widths[i + 1]));
        }
        d.push(LeakyReLU::new(slope));
    }
    d.push(Flatten);
    let lin = Linear::new(widths[4] * sides[4] * sides[4], 1);
    d.push(sn_linear(lin, cfg.spectral_norm.on_d()));
    Ok(d)
}

/// `l` spectrally normalized when `on`.
fn sn_linear(l: Linear, on: bool) -> Linear {
    if on {
        l.spectral_norm()
    } else {
        l
    }
}
