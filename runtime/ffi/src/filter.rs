//! `edgevae_filter`: outlier scores, masks and cleaned rows, copied into caller buffers.

use std::sync::Mutex;

use edgevae_runtime::{FilterOutput, OutlierFilter};

use crate::boundary::{self, Error};
use crate::model::edgevae_model;
use crate::status::edgevae_status;

/// The filter graph of a calibrated model with its thresholds, ONNX Runtime session and result
/// buffers. Opaque; made by `edgevae_filter_new`, freed by `edgevae_filter_free`.
///
/// Thread-safety: one call at a time per filter (it may move between threads): a run made while
/// another thread's run on the same filter is going returns `EDGEVAE_STATUS_BUSY` and does
/// nothing. Different filters may run on different threads at once.
pub struct edgevae_filter {
    /// Read by `edgevae_filter_score_threshold` without claiming the state.
    score_threshold: f64,
    state: Mutex<FilterState>,
}

/// What one run at a time uses.
struct FilterState {
    inner: OutlierFilter,
    /// Results of the latest run; reallocated only when a batch is larger than its capacity.
    output: FilterOutput,
}

/// Loads the model's filter graph (in the model's precision) and its outlier calibration from
/// the manifest, checks the graph against the manifest and builds an ONNX Runtime session. On
/// success `*out` is a new filter the caller owns and must free with `edgevae_filter_free`; on
/// failure `*out` is NULL (when `out` is not NULL). The filter does not borrow `model`.
///
/// Errors: `NULL_POINTER`, `NOT_CALIBRATED` (the manifest has `"outlier": null`; re-export the
/// model with calibration), `IO`, `GRAPH`, `PROVIDER_UNAVAILABLE` (strict), `PANIC`.
///
/// Thread-safety: one thread at a time per model; `model` is only read.
///
/// # Safety
///
/// `model` must be NULL or a live model; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgevae_filter_new(
    model: *const edgevae_model,
    out: *mut *mut edgevae_filter,
) -> edgevae_status {
    boundary::run("edgevae_filter_new", || {
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: NULL or a live model by the caller's contract.
        let model = unsafe { boundary::in_ref(model, "model") }?;
        let inner = model.inner.filter()?;
        let output = FilterOutput::new(0, inner.dim());
        let handle = edgevae_filter {
            score_threshold: inner.thresholds().score_threshold,
            state: Mutex::new(FilterState { inner, output }),
        };
        // SAFETY: as above; written last, so a failure leaves *out NULL.
        unsafe { out.write(boundary::into_handle(handle)) };
        Ok(())
    })
}

/// Filters `n` rows of `x` (row-major, `x_len` = `n * input_dim` finite values) with `passes`
/// reconstruction passes (1 is the plain filter; more passes reconstruct from the cleaned rows
/// of the previous pass and re-mask against the original `x`), and copies the last pass's
/// results to the caller's buffers:
///
/// - `scores` (`scores_len` = `n`): per-row score, the mean over the row of each element's
///   score (twice its negative log-likelihood under the model's inlier Gaussian); a row is an
///   outlier when its score is above `edgevae_filter_score_threshold`.
/// - `mask` (`mask_len` = `n * input_dim`): 1 where an element is an outlier, else 0.
/// - `cleaned` (`cleaned_len` = `n * input_dim`): `x` with the masked elements replaced by the
///   reconstruction. `cleaned` may be `x` itself, to clean in place.
///
/// `mask` and `cleaned` are optional: pass NULL with length 0 for results not wanted. The
/// buffers are all checked before any work is done, and nothing is written to them on error.
/// The filter keeps its result buffers between calls and grows them only when `n` is larger
/// than any batch before; a successful call at a batch size already seen makes no Rust heap
/// allocation.
///
/// Errors: `NULL_POINTER` (`filter`, `x`, `scores`, or `mask`/`cleaned` NULL with a non-zero
/// length), `INVALID_ARGUMENT` (`n` or `passes` is 0, `n * input_dim` overflows, or the
/// filter cannot reserve its result buffers for `n` rows), `BUFFER_LENGTH` (a length is not the
/// one above), `NON_FINITE_INPUT` (a NaN or infinity in `x`; the message names its row and
/// column), `NON_FINITE_OUTPUT` (the model reconstructs an
/// outlier as a NaN or infinity, so it cannot be cleaned; the message names row and column),
/// `BUSY` (another thread's run on this filter is going), `ONNX_RUNTIME`, `PANIC`.
///
/// Every score, mask value and cleaned value written is finite. An element far outside the
/// data's range (for pixel data: outside [-1, 2]) or whose score is not finite is an outlier
/// with score `FLT_MAX`, so its row is flagged.
///
/// Thread-safety: one call at a time per filter; a concurrent call returns `BUSY`.
///
/// # Safety
///
/// Each pointer must be NULL or point to as many values as its length says: `x` readable,
/// `scores`, `mask` and `cleaned` writable, none used by another thread during the call.
/// `filter` must be NULL or a live filter.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn edgevae_filter_run(
    filter: *mut edgevae_filter,
    x: *const f32,
    x_len: usize,
    n: usize,
    passes: usize,
    scores: *mut f32,
    scores_len: usize,
    mask: *mut u8,
    mask_len: usize,
    cleaned: *mut f32,
    cleaned_len: usize,
) -> edgevae_status {
    boundary::run("edgevae_filter_run", || {
        // SAFETY: NULL or a live filter (caller contract); only shared references are made, and
        // `claim` gives this call the filter's state or BUSY.
        let filter = unsafe { boundary::in_ref(filter.cast_const(), "filter") }?;
        let mut guard = boundary::claim(&filter.state, "filter")?;
        let filter = &mut *guard;
        if n == 0 {
            return Err(Error::invalid("n is 0: give at least one row"));
        }
        if passes == 0 {
            return Err(Error::invalid(
                "passes is 0: the filter needs at least one pass",
            ));
        }
        let dim = filter.inner.dim();
        let len = n
            .checked_mul(dim)
            .ok_or_else(|| Error::invalid(format!("n * input_dim = {n} * {dim} overflows")))?;
        boundary::check_buffer(x, x_len, len, "x")?;
        boundary::check_buffer(scores, scores_len, n, "scores")?;
        let want_mask = boundary::check_optional_buffer(mask, mask_len, len, "mask")?;
        let want_cleaned = boundary::check_optional_buffer(cleaned, cleaned_len, len, "cleaned")?;

        if filter.output.capacity() < n {
            // Fallible: a batch too large for this machine is an error status, never an
            // abort of the host program.
            filter.output = FilterOutput::try_new(n, dim)?;
        }
        {
            // SAFETY: checked above (not NULL, `len` aligned floats); readable and not written
            // during the call by the caller's contract. The slice is dead before the writes
            // below, so `cleaned` may alias `x`.
            let x = unsafe { boundary::in_slice(x, x_len, len, "x") }?;
            filter.inner.filter_into(x, n, passes, &mut filter.output)?;
        }
        let out = &filter.output;
        // SAFETY: each destination passed check_buffer for exactly the length copied, and is
        // writable by the caller's contract.
        unsafe {
            boundary::copy_out(out.scores(), scores);
            if want_mask {
                boundary::copy_out(out.mask(), mask);
            }
            if want_cleaned {
                boundary::copy_out(out.cleaned(), cleaned);
            }
        }
        Ok(())
    })
}

/// Writes the calibrated score threshold (from the manifest) to `*out`: a row whose score is
/// above it is an outlier.
///
/// Errors: `NULL_POINTER`.
///
/// Thread-safety: may be called from any thread, also while a run on the filter is going.
///
/// # Safety
///
/// `filter` must be NULL or a live filter; `out` NULL or a writable `double`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_filter_score_threshold(
    filter: *const edgevae_filter,
    out: *mut f64,
) -> edgevae_status {
    boundary::run("edgevae_filter_score_threshold", || {
        // SAFETY: NULL or a live filter by the caller's contract.
        let filter = unsafe { boundary::in_ref(filter, "filter") }?;
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(filter.score_threshold) };
        Ok(())
    })
}

/// Frees a filter. NULL is fine. Must not be called twice with the same value.
///
/// Thread-safety: no other thread may use `filter` during or after the call.
///
/// # Safety
///
/// `filter` must be NULL or a filter from `edgevae_filter_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn edgevae_filter_free(filter: *mut edgevae_filter) {
    let _ = boundary::run("edgevae_filter_free", || {
        // SAFETY: NULL or an unfreed handle of this type, by the caller's contract.
        unsafe { boundary::free(filter) };
        Ok(())
    });
}
