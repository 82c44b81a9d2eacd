//! The micro backend's C ABI (`libedgevae_micro.a`, header `include/edgevae_micro.h`): MLP
//! weight blobs sampled and filtered with no operating system, no allocator and no ONNX
//! Runtime, over memory the caller owns. Built for a bare-metal target it is what C firmware
//! links; `libedgevae` (the std library) re-exports the same functions, so there is one
//! implementation and one header for them.
//!
//! Conventions, those of `libedgevae` where a microcontroller allows:
//! - Every function returns an `edgevae_status` (`EDGEVAE_STATUS_OK` = 0 on success), except
//!   `edgevae_status_name`, which cannot fail.
//! - A handle is an `edgevae_micro` the caller allocates, zeroed (a `static`, typically): no
//!   heap. On failure the handle keeps a message naming the problem, read with
//!   `edgevae_micro_error`. `libedgevae`'s per-thread `edgevae_last_error` needs thread-local
//!   storage, which bare metal does not have.
//! - Buffers belong to the caller; each is followed by its length in values, which must be
//!   exactly what the call needs, and none may overlap another, the handle or the blob.
//!   Nothing is read or written through a pointer before it is checked (NULL, alignment,
//!   length).
//! - No unwinding: the micro backend does not panic on any input (the bad-input corpus and the
//!   fuzz target hold it to that); a panic would be a bug, and it stops the program (an
//!   undefined-instruction fault on Arm bare metal, an abort on a host).

#![no_std]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
// C names: edgevae_micro, edgevae_status, ...
#![allow(non_camel_case_types)]

// On a host, std supplies the panic handler the staticlib needs; on bare metal there is none.
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod calls;
pub mod checks;
mod fault;
pub mod handle;
pub mod message;
pub mod status;

pub use calls::*;
pub use handle::{edgevae_micro, EDGEVAE_MICRO_WORDS};
pub use message::EDGEVAE_MICRO_MESSAGE_BYTES;
pub use status::*;

/// Bare metal has no unwinding and no console: a panic (a bug in edgevae, never bad input)
/// stops the core with an undefined-instruction fault, which the firmware's HardFault handler
/// (or the debugger) sees, rather than spinning silently.
#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        #[cfg(target_arch = "arm")]
        // SAFETY: `udf` only raises the UsageFault/HardFault exception; it touches no memory.
        unsafe {
            core::arch::asm!("udf #0", options(nomem, nostack));
        }
    }
}
