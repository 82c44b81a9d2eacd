//! `edgevae_last_error`: copies the calling thread's last error message (the slot every
//! failing call fills, [`crate::error_slot`]) into a caller buffer.

use std::ffi::c_char;

use crate::boundary::{self, Error};
pub use crate::error_slot::get;
use crate::status::edgevae_status;

/// The longest prefix of `text` that fits in `room` bytes without splitting a UTF-8 character.
fn truncate(text: &str, room: usize) -> &str {
    if text.len() <= room {
        return text;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

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
        let needed = message.len() + 1;
        let fits = needed <= len;
        if len > 0 {
            let part = truncate(&message, len - 1);
            // SAFETY: `buf` is not NULL (checked above) and points to `len` writable bytes; we
            // write `part.len() + 1 <= len` bytes from a Rust string, which cannot overlap them.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), buf.cast::<u8>(), part.len());
                buf.add(part.len()).write(0);
            }
        }
        // SAFETY: `written` was checked to be non-NULL and aligned by `out_ptr`.
        unsafe { written.write(if fits { message.len() } else { needed }) };
        if fits {
            Ok(())
        } else {
            Err(Error::new(
                edgevae_status::BufferTooSmall,
                format!("the message needs {needed} bytes, the buffer has {len}"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("é", 0), "");
    }
}
