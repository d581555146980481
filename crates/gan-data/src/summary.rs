//! A printable summary of a dataset: count, shape, labels, value statistics.

use crate::dataset::{Dataset, ImageShape};
use rayon::prelude::*;

/// Count, shape, label histogram and value statistics of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of items.
    pub count: usize,
    /// Shape of one item (C, H, W).
    pub shape: ImageShape,
    /// Items per class, when labelled.
    pub label_histogram: Option<Vec<usize>>,
    /// Class names, index = label (may be empty).
    pub class_names: Vec<String>,
    /// Mean of all values.
    pub mean: f64,
    /// Standard deviation of all values (population).
    pub std: f64,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
}

/// Per-chunk running sums, merged in parallel.
#[derive(Clone, Copy)]
struct Moments {
    n: f64,
    sum: f64,
    sum_sq: f64,
    min: f32,
    max: f32,
}

impl Moments {
    const EMPTY: Moments = Moments {
        n: 0.0,
        sum: 0.0,
        sum_sq: 0.0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };

    fn of(values: &[f32]) -> Moments {
        let mut m = Moments::EMPTY;
        for &v in values {
            m.sum += v as f64;
            m.sum_sq += v as f64 * v as f64;
            m.min = m.min.min(v);
            m.max = m.max.max(v);
        }
        m.n = values.len() as f64;
        m
    }

    fn merge(a: Moments, b: Moments) -> Moments {
        Moments {
            n: a.n + b.n,
            sum: a.sum + b.sum,
            sum_sq: a.sum_sq + b.sum_sq,
            min: a.min.min(b.min),
            max: a.max.max(b.max),
        }
    }
}

impl Summary {
    /// Summarise `dataset`.
    pub fn of(dataset: &Dataset) -> Summary {
        let m = dataset
            .images()
            .par_chunks(1 << 16)
            .map(Moments::of)
            .reduce(|| Moments::EMPTY, Moments::merge);
        let (mean, std) = if m.n > 0.0 {
            let mean = m.sum / m.n;
            (mean, (m.sum_sq / m.n - mean * mean).max(0.0).sqrt())
        } else {
            (0.0, 0.0)
        };
        let label_histogram = dataset.labels().map(|labels| {
            let mut h = vec![0; dataset.num_classes()];
            for &l in labels {
                h[l as usize] += 1;
            }
            h
        });
        Summary {
            count: dataset.len(),
            shape: dataset.shape(),
            label_histogram,
            class_names: dataset.class_names().to_vec(),
            mean,
            std,
            min: if m.n > 0.0 { m.min } else { 0.0 },
            max: if m.n > 0.0 { m.max } else { 0.0 },
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shape;
        writeln!(f, "items:    {}", self.count)?;
        writeln!(
            f,
            "shape:    {} x {} x {} x {} (N, C, H, W); {} channel{}",
            self.count,
            s.channels,
            s.height,
            s.width,
            s.channels,
            if s.channels == 1 { "" } else { "s" }
        )?;
        writeln!(
            f,
            "values:   mean {:.4}, std {:.4}, min {:.4}, max {:.4}",
            self.mean, self.std, self.min, self.max
        )?;
        match &self.label_histogram {
            None => writeln!(f, "labels:   none"),
            Some(h) => {
                writeln!(f, "labels:   {} classes", h.len())?;
                // Long histograms (Stacked MNIST's 1000) are summarised, not listed.
                if h.len() > 20 {
                    let present = h.iter().filter(|&&c| c > 0).count();
                    let lo = h.iter().min().copied().unwrap_or(0);
                    let hi = h.iter().max().copied().unwrap_or(0);
                    return writeln!(
                        f,
                        "          {present} present, {lo} to {hi} items per class"
                    );
                }
                for (i, c) in h.iter().enumerate() {
                    match self.class_names.get(i) {
                        Some(name) if *name != i.to_string() => {
                            writeln!(f, "  {i:>3} {name:<12} {c}")?
                        }
                        _ => writeln!(f, "  {i:>3} {c}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_moments() {
        let shape = ImageShape::new(1, 1, 2);
        let ds = Dataset::new(vec![-1.0, 1.0, -1.0, 1.0], shape, Some(vec![1, 1]), 3).unwrap();
        let s = Summary::of(&ds);
        assert_eq!(s.count, 2);
        assert_eq!(s.label_histogram, Some(vec![0, 2, 0]));
        assert!(s.mean.abs() < 1e-12);
        assert!((s.std - 1.0).abs() < 1e-12);
        assert_eq!((s.min, s.max), (-1.0, 1.0));
        let text = s.to_string();
        assert!(text.contains("items:    2"), "{text}");
        assert!(text.contains("3 classes"), "{text}");
    }
}
