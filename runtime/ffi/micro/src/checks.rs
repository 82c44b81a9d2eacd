//! The checks a C pointer passes before it becomes a Rust reference or slice (NULL, alignment,
//! length, size), shared by `libedgevae`'s boundary and the micro calls, with the message each
//! failure gives.

use core::fmt;

use crate::status::edgevae_status;

/// Why a (pointer, length) pair was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerFault {
    Null,
    Misaligned,
    /// `len` values given, `expected` needed.
    Length {
        len: usize,
        expected: usize,
    },
    /// More bytes than a Rust slice may span.
    TooLarge {
        len: usize,
    },
}

impl PointerFault {
    pub fn status(self) -> edgevae_status {
        match self {
            PointerFault::Null => edgevae_status::NullPointer,
            PointerFault::Misaligned => edgevae_status::InvalidArgument,
            PointerFault::Length { .. } | PointerFault::TooLarge { .. } => {
                edgevae_status::BufferLength
            }
        }
    }

    /// The message for the parameter `what`.
    pub fn describe(self, what: &str) -> impl fmt::Display + '_ {
        Described { fault: self, what }
    }
}

struct Described<'a> {
    fault: PointerFault,
    what: &'a str,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.what;
        match self.fault {
            PointerFault::Null => write!(f, "{what} is NULL"),
            PointerFault::Misaligned => write!(f, "{what} is not aligned"),
            PointerFault::Length { len, expected } => {
                write!(f, "{what} holds {len} values, {expected} expected")
            }
            PointerFault::TooLarge { len } => {
                write!(f, "{what} of {len} values is larger than memory")
            }
        }
    }
}

/// A pointer to one `T`: not NULL and aligned. Nothing is read or written.
pub fn check_ptr<T>(ptr: *const T) -> Result<(), PointerFault> {
    if ptr.is_null() {
        Err(PointerFault::Null)
    } else if !ptr.is_aligned() {
        Err(PointerFault::Misaligned)
    } else {
        Ok(())
    }
}

/// A (pointer, length) pair holding exactly `expected` values of `T`: not NULL, that length,
/// aligned, and no larger than a Rust slice may be.
pub fn check_buffer<T>(ptr: *const T, len: usize, expected: usize) -> Result<(), PointerFault> {
    if ptr.is_null() {
        return Err(PointerFault::Null);
    }
    if len != expected {
        return Err(PointerFault::Length { len, expected });
    }
    if !ptr.is_aligned() {
        return Err(PointerFault::Misaligned);
    }
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(PointerFault::TooLarge { len });
    }
    Ok(())
}

/// A slice from a C (pointer, length) pair holding exactly `expected` values.
///
/// # Safety
///
/// `ptr` must be NULL or point to `len` initialised values that nothing mutates during `'a`.
pub unsafe fn in_slice<'a, T>(
    ptr: *const T,
    len: usize,
    expected: usize,
) -> Result<&'a [T], PointerFault> {
    check_buffer(ptr, len, expected)?;
    // SAFETY: not NULL, aligned, `len` values of at most isize::MAX bytes (checked); readable
    // and not mutated by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A mutable slice from a C (pointer, length) pair holding exactly `expected` values.
///
/// # Safety
///
/// `ptr` must be NULL or point to `len` writable values (any bit pattern valid for `T`) that
/// nothing else reads or writes during `'a`.
pub unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    expected: usize,
) -> Result<&'a mut [T], PointerFault> {
    check_buffer(ptr, len, expected)?;
    // SAFETY: not NULL, aligned, `len` values of at most isize::MAX bytes (checked); writable
    // and exclusive by the caller's contract. Callers only use T = f32 or u8, for which every
    // bit pattern is valid, so uninitialised C memory is not read as an invalid value.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_has_its_status_and_message() {
        let values = [1.0f32; 4];
        assert_eq!(check_buffer(values.as_ptr(), 4, 4), Ok(()));
        let short = check_buffer(values.as_ptr(), 3, 4).unwrap_err();
        assert_eq!(short.status(), edgevae_status::BufferLength);
        assert_eq!(
            std::format!("{}", short.describe("x")),
            "x holds 3 values, 4 expected"
        );
        let null = check_buffer(core::ptr::null::<f32>(), 4, 4).unwrap_err();
        assert_eq!(null.status(), edgevae_status::NullPointer);
        assert_eq!(std::format!("{}", null.describe("x")), "x is NULL");
        let misaligned = values.as_ptr().cast::<u8>().wrapping_add(1).cast::<f32>();
        assert_eq!(check_ptr(misaligned), Err(PointerFault::Misaligned));
        assert_eq!(
            check_buffer(values.as_ptr(), usize::MAX / 2, usize::MAX / 2),
            Err(PointerFault::TooLarge {
                len: usize::MAX / 2
            })
        );
    }
}
