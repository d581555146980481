//! Differentiable elementwise operations, reductions and reshapes on [`Var`].

use gan_tensor::{Result, Tensor};

use crate::var::Var;

/// The gradient of a broadcast operand: `g` summed back down to `dims`.
fn unbroadcast(g: Tensor, dims: &[usize]) -> Result<Tensor> {
    if g.dims() == dims {
        Ok(g)
    } else {
        g.sum_to(dims)
    }
}

/// `g` spread over `dims` (the gradient of a reduction).
fn spread(g: &Tensor, dims: &[usize], scale: f32) -> Result<Tensor> {
    let zeros = Tensor::zeros(g.context(), dims)?;
    let g = if scale == 1.0 {
        g.clone()
    } else {
        g.mul_scalar(scale)?
    };
    zeros.add(&g)
}

impl Var {
    /// self + other, broadcasting.
    pub fn add(&self, other: &Var) -> Result<Var> {
        let y = self.value().add(other.value())?;
        let (da, db) = (self.dims().to_vec(), other.dims().to_vec());
        Ok(Var::from_op(
            y,
            &[self, other],
            Box::new(move |g| {
                Ok(vec![
                    Some(unbroadcast(g.clone(), &da)?),
                    Some(unbroadcast(g.clone(), &db)?),
                ])
            }),
        ))
    }

    /// self - other, broadcasting.
    pub fn sub(&self, other: &Var) -> Result<Var> {
        let y = self.value().sub(other.value())?;
        let (da, db) = (self.dims().to_vec(), other.dims().to_vec());
        Ok(Var::from_op(
            y,
            &[self, other],
            Box::new(move |g| {
                Ok(vec![
                    Some(unbroadcast(g.clone(), &da)?),
                    Some(unbroadcast(g.neg()?, &db)?),
                ])
            }),
        ))
    }

    /// self * other, broadcasting.
    pub fn mul(&self, other: &Var) -> Result<Var> {
        let y = self.value().mul(other.value())?;
        let (a, b) = (self.value().clone(), other.value().clone());
        Ok(Var::from_op(
            y,
            &[self, other],
            Box::new(move |g| {
                Ok(vec![
                    Some(unbroadcast(g.mul(&b)?, a.dims())?),
                    Some(unbroadcast(g.mul(&a)?, b.dims())?),
                ])
            }),
        ))
    }

    /// self / other, broadcasting.
    pub fn div(&self, other: &Var) -> Result<Var> {
        let y = self.value().div(other.value())?;
        let (a, b) = (self.value().clone(), other.value().clone());
        let yc = y.clone();
        Ok(Var::from_op(
            y,
            &[self, other],
            Box::new(move |g| {
                let ga = g.div(&b)?;
                // d(a/b)/db = -(a/b)/b
                let gb = ga.mul(&yc)?.neg()?;
                Ok(vec![
                    Some(unbroadcast(ga, a.dims())?),
                    Some(unbroadcast(gb, b.dims())?),
                ])
            }),
        ))
    }

    /// self * scale + shift.
    pub fn affine(&self, scale: f32, shift: f32) -> Result<Var> {
        let y = self.value().affine(scale, shift)?;
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.mul_scalar(scale)?)])),
        ))
    }

    /// self + s.
    pub fn add_scalar(&self, s: f32) -> Result<Var> {
        self.affine(1.0, s)
    }

    /// self * s.
    pub fn mul_scalar(&self, s: f32) -> Result<Var> {
        self.affine(s, 0.0)
    }

    /// -self.
    pub fn neg(&self) -> Result<Var> {
        self.affine(-1.0, 0.0)
    }

    /// max(x, 0).
    pub fn relu(&self) -> Result<Var> {
        let y = self.value().relu()?;
        let x = self.value().clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(x.relu_backward(g)?)])),
        ))
    }

    /// x if x > 0 else alpha * x.
    pub fn leaky_relu(&self, alpha: f32) -> Result<Var> {
        let y = self.value().leaky_relu(alpha)?;
        let x = self.value().clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(x.leaky_relu_backward(g, alpha)?)])),
        ))
    }

    /// tanh(x).
    pub fn tanh(&self) -> Result<Var> {
        let y = self.value().tanh()?;
        let yc = y.clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(yc.tanh_backward(g)?)])),
        ))
    }

    /// The logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Var> {
        let y = self.value().sigmoid()?;
        let yc = y.clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(yc.sigmoid_backward(g)?)])),
        ))
    }

    /// exp(x).
    pub fn exp(&self) -> Result<Var> {
        let y = self.value().exp()?;
        let yc = y.clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.mul(&yc)?)])),
        ))
    }

    /// ln(x).
    pub fn log(&self) -> Result<Var> {
        let y = self.value().log()?;
        let x = self.value().clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.div(&x)?)])),
        ))
    }

    /// Sum of all elements, shape `[1]`.
    pub fn sum_all(&self) -> Result<Var> {
        let y = self.value().sum_all()?;
        let dims = self.dims().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(spread(g, &dims, 1.0)?)])),
        ))
    }

    /// Mean of all elements, shape `[1]`.
    pub fn mean_all(&self) -> Result<Var> {
        let y = self.value().mean_all()?;
        let dims = self.dims().to_vec();
        let scale = 1.0 / self.value().numel().max(1) as f32;
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(spread(g, &dims, scale)?)])),
        ))
    }

    /// Sum along `axis` (removed unless `keepdim`).
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Result<Var> {
        let y = self.value().sum_axis(axis, keepdim)?;
        let dims = self.dims().to_vec();
        let mut kept = dims.clone();
        kept[axis] = 1;
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(spread(&g.reshape(&kept)?, &dims, 1.0)?)])),
        ))
    }

    /// Mean along `axis` (removed unless `keepdim`).
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Result<Var> {
        let n = self.dims().get(axis).copied().unwrap_or(1).max(1);
        self.sum_axis(axis, keepdim)?.mul_scalar(1.0 / n as f32)
    }

    /// The same values under another shape.
    pub fn reshape(&self, dims: &[usize]) -> Result<Var> {
        let y = self.value().reshape(dims)?;
        let orig = self.dims().to_vec();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.reshape(&orig)?)])),
        ))
    }

    /// Reads a one-element value back to the host (e.g. a loss).
    pub fn item(&self) -> Result<f32> {
        let v = self.value().to_vec()?;
        v.first()
            .copied()
            .ok_or_else(|| gan_tensor::Error::Invalid {
                op: "item",
                msg: "empty tensor".into(),
            })
    }
}
