//! `edgevae_micro`: the micro backend (MLP weight blobs, no ONNX Runtime) through the C ABI,
//! over memory the caller owns: the manifest's JSON, the blob (e.g. in flash) and a scratch
//! arena per call, sized by `edgevae_micro_arena_size`.

use edgevae_runtime::core::Manifest;
use edgevae_runtime::micro::{MicroError, MicroFilterOutput, MicroModel};

use crate::boundary::{self, Error};
use crate::status::edgevae_status;

/// A micro blob opened against its manifest. Opaque; made by `edgevae_micro_open`, freed by
/// `edgevae_micro_free`. It borrows the caller's blob (which must stay valid and unchanged until
/// the free) and owns its parsed manifest.
///
/// Thread-safety: calls only read the model, so any number of threads may call on one micro
/// model at once, each with its own arena and buffers.
pub struct edgevae_micro {
    // Declared before `manifest`, so dropped first: it borrows the boxed manifest, whose heap
    // address never changes while the handle lives, and the caller's blob.
    model: MicroModel<'static>,
    manifest: Box<Manifest>,
}

impl edgevae_micro {
    /// `n * input_dim`: the values of `n` rows; `n` = 0 is the error `if_empty`.
    fn row_values(&self, n: usize, if_empty: &str) -> Result<usize, Error> {
        if n == 0 {
            return Err(Error::invalid(if_empty));
        }
        let dim = self.manifest.input_dim as usize;
        n.checked_mul(dim)
            .ok_or_else(|| Error::invalid(format!("n * input_dim = {n} * {dim} overflows")))
    }
}

impl From<MicroError> for Error {
    fn from(e: MicroError) -> Self {
        Self::new(edgevae_status::of_micro(&e), e.to_string())
    }
}

/// Opens a micro blob: parses `manifest_json` (the model's `manifest.json`, `manifest_len`
/// bytes), then checks the blob (`blob_len` bytes at `blob`, 16-byte aligned) against it:
/// header, SHA-256 and length, shapes, section bounds and alignment, finite parameters. No
/// copy of the blob is made. On success `*out` is a new handle the caller frees with
/// `edgevae_micro_free`; on failure `*out` is NULL (when `out` is not NULL).
///
/// Errors: `NULL_POINTER`, `MANIFEST` (the JSON), `GRAPH` (the blob is not the one the
/// manifest lists, or is malformed: the message names the field, layer or section),
/// `INVALID_ARGUMENT` (the blob is not 16-byte aligned), `PANIC`.
///
/// Thread-safety: may be called from any thread.
///
/// # Safety
///
/// `manifest_json` must be NULL or point to `manifest_len` readable bytes (only read during the
/// call); `blob` NULL or `blob_len` readable bytes that stay valid and unchanged until the
/// handle is freed; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_open(
    manifest_json: *const u8,
    manifest_len: usize,
    blob: *const u8,
    blob_len: usize,
    out: *mut *mut edgevae_micro,
) -> edgevae_status {
    boundary::run("edgevae_micro_open", || {
        let out = boundary::out_ptr(out, "out")?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: NULL or `manifest_len` readable bytes (caller contract), checked for NULL.
        let json = unsafe {
            boundary::in_slice(manifest_json, manifest_len, manifest_len, "manifest_json")
        }?;
        let manifest =
            Box::new(Manifest::parse(json).map_err(|e| {
                Error::new(edgevae_status::Manifest, format!("manifest_json: {e}"))
            })?);
        // SAFETY: NULL or `blob_len` readable bytes that outlive the handle unchanged (caller
        // contract), checked for NULL; 'static stands for "until edgevae_micro_free".
        let blob: &'static [u8] = unsafe { boundary::in_slice(blob, blob_len, blob_len, "blob") }?;
        // SAFETY: the box is moved into the handle below and freed only with it, after `model`
        // (field order), so the reference never outlives the manifest; nothing mutates it.
        let manifest_ref: &'static Manifest = unsafe { &*std::ptr::from_ref(manifest.as_ref()) };
        let model = MicroModel::from_blob(blob, manifest_ref)?;
        // SAFETY: as above; written last, so a failure leaves *out NULL.
        unsafe { out.write(boundary::into_handle(edgevae_micro { model, manifest })) };
        Ok(())
    })
}

/// Writes to `*bytes` the exact scratch size, in bytes, for `max_batch` rows in one pass
/// (`micro::required_arena`). An arena 4-byte aligned of at least that size runs any `n` up to
/// `max_batch` in one pass; a smaller one runs fewer rows per pass, down to one row.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`max_batch` is 0 or the size overflows), `PANIC`.
///
/// # Safety
///
/// `micro` must be NULL or a live handle; `bytes` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_arena_size(
    micro: *const edgevae_micro,
    max_batch: usize,
    bytes: *mut usize,
) -> edgevae_status {
    boundary::run("edgevae_micro_arena_size", || {
        // SAFETY: NULL or a live handle (caller contract); only read.
        let micro = unsafe { boundary::in_ref(micro, "micro") }?;
        let bytes = boundary::out_ptr(bytes, "bytes")?;
        if max_batch == 0 {
            return Err(Error::invalid("max_batch is 0"));
        }
        let size = micro.model.required_arena(max_batch)?;
        // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
        unsafe { bytes.write(size) };
        Ok(())
    })
}

/// The caller's arena as a byte slice (any length; the backend checks size and alignment).
///
/// # Safety
///
/// `arena` must be NULL or point to `arena_len` writable bytes nothing else uses during `'a`.
unsafe fn arena<'a>(arena: *mut u8, arena_len: usize) -> Result<&'a mut [u8], Error> {
    // SAFETY: forwarded caller contract; NULL and size are checked first.
    unsafe { boundary::out_slice(arena, arena_len, arena_len, "arena") }
}

/// Fails when two of the caller's buffers share memory: the call would read and write the
/// same bytes through different slices.
fn disjoint(buffers: &[(&str, usize, usize)]) -> Result<(), Error> {
    for (i, (a, a_start, a_len)) in buffers.iter().enumerate() {
        for (b, b_start, b_len) in &buffers[i + 1..] {
            if a_start < &(b_start + b_len) && b_start < &(a_start + a_len) {
                return Err(Error::invalid(format!("{a} and {b} overlap")));
            }
        }
    }
    Ok(())
}

fn span<T>(what: &'static str, ptr: *const T, len: usize) -> (&'static str, usize, usize) {
    (what, ptr as usize, len * size_of::<T>())
}

/// Draws `n` samples with a sampler blob into `out` (`out_len` = `n * input_dim`), using
/// `arena` (`arena_len` bytes, 4-byte aligned) as scratch: the same noise and the same
/// results, within the blob's precision, as `edgevae_sampler_sample` with that seed. Makes
/// no heap allocation.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`n` is 0, `n * input_dim` overflows, a filter
/// blob, arena misaligned or overlapping `out`), `BUFFER_LENGTH` (`out_len`),
/// `BUFFER_TOO_SMALL` (the arena cannot hold one row; the message gives the size needed),
/// `NON_FINITE_OUTPUT`, `PANIC`.
///
/// # Safety
///
/// `micro` NULL or a live handle; `arena` and `out` NULL or as many writable values as their
/// lengths say, used by nothing else during the call.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_sample(
    micro: *const edgevae_micro,
    arena_ptr: *mut u8,
    arena_len: usize,
    n: usize,
    seed: u64,
    out: *mut f32,
    out_len: usize,
) -> edgevae_status {
    boundary::run("edgevae_micro_sample", || {
        // SAFETY: NULL or a live handle (caller contract); only read.
        let micro = unsafe { boundary::in_ref(micro, "micro") }?;
        let len = micro.row_values(n, "n is 0: draw at least one sample")?;
        boundary::check_buffer(out, out_len, len, "out")?;
        boundary::check_buffer(arena_ptr, arena_len, arena_len, "arena")?;
        disjoint(&[
            span("arena", arena_ptr, arena_len),
            span("out", out, out_len),
        ])?;
        // SAFETY: checked (not NULL, length, alignment, disjoint); writable and exclusive by
        // the caller's contract.
        let (arena, out) = unsafe {
            (
                arena(arena_ptr, arena_len)?,
                boundary::out_slice(out, out_len, len, "out")?,
            )
        };
        micro.model.sample_into(arena, n, seed, out)?;
        Ok(())
    })
}

/// Filters `n` rows of `x` (`x_len` = `n * input_dim`) with a filter blob in `passes` passes,
/// using `arena` as scratch, with the semantics and scoring code of `edgevae_filter_run`:
/// `scores` (`n`), and per element (`n * input_dim` each) `element_scores`, `mask` (1 where
/// an outlier), `cleaned` (`x` with the outliers replaced) and `reconstruction`. All buffers
/// are required and must not overlap (`cleaned` cannot be `x` here). Makes no heap allocation.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`n` or `passes` 0, overflow, a sampler blob,
/// misaligned or overlapping buffers), `BUFFER_LENGTH`, `BUFFER_TOO_SMALL` (the arena),
/// `NOT_CALIBRATED`, `NON_FINITE_INPUT`, `NON_FINITE_OUTPUT`, `PANIC`.
///
/// # Safety
///
/// `micro` NULL or a live handle; each pointer NULL or as many values as its length says:
/// `x` readable, the others writable, none used by another thread during the call.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn edgevae_micro_filter(
    micro: *const edgevae_micro,
    arena_ptr: *mut u8,
    arena_len: usize,
    x: *const f32,
    x_len: usize,
    n: usize,
    passes: usize,
    scores: *mut f32,
    scores_len: usize,
    element_scores: *mut f32,
    element_scores_len: usize,
    mask: *mut u8,
    mask_len: usize,
    cleaned: *mut f32,
    cleaned_len: usize,
    reconstruction: *mut f32,
    reconstruction_len: usize,
) -> edgevae_status {
    boundary::run("edgevae_micro_filter", || {
        // SAFETY: NULL or a live handle (caller contract); only read.
        let micro = unsafe { boundary::in_ref(micro, "micro") }?;
        let len = micro.row_values(n, "n is 0: give at least one row")?;
        boundary::check_buffer(arena_ptr, arena_len, arena_len, "arena")?;
        boundary::check_buffer(x, x_len, len, "x")?;
        boundary::check_buffer(scores, scores_len, n, "scores")?;
        boundary::check_buffer(element_scores, element_scores_len, len, "element_scores")?;
        boundary::check_buffer(mask, mask_len, len, "mask")?;
        boundary::check_buffer(cleaned, cleaned_len, len, "cleaned")?;
        boundary::check_buffer(reconstruction, reconstruction_len, len, "reconstruction")?;
        disjoint(&[
            span("arena", arena_ptr, arena_len),
            span("x", x, x_len),
            span("scores", scores, scores_len),
            span("element_scores", element_scores, element_scores_len),
            span("mask", mask, mask_len),
            span("cleaned", cleaned, cleaned_len),
            span("reconstruction", reconstruction, reconstruction_len),
        ])?;
        // SAFETY: every pointer checked (not NULL, exact length, aligned) and pairwise
        // disjoint; readable (x) or writable and exclusive (the rest) by the caller's contract.
        let (arena, x, out) = unsafe {
            (
                arena(arena_ptr, arena_len)?,
                boundary::in_slice(x, x_len, len, "x")?,
                MicroFilterOutput {
                    scores: boundary::out_slice(scores, scores_len, n, "scores")?,
                    element_scores: boundary::out_slice(
                        element_scores,
                        element_scores_len,
                        len,
                        "element_scores",
                    )?,
                    mask: boundary::out_slice(mask, mask_len, len, "mask")?,
                    cleaned: boundary::out_slice(cleaned, cleaned_len, len, "cleaned")?,
                    reconstruction: boundary::out_slice(
                        reconstruction,
                        reconstruction_len,
                        len,
                        "reconstruction",
                    )?,
                },
            )
        };
        micro.model.filter_into(arena, x, n, passes, out)?;
        Ok(())
    })
}

/// Frees a micro handle (not the blob, which is the caller's). NULL is fine. Must not be
/// called twice with the same value.
///
/// Thread-safety: no other thread may use `micro` during or after the call.
///
/// # Safety
///
/// `micro` must be NULL or a handle from `edgevae_micro_open` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_free(micro: *mut edgevae_micro) {
    let _ = boundary::run("edgevae_micro_free", || {
        // SAFETY: NULL or an unfreed handle of this type, by the caller's contract.
        unsafe { boundary::free(micro) };
        Ok(())
    });
}
