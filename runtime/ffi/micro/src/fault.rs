//! A failure on its way to the caller: the status to return and what went wrong, kept as data
//! (a few words, not a formatted message, so that it passes up the stack cheaply) and formatted
//! once, into the handle's message slot.

use core::fmt;

use edgevae_runtime::core::CoreError;
use edgevae_runtime::micro::MicroError;

use crate::checks::PointerFault;
use crate::status::edgevae_status;

pub struct Fault {
    pub status: edgevae_status,
    pub cause: Cause,
}

pub enum Cause {
    /// A whole message.
    Text(&'static str),
    /// A refused (pointer, length) pair and the parameter's name.
    Pointer(PointerFault, &'static str),
    /// Two buffers that share memory.
    Overlap(&'static str, &'static str),
    /// `n * input_dim` does not fit a `size_t`.
    Overflow {
        n: usize,
        dim: usize,
    },
    /// The handle was opened at one address and is used at another.
    Moved {
        opened_at: u64,
        now_at: u64,
    },
    Manifest(CoreError),
    Micro(MicroError),
}

impl Fault {
    pub fn invalid(text: &'static str) -> Self {
        Self {
            status: edgevae_status::InvalidArgument,
            cause: Cause::Text(text),
        }
    }

    pub fn of(status: edgevae_status, cause: Cause) -> Self {
        Self { status, cause }
    }

    /// A refused pointer; `what` is the parameter's name.
    pub fn pointer(fault: PointerFault, what: &'static str) -> Self {
        Self::of(fault.status(), Cause::Pointer(fault, what))
    }
}

impl From<MicroError> for Fault {
    fn from(e: MicroError) -> Self {
        Self::of(edgevae_status::of_micro(&e), Cause::Micro(e))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Text(text) => f.write_str(text),
            Cause::Pointer(fault, what) => write!(f, "{}", fault.describe(what)),
            Cause::Overlap(a, b) => write!(f, "{a} and {b} overlap"),
            Cause::Overflow { n, dim } => write!(f, "n * input_dim = {n} * {dim} overflows"),
            Cause::Moved { opened_at, now_at } => write!(
                f,
                "micro was opened at {opened_at:#x} and is now at {now_at:#x}: a handle must \
                 not be copied or moved after edgevae_micro_open"
            ),
            Cause::Manifest(e) => write!(f, "manifest_json: {e}"),
            Cause::Micro(e) => write!(f, "{e}"),
        }
    }
}
