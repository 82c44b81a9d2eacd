//! `edgevae_sampler`: draws samples u → z → x into caller buffers.

use std::sync::Mutex;

use edgevae_runtime::Sampler;

use crate::boundary::{self, Error};
use crate::model::edgevae_model;
use crate::status::edgevae_status;

/// The sampler graph of a model, with its ONNX Runtime session and buffers. Opaque; made by
/// `edgevae_sampler_new`, freed by `edgevae_sampler_free`.
///
/// Thread-safety: one call at a time per sampler (it may move between threads): a call made
/// while another thread's call on the same sampler runs returns `EDGEVAE_STATUS_BUSY` and does
/// nothing. Different samplers may run on different threads at once.
pub struct edgevae_sampler {
    inner: Mutex<Sampler>,
}

/// Loads the model's sampler graph (in the model's precision), checks its size, SHA-256, inputs
/// and outputs against the manifest and builds an ONNX Runtime session with the model's
/// execution providers. On success `*out` is a new sampler the caller owns and must free with
/// `edgevae_sampler_free`; on failure `*out` is NULL (when `out` is not NULL). The sampler does
/// not borrow `model`.
///
/// Errors: `NULL_POINTER`, `IO`, `GRAPH` (size, checksum, ports, or no sampler graph in this
/// precision), `PROVIDER_UNAVAILABLE` (strict), `PANIC`.
///
/// Thread-safety: one thread at a time per model; `model` is only read.
///
/// # Safety
///
/// `model` must be NULL or a live model; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgevae_sampler_new(
    model: *const edgevae_model,
    out: *mut *mut edgevae_sampler,
) -> edgevae_status {
    boundary::run("edgevae_sampler_new", || {
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: NULL or a live model by the caller's contract.
        let model = unsafe { boundary::in_ref(model, "model") }?;
        let inner = model.inner.sampler()?;
        let inner = Mutex::new(inner);
        // SAFETY: as above; written last, so a failure leaves *out NULL.
        unsafe { out.write(boundary::into_handle(edgevae_sampler { inner })) };
        Ok(())
    })
}

/// Draws `n` samples into `out`, row-major: `out_len` must be exactly `n * input_dim`. The
/// noise is u then ε, each `n * latent` standard normals from the core's seeded RNG, so the same
/// (`n`, `seed`) gives the same samples, also through the Rust API. Once a batch size has been
/// seen, a successful call at that size makes no Rust heap allocation (a call at a new batch
/// size makes the buffers for it).
///
/// Errors: `NULL_POINTER` (`sampler`, `out`), `INVALID_ARGUMENT` (`n` is 0, or `n * input_dim`
/// overflows), `BUFFER_LENGTH` (`out_len` is not `n * input_dim`), `BUSY` (another thread's
/// call on this sampler is running), `NON_FINITE_OUTPUT` (the graph overflowed), `ONNX_RUNTIME`,
/// `PANIC`.
/// Nothing is written to `out` on an argument error.
///
/// Thread-safety: one call at a time per sampler; a concurrent call returns `BUSY`.
///
/// # Safety
///
/// `sampler` must be NULL or a live sampler; `out` NULL or `out_len` writable floats that
/// nothing else uses during the call.
#[no_mangle]
pub unsafe extern "C" fn edgevae_sampler_sample(
    sampler: *mut edgevae_sampler,
    n: usize,
    seed: u64,
    out: *mut f32,
    out_len: usize,
) -> edgevae_status {
    boundary::run("edgevae_sampler_sample", || {
        // SAFETY: NULL or a live sampler (caller contract); only shared references are made,
        // and `claim` gives this call the sampler's state or BUSY.
        let sampler = unsafe { boundary::in_ref(sampler.cast_const(), "sampler") }?;
        let mut sampler = boundary::claim(&sampler.inner, "sampler")?;
        if n == 0 {
            return Err(Error::invalid("n is 0: draw at least one sample"));
        }
        let dim = sampler.dim();
        let len = n
            .checked_mul(dim)
            .ok_or_else(|| Error::invalid(format!("n * input_dim = {n} * {dim} overflows")))?;
        // SAFETY: NULL or `out_len` writable floats used by nobody else (caller contract);
        // `out_slice` checks NULL, length and alignment first.
        let out = unsafe { boundary::out_slice(out, out_len, len, "out") }?;
        sampler.sample_into(n, seed, out)?;
        Ok(())
    })
}

/// Frees a sampler. NULL is fine. Must not be called twice with the same value.
///
/// Thread-safety: no other thread may use `sampler` during or after the call.
///
/// # Safety
///
/// `sampler` must be NULL or a sampler from `edgevae_sampler_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn edgevae_sampler_free(sampler: *mut edgevae_sampler) {
    let _ = boundary::run("edgevae_sampler_free", || {
        // SAFETY: NULL or an unfreed handle of this type, by the caller's contract.
        unsafe { boundary::free(sampler) };
        Ok(())
    });
}
