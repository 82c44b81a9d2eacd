//! `edgevae_options`: how a model is run (execution providers, threads, precision, library).

use std::ffi::c_char;
use std::path::PathBuf;

use edgevae_runtime::core::Precision;
use edgevae_runtime::{Provider, RuntimeOptions};

use crate::boundary::{self, Error};
use crate::status::edgevae_status;

/// `edgevae_options.precision`: the fp32 graphs (the reference; CPU).
pub const EDGEVAE_PRECISION_FP32: u32 = 0;
/// `edgevae_options.precision`: fp16-stored weights computed in fp32 (half the file; CPU).
pub const EDGEVAE_PRECISION_FP16W: u32 = 1;
/// `edgevae_options.precision`: fp16 weights and compute (for CUDA and TensorRT).
pub const EDGEVAE_PRECISION_FP16: u32 = 2;
/// `edgevae_options.precision`: int8 dense-layer weights, activations quantised per call
/// (ONNX Runtime's dynamic quantisation; CPU).
pub const EDGEVAE_PRECISION_INT8: u32 = 3;

/// How `edgevae_model_open` runs a model. Fill it with `edgevae_options_default`, then change
/// the fields wanted. The strings are read during `edgevae_model_open` only; the caller keeps
/// ownership of them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct edgevae_options {
    /// Execution providers in order of preference, comma-separated: `cpu`, `cuda`, `tensorrt`
    /// (e.g. `"tensorrt,cuda,cpu"`). An unavailable provider falls back to the next one, CPU
    /// last, unless `strict` is set. NULL or empty means `"cpu"`.
    pub providers: *const c_char,
    /// Intra-op threads of ONNX Runtime; 0: one per CPU this process may use.
    pub threads: u32,
    /// Fail with `EDGEVAE_STATUS_PROVIDER_UNAVAILABLE` instead of falling back.
    pub strict: bool,
    /// Which exported graphs to load: `EDGEVAE_PRECISION_FP32` (0), `EDGEVAE_PRECISION_FP16W`
    /// (1), `EDGEVAE_PRECISION_FP16` (2) or `EDGEVAE_PRECISION_INT8` (3).
    pub precision: u32,
    /// Path of the ONNX Runtime shared library; NULL searches `ORT_DYLIB_PATH`, then the copy
    /// that `scripts/fetch-onnxruntime.sh` fetched. ONNX Runtime is loaded once per process: the
    /// first model opened decides which library is used.
    pub library_path: *const c_char,
    /// Let ONNX Runtime repack the weights for its GEMM kernels when the model is opened (the
    /// default, true). False opens faster (5-6 ms for the MNIST-sized sampler) at the same
    /// 1-thread batch-1 latency, but gives 8-24 % less throughput at batch 64 and above.
    pub prepack_weights: bool,
}

impl Default for edgevae_options {
    fn default() -> Self {
        Self {
            providers: std::ptr::null(),
            threads: 0,
            strict: false,
            precision: EDGEVAE_PRECISION_FP32,
            library_path: std::ptr::null(),
            prepack_weights: true,
        }
    }
}

fn precision(value: u32) -> Result<Precision, Error> {
    match value {
        EDGEVAE_PRECISION_FP32 => Ok(Precision::Fp32),
        EDGEVAE_PRECISION_FP16W => Ok(Precision::Fp16w),
        EDGEVAE_PRECISION_FP16 => Ok(Precision::Fp16),
        EDGEVAE_PRECISION_INT8 => Ok(Precision::Int8),
        other => Err(Error::invalid(format!(
            "options.precision is {other}: use 0 (fp32), 1 (fp16w), 2 (fp16) or 3 (int8)"
        ))),
    }
}

/// The runtime's options from C options (NULL: the defaults).
///
/// # Safety
///
/// `options` must be NULL or point to a valid `edgevae_options` whose strings are NULL or
/// NUL-terminated, none of them mutated during the call.
pub(crate) unsafe fn to_runtime(options: *const edgevae_options) -> Result<RuntimeOptions, Error> {
    if options.is_null() {
        return Ok(RuntimeOptions::default());
    }
    // SAFETY: not NULL (checked); valid by the caller's contract.
    let o = unsafe { boundary::in_ref(options, "options") }?;
    let providers = if o.providers.is_null() {
        vec![Provider::Cpu]
    } else {
        // SAFETY: a NUL-terminated string by the caller's contract.
        let list = unsafe { boundary::utf8(o.providers, "options.providers") }?;
        let parsed = Provider::parse_list(list)?;
        if parsed.is_empty() {
            vec![Provider::Cpu]
        } else {
            parsed
        }
    };
    let library = if o.library_path.is_null() {
        None
    } else {
        // SAFETY: a NUL-terminated string by the caller's contract.
        let path = unsafe { boundary::path(o.library_path, "options.library_path") }?;
        if path.as_os_str().is_empty() {
            return Err(Error::invalid(
                "options.library_path is empty: give a path, or NULL to search",
            ));
        }
        Some(PathBuf::from(path))
    };
    Ok(RuntimeOptions {
        providers,
        strict: o.strict,
        threads: (o.threads > 0).then_some(o.threads as usize),
        precision: precision(o.precision)?,
        library,
        prepack_weights: o.prepack_weights,
    })
}

/// Writes the default options to `*out`: providers `"cpu"` (NULL), threads 0 (ONNX Runtime's
/// choice), not strict, fp32, the default library search (NULL), weights prepacked. `*out` need not be initialised.
///
/// Thread-safety: may be called from any thread; `*out` must not be used by another thread
/// during the call.
///
/// # Safety
///
/// `out` must be NULL or point to writable memory for one `edgevae_options`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_options_default(out: *mut edgevae_options) -> edgevae_status {
    boundary::run("edgevae_options_default", || {
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract; `write`
        // does not read or drop the possibly uninitialised old value.
        unsafe { out.write(edgevae_options::default()) };
        Ok(())
    })
}
