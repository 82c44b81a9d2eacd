//! The C boundary: the panic guard every entry point runs its body in, the error type bodies
//! return, and the checks that turn C pointers into Rust references (NULL, alignment, length)
//! before anything is read or written through them.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, TryLockError};

use ::edgevae_micro::checks;
use edgevae_runtime::RuntimeError;

use crate::error_slot;
use crate::status::edgevae_status;

/// A failure on its way to the caller: the status to return and the last-error message.
#[derive(Debug)]
pub(crate) struct Error {
    pub status: edgevae_status,
    pub message: String,
}

impl Error {
    pub fn new(status: edgevae_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A NULL argument; `what` is the parameter's name.
    pub fn null(what: &str) -> Self {
        Self::new(edgevae_status::NullPointer, format!("{what} is NULL"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(edgevae_status::InvalidArgument, message)
    }

    /// A refused pointer; `what` is the parameter's name.
    pub fn pointer(fault: checks::PointerFault, what: &str) -> Self {
        Self::new(fault.status(), fault.describe(what).to_string())
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        Self::new(crate::status::of(&e), e.to_string())
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Runs the body of the entry point `function` so that no panic unwinds into C: an error is
/// stored as the thread's last error (prefixed with the function's name) and its status
/// returned; a panic becomes `EDGEVAE_STATUS_PANIC` with the panic's message.
pub(crate) fn run(function: &str, body: impl FnOnce() -> Result<(), Error>) -> edgevae_status {
    // AssertUnwindSafe: after a panic the handle involved may hold half-updated buffers; every
    // call re-checks or rebuilds what it uses, so the worst outcome is another error.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => edgevae_status::Ok,
        Ok(Err(e)) => {
            error_slot::set(&format!("{function}: {}", e.message));
            e.status
        }
        Err(payload) => {
            error_slot::set(&format!(
                "{function}: panic (a bug in edgevae): {}",
                panic_message(payload.as_ref())
            ));
            edgevae_status::Panic
        }
    }
}

/// [`run`] without touching the last-error slot (for `edgevae_last_error` itself).
pub(crate) fn run_quiet(body: impl FnOnce() -> Result<(), Error>) -> edgevae_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => edgevae_status::Ok,
        Ok(Err(e)) => e.status,
        Err(_) => edgevae_status::Panic,
    }
}

/// Checks that an output pointer is not NULL and is aligned for `T`; nothing is written.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, Error> {
    checks::check_ptr(ptr.cast_const()).map_err(|f| Error::pointer(f, what))?;
    Ok(ptr)
}

/// A shared reference from a C pointer, after the NULL and alignment checks.
///
/// # Safety
///
/// `ptr` must be NULL or point to a valid `T` that nothing mutates during `'a`.
pub(crate) unsafe fn in_ref<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    let ptr = out_ptr(ptr.cast_mut(), what)?;
    // SAFETY: not NULL and aligned (checked); valid and unaliased by the caller's contract.
    Ok(unsafe { &*ptr })
}

/// The state of a handle for the length of one call. A second thread calling with the same
/// handle meanwhile gets `EDGEVAE_STATUS_BUSY` and nothing is done, instead of two threads
/// mutating one session and its buffers (undefined behaviour). `try_lock` takes no allocation
/// and never waits. A state left behind by a caught panic is used as it is: every call
/// re-checks or rebuilds what it uses, so the worst outcome is another error.
pub(crate) fn claim<'a, T>(state: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>, Error> {
    match state.try_lock() {
        Ok(guard) => Ok(guard),
        Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => Err(Error::new(
            edgevae_status::Busy,
            format!("{what} is in use by a call on another thread; nothing was done"),
        )),
    }
}

/// Checks a (pointer, length) pair against the number of values the call needs: not NULL,
/// exactly `expected` values, aligned, and no larger than a Rust slice may be.
pub(crate) fn check_buffer<T>(
    ptr: *const T,
    len: usize,
    expected: usize,
    what: &str,
) -> Result<(), Error> {
    checks::check_buffer(ptr, len, expected).map_err(|f| Error::pointer(f, what))
}

/// A slice from a C (pointer, length) pair holding exactly `expected` values
/// ([`checks::in_slice`], the refusal named `what`).
///
/// # Safety
///
/// As [`checks::in_slice`].
pub(crate) unsafe fn in_slice<'a, T>(
    ptr: *const T,
    len: usize,
    expected: usize,
    what: &str,
) -> Result<&'a [T], Error> {
    // SAFETY: forwarded caller contract.
    unsafe { checks::in_slice(ptr, len, expected) }.map_err(|f| Error::pointer(f, what))
}

/// A mutable slice from a C (pointer, length) pair holding exactly `expected` values
/// ([`checks::out_slice`], the refusal named `what`).
///
/// # Safety
///
/// As [`checks::out_slice`].
pub(crate) unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    expected: usize,
    what: &str,
) -> Result<&'a mut [T], Error> {
    // SAFETY: forwarded caller contract.
    unsafe { checks::out_slice(ptr, len, expected) }.map_err(|f| Error::pointer(f, what))
}

/// A NUL-terminated C string as UTF-8.
///
/// # Safety
///
/// `ptr` must be NULL or point to a NUL-terminated string that nothing mutates during `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a CStr, Error> {
    if ptr.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: not NULL (checked); NUL-terminated and unmutated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A C string that must be UTF-8 (provider lists, library paths on non-Unix systems).
///
/// # Safety
///
/// As [`c_str`].
pub(crate) unsafe fn utf8<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded caller contract.
    let s = unsafe { c_str(ptr, what) }?;
    s.to_str()
        .map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
}

/// A C string naming a file system path: any bytes on Unix, UTF-8 elsewhere.
///
/// # Safety
///
/// As [`c_str`].
pub(crate) unsafe fn path<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<&'a std::path::Path, Error> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: forwarded caller contract.
        let s = unsafe { c_str(ptr, what) }?;
        Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(
            s.to_bytes(),
        )))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: forwarded caller contract.
        Ok(std::path::Path::new(unsafe { utf8(ptr, what) }?))
    }
}

/// Whether an optional output buffer was asked for: NULL with length 0 means "not wanted";
/// otherwise the pair is checked as by [`check_buffer`].
pub(crate) fn check_optional_buffer<T>(
    ptr: *const T,
    len: usize,
    expected: usize,
    what: &str,
) -> Result<bool, Error> {
    if ptr.is_null() && len == 0 {
        return Ok(false);
    }
    check_buffer(ptr, len, expected, what)?;
    Ok(true)
}

/// Copies `src` to the caller's buffer `dst`.
///
/// # Safety
///
/// `dst` must have passed [`check_buffer`] for `src.len()` values and be writable.
pub(crate) unsafe fn copy_out<T: Copy>(src: &[T], dst: *mut T) {
    // SAFETY: `dst` holds `src.len()` aligned, writable values (caller contract); `src` is
    // memory of this crate that C has no pointer to, so the two do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
}

/// Moves `value` to the heap and hands C an owning pointer to it; [`free`] takes it back.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Drops a handle made by [`into_handle`]; NULL is ignored.
///
/// # Safety
///
/// `handle` must be NULL or a pointer from [`into_handle`] of the same type, not freed before
/// and not in use by another thread.
pub(crate) unsafe fn free<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: made by Box::into_raw in `into_handle` and freed only once (caller contract).
        drop(unsafe { Box::from_raw(handle) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = run("edgevae_test", || panic!("boom {}", 7));
        assert_eq!(status, edgevae_status::Panic);
        let message = error_slot::get();
        assert!(message.starts_with("edgevae_test: panic"), "{message}");
        assert!(message.ends_with("boom 7"), "{message}");

        let status = run("edgevae_test", || Err(Error::invalid("bad")));
        assert_eq!(status, edgevae_status::InvalidArgument);
        assert_eq!(error_slot::get(), "edgevae_test: bad");
        // Success leaves the message alone.
        assert_eq!(run("edgevae_test", || Ok(())), edgevae_status::Ok);
        assert_eq!(error_slot::get(), "edgevae_test: bad");
        assert_eq!(run_quiet(|| panic!("quiet")), edgevae_status::Panic);
        assert_eq!(error_slot::get(), "edgevae_test: bad");
    }

    #[test]
    fn buffers_are_checked_before_use() {
        let values = [1.0f32; 4];
        // SAFETY: `values` is a live array of 4 floats.
        let ok = unsafe { in_slice(values.as_ptr(), 4, 4, "x") };
        assert_eq!(ok.map(<[f32]>::len).ok(), Some(4));
        // SAFETY: the checks fail before the pointer is used.
        let short = unsafe { in_slice(values.as_ptr(), 3, 4, "x") }.unwrap_err();
        assert_eq!(short.status, edgevae_status::BufferLength);
        assert_eq!(short.message, "x holds 3 values, 4 expected");
        // SAFETY: NULL is rejected before use.
        let null = unsafe { in_slice(std::ptr::null::<f32>(), 4, 4, "x") }.unwrap_err();
        assert_eq!(null.status, edgevae_status::NullPointer);
        let misaligned = values.as_ptr().cast::<u8>().wrapping_add(1).cast::<f32>();
        // SAFETY: the misaligned pointer is rejected before use.
        let err = unsafe { in_slice(misaligned, 3, 3, "x") }.unwrap_err();
        assert_eq!(err.status, edgevae_status::InvalidArgument);
    }
}
