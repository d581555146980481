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

/// The classes of the generated items of a conditional game (stream = index of the
/// real batch they are paired with), drawn uniformly on the host.
pub fn fake_classes(seed: u64) -> u64 {
    mix(seed ^ 0x636c_6173)
}

/// `n` classes drawn uniformly from `0..classes` by stream `stream` of `seed` (Lemire's
/// multiply-shift of SplitMix64 words: bias below 2^-32 per draw).
pub fn uniform_classes(seed: u64, stream: u64, n: usize, classes: usize) -> Vec<u32> {
    let mut rng = gan_tensor::rng::SplitMix64::new(mix(seed ^ mix(stream)));
    (0..n)
        .map(|_| (((rng.next_u64() >> 32) * classes as u64) >> 32) as u32)
        .collect()
}
