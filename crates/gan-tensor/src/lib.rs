//! GPU tensors.
