//! [`Config::validate`]: the checks of a config that do not need its data.

use super::{Arch, Config, GLoss};
use crate::data::DataSpec;
use crate::error::{Result, TrainError};

impl Config {
    /// Checks the values that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if self.pack == 0 || !self.batch_size.is_multiple_of(self.pack) {
            return bad(format!(
                "pack = {} must be at least 1 and divide batch_size = {}",
                self.pack, self.batch_size
            ));
        }
        let m = self.micro_batches;
        if m == 0
            || !self.batch_size.is_multiple_of(m)
            || !(self.batch_size / m).is_multiple_of(self.pack)
        {
            return bad(format!(
                "micro_batches = {m} must be at least 1 and split batch_size = {} into equal \
                 micro-batches of whole packs (pack = {}): use a divisor of {}",
                self.batch_size,
                self.pack,
                self.batch_size / self.pack.max(1)
            ));
        }
        if self.k == 0 {
            return bad("k (discriminator steps per generator step) must be at least 1".into());
        }
        if self.g_steps == 0 {
            return bad("g_steps (generator steps per iteration) must be at least 1".into());
        }
        if self.latent_dim == 0 {
            return bad("latent_dim must be at least 1".into());
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return bad(format!(
                "label_smoothing = {} must be in [0, 0.5)",
                self.label_smoothing
            ));
        }
        if self.loss == GLoss::Hinge && self.label_smoothing != 0.0 {
            return bad(format!(
                "label_smoothing = {} has no meaning for loss = \"hinge\" (it has no labels, only \
                 the margins 1 - D(x) and 1 + D(G(z))); set label_smoothing = 0 or use another loss",
                self.label_smoothing
            ));
        }
        if !(0.0..1.0).contains(&self.dropout()) {
            return bad(format!("dropout = {} must be in [0, 1)", self.dropout()));
        }
        for (n, v) in [("lr_g", self.lr_g()), ("lr_d", self.lr_d())] {
            if !(v > 0.0 && v.is_finite()) {
                return bad(format!("{n} = {v} must be positive"));
            }
        }
        for (n, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return bad(format!("{n} = {v} must be in [0, 1)"));
            }
        }
        if self.steps == 0 && self.epochs == 0 {
            return bad("set steps or epochs above 0".into());
        }
        if self.log_every == 0 {
            return bad("log_every must be at least 1".into());
        }
        if self.arch.is_conv() && (self.ngf == 0 || self.ndf == 0) {
            return bad("ngf and ndf must be at least 1".into());
        }
        if self.spectral_norm.on_d() && self.d_maxout > 0 {
            return bad(format!(
                "spectral_norm = \"{}\" with d_maxout = {}: maxout layers are not spectrally \
                 normalized; use spectral_norm = \"none\" or \"g\", or d_maxout = 0",
                format!("{:?}", self.spectral_norm).to_lowercase(),
                self.d_maxout
            ));
        }
        if self.spectral_norm.on_g() && self.arch.is_conv() {
            return bad(format!(
                "spectral_norm = \"{}\": the DCGAN generator's transposed convolutions are not \
                 spectrally normalized; use spectral_norm = \"d\", or arch = \"mlp\"",
                format!("{:?}", self.spectral_norm).to_lowercase()
            ));
        }
        if self.conditional && self.arch == Arch::DcganTf {
            return bad(
                "conditional = true is not built for arch = \"dcgan-tf\"; use arch = \"dcgan\" \
                 or \"mlp\""
                    .into(),
            );
        }
        if self.g_hidden.contains(&0) || self.d_hidden.contains(&0) {
            return bad("hidden widths must be at least 1".into());
        }
        if self.arch != Arch::Mlp && (self.g_batchnorm || self.d_maxout > 0) {
            return bad(format!(
                "g_batchnorm and d_maxout shape the MLP players; arch = \"{}\" has its own \
                 layers (use arch = \"mlp\")",
                self.arch
            ));
        }
        if let Some(h) = self
            .d_hidden
            .iter()
            .find(|h| h.checked_mul(self.d_maxout).is_none())
        {
            return bad(format!(
                "d_hidden width {h} x d_maxout {} overflows",
                self.d_maxout
            ));
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad(format!(
                "ema_decay = {} must be in [0, 1) (0: no moving average; StyleGAN uses 0.999)",
                self.ema_decay
            ));
        }
        if !(self.ema_warmup >= 0.0 && self.ema_warmup.is_finite()) {
            return bad(format!(
                "ema_warmup = {} must be a finite number >= 0 (0: no warm-up; 10 is \
                 TensorFlow's)",
                self.ema_warmup
            ));
        }
        let spec = DataSpec::parse(&self.dataset)?;
        if self.conditional && self.pack > 1 {
            return bad(format!(
                "conditional = true cannot be combined with pack = {}: a packed D judges \
                 {} items of possibly different classes at once, while the projection D \
                 needs one class per judgement; use pack = 1 or drop --conditional",
                self.pack, self.pack
            ));
        }
        if self.conditional && spec.is_toy() {
            return bad(format!(
                "conditional = true needs class-labelled data; {} is an unlabelled 2-D \
                 mixture: train on mnist, cifar10:DIR, folder:DIR (one subfolder per class) \
                 or stacked-mnist (1000 classes), or drop --conditional",
                self.dataset
            ));
        }
        if spec.is_toy() && self.arch != Arch::Mlp {
            return bad(format!(
                "dataset {} is 2-D points: use arch = \"mlp\"",
                self.dataset
            ));
        }
        Ok(())
    }
}
