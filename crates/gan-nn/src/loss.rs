//! Loss helpers.

use crate::error::{Error, Result};
use crate::{Labels, Var};

/// Mean binary cross-entropy of `logits` against `labels` (`nn.BCEWithLogitsLoss()`),
/// a `[1]` loss computed stably on the GPU.
pub fn bce_with_logits(logits: &Var, labels: Labels) -> Result<Var> {
    Ok(logits.bce_with_logits(labels)?)
}

/// Reads a one-element value (a loss) back to the host and fails, naming it, when it is
/// NaN or infinite. A readback waits for the GPU: call it on the steps that log.
pub fn check_finite(name: &str, loss: &Var) -> Result<f32> {
    let value = loss.item()?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite {
            name: name.to_string(),
            value,
        })
    }
}
