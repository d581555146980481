//! The weight-and-bias pair that Linear and the convolutions share.

use crate::init::{fans, Role};
use crate::module::{child_name, Slot};
use crate::param::Param;

/// A weight of `dims` and, when `bias_len` is Some, a bias as PyTorch creates them (the
/// bias's default bound comes from the weight's fan_in).
pub(crate) fn weight_and_bias(dims: &[usize], bias_len: Option<usize>) -> (Param, Option<Param>) {
    let weight = Param::new(dims, Role::Weight);
    let (fan_in, _) = fans(dims);
    let bias = bias_len.map(|n| Param::new(&[n], Role::Bias { fan_in }));
    (weight, bias)
}

/// Reports `weight` and `bias` under `prefix`.
pub(crate) fn visit_weight_bias(
    prefix: &str,
    weight: &Param,
    bias: Option<&Param>,
    f: &mut dyn FnMut(&str, Slot<'_>),
) {
    f(&child_name(prefix, "weight"), Slot::Param(weight));
    if let Some(b) = bias {
        f(&child_name(prefix, "bias"), Slot::Param(b));
    }
}
