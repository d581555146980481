//! Seeds of the independent random streams of a game, all derived from one seed
//! ([`crate::Config::seed`]) by the SplitMix64 mixer, so that training, evaluation,
//! inference and the theory experiments draw the same players and latents for the same
//! seed.

use gan_tensor::rng::SplitMix64;

/// One SplitMix64 step from `z` (gan-tensor's [`SplitMix64::mix`]): the seed mixer.
pub fn mix(z: u64) -> u64 {
    SplitMix64::mix(z)
}

/// Initialisation (and dropout) of the generator.
pub fn gen_init(seed: u64) -> u64 {
    mix(seed ^ 0x6765_6e00)
}

/// Initialisation (and dropout) of the discriminator.
pub fn disc_init(seed: u64) -> u64 {
    mix(seed ^ 0x6469_7363)
}

/// The training latents (stream = index of the real batch they are paired with).
pub fn latents(seed: u64) -> u64 {
    mix(seed ^ 0x6c61_7465)
}

/// The fixed latents of the sample grids.
pub fn fixed_latents(seed: u64) -> u64 {
    mix(seed ^ 0x6669_7865)
}

/// Host-side data samplers (the theory experiments' densities).
pub fn host_data(seed: u64) -> u64 {
    mix(seed ^ 0x6461_7461)
}
