//! The adversarial game: generator, discriminator, training loop (issue 5; not yet built).
