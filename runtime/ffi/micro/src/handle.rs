//! `edgevae_micro`: the handle's storage, which the caller allocates, and the states it can be
//! in. An open handle holds the parsed manifest and the validated model, which borrows that
//! manifest and the caller's blob; so the handle must stay where it was opened. Every call
//! checks that it has (the handle records its own address), so a copied or moved handle is an
//! error with a message, never a dangling reference.

use core::mem::{align_of, size_of};
use core::ptr::{addr_of, addr_of_mut};

use edgevae_runtime::core::Manifest;
use edgevae_runtime::micro::MicroModel;

use crate::checks::{check_ptr, PointerFault};
use crate::fault::{Cause, Fault};
use crate::message::Slot;
use crate::status::edgevae_status;

/// The size of an `edgevae_micro`, in 8-byte words: room for the parsed manifest (heapless:
/// fixed-capacity strings and tables) and the model's layer table on a 64-bit host, checked at
/// compile time on every target. A 32-bit target uses less of it.
pub const EDGEVAE_MICRO_WORDS: usize = 2816;

/// A micro blob opened against its manifest. The caller allocates it (`static edgevae_micro
/// sampler;`, or on the stack: about 20 KiB) and opens it with `edgevae_micro_open`; it holds
/// no heap memory, and `edgevae_micro_close` ends its use. After a failed call it keeps a
/// message naming the problem (`edgevae_micro_error`).
///
/// Do not copy or move it after opening: it refers to itself (a moved handle is refused with
/// `EDGEVAE_STATUS_INVALID_ARGUMENT`). It borrows the caller's blob, which must stay valid and
/// unchanged until the close.
///
/// Thread-safety: sampling and filtering only read the model, so any number of threads may
/// call on one handle at once, each with its own arena and buffers; open and close must not
/// overlap any other call on the handle.
#[repr(C)]
pub struct edgevae_micro {
    words: [u64; EDGEVAE_MICRO_WORDS],
}

impl edgevae_micro {
    /// Storage never opened, for Rust callers (C declares the struct, e.g. as a `static`).
    pub const fn new() -> Self {
        Self {
            words: [0; EDGEVAE_MICRO_WORDS],
        }
    }
}

impl Default for edgevae_micro {
    fn default() -> Self {
        Self::new()
    }
}

/// What an `edgevae_micro` holds between a successful open and its close.
#[repr(C)]
pub(crate) struct Opened {
    /// [`OPEN`] or [`FAILED`]: read as raw words before anything else is trusted.
    state: u64,
    /// Where the handle was opened.
    address: u64,
    pub message: Slot,
    pub manifest: Manifest,
    /// `None` after a failed open. Borrows `manifest` (this struct, at `address`) and the blob.
    pub model: Option<MicroModel<'static>>,
}

const _: () = assert!(
    size_of::<Opened>() <= size_of::<edgevae_micro>()
        && align_of::<Opened>() <= align_of::<edgevae_micro>()
);

/// The state words: any other value is a handle never opened, or closed.
const OPEN: u64 = 0x6f70_656e_6564_5631; // "openedV1"
const FAILED: u64 = 0x6661_696c_6564_5631; // "failedV1"

/// The handle's state and the address it was opened at, read as plain words (valid for any
/// bits a never-opened handle holds).
///
/// # Safety
///
/// `micro` must be NULL or point to a readable `edgevae_micro`.
unsafe fn words(micro: *const edgevae_micro) -> Result<(u64, u64), PointerFault> {
    check_ptr(micro)?;
    let words = micro.cast::<u64>();
    // SAFETY: not NULL and 8-byte aligned (checked); the handle's first two words are
    // readable by the caller's contract, and every bit pattern is a valid u64.
    Ok(unsafe { (words.read(), words.add(1).read()) })
}

/// The message slot of a handle that was opened (successfully or not) at any address, for
/// reporting and reading errors; `None` for NULL or a handle never opened.
///
/// # Safety
///
/// `micro` must be NULL or point to a readable `edgevae_micro` that is not being opened or
/// closed by another thread.
pub(crate) unsafe fn slot<'a>(micro: *const edgevae_micro) -> Option<&'a Slot> {
    // SAFETY: forwarded caller contract.
    let (state, _) = unsafe { words(micro) }.ok()?;
    if state != OPEN && state != FAILED {
        return None;
    }
    let opened = micro.cast::<Opened>();
    // SAFETY: the state word says an `Opened` was written here (or copied here byte for byte),
    // so its message slot, plain atomics and bytes with no pointers, is initialised; only
    // that field is referenced, not the model, whose borrows may dangle in a copy.
    Some(unsafe { &*addr_of!((*opened).message) })
}

/// The open handle at `micro`, after checking that it is one and has not moved.
///
/// # Safety
///
/// `micro` must be NULL or point to a readable `edgevae_micro` that is not being opened or
/// closed by another thread, and whose blob is still valid.
pub(crate) unsafe fn opened<'a>(micro: *const edgevae_micro) -> Result<&'a Opened, Fault> {
    // SAFETY: forwarded caller contract.
    let (state, address) = unsafe { words(micro) }.map_err(|f| Fault::pointer(f, "micro"))?;
    let here = micro as usize as u64;
    match state {
        OPEN if address == here => {
            // SAFETY: opened at this address and not moved, so every field is initialised and
            // the model's borrow of `manifest` points into this very struct.
            Ok(unsafe { &*micro.cast::<Opened>() })
        }
        OPEN | FAILED if address != here => Err(Fault::of(
            edgevae_status::InvalidArgument,
            Cause::Moved {
                opened_at: address,
                now_at: here,
            },
        )),
        FAILED => Err(Fault::invalid(
            "micro failed to open (see the message of that call, before this one)",
        )),
        _ => Err(Fault::invalid(
            "micro is not open: call edgevae_micro_open first (or it was closed)",
        )),
    }
}

/// Prepares `micro` for an open: a FAILED handle with an empty manifest, no model, an empty
/// message; every field written in place, so no 20 KiB value is built on the stack.
///
/// # Safety
///
/// `micro` must be NULL or point to a writable `edgevae_micro` that no other call uses.
pub(crate) unsafe fn reset<'a>(micro: *mut edgevae_micro) -> Result<&'a mut Opened, Fault> {
    check_ptr(micro).map_err(|f| Fault::pointer(f, "micro"))?;
    let opened = micro.cast::<Opened>();
    // SAFETY: not NULL and aligned for Opened (align_of::<Opened>() <= the handle's, checked at
    // compile time) and large enough (likewise); writable and unshared by the caller's
    // contract. Each field is written before the whole is referenced.
    unsafe {
        addr_of_mut!((*opened).state).write(FAILED);
        addr_of_mut!((*opened).address).write(micro as usize as u64);
        addr_of_mut!((*opened).message).write(Slot::new());
        addr_of_mut!((*opened).manifest).write(Manifest::EMPTY);
        addr_of_mut!((*opened).model).write(None);
        Ok(&mut *opened)
    }
}

impl Opened {
    pub fn mark_open(&mut self) {
        self.state = OPEN;
    }
}

/// Closes `micro` if it is open (or failed), at any address; NULL and never-opened handles are
/// left alone.
///
/// # Safety
///
/// `micro` must be NULL or point to a writable `edgevae_micro` that no other call uses.
pub(crate) unsafe fn close(micro: *mut edgevae_micro) {
    // SAFETY: forwarded caller contract.
    if let Ok((OPEN | FAILED, _)) = unsafe { words(micro) } {
        // SAFETY: the state word says an Opened is here; only its plain state word and its
        // `model` Option are written (dropping a MicroModel runs no code that reads its
        // borrows: it holds references and plain data only).
        unsafe {
            let opened = micro.cast::<Opened>();
            addr_of_mut!((*opened).model).write(None);
            addr_of_mut!((*opened).state).write(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_has_room_on_this_target() {
        std::println!(
            "Opened: {} bytes of {}",
            size_of::<Opened>(),
            size_of::<edgevae_micro>()
        );
        assert!(size_of::<Opened>() <= size_of::<edgevae_micro>());
    }
}
