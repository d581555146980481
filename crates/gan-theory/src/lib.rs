//! The theory of Goodfellow et al. (2014), measured: the experiments behind
//! `docs/theory.md` and `cargo xtask theory`.
//!
//! - [`density`]: known 1-D densities, D* (Prop. 1), JSD and V(D*, G) = -log 4 + 2 JSD
//!   (Thm. 1) by numerical integration on the host (f64): the references.
//! - [`oned`]: the 1-D game on the GPU (affine G with known p_g, MLP D).
//! - [`fit`]: D trained against a fixed G, compared with D* and with the value of Thm. 1.
//! - [`game`]: both players trained; D(x), D(G(z)) -> 1/2, V -> -log 4, JSD -> 0.
//! - [`saturation`]: the gradient reaching G under the minimax and non-saturating losses.
//! - [`blocks`]: each player trained alone on MNIST against a frozen opponent.
//! - [`figures`]: the PNG figures; [`run`]: every experiment with its settings, as
//!   `cargo xtask theory` runs them (a markdown report and the figures).

pub mod blocks;
pub mod density;
pub mod figures;
pub mod fit;
pub mod game;
pub mod oned;
pub mod run;
pub mod saturation;
