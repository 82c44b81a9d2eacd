//! `edgevae_micro`: the handle's storage, which the caller allocates, and the states it can be
//! in. An open handle holds the parsed manifest and the validated model, which borrows that
//! manifest and the caller's blob; so the handle must stay where it was opened. Every call
//! checks that it has (the handle records its own address), so a copied or moved handle is an
//! error with a message instead of a dangling reference.
//!
//! Sampling and filtering only read the model and may run on several threads at once; opening
//! and closing replace it. A count of the calls in progress keeps the two apart without a lock
//! that could wait: a call announces itself, then checks the state; open and close take the
//! state first, then check the count; with sequentially consistent atomics one of the two
//! always sees the other, and the loser gets `EDGEVAE_STATUS_BUSY`.

use core::cell::UnsafeCell;
use core::mem::{align_of, size_of};
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

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

/// A micro blob opened against its manifest: 22,528 bytes the caller allocates, zeroed
/// (`static edgevae_micro sampler;`, or `edgevae_micro h = {0};` on a stack), and opens with
/// `edgevae_micro_open`; it holds no heap memory, and `edgevae_micro_close` ends its use (call
/// it before the storage goes away: a stale open handle left on a stack could be mistaken for
/// a live one). After a failed call it keeps a message naming the problem
/// (`edgevae_micro_error`).
///
/// Do not copy or move it after opening: it refers to itself (a moved handle is refused with
/// `EDGEVAE_STATUS_INVALID_ARGUMENT`). It borrows the caller's blob, which must stay valid and
/// unchanged until the close.
///
/// Thread-safety: sampling and filtering only read the model, so any number of threads (or an
/// interrupt handler) may call on one handle at once, each with its own arena and buffers. An
/// open or close that finds a call in progress returns `EDGEVAE_STATUS_BUSY` and does nothing,
/// and so does a call that finds an open or close in progress.
#[repr(C)]
pub struct edgevae_micro {
    words: UnsafeCell<[u64; EDGEVAE_MICRO_WORDS]>,
}

// SAFETY: every access through a shared handle is either atomic (the state and the count of
// calls in progress), guarded by the message slot's flag, or a read of the model and the
// manifest, which open and close only replace when no call is in progress (module docs).
unsafe impl Sync for edgevae_micro {}

impl edgevae_micro {
    /// Storage never opened, for Rust callers (C declares the struct zeroed, e.g. a `static`).
    pub const fn new() -> Self {
        Self {
            words: UnsafeCell::new([0; EDGEVAE_MICRO_WORDS]),
        }
    }
}

impl Default for edgevae_micro {
    fn default() -> Self {
        Self::new()
    }
}

/// The first part of an opened handle: what is read before the model is trusted.
#[repr(C)]
pub(crate) struct Header {
    /// [`OPEN`], [`FAILED`], [`BUSY`] (an open or close in progress), or anything else (never
    /// opened, or closed).
    state: AtomicU32,
    /// Calls using the handle now.
    in_flight: AtomicU32,
    /// Where the handle was opened.
    address: usize,
    /// The blob's bytes, for the overlap checks of the calls.
    pub blob_start: usize,
    pub blob_len: usize,
    pub message: Slot,
}

/// What an `edgevae_micro` holds once opened.
#[repr(C)]
pub(crate) struct Opened {
    pub header: Header,
    pub manifest: Manifest,
    /// `None` after a failed open. Borrows `manifest` (this struct, at `header.address`) and
    /// the blob.
    pub model: Option<MicroModel<'static>>,
}

const _: () = assert!(
    size_of::<Opened>() <= size_of::<edgevae_micro>()
        && align_of::<Opened>() <= align_of::<edgevae_micro>()
);

const OPEN: u32 = 0x6f70_656e; // "open"
const FAILED: u32 = 0x6661_696c; // "fail"
const BUSY: u32 = 0x6275_7379; // "busy"
const CLOSED: u32 = 0;

/// The handle's state word and in-flight count, which exist at the same place in every
/// handle, opened or not.
///
/// # Safety
///
/// `micro` must be NULL or point to an `edgevae_micro` that lives for `'a`.
unsafe fn atomics<'a>(
    micro: *const edgevae_micro,
) -> Result<(&'a AtomicU32, &'a AtomicU32), PointerFault> {
    check_ptr(micro)?;
    let words = micro.cast::<AtomicU32>();
    // SAFETY: not NULL and 8-byte aligned (checked); the storage is an UnsafeCell the caller
    // keeps alive, so atomics may read and write it from shared references; every bit
    // pattern is a valid AtomicU32 (the storage is zeroed or was written by open).
    Ok(unsafe { (&*words, &*words.add(1)) })
}

/// A call in progress on a handle whose header is valid (open, or failed to open); the count
/// is released on drop.
pub(crate) struct Entered<'a> {
    micro: *const edgevae_micro,
    header: &'a Header,
    in_flight: &'a AtomicU32,
    open_here: bool,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, SeqCst);
    }
}

impl<'a> Entered<'a> {
    pub fn header(&self) -> &'a Header {
        self.header
    }

    /// The opened handle, when it is open and at the address it was opened at.
    pub fn opened(&self) -> Result<&'a Opened, Fault> {
        if !self.open_here {
            let here = self.micro as usize;
            return Err(if self.header.address != here {
                Fault::of(
                    edgevae_status::InvalidArgument,
                    Cause::Moved {
                        opened_at: self.header.address as u64,
                        now_at: here as u64,
                    },
                )
            } else {
                Fault::invalid(
                    "micro failed to open (see the message of that call, before this one)",
                )
            });
        }
        // SAFETY: open and at its own address: open wrote every field here before it set the
        // state (SeqCst, seen by `enter`), the model's borrow of the manifest points into this
        // very struct, and neither changes while this call is counted in flight.
        Ok(unsafe { &*self.micro.cast::<Opened>() })
    }
}

/// Announces a call on `micro`, then checks its state. Fails for NULL (status only), for a
/// handle never opened or closed and for one being opened or closed (status only: no message
/// slot can be trusted there).
///
/// # Safety
///
/// `micro` must be NULL or point to an `edgevae_micro` that lives for `'a` and whose blob is
/// still valid.
pub(crate) unsafe fn enter<'a>(micro: *const edgevae_micro) -> Result<Entered<'a>, edgevae_status> {
    // SAFETY: forwarded caller contract.
    let (state, in_flight) = unsafe { atomics(micro) }.map_err(PointerFault::status)?;
    in_flight.fetch_add(1, SeqCst);
    let now = state.load(SeqCst);
    if now != OPEN && now != FAILED {
        in_flight.fetch_sub(1, SeqCst);
        return Err(if now == BUSY {
            edgevae_status::Busy
        } else {
            edgevae_status::InvalidArgument
        });
    }
    // SAFETY: the state says open wrote a header here (or a copy of one was made byte for
    // byte), and no open or close can rewrite it while this call is counted: plain data and
    // atomics, no pointers.
    let header = unsafe { &*micro.cast::<Header>() };
    Ok(Entered {
        micro,
        header,
        in_flight,
        open_here: now == OPEN && header.address == micro as usize,
    })
}

/// Takes `micro` for an open or a close: BUSY when another call is in progress on it. Returns
/// whether the handle held a header (open or failed) before.
///
/// # Safety
///
/// `micro` must be NULL or point to a writable `edgevae_micro`.
unsafe fn take(micro: *mut edgevae_micro) -> Result<bool, edgevae_status> {
    // SAFETY: forwarded caller contract.
    let (state, in_flight) = unsafe { atomics(micro) }.map_err(PointerFault::status)?;
    let before = state.load(SeqCst);
    match before {
        OPEN | FAILED => {
            if state
                .compare_exchange(before, BUSY, SeqCst, SeqCst)
                .is_err()
            {
                return Err(edgevae_status::Busy);
            }
            if in_flight.load(SeqCst) != 0 {
                state.store(before, SeqCst);
                return Err(edgevae_status::Busy);
            }
            Ok(true)
        }
        BUSY => Err(edgevae_status::Busy),
        _ => {
            // Never opened or closed: nothing can be using it. The count may be garbage in
            // storage that was never opened.
            state.store(BUSY, SeqCst);
            in_flight.store(0, SeqCst);
            Ok(false)
        }
    }
}

/// Takes `micro` for an open and resets it in place to a failed handle with an empty manifest,
/// no model and an empty message (every field written where it lives, so no 22 KiB value is
/// built on the stack). The caller finishes with [`finish_open`].
///
/// # Safety
///
/// `micro` must be NULL or point to a writable `edgevae_micro` that lives while the handle is
/// used.
pub(crate) unsafe fn begin_open(micro: *mut edgevae_micro) -> Result<*mut Opened, edgevae_status> {
    // SAFETY: forwarded caller contract.
    unsafe { take(micro) }?;
    let opened = micro.cast::<Opened>();
    // SAFETY: the handle is taken (state BUSY, no call in flight), so nothing else reads it;
    // aligned and large enough for Opened (checked at compile time); each field is written in
    // place through the raw pointer, the atomics left as they are.
    unsafe {
        addr_of_mut!((*opened).header.address).write(micro as usize);
        addr_of_mut!((*opened).header.blob_start).write(0);
        addr_of_mut!((*opened).header.blob_len).write(0);
        addr_of_mut!((*opened).header.message).write(Slot::new());
        addr_of_mut!((*opened).manifest).write(Manifest::EMPTY);
        addr_of_mut!((*opened).model).write(None);
    }
    Ok(opened)
}

/// Publishes the handle [`begin_open`] took: open when `model` is set, failed otherwise.
///
/// # Safety
///
/// `opened` must come from [`begin_open`], with no call since.
pub(crate) unsafe fn finish_open(opened: *mut Opened, open: bool) {
    // SAFETY: the state word of a handle `begin_open` took and initialised.
    if let Ok((state, _)) = unsafe { atomics(opened.cast()) } {
        state.store(if open { OPEN } else { FAILED }, SeqCst);
    }
}

/// Closes `micro`: BUSY while a call is in progress on it; NULL and never-opened handles are
/// fine.
///
/// # Safety
///
/// `micro` must be NULL or point to a writable `edgevae_micro`.
pub(crate) unsafe fn close(micro: *mut edgevae_micro) -> edgevae_status {
    if micro.is_null() {
        return edgevae_status::Ok;
    }
    // SAFETY: forwarded caller contract.
    match unsafe { take(micro) } {
        Ok(_) => {
            let opened = micro.cast::<Opened>();
            // SAFETY: taken (no call in flight); the model's Option is overwritten in place
            // (a MicroModel holds references and plain data: nothing to drop), then the state
            // says closed.
            unsafe {
                addr_of_mut!((*opened).model).write(None);
                if let Ok((state, _)) = atomics(micro) {
                    state.store(CLOSED, SeqCst);
                }
            }
            edgevae_status::Ok
        }
        Err(status) => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_close_are_busy_while_a_call_is_in_progress() {
        let mut storage = std::boxed::Box::new(edgevae_micro::new());
        let micro: *mut edgevae_micro = &mut *storage;
        // SAFETY: a zeroed, writable handle that outlives every use below.
        unsafe {
            let opened = begin_open(micro).expect("a zeroed handle can be taken");
            finish_open(opened, false);
            let call = enter(micro).expect("a failed handle keeps its header");
            assert_eq!(close(micro), edgevae_status::Busy, "a call is in flight");
            assert!(matches!(begin_open(micro), Err(edgevae_status::Busy)));
            drop(call);
            assert_eq!(close(micro), edgevae_status::Ok);
            assert!(matches!(enter(micro), Err(edgevae_status::InvalidArgument)));
            // A handle being opened refuses calls with BUSY.
            let _taken = begin_open(micro).expect("closed: free to take");
            assert!(matches!(enter(micro), Err(edgevae_status::Busy)));
        }
    }

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
