//! Shapes: up to four dimensions, row-major.

use crate::{Error, Result};

/// The most dimensions a tensor may have (N, C, H, W).
pub const MAX_DIMS: usize = 4;

/// The largest size of one dimension, 2^31 - 1: the kernels index with 32-bit integers.
pub const MAX_DIM: usize = i32::MAX as usize;

/// A row-major shape of 1 to 4 dimensions.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// Checks the number of dimensions and the sizes, and builds a shape.
    pub fn new(dims: &[usize]) -> Result<Self> {
        Shape::for_op("shape", dims)
    }

    /// [`Shape::new`] with errors naming `op`: 1 to 4 dimensions, each at most
    /// [`MAX_DIM`], and a product of the non-zero dims (so the element count in any
    /// order, and every stride) whose byte size fits in u64.
    pub(crate) fn for_op(op: &'static str, dims: &[usize]) -> Result<Self> {
        let invalid = |msg: String| Err(Error::InvalidShape { op, msg });
        if dims.is_empty() || dims.len() > MAX_DIMS {
            return invalid(format!(
                "{dims:?} has {} dimensions; a tensor has 1 to {MAX_DIMS}",
                dims.len()
            ));
        }
        if let Some((i, d)) = dims.iter().enumerate().find(|(_, &d)| d > MAX_DIM) {
            return invalid(format!(
                "dimension {i} of {dims:?} is {d}; the kernels index with 32-bit integers, so \
                 a dimension is at most {MAX_DIM}"
            ));
        }
        let bytes = dims
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(4u64, |b, &d| b.checked_mul(d as u64));
        if bytes.is_none_or(|b| usize::try_from(b / 4).is_err()) {
            return invalid(format!(
                "the element count of {dims:?} overflows: its byte size does not fit in 64 bits"
            ));
        }
        Ok(Shape(dims.to_vec()))
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        // Cannot overflow: `new` checked the product of the non-zero dims.
        if self.0.contains(&0) {
            return 0;
        }
        self.0.iter().product()
    }

    /// The dims padded on the left with 1s to exactly four.
    pub fn dims4(&self) -> [usize; 4] {
        let mut out = [1usize; 4];
        let off = 4 - self.0.len();
        out[off..].copy_from_slice(&self.0);
        out
    }

    /// The shape two shapes broadcast to (numpy rules), or an error naming both.
    pub fn broadcast(&self, other: &Shape, op: &'static str) -> Result<Shape> {
        let rank = self.rank().max(other.rank());
        let (a, b) = (self.dims4(), other.dims4());
        let mut out = [1usize; 4];
        for i in 0..4 {
            out[i] = match (a[i], b[i]) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(Error::shape(
                        op,
                        self.dims(),
                        other.dims(),
                        "dimensions must be equal or 1 to broadcast",
                    ))
                }
            };
        }
        Shape::for_op(op, &out[4 - rank..])
    }

    /// Row-major strides of the 4-D padded shape, with 0 where a dim of 1 is broadcast to `to`.
    pub fn broadcast_strides(&self, to: &Shape) -> [u32; 4] {
        let d = self.dims4();
        let t = to.dims4();
        let mut strides = [0u32; 4];
        let mut s = 1usize;
        for i in (0..4).rev() {
            strides[i] = if d[i] == 1 && t[i] != 1 { 0 } else { s as u32 };
            // Suffix products of the non-zero dims, bounded by `new`'s check (0 stays 0).
            s *= d[i];
        }
        strides
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        let a = Shape::new(&[4, 1, 3]).unwrap();
        let b = Shape::new(&[5, 1]).unwrap();
        assert_eq!(a.broadcast(&b, "t").unwrap().dims(), &[4, 5, 3]);
        let c = Shape::new(&[2, 3]).unwrap();
        assert_eq!(a.broadcast(&c, "t").unwrap().dims(), &[4, 2, 3]);
        let d = Shape::new(&[2, 4]).unwrap();
        let err = a.broadcast(&d, "add").unwrap_err().to_string();
        assert!(err.contains("[4, 1, 3]") && err.contains("[2, 4]"), "{err}");
        assert_eq!(
            a.broadcast_strides(&Shape::new(&[4, 5, 3]).unwrap()),
            [12, 3, 0, 1]
        );
    }

    #[test]
    fn rank_limits() {
        assert!(Shape::new(&[]).is_err());
        assert!(Shape::new(&[1, 2, 3, 4, 5]).is_err());
        assert_eq!(Shape::new(&[2, 3]).unwrap().dims4(), [1, 1, 2, 3]);
        assert!(Shape::new(&[MAX_DIM + 1]).is_err());
        assert!(Shape::new(&[MAX_DIM; 3]).is_err());
        let zero = Shape::new(&[0, MAX_DIM, MAX_DIM]).unwrap();
        assert_eq!(zero.numel(), 0);
    }
}
