//! Outlier filtering at the edge (method.md section 5): the `filter` graph reconstructs each row,
//! [`crate::core::outlier::filter_row`] scores every element by its log-likelihood under the
//! inlier Gaussian (the decoder's variance head for a robust model, the calibrated per-element
//! noise otherwise), masks the implausible elements and replaces them by the reconstruction.
//!
//! Why passes: a large outlier drags the encoder's posterior, so the first reconstruction is
//! partly pulled towards the corruption. Pass k > 1 reconstructs the cleaned rows of pass k - 1,
//! but every pass re-masks against the *original* input, so an element once masked by mistake
//! is given back when a better reconstruction explains it.
//!
//! Like [`super::Sampler`], the input tensor and the preallocated outputs (`x_mean`, and
//! `x_log_var` for a robust model) are made on the first call at a batch size, and only those
//! are selected, so a call at a batch size already seen makes no Rust heap allocation; the
//! results go into a caller-owned [`FilterOutput`].

use ort::memory::Allocator;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::{Tensor, TensorRef};

use super::session::f32_output as output;
use super::{ProviderChoice, RuntimeError};
use crate::core::outlier::{filter_row, noise_log_var, row_log_var, InputGate, RowOutput};
use crate::core::{buffers::check_len, CoreError, OutlierThresholds};

/// The graph outputs the filter reads; the others (`z_mean`, `z_log_var`) are not selected, so
/// ONNX Runtime neither computes nor allocates them where the graph allows.
const X_MEAN: &str = crate::core::graph_ports::X_MEAN.name;
const X_LOG_VAR: &str = crate::core::graph_ports::X_LOG_VAR.name;

struct Buffers {
    batch: usize,
    x: Tensor<f32>,
    run_options: RunOptions<HasSelectedOutputs>,
}

/// The buffers for batch size `n`, made on first use of that size.
fn ensure_buffers<'a>(
    slot: &'a mut Option<Buffers>,
    session: &Session,
    n: usize,
    dim: usize,
    robust: bool,
) -> Result<&'a mut Buffers, RuntimeError> {
    if slot.as_ref().is_none_or(|b| b.batch != n) {
        let x = Tensor::<f32>::new(&Allocator::default(), [n, dim]).map_err(RuntimeError::ort)?;
        let output =
            || Tensor::<f32>::new(session.allocator(), [n, dim]).map_err(RuntimeError::ort);
        let mut selector = OutputSelector::no_default()
            .with(X_MEAN)
            .preallocate(X_MEAN, output()?);
        if robust {
            selector = selector.with(X_LOG_VAR).preallocate(X_LOG_VAR, output()?);
        }
        let run_options = RunOptions::new()
            .map_err(RuntimeError::ort)?
            .with_outputs(selector);
        *slot = Some(Buffers {
            batch: n,
            x,
            run_options,
        });
    }
    slot.as_mut()
        .ok_or_else(|| RuntimeError::Ort("filter buffers missing".into()))
}

/// Results of [`OutlierFilter::filter_into`], allocated once for up to `capacity` rows of `dim`
/// values; the accessors return the rows of the latest call only.
#[derive(Clone, Debug)]
pub struct FilterOutput {
    scores: Vec<f32>,
    element_scores: Vec<f32>,
    mask: Vec<u8>,
    cleaned: Vec<f32>,
    reconstruction: Vec<f32>,
    rows: usize,
    dim: usize,
    score_threshold: f64,
}

impl FilterOutput {
    /// Room for `max_rows` rows of `dim` values (the model's `input_dim`).
    ///
    /// # Panics
    ///
    /// When that much memory cannot be reserved; [`Self::try_new`] returns an error instead.
    pub fn new(max_rows: usize, dim: usize) -> Self {
        Self::try_new(max_rows, dim).unwrap_or_else(|e| panic!("FilterOutput::new: {e}"))
    }

    /// [`Self::new`], with an error instead of a panic or an abort when `max_rows * dim` values
    /// overflow or cannot be reserved (sizes that come from a caller, as in the C ABI).
    pub fn try_new(max_rows: usize, dim: usize) -> Result<Self, RuntimeError> {
        let too_large = || RuntimeError::OutputTooLarge {
            rows: max_rows,
            dim,
        };
        let len = max_rows.checked_mul(dim).ok_or_else(too_large)?;
        fn zeros<T: Clone + Default>(
            len: usize,
            too_large: impl Fn() -> RuntimeError,
        ) -> Result<Vec<T>, RuntimeError> {
            let mut v = Vec::new();
            v.try_reserve_exact(len).map_err(|_| too_large())?;
            v.resize(len, T::default());
            Ok(v)
        }
        Ok(Self {
            scores: zeros(max_rows, too_large)?,
            element_scores: zeros(len, too_large)?,
            mask: zeros(len, too_large)?,
            cleaned: zeros(len, too_large)?,
            reconstruction: zeros(len, too_large)?,
            rows: 0,
            dim,
            score_threshold: f64::INFINITY,
        })
    }

    /// Rows filtered by the latest call (0 before any).
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The most rows one call can fill.
    pub fn capacity(&self) -> usize {
        self.scores.len()
    }

    /// Per-row score: the mean element score against the original input.
    pub fn scores(&self) -> &[f32] {
        &self.scores[..self.rows]
    }

    /// Per-element score, row-major: twice the element's negative log-likelihood under the
    /// inlier Gaussian (see [`crate::core::outlier`]); the mask is where it exceeds the
    /// manifest's `element_threshold`.
    pub fn element_scores(&self) -> &[f32] {
        &self.element_scores[..self.rows * self.dim]
    }

    /// Per-element mask, row-major: 1 where the element is an outlier.
    pub fn mask(&self) -> &[u8] {
        &self.mask[..self.rows * self.dim]
    }

    /// The input with masked elements replaced by the reconstruction, row-major.
    pub fn cleaned(&self) -> &[f32] {
        &self.cleaned[..self.rows * self.dim]
    }

    /// The reconstruction (`x_mean`) of the last pass, row-major.
    pub fn reconstruction(&self) -> &[f32] {
        &self.reconstruction[..self.rows * self.dim]
    }

    /// The score threshold the latest call was made with (the manifest's).
    pub fn score_threshold(&self) -> f64 {
        self.score_threshold
    }

    /// Whether `row`'s score is above the score threshold; false for rows beyond [`Self::rows`].
    pub fn is_outlier(&self, row: usize) -> bool {
        self.scores()
            .get(row)
            .is_some_and(|&s| f64::from(s) > self.score_threshold)
    }

    /// The indices of the outlier rows, in order (no allocation).
    pub fn outlier_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|&i| self.is_outlier(i))
    }

    /// How many rows are outliers.
    pub fn outlier_count(&self) -> usize {
        self.outlier_rows().count()
    }

    /// How many elements are masked.
    pub fn masked_elements(&self) -> usize {
        self.mask().iter().filter(|&&m| m != 0).count()
    }
}

/// The filter graph of a calibrated model directory; made by [`super::ModelDir::filter`].
pub struct OutlierFilter {
    session: Session,
    provider: ProviderChoice,
    dim: usize,
    thresholds: OutlierThresholds,
    element_threshold: f32,
    /// ln of the calibrated per-element noise: the inlier log-variance when the graph has no
    /// variance head.
    noise_log_var: Vec<f32>,
    /// The graph has the `x_log_var` output (a robust decoder).
    robust: bool,
    /// Which input values are scored, from the manifest's scaling.
    gate: InputGate,
    buffers: Option<Buffers>,
}

impl OutlierFilter {
    pub(crate) fn new(
        session: Session,
        provider: ProviderChoice,
        dim: usize,
        thresholds: OutlierThresholds,
        robust: bool,
        gate: InputGate,
    ) -> Self {
        Self {
            session,
            provider,
            dim,
            element_threshold: thresholds.element_threshold as f32,
            noise_log_var: thresholds
                .element_noise
                .iter()
                .map(|v| noise_log_var(*v))
                .collect(),
            thresholds,
            robust,
            gate,
            buffers: None,
        }
    }

    /// Which execution provider runs, and which were unavailable.
    pub fn provider(&self) -> &ProviderChoice {
        &self.provider
    }

    /// Values per row (the manifest's `input_dim`).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The calibrated thresholds and per-element noise from the manifest.
    pub fn thresholds(&self) -> &OutlierThresholds {
        &self.thresholds
    }

    /// Runs the filter graph once on `n` rows of `x` and returns every graph output by name, in
    /// graph order (`z_mean`, `z_log_var`, `x_mean`, and `x_log_var` for a robust model), each
    /// row-major. It allocates on every call: for parity checks and diagnostics, not for a
    /// device's loop (use [`Self::filter_into`]).
    pub fn graph_outputs(
        &mut self,
        x: &[f32],
        n: usize,
    ) -> Result<Vec<(String, Vec<f32>)>, RuntimeError> {
        if n == 0 {
            return Err(RuntimeError::EmptyBatch);
        }
        check_len(x, n, self.dim)?;
        let input = TensorRef::from_array_view(([n, self.dim], x)).map_err(RuntimeError::ort)?;
        let outputs = self
            .session
            .run(ort::inputs![input])
            .map_err(RuntimeError::ort)?;
        outputs
            .iter()
            .map(|(name, value)| {
                let (_, data) = value
                    .try_extract_tensor::<f32>()
                    .map_err(RuntimeError::ort)?;
                Ok((name.to_string(), data.to_vec()))
            })
            .collect()
    }

    /// Filters `n` rows of `x` (row-major, `n * dim` finite values) with `passes` reconstruction
    /// passes and writes the last pass's scores, mask, cleaned rows and reconstruction into
    /// `out`. Pass 1 reconstructs `x`, pass k > 1 the cleaned rows of pass k - 1; every pass
    /// masks against the original `x`. On error `out` holds no rows.
    pub fn filter_into(
        &mut self,
        x: &[f32],
        n: usize,
        passes: usize,
        out: &mut FilterOutput,
    ) -> Result<(), RuntimeError> {
        // A failed call leaves no stale rows behind.
        out.rows = 0;
        if passes == 0 {
            return Err(RuntimeError::ZeroPasses);
        }
        if n == 0 {
            return Err(RuntimeError::EmptyBatch);
        }
        let d = self.dim;
        check_len(x, n, d)?;
        if out.dim != d || out.capacity() < n {
            return Err(RuntimeError::FilterOutputTooSmall {
                rows: n,
                dim: d,
                capacity: out.capacity(),
                out_dim: out.dim,
            });
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(RuntimeError::NonFiniteInput {
                row: i / d,
                column: i % d,
                value: x[i],
            });
        }
        out.score_threshold = self.thresholds.score_threshold;
        let len = n * d;
        let b = ensure_buffers(&mut self.buffers, &self.session, n, d, self.robust)?;
        for pass in 0..passes {
            let source = if pass == 0 { x } else { &out.cleaned[..len] };
            let input =
                b.x.try_extract_tensor_mut::<f32>()
                    .map_err(RuntimeError::ort)?
                    .1;
            input.copy_from_slice(source);
            // Values the gate refuses are outliers whatever the network makes of them; it is
            // shown a value of the data's range instead, so that one of them cannot overflow
            // the whole row's reconstruction. Later passes start from cleaned rows, which hold
            // the reconstruction there.
            if pass == 0 {
                self.gate.gate(input);
            }
            let outputs = self
                .session
                .run_with_options(ort::inputs![&b.x], &b.run_options)
                .map_err(RuntimeError::ort)?;
            let x_mean = output(&outputs, X_MEAN)?;
            check_len(x_mean, n, d)?;
            let head = if self.robust {
                let log_var = output(&outputs, X_LOG_VAR)?;
                check_len(log_var, n, d)?;
                Some(log_var)
            } else {
                None
            };
            let rows = x
                .chunks_exact(d)
                .zip(x_mean.chunks_exact(d))
                .zip(out.mask[..len].chunks_exact_mut(d))
                .zip(out.cleaned[..len].chunks_exact_mut(d))
                .zip(out.element_scores[..len].chunks_exact_mut(d))
                .zip(out.scores[..n].iter_mut())
                .enumerate();
            for (i, (((((x_row, mean_row), mask), cleaned), element_scores), score)) in rows {
                *score = filter_row(
                    x_row,
                    mean_row,
                    row_log_var(head, &self.noise_log_var, i),
                    self.element_threshold,
                    &self.gate,
                    RowOutput {
                        mask,
                        cleaned,
                        element_scores,
                    },
                )
                .map_err(|e| match e {
                    CoreError::NonFiniteReconstruction { column, value } => {
                        RuntimeError::NonFiniteOutput {
                            what: "reconstruction",
                            row: i,
                            column,
                            value,
                        }
                    }
                    other => other.into(),
                })?;
            }
            if pass + 1 == passes {
                out.reconstruction[..len].copy_from_slice(x_mean);
            }
        }
        out.rows = n;
        Ok(())
    }
}
