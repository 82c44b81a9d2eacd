//! Error messages without an allocator: a fixed-capacity text that truncates, the slot a
//! handle keeps its last one in, and the copy of a message into a caller's buffer (which
//! `libedgevae`'s `edgevae_last_error` shares).

use core::cell::UnsafeCell;
use core::ffi::c_char;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::status::edgevae_status;

/// The longest message a handle keeps, in bytes, without the NUL (longer ones are cut at a
/// character boundary): a buffer of this plus one always holds `edgevae_micro_error`'s text.
pub const EDGEVAE_MICRO_MESSAGE_BYTES: usize = 240;

/// UTF-8 text of at most [`EDGEVAE_MICRO_MESSAGE_BYTES`] bytes; writing past the end drops the rest.
#[derive(Clone)]
pub struct Text {
    bytes: [u8; EDGEVAE_MICRO_MESSAGE_BYTES],
    len: usize,
}

impl Text {
    pub const EMPTY: Text = Text {
        bytes: [0; EDGEVAE_MICRO_MESSAGE_BYTES],
        len: 0,
    };

    /// The text of `args`, truncated.
    pub fn of(args: fmt::Arguments<'_>) -> Self {
        let mut text = Self::EMPTY;
        // Text's write_str never fails: it truncates.
        let _ = fmt::write(&mut text, args);
        text
    }

    pub fn as_str(&self) -> &str {
        // Only whole characters are ever copied in, so this is always valid UTF-8.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let part = truncate(s, EDGEVAE_MICRO_MESSAGE_BYTES - self.len);
        self.bytes[self.len..self.len + part.len()].copy_from_slice(part.as_bytes());
        self.len += part.len();
        Ok(())
    }
}

/// The longest prefix of `text` that fits in `room` bytes without splitting a UTF-8 character.
pub fn truncate(text: &str, room: usize) -> &str {
    if text.len() <= room {
        return text;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Copies `message` into the caller's `buf` (`len` bytes), NUL-terminated, as
/// `edgevae_last_error` and `edgevae_micro_error` do: `EDGEVAE_STATUS_OK` with `*written` the
/// message length when the message and its NUL fit; otherwise `EDGEVAE_STATUS_BUFFER_TOO_SMALL`
/// with as much as fits (cut at a character boundary) and a NUL, unless `len` is 0, and
/// `*written` the size needed, NUL included.
///
/// # Safety
///
/// `buf` must point to `len` writable bytes (it may be NULL only when `len` is 0), not
/// overlapping `message`; `written` must be non-NULL, aligned and writable.
pub unsafe fn copy_out(
    message: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> edgevae_status {
    let needed = message.len() + 1;
    let fits = needed <= len;
    if len > 0 {
        let part = truncate(message, len - 1);
        // SAFETY: `buf` holds `len` writable bytes (caller contract); `part.len() + 1 <= len`
        // bytes are written, from `message`, which does not overlap them.
        unsafe {
            core::ptr::copy_nonoverlapping(part.as_ptr(), buf.cast::<u8>(), part.len());
            buf.add(part.len()).write(0);
        }
    }
    // SAFETY: non-NULL, aligned and writable by the caller's contract.
    unsafe { written.write(if fits { message.len() } else { needed }) };
    if fits {
        edgevae_status::Ok
    } else {
        edgevae_status::BufferTooSmall
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A handle's last error. Calls on one handle may run on several threads at once (they only
/// read the model), so the text is guarded by a flag taken without waiting: a failure that
/// finds the slot busy (another thread writing or reading it at that instant) keeps the other
/// message. No lock that could deadlock an interrupt handler, and no undefined behaviour.
pub struct Slot {
    busy: AtomicBool,
    text: UnsafeCell<Text>,
}

// SAFETY: the text is only reached inside `with`, which holds the flag (taken by a
// compare-exchange, released after), so no two threads touch it at once.
unsafe impl Sync for Slot {}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

impl Slot {
    pub const fn new() -> Slot {
        Slot {
            busy: AtomicBool::new(false),
            text: UnsafeCell::new(Text::EMPTY),
        }
    }

    /// Runs `f` on the text if no other thread holds it; `None` when one does.
    fn with<R>(&self, f: impl FnOnce(&mut Text) -> R) -> Option<R> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: the flag was false and this thread set it, so no other thread is inside
        // `with` on this slot until it is cleared below: the access is exclusive.
        let result = f(unsafe { &mut *self.text.get() });
        self.busy.store(false, Ordering::Release);
        Some(result)
    }

    /// Stores `function: message`, formatted in place.
    pub fn set(&self, function: &str, message: &dyn fmt::Display) {
        self.with(|text| {
            text.len = 0;
            // Text's write_str never fails: it truncates.
            let _ = fmt::write(text, format_args!("{function}: {message}"));
        });
    }

    /// A copy of the message; `None` while another thread holds the slot.
    pub fn get(&self) -> Option<Text> {
        self.with(|text| text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_truncates_at_character_boundaries() {
        let long = "é".repeat(EDGEVAE_MICRO_MESSAGE_BYTES);
        let text = Text::of(format_args!("a{long}"));
        assert_eq!(text.as_str().len(), EDGEVAE_MICRO_MESSAGE_BYTES - 1);
        assert!(text.as_str().starts_with("aé"));
        assert_eq!(Text::of(format_args!("{} {}", 1, "b")).as_str(), "1 b");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("é", 0), "");
    }

    #[test]
    fn slot_keeps_the_last_message() {
        let slot = Slot::new();
        assert_eq!(slot.get().map(|t| t.len), Some(0));
        slot.set("f", &format_args!("bad {}", 3));
        assert_eq!(slot.get().as_ref().map(Text::as_str), Some("f: bad 3"));
        let held = slot.with(|_| slot.get().is_none());
        assert_eq!(held, Some(true), "a busy slot is not read");
    }
}
