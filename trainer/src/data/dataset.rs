//! An in-memory dataset: `n` rows of `dim` values, plus the clean copy when noise was injected.

use std::borrow::Cow;

use crate::mapped_vec::MappedVec;

/// How values are scaled: the manifest's type, so a run and its exported model say it alike.
pub use edgevae_runtime::core::Scaling;

/// The value of a byte read from a u8 file: the one place the 1/255 scaling is written.
pub fn byte_value(b: u8) -> f32 {
    f32::from(b) / 255.0
}

/// Row-major values as they were read. Bytes (from u8 files, `byte_value` each) stay bytes, a
/// quarter of the memory of f32: MNIST's 60,000 training images are 47 MB as bytes and 188 MB
/// as f32, and training converts one batch at a time. They live in their own mapping, which
/// goes back to the OS when training drops them before stage 2 (`mapped_vec.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    Bytes(MappedVec<u8>),
    Floats(Vec<f32>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Bytes(b) => b.len(),
            Values::Floats(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every value as f32: borrowed for floats, converted for bytes.
    pub fn as_f32(&self) -> Cow<'_, [f32]> {
        self.slice(0..self.len())
    }

    /// Elements `range` as f32: borrowed for floats, converted for bytes.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Cow<'_, [f32]> {
        match self {
            Values::Bytes(b) => Cow::Owned(b[range].iter().map(|&v| byte_value(v)).collect()),
            Values::Floats(f) => Cow::Borrowed(&f[range]),
        }
    }

    /// Appends elements `range` as f32 to `out`.
    fn extend_into(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        match self {
            Values::Bytes(b) => out.extend(b[range].iter().map(|&v| byte_value(v))),
            Values::Floats(f) => out.extend_from_slice(&f[range]),
        }
    }

    /// The values as f32 to change in place; bytes are converted (once) first.
    fn floats_mut(&mut self) -> &mut Vec<f32> {
        if let Values::Bytes(b) = self {
            *self = Values::Floats(b.iter().map(|&v| byte_value(v)).collect());
        }
        match self {
            Values::Floats(f) => f,
            Values::Bytes(_) => unreachable!("converted to floats above"),
        }
    }

    fn pick_rows(&self, dim: usize, idx: &[usize]) -> Values {
        match self {
            Values::Bytes(b) => {
                let mut out = MappedVec::with_capacity(idx.len() * dim);
                for &i in idx {
                    out.extend_from_slice(&b[i * dim..(i + 1) * dim]);
                }
                Values::Bytes(out)
            }
            Values::Floats(f) => Values::Floats(pick_rows(f, dim, idx)),
        }
    }

    fn keep_rows(&mut self, dim: usize, keep: &[usize]) {
        match self {
            Values::Bytes(b) => {
                move_rows_to_front(b, dim, keep);
                b.truncate(keep.len() * dim);
            }
            Values::Floats(f) => keep_rows(f, dim, keep),
        }
    }
}

impl From<Vec<f32>> for Values {
    fn from(v: Vec<f32>) -> Self {
        Values::Floats(v)
    }
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub dim: usize,
    /// (rows, cols) when rows are images, for PNG grids.
    pub image_shape: Option<(usize, usize)>,
    pub scaling: Scaling,
    /// Row-major `len() * dim` values, as the model sees them (corrupted, if corruption was
    /// asked). Read through `values`, `rows` and `gather`; change through `values_mut`.
    storage: Values,
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
        values: impl Into<Values>,
    ) -> Self {
        let storage = values.into();
        debug_assert!(dim > 0 && storage.len().is_multiple_of(dim));
        Self {
            dim,
            image_shape,
            scaling,
            storage,
            clean: None,
            outlier_mask: None,
        }
    }

    pub fn len(&self) -> usize {
        self.storage.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.storage.is_empty()
    }

    /// Whether the values are held as bytes (read from a u8 file, never changed).
    pub fn is_bytes(&self) -> bool {
        matches!(self.storage, Values::Bytes(_))
    }

    /// Every value as f32 (a converted copy when held as bytes: prefer `rows` in chunks).
    pub fn values(&self) -> Cow<'_, [f32]> {
        self.storage.as_f32()
    }

    /// Rows `range` as f32, row-major.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Cow<'_, [f32]> {
        self.storage
            .slice(range.start * self.dim..range.end * self.dim)
    }

    /// Every row, `rows` at a time (the last chunk may be shorter), each as f32.
    pub fn row_chunks(&self, rows: usize) -> impl Iterator<Item = Cow<'_, [f32]>> + '_ {
        let (n, step) = (self.len(), rows.max(1));
        (0..n)
            .step_by(step)
            .map(move |start| self.rows(start..(start + step).min(n)))
    }

    pub fn row(&self, i: usize) -> Cow<'_, [f32]> {
        self.rows(i..i + 1)
    }

    /// The values as f32 to change in place (bytes are converted to f32 first).
    pub fn values_mut(&mut self) -> &mut Vec<f32> {
        self.storage.floats_mut()
    }

    /// The clean values when known, else the values themselves.
    pub fn clean_values(&self) -> Cow<'_, [f32]> {
        match &self.clean {
            Some(c) => Cow::Borrowed(c),
            None => self.values(),
        }
    }

    /// Copies the rows `idx` into one contiguous f32 buffer.
    pub fn gather(&self, idx: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            self.storage
                .extend_into(i * self.dim..(i + 1) * self.dim, &mut out);
        }
        out
    }

    /// A new dataset of the rows `idx` (clean copy and mask follow).
    pub fn select(&self, idx: &[usize]) -> Dataset {
        Dataset {
            dim: self.dim,
            image_shape: self.image_shape,
            scaling: self.scaling,
            storage: self.storage.pick_rows(self.dim, idx),
            clean: self.clean.as_deref().map(|c| pick_rows(c, self.dim, idx)),
            outlier_mask: self
                .outlier_mask
                .as_deref()
                .map(|m| pick_rows(m, self.dim, idx)),
        }
    }

    /// Keeps only the rows `keep` (strictly increasing), in place: splitting a large training
    /// file needs no second copy of it.
    pub fn retain_rows(&mut self, keep: &[usize]) {
        debug_assert!(keep.windows(2).all(|w| w[0] < w[1]));
        let dim = self.dim;
        self.storage.keep_rows(dim, keep);
        if let Some(c) = self.clean.as_mut() {
            keep_rows(c, dim, keep);
        }
        if let Some(m) = self.outlier_mask.as_mut() {
            keep_rows(m, dim, keep);
        }
    }

    /// The first `n` rows (or all of them).
    pub fn head(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }
}

/// Moves rows `keep` (strictly increasing) to the front of `values`, in order.
fn move_rows_to_front<T: Copy>(values: &mut [T], dim: usize, keep: &[usize]) {
    for (to, &from) in keep.iter().enumerate() {
        // `from >= to` for a strictly increasing list, so no kept row is overwritten early.
        values.copy_within(from * dim..(from + 1) * dim, to * dim);
    }
}

/// Moves rows `keep` (strictly increasing) to the front of `values`, in order, and drops the rest.
fn keep_rows<T: Copy>(values: &mut Vec<T>, dim: usize, keep: &[usize]) {
    move_rows_to_front(values, dim, keep);
    values.truncate(keep.len() * dim);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_dataset() -> Dataset {
        let bytes: Vec<u8> = (0..30).map(|i| (i * 8) as u8).collect();
        let mut ds = Dataset::new(3, None, Scaling::Unit, Values::Bytes(bytes.into()));
        ds.clean = Some((0..30).map(|i| i as f32).collect());
        ds.outlier_mask = Some((0..30).map(|i| i % 4 == 0).collect());
        ds
    }

    #[test]
    fn retaining_rows_in_place_equals_selecting_them() {
        let keep = [0, 2, 3, 7, 9];
        for ds in [bytes_dataset(), {
            let mut f = bytes_dataset();
            f.values_mut();
            f
        }] {
            let selected = ds.select(&keep);
            let mut retained = ds.clone();
            retained.retain_rows(&keep);
            assert_eq!(retained.storage, selected.storage);
            assert_eq!(retained.clean, selected.clean);
            assert_eq!(retained.outlier_mask, selected.outlier_mask);
            assert_eq!(retained.len(), keep.len());
            assert_eq!(retained.row(1)[..], ds.row(2)[..]);
        }
    }

    #[test]
    fn bytes_read_as_their_scaled_values_everywhere() {
        let ds = bytes_dataset();
        assert!(ds.is_bytes());
        let want: Vec<f32> = (0..30).map(|i| f32::from((i * 8) as u8) / 255.0).collect();
        assert_eq!(ds.values()[..], want[..]);
        assert_eq!(ds.gather(&[4, 1]), [&want[12..15], &want[3..6]].concat());
        let chunks: Vec<Vec<f32>> = ds.row_chunks(4).map(|c| c.into_owned()).collect();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), want);
        let mut converted = ds.clone();
        assert_eq!(converted.values_mut()[..], want[..]);
        assert!(!converted.is_bytes());
    }
}
