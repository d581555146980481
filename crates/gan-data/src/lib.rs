//! Datasets, loaders and image output (issue 4).
