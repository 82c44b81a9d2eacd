//! The C ABI of edgevae-runtime (`libedgevae.so`, `libedgevae.a`, header `include/edgevae.h`).
//!
//! Conventions, after rustls-ffi:
//! - Every function returns an `edgevae_status` (`EDGEVAE_STATUS_OK` = 0 on success), except
//!   `edgevae_version`, `edgevae_status_name` and the `_free` functions, which cannot fail.
//!   On failure the calling thread's last error (`edgevae_last_error`) names the problem.
//! - No panic crosses the boundary: every body runs under `catch_unwind`, and a panic becomes
//!   `EDGEVAE_STATUS_PANIC`.
//! - Handles (`edgevae_model`, `edgevae_sampler`, `edgevae_filter`) are opaque, made by a
//!   `_open`/`_new` function through an out-parameter and freed by the matching `_free`, which
//!   accepts NULL. One call at a time per sampler or filter: a call on a handle that another
//!   thread's call is using returns `EDGEVAE_STATUS_BUSY` and does nothing (never undefined
//!   behaviour). Different handles may be used from different threads at once. Freeing a
//!   handle while another thread uses it remains the caller's error.
//! - Buffers belong to the caller; each is followed by its length in values, which must be
//!   exactly what the call needs. `const` pointers are only read. Outputs come last.
//! - NULL pointers are checked before anything is read or written.
//!
//! Every `unsafe` block of the workspace that deals with C pointers is in this crate and in
//! `edgevae_micro`. The micro functions follow that crate's conventions (a caller-allocated
//! handle that keeps its own last error), which a microcontroller allows.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
// C names: edgevae_model, edgevae_status, ...
#![allow(non_camel_case_types)]

use std::ffi::c_char;

mod boundary;
mod error_slot;
pub mod filter;
pub mod last_error;
pub mod model;
pub mod options;
pub mod sampler;
pub mod status;

pub use filter::*;
pub use last_error::edgevae_last_error;
// The micro backend's functions (`edgevae_micro_*`) and the status values: one implementation,
// no_std, in edgevae_micro (runtime/ffi/micro, also built alone as libedgevae_micro.a for
// firmware); linked into libedgevae and declared in include/edgevae_micro.h.
pub use ::edgevae_micro::{
    edgevae_micro, edgevae_micro_arena_size, edgevae_micro_close, edgevae_micro_error,
    edgevae_micro_filter, edgevae_micro_open, edgevae_micro_sample, EDGEVAE_MICRO_MESSAGE_BYTES,
    EDGEVAE_MICRO_WORDS,
};
pub use model::*;
pub use options::*;
pub use sampler::*;
pub use status::*;

/// The version of edgevae, NUL-terminated.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of edgevae as a static NUL-terminated string such as `"0.1.0"`. Never NULL; do
/// not free.
///
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn edgevae_version() -> *const c_char {
    std::panic::catch_unwind(|| VERSION.as_ptr().cast()).unwrap_or(VERSION.as_ptr().cast())
}
