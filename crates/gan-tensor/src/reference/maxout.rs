//! Reference maxout over groups of `pieces` consecutive values (see `crate::maxout`).

/// Index within `group` of the first largest value (a tie keeps the earlier piece).
pub fn first_argmax<T: Copy + PartialOrd>(group: &[T]) -> usize {
    let mut arg = 0;
    for (k, v) in group.iter().enumerate().skip(1) {
        if *v > group[arg] {
            arg = k;
        }
    }
    arg
}

/// `y[o] = max_k x[o * pieces + k]`.
pub fn maxout<T: Copy + PartialOrd>(x: &[T], pieces: usize) -> Vec<T> {
    x.chunks(pieces).map(|g| g[first_argmax(g)]).collect()
}

/// `dx[o * pieces + k] = dy[o]` for the first argmax k of group o, else 0.
pub fn maxout_backward(x: &[f32], dy: &[f32], pieces: usize) -> Vec<f32> {
    let mut dx = vec![0.0; x.len()];
    for (o, (g, out)) in x.chunks(pieces).zip(dx.chunks_mut(pieces)).enumerate() {
        out[first_argmax(g)] = dy[o];
    }
    dx
}
