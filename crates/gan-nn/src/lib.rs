//! Layers, reverse-mode autograd and optimizers over gan-tensor (issue 3; not yet built).
