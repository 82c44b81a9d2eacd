//! `edgevae_last_error`: copies the calling thread's last error message (the slot every
//! failing call fills, [`crate::error_slot`]) into a caller buffer.

use std::ffi::c_char;

use ::edgevae_micro::message;

use crate::boundary::{self, Error};
pub use crate::error_slot::get;
use crate::status::edgevae_status;

/// Copies the calling thread's last error message into `buf` (`len` bytes), NUL-terminated.
///
/// The message is the one stored by the latest failing `edgevae_` call on this thread;
/// successful calls leave it unchanged, so read it right after a call returned a status other
/// than `EDGEVAE_STATUS_OK`. With no failure so far it is the empty string. This function never
/// changes the stored message, so it can be called again with a larger buffer.
///
/// Returns:
/// - `EDGEVAE_STATUS_OK`: the whole message and its NUL fit; `*written` is the message length
///   in bytes, without the NUL.
/// - `EDGEVAE_STATUS_BUFFER_TOO_SMALL`: `buf` holds as much of the message as fits (cut at a
///   UTF-8 character boundary) and a NUL, unless `len` is 0; `*written` is the buffer size the
///   whole message needs, NUL included. `buf` may be NULL when `len` is 0, to ask for the size.
/// - `EDGEVAE_STATUS_NULL_POINTER`: `written` is NULL, or `buf` is NULL with `len` > 0.
///
/// Thread-safety: the last error is per thread; any thread may call this at any time and reads
/// only its own message.
///
/// # Safety
///
/// `buf` must be NULL or point to `len` writable bytes; `written` must be NULL or point to a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn edgevae_last_error(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> edgevae_status {
    // Reporting a failure of this function in the slot would overwrite the message asked for.
    boundary::run_quiet(|| {
        let written = boundary::out_ptr(written, "written")?;
        if buf.is_null() && len > 0 {
            return Err(Error::null("buf"));
        }
        let message = get();
        // SAFETY: `buf` is NULL only with `len` 0 (checked above) and otherwise points to `len`
        // writable bytes (caller contract), which a Rust string cannot overlap; `written` was
        // checked to be non-NULL and aligned by `out_ptr`.
        match unsafe { message::copy_out(&message, buf, len, written) } {
            edgevae_status::Ok => Ok(()),
            status => Err(Error::new(
                status,
                format!(
                    "the message needs {} bytes, the buffer has {len}",
                    message.len() + 1
                ),
            )),
        }
    })
}
