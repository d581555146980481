//! The `Gan`: both players and everything that defines the game (Goodfellow et al.
//! 2014): the prior P(z) and its seeded latent streams, PacGAN packing, the item shape
//! and the objective. Training ([`crate::Trainer`]), inference ([`crate::infer`]),
//! evaluation ([`crate::eval`]), the benches and gan-theory all work on a `Gan`.

use gan_data::ImageShape;
use gan_nn::{no_grad, InitScheme, Sequential, Var};
use gan_tensor::{Context, Tensor};

use crate::conditional::ClassEmbedding;
use crate::config::{Config, Prior};
use crate::ema::{self, Ema};
use crate::error::{Result, TrainError};
use crate::latent;
use crate::models::{discriminator, generator, ItemShape};
use crate::objective::{DLoss, Objective};
use crate::player::Player;
use crate::seeds;

/// The rules of a game, apart from its players.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Game {
    /// P(z).
    pub prior: Prior,
    /// Dimension of z.
    pub latent_dim: usize,
    /// PacGAN packing: D judges `pack` items at once (1: off).
    pub pack: usize,
    /// The losses.
    pub objective: Objective,
    /// Drives initialisation, latents and dropout (through [`crate::seeds`]).
    pub seed: u64,
    /// D's last step of an iteration and G's step use gradients of the same D
    /// (simultaneous updates; config `simultaneous`); false: G plays the updated D.
    pub simultaneous: bool,
    /// Generator steps per iteration, each on the iteration's latents (config `g_steps`).
    pub g_steps: usize,
}

impl Game {
    /// The game a config asks for.
    pub fn of(cfg: &Config) -> Game {
        Game {
            prior: cfg.prior,
            latent_dim: cfg.latent_dim,
            pack: cfg.pack,
            objective: Objective::of(cfg),
            seed: cfg.seed,
            simultaneous: cfg.simultaneous,
            g_steps: cfg.g_steps,
        }
    }
}

/// Items made by [`Gan::sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Values, item after item, row-major (C, H, W); images in [-1, 1].
    pub values: Vec<f32>,
    /// Shape of one item (2-D points: 2 x 1 x 1).
    pub shape: ImageShape,
    /// Number of items.
    pub count: usize,
}

/// Items per forward pass at inference.
const CHUNK: usize = 256;

/// Both players and the rules of their game.
pub struct Gan {
    ctx: Context,
    /// The rules.
    pub game: Game,
    /// What G makes and D judges.
    pub item: ItemShape,
    /// G: z `[B, latent_dim]` -> items `[B, ...]`.
    pub generator: Player,
    /// D: items packed `pack` at a time -> logits `[B/pack, 1]`.
    pub discriminator: Player,
    /// G_ema, the moving average of G's weights ([`crate::ema`]; config `ema_decay`),
    /// which [`Gan::sample`] and [`Gan::sample_at`] use when present.
    pub ema: Option<Ema>,
}

/// Draws `n` latent codes `[n, dim]` from `prior` on the GPU (seed, stream).
pub fn sample_prior(
    ctx: &Context,
    prior: Prior,
    n: usize,
    dim: usize,
    seed: u64,
    stream: u64,
) -> Result<Tensor> {
    Ok(match prior {
        Prior::Uniform => Tensor::rand_uniform_stream(ctx, &[n, dim], -1.0, 1.0, seed, stream)?,
        Prior::Normal => Tensor::rand_normal_stream(ctx, &[n, dim], 0.0, 1.0, seed, stream)?,
    })
}

impl Gan {
    /// The players of `cfg` (validated and resolved first: automatic widths and rates
    /// filled in) for items of `item`, initialised as a run of that config starts (DCGAN
    /// init: N(0, 0.02) weights, from [`seeds::gen_init`] and [`seeds::disc_init`] of its
    /// seed), and G_ema as a copy of G when `ema_decay` is above 0.
    pub fn new(ctx: &Context, cfg: &Config, item: ItemShape) -> Result<Gan> {
        let cfg = &cfg.resolved()?;
        if cfg.conditional {
            return Err(TrainError::Config(
                "conditional = true: the players need the number of classes; build them \
                 with Gan::with_classes"
                    .into(),
            ));
        }
        let mut gan = Gan::with_players(
            ctx,
            generator(cfg, item)?,
            discriminator(cfg, item)?,
            Game::of(cfg),
            item,
            InitScheme::Dcgan,
        )?;
        if cfg.ema_decay > 0.0 {
            let net = generator(cfg, item)?;
            gan.ema = Some(Ema::new(
                ctx,
                net,
                &gan.generator,
                cfg.ema_decay,
                cfg.ema_warmup,
            )?);
        }
        Ok(gan)
    }

    /// The class-conditional players of `cfg` (`conditional = true`) for `classes`
    /// classes: G with a class embedding at its input, D a projection discriminator
    /// (see [`crate::conditional`]); their networks are initialised as [`Gan::new`]'s.
    pub fn with_classes(
        ctx: &Context,
        cfg: &Config,
        item: ItemShape,
        classes: usize,
    ) -> Result<Gan> {
        let cfg = &cfg.resolved()?;
        if !cfg.conditional {
            return Gan::new(ctx, cfg, item);
        }
        let game = Game::of(cfg);
        let (g, d) = (generator(cfg, item)?, discriminator(cfg, item)?);
        let g_class = ClassEmbedding::for_generator(cfg, item, classes)?;
        let d_class = ClassEmbedding::for_discriminator(cfg, item, classes, d.len())?;
        let init = InitScheme::Dcgan;
        let generator =
            Player::conditional(ctx, g, g_class, "gen", seeds::gen_init(game.seed), init)?;
        let ema = if cfg.ema_decay > 0.0 {
            let net = crate::models::generator(cfg, item)?;
            let class = ClassEmbedding::for_generator(cfg, item, classes)?;
            let player = Player::conditional(ctx, net, class, ema::PREFIX, 0, init)?;
            Some(Ema::from_player(
                player,
                &generator,
                cfg.ema_decay,
                cfg.ema_warmup,
            )?)
        } else {
            None
        };
        Ok(Gan {
            ctx: ctx.clone(),
            generator,
            ema,
            discriminator: Player::conditional(
                ctx,
                d,
                d_class,
                "disc",
                seeds::disc_init(game.seed),
                init,
            )?,
            game,
            item,
        })
    }

    /// Number of classes of a conditional game (None: unconditional).
    pub fn classes(&self) -> Option<usize> {
        self.generator.class.as_ref().map(|c| c.classes())
    }

    /// Checks class labels against the game's classes and uploads them (`[n]`).
    pub fn upload_labels(&self, labels: &[u32]) -> Result<Tensor> {
        self.generator.upload_labels(labels)
    }

    /// The classes of the `n` generated items of training stream `stream`, uniform
    /// over the game's classes ([`seeds::fake_classes`]); None when unconditional.
    pub fn fake_labels(&self, n: usize, stream: u64) -> Result<Option<Tensor>> {
        match self.classes() {
            None => Ok(None),
            Some(c) => {
                let y = seeds::uniform_classes(seeds::fake_classes(self.game.seed), stream, n, c);
                Ok(Some(self.upload_labels(&y)?))
            }
        }
    }

    /// The classes of piece `piece` of `pieces` of training stream `stream`: its `n`
    /// items' part of what [`Gan::fake_labels`] draws for the whole batch.
    pub fn fake_labels_piece(
        &self,
        n: usize,
        stream: u64,
        piece: usize,
        pieces: usize,
    ) -> Result<Option<Tensor>> {
        match self.classes() {
            None => Ok(None),
            Some(c) => {
                let seed = seeds::fake_classes(self.game.seed);
                let all = seeds::uniform_classes(seed, stream, n * pieces, c);
                Ok(Some(self.upload_labels(&all[piece * n..(piece + 1) * n])?))
            }
        }
    }

    /// A game between any two networks (the theory experiments' 1-D players), with
    /// parameters initialised by `init` from the game's seed.
    pub fn with_players(
        ctx: &Context,
        g: Sequential,
        d: Sequential,
        game: Game,
        item: ItemShape,
        init: InitScheme,
    ) -> Result<Gan> {
        if game.pack == 0 || game.latent_dim == 0 {
            return Err(TrainError::Config(
                "a game needs pack >= 1 and latent_dim >= 1".into(),
            ));
        }
        Ok(Gan {
            ctx: ctx.clone(),
            generator: Player::new(ctx, g, "gen", seeds::gen_init(game.seed), init)?,
            discriminator: Player::new(ctx, d, "disc", seeds::disc_init(game.seed), init)?,
            game,
            item,
            ema: None,
        })
    }

    /// The device.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The objective.
    pub fn objective(&self) -> &Objective {
        &self.game.objective
    }

    /// `n` latents of the training stream `stream` (the index of the real batch they
    /// are paired with), from the game's prior.
    pub fn latents(&self, n: usize, stream: u64) -> Result<Var> {
        let g = &self.game;
        let z = sample_prior(
            &self.ctx,
            g.prior,
            n,
            g.latent_dim,
            seeds::latents(g.seed),
            stream,
        )?;
        Ok(Var::constant(z))
    }

    /// The latents of piece `piece` of a split batch ([`crate::parallel`]): its `n` rows
    /// of the draw [`Gan::latents`] makes for the whole batch of stream `stream`, rows
    /// `piece * n ..`.
    pub fn latents_piece(&self, n: usize, stream: u64, piece: usize) -> Result<Var> {
        if piece == 0 {
            return self.latents(n, stream);
        }
        let g = &self.game;
        let (seed, dims) = (seeds::latents(g.seed), [n, g.latent_dim]);
        let offset = piece * n * g.latent_dim;
        let z = match g.prior {
            Prior::Uniform => {
                Tensor::rand_uniform_stream_at(&self.ctx, &dims, -1.0, 1.0, seed, stream, offset)?
            }
            Prior::Normal => {
                Tensor::rand_normal_stream_at(&self.ctx, &dims, 0.0, 1.0, seed, stream, offset)?
            }
        };
        Ok(Var::constant(z))
    }

    /// The `n` fixed latents of the sample grids.
    pub fn fixed_latents(&self, n: usize) -> Result<Tensor> {
        let g = &self.game;
        sample_prior(
            &self.ctx,
            g.prior,
            n,
            g.latent_dim,
            seeds::fixed_latents(g.seed),
            0,
        )
    }

    /// G(z), recorded on the tape (`train`: batch statistics on).
    pub fn generate(&self, z: &Var, train: bool) -> Result<Var> {
        self.generator.forward(z, train)
    }

    /// G(z | y) with class `labels` (`[B]`, [`Gan::upload_labels`]) on a conditional
    /// game; None is [`Gan::generate`].
    pub fn generate_for(&self, z: &Var, labels: Option<&Tensor>, train: bool) -> Result<Var> {
        self.generator.forward_for(z, labels, train)
    }

    /// D's logits for `items` `[B, ...]`, packed `pack` at a time: `[B/pack, 1]`.
    pub fn discriminate(&self, items: &Var, train: bool) -> Result<Var> {
        self.discriminate_for(items, None, train)
    }

    /// D(x, y)'s logits (the projection discriminator) with class `labels` on a
    /// conditional game; None is [`Gan::discriminate`].
    pub fn discriminate_for(
        &self,
        items: &Var,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Result<Var> {
        self.discriminator
            .forward_for(&pack(items, self.game.pack)?, labels, train)
    }

    /// D's loss on a real and a generated batch (D's half of Algorithm 1), with D's
    /// logits on each: `(loss, real_logits, fake_logits)`. Pass `fake` detached to keep
    /// gradients out of G.
    pub fn d_loss(&self, real: &Var, fake: &Var) -> Result<(DLoss, Var, Var)> {
        self.d_loss_for(real, None, fake, None)
    }

    /// [`Gan::d_loss`] with the classes of the real and the generated items on a
    /// conditional game.
    pub fn d_loss_for(
        &self,
        real: &Var,
        real_labels: Option<&Tensor>,
        fake: &Var,
        fake_labels: Option<&Tensor>,
    ) -> Result<(DLoss, Var, Var)> {
        let lr = self.discriminate_for(real, real_labels, true)?;
        let lf = self.discriminate_for(fake, fake_labels, true)?;
        Ok((self.game.objective.d_loss(&lr, &lf)?, lr, lf))
    }

    /// G's loss on generated items (D's logits through the objective).
    pub fn g_loss(&self, fake: &Var) -> Result<Var> {
        self.g_loss_for(fake, None)
    }

    /// [`Gan::g_loss`] with the classes the items were generated for.
    pub fn g_loss_for(&self, fake: &Var, labels: Option<&Tensor>) -> Result<Var> {
        self.game
            .objective
            .g_loss(&self.discriminate_for(fake, labels, true)?)
    }

    /// Runs `f` (G's forward and backward pass through D) with D frozen: D's
    /// weight-gradient products are skipped, only the gradient of D's input flows.
    pub fn with_frozen_discriminator<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let store = &self.discriminator.store;
        store.set_frozen(true)?;
        let out = f();
        store.set_frozen(false)?;
        out
    }

    /// The generator that makes samples: G_ema when the game has one, else G.
    pub fn sampler(&self) -> &Player {
        self.ema.as_ref().map_or(&self.generator, |e| &e.player)
    }

    /// Drops G_ema, so that samples come from the raw G (`--no-ema`).
    pub fn drop_ema(&mut self) {
        self.ema = None;
    }

    /// Gives G_ema BatchNorm statistics of its own ([`Ema::refresh_statistics`]) from
    /// batches of `batch` latents (classes cycling on a conditional game); false without.
    pub fn refresh_ema_statistics(&self, batch: usize) -> Result<bool> {
        let Some(e) = &self.ema else { return Ok(false) };
        let labels = self
            .classes()
            .map(|c| (0..batch).map(|j| (j % c) as u32).collect::<Vec<_>>());
        e.refresh_statistics(&self.generator, |i| {
            let (prior, dim, seed) = (self.game.prior, self.game.latent_dim, ema::STAT_SEED);
            let y = labels
                .as_deref()
                .map(|l| self.upload_labels(l))
                .transpose()?;
            Ok((sample_prior(&self.ctx, prior, batch, dim, seed, i)?, y))
        })
    }

    /// Updates G_ema (when the game has one) after G's `t`-th step ([`Ema::update`]).
    pub fn update_ema(&self, t: u64) -> Result<()> {
        match &self.ema {
            Some(e) => e.update(&self.generator, t),
            None => Ok(()),
        }
    }

    /// `count` items from [`Gan::sampler`] (G_ema when present, else G) in eval mode
    /// (BatchNorm's running statistics), with latents drawn from `prior` (None: the
    /// game's) under `seed`, in chunks of 256 (chunk i is stream i).
    pub fn sample(&self, count: usize, seed: u64, prior: Option<Prior>) -> Result<Generated> {
        self.sample_for(count, seed, prior, None)
    }

    /// As [`Gan::sample`], from the raw G even when the game has G_ema.
    pub fn sample_raw(&self, count: usize, seed: u64, prior: Option<Prior>) -> Result<Generated> {
        self.sample_from(&self.generator, count, seed, prior, None, 1.0)
    }

    /// [`Gan::sample`] with the truncation trick: every latent scaled by `psi` in (0, 1]
    /// towards the prior's mean ([`latent::truncate`]; 1: plain sampling).
    pub fn sample_truncated(
        &self,
        count: usize,
        seed: u64,
        prior: Option<Prior>,
        psi: f64,
    ) -> Result<Generated> {
        self.sample_from(self.sampler(), count, seed, prior, None, psi)
    }

    /// [`Gan::sample_truncated`] of a conditional game: item i is made for class
    /// `classes[i]` (`classes` holds `count` labels; None on an unconditional game).
    pub fn sample_truncated_for(
        &self,
        count: usize,
        seed: u64,
        prior: Option<Prior>,
        classes: Option<&[u32]>,
        psi: f64,
    ) -> Result<Generated> {
        self.sample_from(self.sampler(), count, seed, prior, classes, psi)
    }

    /// [`Gan::sample`] of a conditional game: item i is made for class `classes[i]`
    /// (`classes` holds `count` labels; None on an unconditional game).
    pub fn sample_for(
        &self,
        count: usize,
        seed: u64,
        prior: Option<Prior>,
        classes: Option<&[u32]>,
    ) -> Result<Generated> {
        self.sample_from(self.sampler(), count, seed, prior, classes, 1.0)
    }

    /// [`Gan::sample_for`] from the raw G even when the game has G_ema.
    pub fn sample_raw_for(
        &self,
        count: usize,
        seed: u64,
        prior: Option<Prior>,
        classes: Option<&[u32]>,
    ) -> Result<Generated> {
        self.sample_from(&self.generator, count, seed, prior, classes, 1.0)
    }

    fn sample_from(
        &self,
        g: &Player,
        count: usize,
        seed: u64,
        prior: Option<Prior>,
        classes: Option<&[u32]>,
        psi: f64,
    ) -> Result<Generated> {
        latent::check_truncation(psi)?;
        let prior = prior.unwrap_or(self.game.prior);
        if let Some(c) = classes {
            if c.len() != count {
                return Err(TrainError::Config(format!(
                    "{count} items asked for with {} classes; give one class per item",
                    c.len()
                )));
            }
        }
        let mut values = Vec::with_capacity(count * self.item.numel());
        for (i, start) in (0..count).step_by(CHUNK).enumerate() {
            let n = CHUNK.min(count - start);
            let z = sample_prior(&self.ctx, prior, n, self.game.latent_dim, seed, i as u64)?;
            let z = latent::truncate(&z, psi)?;
            let y = classes
                .map(|c| self.upload_labels(&c[start..start + n]))
                .transpose()?;
            let out = no_grad(|| g.forward_for(&Var::constant(z), y.as_ref(), false))?;
            values.extend(out.value().to_vec()?);
        }
        Ok(Generated {
            values,
            shape: self.item.image_shape(),
            count,
        })
    }

    /// [`Gan::sampler`]'s items (G_ema when present, else G) for the latents `z`
    /// `[n, latent_dim]`, eval mode.
    pub fn sample_at(&self, z: Tensor) -> Result<Vec<f32>> {
        self.sample_at_for(z, None)
    }

    /// [`Gan::sampler`]'s items for the latents `z` and, on a conditional game, the
    /// classes `classes` (one per latent), eval mode.
    pub fn sample_at_for(&self, z: Tensor, classes: Option<&[u32]>) -> Result<Vec<f32>> {
        let y = classes.map(|c| self.upload_labels(c)).transpose()?;
        let out = no_grad(|| {
            self.sampler()
                .forward_for(&Var::constant(z), y.as_ref(), false)
        })?;
        Ok(out.value().to_vec()?)
    }

    /// D(x) = sigmoid(logit) in eval mode for `items` (values item after item, shaped
    /// like the game's items). With packing `pack` > 1 one value comes back per group of
    /// `pack` consecutive items, so the count must be a multiple of `pack`. A conditional
    /// game's D judges an item with its class: use [`Gan::judge_for`].
    pub fn judge(&self, items: &[f32]) -> Result<Vec<f32>> {
        self.judge_for(items, None)
    }

    /// [`Gan::judge`] with the class of each item on a conditional game: D(x, y) of the
    /// projection discriminator, `labels` holding one class per item (None on an
    /// unconditional game).
    pub fn judge_for(&self, items: &[f32], labels: Option<&[u32]>) -> Result<Vec<f32>> {
        let per = self.item.numel();
        if items.is_empty() || !items.len().is_multiple_of(per) {
            return Err(TrainError::Config(format!(
                "{} values do not make whole items of {:?} ({per} values each)",
                items.len(),
                self.item.image_shape()
            )));
        }
        let count = items.len() / per;
        match (self.classes(), labels) {
            (Some(c), None) => {
                return Err(TrainError::Config(format!(
                    "this discriminator is class-conditional ({c} classes): it judges an \
                     item together with its class; give one class per item (Gan::judge_for)"
                )))
            }
            (_, Some(l)) if l.len() != count => {
                return Err(TrainError::Config(format!(
                    "{count} items came with {} class labels; give one label per item",
                    l.len()
                )))
            }
            _ => {}
        }
        let m = self.game.pack;
        if !count.is_multiple_of(m) {
            return Err(TrainError::Config(format!(
                "the run packs {m} items per judgement (PacGAN); {count} items is not a multiple"
            )));
        }
        let chunk = (CHUNK / m).max(1) * m;
        let mut out = Vec::with_capacity(count / m);
        for start in (0..count).step_by(chunk) {
            let n = chunk.min(count - start);
            let x = Tensor::from_slice(
                &self.ctx,
                &items[start * per..(start + n) * per],
                &self.item.batch_dims(n),
            )?;
            let y = labels
                .map(|l| self.upload_labels(&l[start..start + n]))
                .transpose()?;
            let logits = no_grad(|| self.discriminate_for(&Var::constant(x), y.as_ref(), false))?;
            out.extend(logits.value().sigmoid()?.to_vec()?);
        }
        Ok(out)
    }
}

/// PacGAN packing: `[B, d1, ...]` -> `[B/m, m*d1, ...]` (m consecutive items side by side).
pub fn pack(x: &Var, m: usize) -> Result<Var> {
    if m == 1 {
        return Ok(x.clone());
    }
    let mut dims = x.dims().to_vec();
    dims[0] /= m;
    dims[1] *= m;
    Ok(x.reshape(&dims)?)
}
