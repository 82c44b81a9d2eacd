//! An in-memory dataset: `n` rows of `dim` values, plus the clean copy when noise was injected.

use serde::{Deserialize, Serialize};

/// How values are scaled, which decides the decoder's output layer and the corruption noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Pixels in [0, 1]: sigmoid decoder output, uniform noise for corruption.
    Unit,
    /// Real values of about unit scale: linear decoder output, N(0, 1) noise for corruption.
    Real,
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub dim: usize,
    /// (rows, cols) when rows are images, for PNG grids.
    pub image_shape: Option<(usize, usize)>,
    pub scaling: Scaling,
    /// Row-major `len() * dim` values, as the model sees them (corrupted, if corruption was asked).
    pub values: Vec<f32>,
    /// The uncorrupted values, kept for evaluation when `values` had noise injected.
    pub clean: Option<Vec<f32>>,
    /// Per-element flags: `true` where `values` differs from `clean` by injection.
    pub outlier_mask: Option<Vec<bool>>,
}

impl Dataset {
    pub fn new(
        dim: usize,
        image_shape: Option<(usize, usize)>,
        scaling: Scaling,
        values: Vec<f32>,
    ) -> Self {
        debug_assert!(dim > 0 && values.len().is_multiple_of(dim));
        Self {
            dim,
            image_shape,
            scaling,
            values,
            clean: None,
            outlier_mask: None,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The clean values when known, else the values themselves.
    pub fn clean_values(&self) -> &[f32] {
        self.clean.as_deref().unwrap_or(&self.values)
    }

    /// Copies the rows `idx` into one contiguous buffer.
    pub fn gather(&self, idx: &[usize]) -> Vec<f32> {
        pick_rows(&self.values, self.dim, idx)
    }

    /// A new dataset of the rows `idx` (clean copy and mask follow).
    pub fn select(&self, idx: &[usize]) -> Dataset {
        Dataset {
            dim: self.dim,
            image_shape: self.image_shape,
            scaling: self.scaling,
            values: self.gather(idx),
            clean: self.clean.as_deref().map(|c| pick_rows(c, self.dim, idx)),
            outlier_mask: self
                .outlier_mask
                .as_deref()
                .map(|m| pick_rows(m, self.dim, idx)),
        }
    }

    /// The first `n` rows (or all of them).
    pub fn head(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }
}

/// Rows `idx` of a row-major buffer with `dim` values per row, in order, as one buffer.
fn pick_rows<T: Copy>(values: &[T], dim: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * dim);
    for &i in idx {
        out.extend_from_slice(&values[i * dim..(i + 1) * dim]);
    }
    out
}

/// Training, validation and (when the source has one) test data.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub val: Dataset,
    pub test: Option<Dataset>,
}
