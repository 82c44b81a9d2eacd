//! The `edgevae_micro_*` functions: open a blob against its manifest into caller storage, size
//! the scratch arena, sample, filter, read the last error, close.

use core::ffi::c_char;
use core::ptr::{addr_of, addr_of_mut};

use edgevae_runtime::core::Manifest;
use edgevae_runtime::micro::{MicroFilterOutput, MicroModel};

use crate::checks::{self, check_buffer, check_ptr};
use crate::fault::{Cause, Fault};
use crate::handle::{self, edgevae_micro, Opened};
use crate::message;
use crate::status::edgevae_status;

/// Runs `body` on the open handle `micro`: a failure's message is kept in the handle, prefixed
/// with `function`, and its status returned. A NULL handle, one never opened (or closed) and
/// one being opened or closed have no message slot to trust: those give the status only.
///
/// # Safety
///
/// `micro` must be NULL or point to a zeroed or opened `edgevae_micro`, whose blob is still
/// valid.
unsafe fn on_open(
    micro: *const edgevae_micro,
    function: &str,
    body: impl FnOnce(&Opened, &MicroModel<'static>) -> Result<(), Fault>,
) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    let entered = match unsafe { handle::enter(micro) } {
        Ok(entered) => entered,
        Err(status) => return status,
    };
    let result = entered.opened().and_then(|opened| match &opened.model {
        Some(model) => body(opened, model),
        None => Err(Fault::invalid("micro has no model")),
    });
    match result {
        Ok(()) => edgevae_status::Ok,
        Err(fault) => {
            entered.header().message.set(function, &fault.cause);
            fault.status
        }
    }
}

/// The span of the handle and of its blob, which no output buffer may overlap.
fn held(micro: *const edgevae_micro, opened: &Opened) -> [(&'static str, usize, usize); 2] {
    [
        ("micro", micro as usize, size_of::<edgevae_micro>()),
        ("the blob", opened.header.blob_start, opened.header.blob_len),
    ]
}

/// [`checks::in_slice`], the refusal named `what`.
///
/// # Safety
///
/// As [`checks::in_slice`].
unsafe fn in_slice<'a, T>(
    ptr: *const T,
    len: usize,
    expected: usize,
    what: &'static str,
) -> Result<&'a [T], Fault> {
    // SAFETY: forwarded caller contract.
    unsafe { checks::in_slice(ptr, len, expected) }.map_err(|f| Fault::pointer(f, what))
}

/// [`checks::out_slice`], the refusal named `what`.
///
/// # Safety
///
/// As [`checks::out_slice`].
unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    expected: usize,
    what: &'static str,
) -> Result<&'a mut [T], Fault> {
    // SAFETY: forwarded caller contract.
    unsafe { checks::out_slice(ptr, len, expected) }.map_err(|f| Fault::pointer(f, what))
}

/// Fails when two of the caller's buffers share memory: the call would read and write the
/// same bytes through different slices.
fn disjoint(buffers: &[(&'static str, usize, usize)]) -> Result<(), Fault> {
    for (i, (a, a_start, a_len)) in buffers.iter().enumerate() {
        for (b, b_start, b_len) in &buffers[i + 1..] {
            if *a_start < b_start.saturating_add(*b_len)
                && *b_start < a_start.saturating_add(*a_len)
            {
                return Err(Fault::of(
                    edgevae_status::InvalidArgument,
                    Cause::Overlap(a, b),
                ));
            }
        }
    }
    Ok(())
}

fn span<T>(what: &'static str, ptr: *const T, len: usize) -> (&'static str, usize, usize) {
    (what, ptr as usize, len.saturating_mul(size_of::<T>()))
}

/// `n * input_dim`: the values of `n` rows; `n` = 0 is the error `if_empty`.
fn row_values(manifest: &Manifest, n: usize, if_empty: &'static str) -> Result<usize, Fault> {
    if n == 0 {
        return Err(Fault::invalid(if_empty));
    }
    let dim = manifest.input_dim as usize;
    n.checked_mul(dim).ok_or(Fault::of(
        edgevae_status::InvalidArgument,
        Cause::Overflow { n, dim },
    ))
}

/// Opens a micro blob into the caller's handle `micro`: parses `manifest_json` (the model's
/// `manifest.json`, `manifest_len` bytes) into the handle, then checks the blob (`blob_len`
/// bytes at `blob`, 16-byte aligned) against it: header, SHA-256 and length, shapes, section
/// bounds and alignment, finite parameters. No copy of the blob is made, and nothing is
/// allocated. On failure the handle keeps the message (`edgevae_micro_error`) and refuses
/// other calls until opened again.
///
/// Errors: `NULL_POINTER`, `MANIFEST` (the JSON), `GRAPH` (the blob is not the one the
/// manifest lists, or is malformed: the message names the field, layer or section),
/// `INVALID_ARGUMENT` (the blob or the handle is misaligned).
///
/// `EDGEVAE_STATUS_BUSY`, and nothing done, while another call is in progress on `micro`.
/// Opening an open handle replaces its model (the old blob is no longer borrowed).
///
/// # Safety
///
/// `micro` must be NULL or point to a zeroed or opened, writable `edgevae_micro` that stays
/// where it is until closed; `manifest_json` NULL or
/// `manifest_len` readable bytes (only read during the call); `blob` NULL or `blob_len`
/// readable bytes that stay valid and unchanged until the handle is closed.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_open(
    micro: *mut edgevae_micro,
    manifest_json: *const u8,
    manifest_len: usize,
    blob: *const u8,
    blob_len: usize,
) -> edgevae_status {
    // SAFETY: NULL or a zeroed or opened handle, writable (caller contract); checked for
    // NULL, alignment and calls in progress.
    let opened = match unsafe { handle::begin_open(micro) } {
        Ok(opened) => opened,
        Err(status) => return status,
    };
    let result = (|| -> Result<(), Fault> {
        // Checked before any slice is made: the handle was just rewritten, so bytes of it
        // handed in as the JSON or the blob would alias the model.
        let handle = ("micro", micro as usize, size_of::<edgevae_micro>());
        disjoint(&[
            handle,
            ("manifest_json", manifest_json as usize, manifest_len),
        ])?;
        disjoint(&[handle, ("blob", blob as usize, blob_len)])?;
        // SAFETY: NULL or `manifest_len` readable bytes (caller contract), checked, and not
        // part of the handle.
        let json = unsafe { in_slice(manifest_json, manifest_len, manifest_len, "manifest_json") }?;
        // SAFETY: the handle is taken (no call in flight) and its manifest initialised by
        // begin_open; only that field is borrowed mutably, for the parse.
        let manifest = unsafe { &mut *addr_of_mut!((*opened).manifest) };
        Manifest::parse_into(json, manifest)
            .map_err(|e| Fault::of(edgevae_status::Manifest, Cause::Manifest(e)))?;
        // SAFETY: NULL or `blob_len` readable bytes that outlive the handle unchanged (caller
        // contract), checked; 'static stands for "until edgevae_micro_close".
        let blob: &'static [u8] = unsafe { in_slice(blob, blob_len, blob_len, "blob") }?;
        // SAFETY: the manifest lives in the handle, which does not move while open (every call
        // checks its address) and is only written again by the next open or the close, which
        // take the handle when no call is in flight and drop the model first; 'static stands
        // for "while the handle is open".
        let manifest: &'static Manifest = unsafe { &*addr_of!((*opened).manifest) };
        let model = MicroModel::from_blob(blob, manifest)?;
        // SAFETY: fields of the taken handle, written in place; the manifest is not touched.
        unsafe {
            addr_of_mut!((*opened).model).write(Some(model));
            addr_of_mut!((*opened).header.blob_start).write(blob.as_ptr() as usize);
            addr_of_mut!((*opened).header.blob_len).write(blob.len());
        }
        Ok(())
    })();
    let status = match &result {
        Ok(()) => edgevae_status::Ok,
        Err(fault) => {
            // SAFETY: the taken handle's message slot, initialised by begin_open.
            let slot = unsafe { &*addr_of!((*opened).header.message) };
            slot.set("edgevae_micro_open", &fault.cause);
            fault.status
        }
    };
    // SAFETY: from begin_open, nothing else since.
    unsafe { handle::finish_open(opened, result.is_ok()) };
    status
}

/// Writes to `*bytes` the exact scratch size, in bytes, for `max_batch` rows in one pass
/// (`micro::required_arena`). An arena 4-byte aligned of at least that size runs any `n` up to
/// `max_batch` in one pass; a smaller one runs fewer rows per pass, down to one row.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`max_batch` is 0, the size overflows, the
/// handle is not open).
///
/// # Safety
///
/// `micro` must be NULL or a zeroed or opened `edgevae_micro` whose blob is still valid;
/// `bytes` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_arena_size(
    micro: *const edgevae_micro,
    max_batch: usize,
    bytes: *mut usize,
) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_open(micro, "edgevae_micro_arena_size", |_, model| {
            check_ptr(bytes).map_err(|f| Fault::pointer(f, "bytes"))?;
            if max_batch == 0 {
                return Err(Fault::invalid("max_batch is 0"));
            }
            let size = model.required_arena(max_batch)?;
            // SAFETY: not NULL and aligned (checked), writable by the caller's contract.
            bytes.write(size);
            Ok(())
        })
    }
}

/// Draws `n` samples with a sampler blob into `out` (`out_len` = `n * input_dim`), using
/// `arena` (`arena_len` bytes, 4-byte aligned) as scratch: the same noise and the same
/// results, within the blob's precision, as `libedgevae`'s `edgevae_sampler_sample` with that
/// seed. Makes no heap allocation.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`n` is 0, `n * input_dim` overflows, a filter
/// blob, arena misaligned or overlapping `out`, the handle not open), `BUFFER_LENGTH`
/// (`out_len`), `BUFFER_TOO_SMALL` (the arena cannot hold one row; the message gives the size
/// needed), `NON_FINITE_OUTPUT`.
///
/// # Safety
///
/// `micro` NULL or a zeroed or opened `edgevae_micro` whose blob is still valid; `arena` and
/// `out` NULL or as many writable values as their lengths say, used by nothing else during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_sample(
    micro: *const edgevae_micro,
    arena: *mut u8,
    arena_len: usize,
    n: usize,
    seed: u64,
    out: *mut f32,
    out_len: usize,
) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_open(micro, "edgevae_micro_sample", |opened, model| {
            let len = row_values(&opened.manifest, n, "n is 0: draw at least one sample")?;
            check_buffer(out, out_len, len).map_err(|f| Fault::pointer(f, "out"))?;
            check_buffer(arena, arena_len, arena_len).map_err(|f| Fault::pointer(f, "arena"))?;
            let [handle, blob] = held(micro, opened);
            disjoint(&[
                span("arena", arena, arena_len),
                span("out", out, out_len),
                handle,
                blob,
            ])?;
            // SAFETY: checked (not NULL, length, alignment, disjoint); writable and exclusive
            // by the caller's contract.
            let (arena, out) = (
                out_slice(arena, arena_len, arena_len, "arena")?,
                out_slice(out, out_len, len, "out")?,
            );
            model.sample_into(arena, n, seed, out)?;
            Ok(())
        })
    }
}

/// Filters `n` rows of `x` (`x_len` = `n * input_dim`) with a filter blob in `passes` passes,
/// using `arena` as scratch, with the semantics and scoring code of `libedgevae`'s
/// `edgevae_filter_run`: `scores` (`n`), and per element (`n * input_dim` each)
/// `element_scores`, `mask` (1 where an outlier), `cleaned` (`x` with the outliers replaced)
/// and `reconstruction`. All buffers are required and must not overlap (`cleaned` cannot be
/// `x` here). Makes no heap allocation.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`n` or `passes` 0, overflow, a sampler blob,
/// misaligned or overlapping buffers, the handle not open), `BUFFER_LENGTH`,
/// `BUFFER_TOO_SMALL` (the arena), `NOT_CALIBRATED`, `NON_FINITE_INPUT`, `NON_FINITE_OUTPUT`.
///
/// # Safety
///
/// `micro` NULL or a zeroed or opened `edgevae_micro` whose blob is still valid; each pointer
/// NULL or as many values as its length says: `x` readable, the others writable, none used by
/// another thread during the call.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn edgevae_micro_filter(
    micro: *const edgevae_micro,
    arena: *mut u8,
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
    // SAFETY: forwarded caller contract.
    unsafe {
        on_open(micro, "edgevae_micro_filter", |opened, model| {
            let len = row_values(&opened.manifest, n, "n is 0: give at least one row")?;
            let checks = [
                ("arena", check_buffer(arena, arena_len, arena_len)),
                ("x", check_buffer(x, x_len, len)),
                ("scores", check_buffer(scores, scores_len, n)),
                (
                    "element_scores",
                    check_buffer(element_scores, element_scores_len, len),
                ),
                ("mask", check_buffer(mask, mask_len, len)),
                ("cleaned", check_buffer(cleaned, cleaned_len, len)),
                (
                    "reconstruction",
                    check_buffer(reconstruction, reconstruction_len, len),
                ),
            ];
            for (what, check) in checks {
                check.map_err(|f| Fault::pointer(f, what))?;
            }
            let [handle, blob] = held(micro, opened);
            disjoint(&[
                handle,
                blob,
                span("arena", arena, arena_len),
                span("x", x, x_len),
                span("scores", scores, scores_len),
                span("element_scores", element_scores, element_scores_len),
                span("mask", mask, mask_len),
                span("cleaned", cleaned, cleaned_len),
                span("reconstruction", reconstruction, reconstruction_len),
            ])?;
            // SAFETY: every pointer checked (not NULL, exact length, aligned) and pairwise
            // disjoint; readable (x) or writable and exclusive (the rest) by the caller's
            // contract.
            let (arena, x, out) = (
                out_slice(arena, arena_len, arena_len, "arena")?,
                in_slice(x, x_len, len, "x")?,
                MicroFilterOutput {
                    scores: out_slice(scores, scores_len, n, "scores")?,
                    element_scores: out_slice(
                        element_scores,
                        element_scores_len,
                        len,
                        "element_scores",
                    )?,
                    mask: out_slice(mask, mask_len, len, "mask")?,
                    cleaned: out_slice(cleaned, cleaned_len, len, "cleaned")?,
                    reconstruction: out_slice(
                        reconstruction,
                        reconstruction_len,
                        len,
                        "reconstruction",
                    )?,
                },
            );
            model.filter_into(arena, x, n, passes, out)?;
            Ok(())
        })
    }
}

/// Copies the message of the last failed call on `micro` (its open included) into `buf`
/// (`len` bytes), NUL-terminated, with the semantics of `libedgevae`'s `edgevae_last_error`:
/// successful calls leave it unchanged; the empty string when no call failed.
///
/// Returns:
/// - `EDGEVAE_STATUS_OK`: the whole message and its NUL fit; `*written` is the message length
///   in bytes, without the NUL.
/// - `EDGEVAE_STATUS_BUFFER_TOO_SMALL`: `buf` holds as much of the message as fits (cut at a
///   UTF-8 character boundary) and a NUL, unless `len` is 0; `*written` is the buffer size the
///   whole message needs, NUL included.
/// - `EDGEVAE_STATUS_NULL_POINTER`: `micro` or `written` is NULL, or `buf` is NULL with
///   `len` > 0.
/// - `EDGEVAE_STATUS_INVALID_ARGUMENT`: `micro` was never opened, or was closed (no message
///   there), or `written` is misaligned.
/// - `EDGEVAE_STATUS_BUSY`: another thread is writing or reading the message this instant, or
///   opening or closing the handle.
///
/// # Safety
///
/// `micro` must be NULL or a zeroed or opened `edgevae_micro`; `buf` NULL or `len` writable
/// bytes; `written` NULL or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_error(
    micro: *const edgevae_micro,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> edgevae_status {
    if micro.is_null() || written.is_null() || (buf.is_null() && len > 0) {
        return edgevae_status::NullPointer;
    }
    if !written.is_aligned() {
        return edgevae_status::InvalidArgument;
    }
    // SAFETY: forwarded caller contract.
    let entered = match unsafe { handle::enter(micro) } {
        Ok(entered) => entered,
        Err(status) => return status,
    };
    let Some(message) = entered.header().message.get() else {
        return edgevae_status::Busy;
    };
    // SAFETY: `buf` and `written` checked above; writable by the caller's contract.
    unsafe { message::copy_out(message.as_str(), buf, len, written) }
}

/// Ends the use of `micro` (nothing to free: the handle and the blob are the caller's); call it
/// before the handle's storage goes away. Later calls on it are refused until it is opened
/// again; its message is gone. NULL and never-opened handles are fine (`EDGEVAE_STATUS_OK`).
///
/// Returns `EDGEVAE_STATUS_BUSY`, and does nothing, while another thread (or an interrupted
/// context) has a call in progress on `micro`.
///
/// # Safety
///
/// `micro` must be NULL or point to a zeroed or opened, writable `edgevae_micro`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_micro_close(micro: *mut edgevae_micro) -> edgevae_status {
    // SAFETY: forwarded caller contract.
    unsafe { handle::close(micro) }
}
