//! `edgevae_model`: an opened model directory (manifest read and validated, ONNX Runtime loaded).

use std::ffi::c_char;

use edgevae_runtime::ModelDir;

use crate::boundary::{self, Error};
use crate::options::{self, edgevae_options};
use crate::status::edgevae_status;

/// An opened model directory. Opaque; made by `edgevae_model_open`, freed by
/// `edgevae_model_free`.
///
/// Thread-safety: not safe for concurrent use: one thread at a time per model (it may move
/// between threads). Different handles may be used from different threads at once.
pub struct edgevae_model {
    pub(crate) inner: ModelDir,
}

/// Opens the model directory `dir` (made by `edgevae export`): reads and validates
/// `manifest.json` and loads the ONNX Runtime library (once per process). The graphs are
/// loaded and checked against the manifest by `edgevae_sampler_new` and `edgevae_filter_new`.
///
/// `options` may be NULL for the defaults (see `edgevae_options_default`). On success `*out`
/// is a new model the caller owns and must free with `edgevae_model_free`; on failure `*out` is
/// NULL (when `out` is not NULL).
///
/// Errors: `NULL_POINTER` (`dir` or `out`), `INVALID_ARGUMENT` (unknown provider, precision out
/// of range, non-UTF-8 provider list), `IO` (no `manifest.json` in `dir`), `MANIFEST`,
/// `LIBRARY` (ONNX Runtime not found or not loadable), `PANIC`.
///
/// Thread-safety: may be called from several threads at once (the library is loaded once,
/// under a lock).
///
/// Process environment: the first call sets `ORT_DISABLE_TELEMETRY=1` unless the variable is
/// already set, before ONNX Runtime is loaded. Without it ONNX Runtime 1.31 starts a telemetry
/// thread that outlives every handle, writes under `$HOME/.cache` and `$TMPDIR`, and can read
/// freed memory while the program exits. A program whose other threads use `getenv`/`setenv`
/// during that first call should set the variable itself beforehand (`0` opts in to ONNX
/// Runtime's telemetry). No thread started by edgevae or ONNX Runtime outlives the handles, so
/// there is no shutdown call: returning from `main` after the `_free` calls is enough.
///
/// # Safety
///
/// `dir` must be NULL or a NUL-terminated path; `options` NULL or a valid `edgevae_options`
/// (its strings NULL or NUL-terminated); `out` NULL or writable. None may be mutated during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn edgevae_model_open(
    dir: *const c_char,
    options: *const edgevae_options,
    out: *mut *mut edgevae_model,
) -> edgevae_status {
    boundary::run("edgevae_model_open", || {
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: NULL or NUL-terminated by the caller's contract.
        let dir = unsafe { boundary::path(dir, "dir") }?;
        // SAFETY: NULL or a valid edgevae_options by the caller's contract.
        let options = unsafe { options::to_runtime(options) }?;
        let model = ModelDir::open(dir, options)?;
        edgevae_runtime::environment(model.options.library.as_deref())?;
        // SAFETY: as above; the handle is written last, so a failure leaves *out NULL.
        unsafe { out.write(boundary::into_handle(edgevae_model { inner: model })) };
        Ok(())
    })
}

/// Frees a model. NULL is fine. Must not be called twice with the same value. Samplers and
/// filters made from the model do not borrow it: they stay usable after it is freed.
///
/// Thread-safety: no other thread may use `model` during or after the call.
///
/// # Safety
///
/// `model` must be NULL or a model from `edgevae_model_open` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn edgevae_model_free(model: *mut edgevae_model) {
    let _ = boundary::run("edgevae_model_free", || {
        // SAFETY: NULL or an unfreed handle of this type, by the caller's contract.
        unsafe { boundary::free(model) };
        Ok(())
    });
}

/// Writes one value read from the model to `*out`.
///
/// # Safety
///
/// As the public accessors below.
unsafe fn read(
    function: &str,
    model: *const edgevae_model,
    out: *mut usize,
    field: impl FnOnce(&ModelDir) -> usize,
) -> edgevae_status {
    boundary::run(function, || {
        // SAFETY: NULL or a live model by the caller's contract.
        let model = unsafe { boundary::in_ref(model, "model") }?;
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(field(&model.inner)) };
        Ok::<(), Error>(())
    })
}

/// Writes the number of values per sample (the manifest's `input_dim`; 784 for 28×28 images)
/// to `*out`.
///
/// Errors: `NULL_POINTER`.
///
/// Thread-safety: one thread at a time per model.
///
/// # Safety
///
/// `model` must be NULL or a live model; `out` NULL or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_model_input_dim(
    model: *const edgevae_model,
    out: *mut usize,
) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    unsafe { read("edgevae_model_input_dim", model, out, ModelDir::input_dim) }
}

/// Writes the latent width κ (the manifest's `latent`) to `*out`.
///
/// Errors: `NULL_POINTER`.
///
/// Thread-safety: one thread at a time per model.
///
/// # Safety
///
/// `model` must be NULL or a live model; `out` NULL or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_model_latent(
    model: *const edgevae_model,
    out: *mut usize,
) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    unsafe { read("edgevae_model_latent", model, out, ModelDir::latent) }
}
