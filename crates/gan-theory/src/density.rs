//! Known 1-D densities and the quantities of Goodfellow et al. (2014), sec. 4, computed
//! on the host in f64 by numerical integration: the reference the GPU runs are compared
//! with.
//!
//! - Prop. 1: for a fixed G, the best discriminator is D*(x) = p_data(x) / (p_data(x) +
//!   p_g(x)).
//! - Thm. 1: with it, C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g), whose minimum
//!   -log 4 is reached only at p_g = p_data.
//!
//! Integrals use the composite Simpson rule on a uniform grid that covers every
//! component's mean +- 12 standard deviations (the mass outside is below 1e-32).

use std::f64::consts::{LN_2, PI};

/// A normal density N(mean, std^2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gaussian {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (> 0).
    pub std: f64,
}

impl Gaussian {
    /// N(mean, std^2).
    pub fn new(mean: f64, std: f64) -> Gaussian {
        Gaussian { mean, std }
    }

    /// log density at x.
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let u = (x - self.mean) / self.std;
        -0.5 * u * u - self.std.ln() - 0.5 * (2.0 * PI).ln()
    }

    /// KL(self || other) in closed form: log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2.
    pub fn kl(&self, other: &Gaussian) -> f64 {
        let d = self.mean - other.mean;
        (other.std / self.std).ln() + (self.std * self.std + d * d) / (2.0 * other.std * other.std)
            - 0.5
    }
}

/// A finite mixture of normals, sum_i w_i N(m_i, s_i^2) (weights sum to 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Mixture {
    /// (weight, component).
    pub parts: Vec<(f64, Gaussian)>,
}

impl From<Gaussian> for Mixture {
    fn from(g: Gaussian) -> Mixture {
        Mixture {
            parts: vec![(1.0, g)],
        }
    }
}

impl Mixture {
    /// A mixture from (weight, mean, std) triples; the weights are normalised.
    pub fn new(parts: &[(f64, f64, f64)]) -> Mixture {
        let total: f64 = parts.iter().map(|p| p.0).sum();
        Mixture {
            parts: parts
                .iter()
                .map(|&(w, m, s)| (w / total, Gaussian::new(m, s)))
                .collect(),
        }
    }

    /// Density at x.
    pub fn pdf(&self, x: f64) -> f64 {
        self.ln_pdf(x).exp()
    }

    /// log density at x (log-sum-exp over the components, finite far in the tails).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let terms: Vec<f64> = self
            .parts
            .iter()
            .map(|(w, g)| w.ln() + g.ln_pdf(x))
            .collect();
        log_sum_exp(&terms)
    }

    /// The interval mean +- `k` std of every component.
    pub fn support(&self, k: f64) -> (f64, f64) {
        self.parts
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), (_, g)| {
                (lo.min(g.mean - k * g.std), hi.max(g.mean + k * g.std))
            })
    }

    /// `n` samples drawn with the generator `rng` (Box-Muller normals).
    pub fn sample(&self, n: usize, rng: &mut SplitMix) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let u = rng.uniform();
                let mut acc = 0.0;
                let mut pick = self.parts[self.parts.len() - 1].1;
                for (w, g) in &self.parts {
                    acc += w;
                    if u < acc {
                        pick = *g;
                        break;
                    }
                }
                (pick.mean + pick.std * rng.normal()) as f32
            })
            .collect()
    }
}

/// log(sum exp(t)) without overflow.
fn log_sum_exp(t: &[f64]) -> f64 {
    let m = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + t.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A small seeded generator for host-side data samples: gan-tensor's SplitMix64.
#[derive(Clone, Debug)]
pub struct SplitMix(gan_tensor::rng::SplitMix64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(gan_tensor::rng::SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}

/// A uniform grid of `n` points (odd, >= 3) on [lo, hi] for Simpson's rule.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The points.
    pub x: Vec<f64>,
    /// Simpson weights (h/3 * 1, 4, 2, 4, ..., 4, 1).
    pub w: Vec<f64>,
}

impl Grid {
    /// `n` points on [lo, hi]; an even `n` is raised by one (Simpson needs an odd count).
    pub fn new(lo: f64, hi: f64, n: usize) -> Grid {
        let n = (n.max(3)) | 1;
        let h = (hi - lo) / (n - 1) as f64;
        let x = (0..n).map(|i| lo + i as f64 * h).collect();
        let w = (0..n)
            .map(|i| {
                let c = if i == 0 || i == n - 1 {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                c * h / 3.0
            })
            .collect();
        Grid { x, w }
    }

    /// A grid covering both densities (every component's mean +- 12 std).
    pub fn covering(p: &Mixture, q: &Mixture, n: usize) -> Grid {
        let (a, b) = p.support(12.0);
        let (c, d) = q.support(12.0);
        Grid::new(a.min(c), b.max(d), n)
    }

    /// Integral of f over the grid's interval.
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.x.iter().zip(&self.w).map(|(&x, &w)| w * f(x)).sum()
    }
}

/// Default number of grid points for the integrals below.
pub const GRID_POINTS: usize = 20_001;

/// D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1), computed
/// from log densities so that it stays defined where both underflow (1/2 where both are 0
/// to the last bit is never reached on the grids used here).
pub fn d_star(p_data: &Mixture, p_g: &Mixture, x: f64) -> f64 {
    // p / (p + q) = sigmoid(log p - log q)
    sigmoid(p_data.ln_pdf(x) - p_g.ln_pdf(x))
}

/// The logistic function.
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// log sigmoid(t) = -log(1 + e^-t), stable for large |t|.
pub fn ln_sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        -(-t).exp().ln_1p()
    } else {
        t - t.exp().ln_1p()
    }
}

/// KL(p || q) = int p log(p/q) by integration over `grid`.
pub fn kl(p: &Mixture, q: &Mixture, grid: &Grid) -> f64 {
    grid.integrate(|x| {
        let lp = p.ln_pdf(x);
        lp.exp() * (lp - q.ln_pdf(x))
    })
}

/// JSD(p || q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, by integration over a
/// grid covering both; between 0 (p = q) and log 2 (disjoint supports).
pub fn jsd(p: &Mixture, q: &Mixture) -> f64 {
    jsd_on(p, q, &Grid::covering(p, q, GRID_POINTS))
}

/// [`jsd`] on a given grid.
pub fn jsd_on(p: &Mixture, q: &Mixture, grid: &Grid) -> f64 {
    jsd_fn(|x| p.pdf(x), |x| q.pdf(x), grid)
}

/// JSD of two arbitrary densities given as functions, on `grid` (0 log 0 = 0).
pub fn jsd_fn(p: impl Fn(f64) -> f64, q: impl Fn(f64) -> f64, grid: &Grid) -> f64 {
    let term = |a: f64, m: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
    grid.integrate(|x| {
        let (a, b) = (p(x), q(x));
        let m = 0.5 * (a + b);
        0.5 * term(a, m) + 0.5 * term(b, m)
    })
}

/// V(D, G) = E_p_data[log D(x)] + E_p_g[log(1 - D(x))] (Goodfellow et al. 2014, eq. 1)
/// for a discriminator given by its logit function, by integration over `grid`.
pub fn value_of_logit(
    p_data: &Mixture,
    p_g: &Mixture,
    logit: impl Fn(f64) -> f64,
    grid: &Grid,
) -> f64 {
    grid.integrate(|x| {
        let l = logit(x);
        p_data.pdf(x) * ln_sigmoid(l) + p_g.pdf(x) * ln_sigmoid(-l)
    })
}

/// V(D*, G) by integration, with D*'s logit log p_data - log p_g.
pub fn value_at_optimum(p_data: &Mixture, p_g: &Mixture) -> f64 {
    let grid = Grid::covering(p_data, p_g, GRID_POINTS);
    value_of_logit(p_data, p_g, |x| p_data.ln_pdf(x) - p_g.ln_pdf(x), &grid)
}

/// -log 4 + 2 JSD(p_data || p_g) (Goodfellow et al. 2014, Thm. 1): equals
/// [`value_at_optimum`].
pub fn value_from_jsd(p_data: &Mixture, p_g: &Mixture) -> f64 {
    -2.0 * LN_2 + 2.0 * jsd(p_data, p_g)
}

/// log 4, the negated value of the game at its equilibrium.
pub const LOG4: f64 = 2.0 * LN_2;
