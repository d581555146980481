//! Scores of a class-conditional generator on MNIST-like data: does each image show the
//! class it was generated for? The MNIST classifier's agreement with the requested class
//! (the fraction of generated images it assigns to that class; chance is 1 / classes)
//! and FD-LeNet per class (generated images of class c against real test images of
//! class c, Heusel et al. 2017 on the classifier's features).

use serde::Serialize;

use super::classes;
use super::frechet::{frechet_distance, GaussianStats};

/// One class's scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassRow {
    /// The requested class.
    pub class: u32,
    /// Images generated for it.
    pub generated: usize,
    /// Fraction of them the classifier labels `class`.
    pub agreement: f64,
    /// FD-LeNet against the real test images of the class (None with fewer than 2 of
    /// either).
    pub fd_lenet: Option<f64>,
}

/// The scores of a conditional generator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConditionalScores {
    /// Fraction of all generated images labelled with their requested class.
    pub agreement: f64,
    /// Chance level: 1 / classes.
    pub chance: f64,
    /// Per requested class.
    pub per_class: Vec<ClassRow>,
}

/// Real test features grouped by class (`[n, dim]` rows with their labels).
pub fn real_by_class(
    features: &[f32],
    labels: &[u32],
    dim: usize,
    classes: usize,
) -> Vec<Vec<f32>> {
    let mut out = vec![Vec::new(); classes];
    for (row, &l) in features.chunks(dim).zip(labels) {
        if let Some(v) = out.get_mut(l as usize) {
            v.extend_from_slice(row);
        }
    }
    out
}

/// Scores of generated images with classifier `features` / `logits` (10 classes), made
/// for `requested` classes, against `real` test features grouped by class.
pub fn conditional_scores(
    features: &[f32],
    logits: &[f32],
    requested: &[u32],
    real: &[Vec<f32>],
    dim: usize,
    classes: usize,
) -> ConditionalScores {
    let predicted = classes::argmax(logits, classes::CLASSES);
    let hits = predicted
        .iter()
        .zip(requested)
        .filter(|(p, r)| p == r)
        .count();
    let per_class = (0..classes as u32)
        .map(|c| {
            let idx: Vec<usize> = (0..requested.len())
                .filter(|&i| requested[i] == c)
                .collect();
            let ok = idx.iter().filter(|&&i| predicted[i] == c).count();
            let gen: Vec<f32> = idx
                .iter()
                .flat_map(|&i| features[i * dim..(i + 1) * dim].iter().copied())
                .collect();
            let r = real.get(c as usize).map(|v| v.as_slice()).unwrap_or(&[]);
            let fd = (idx.len() >= 2 && r.len() >= 2 * dim).then(|| {
                frechet_distance(&GaussianStats::of(&gen, dim), &GaussianStats::of(r, dim))
            });
            ClassRow {
                class: c,
                generated: idx.len(),
                agreement: ok as f64 / idx.len().max(1) as f64,
                fd_lenet: fd,
            }
        })
        .collect();
    ConditionalScores {
        agreement: hits as f64 / requested.len().max(1) as f64,
        chance: 1.0 / classes.max(1) as f64,
        per_class,
    }
}
