//! Layers with PyTorch's names, layouts, defaults and train/eval behaviour.

mod activation;
mod conv;
mod embedding;
mod linear;
mod maxout;
mod norm;
mod spectral;
mod weight_bias;

pub use activation::{Dropout, Flatten, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh};
pub use conv::{Conv2d, ConvTranspose2d};
pub use embedding::Embedding;
pub use linear::Linear;
pub use maxout::Maxout;
pub use norm::{BatchNorm1d, BatchNorm2d};
pub use spectral::{spectral_normalize, SPECTRAL_EPS};
