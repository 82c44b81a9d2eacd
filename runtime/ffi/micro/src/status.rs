//! The status every entry point of `libedgevae_micro` and `libedgevae` returns, and how each
//! micro-backend error maps onto it (`libedgevae` maps its runtime errors in its own
//! `status.rs`).
//!
//! Values are numbered once and never reused: a retired status stays here as a comment.

use core::ffi::c_char;

use edgevae_runtime::micro::MicroError;

/// What an `edgevae_` function did. `EDGEVAE_STATUS_OK` (0) is success; on any other value a
/// message names the problem: the calling thread's last error (`edgevae_last_error`) after a
/// `libedgevae` call, the handle's (`edgevae_micro_error`) after an `edgevae_micro_` call.
///
/// The type is a fixed-width `int32_t`, so new values can be added without changing the ABI.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum edgevae_status {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullPointer = 1,
    /// An argument has an impossible value: an unknown execution provider, a precision out of
    /// range, a string that is not UTF-8, zero rows, zero passes, a misaligned buffer.
    InvalidArgument = 2,
    /// A (buffer, length) pair does not hold exactly the number of values the call needs.
    BufferLength = 3,
    /// The caller's buffer is too small for the text asked for (`edgevae_last_error`,
    /// `edgevae_micro_error`); the size needed is written to the call's `written` argument. Also a micro call's arena that
    /// cannot hold one row (the message gives the bytes needed).
    BufferTooSmall = 4,
    /// A file of the model directory cannot be read (missing directory, permissions).
    Io = 5,
    /// `manifest.json` is not a valid edgevae manifest.
    Manifest = 6,
    /// A graph does not match the manifest: size, SHA-256, inputs and outputs, or the manifest
    /// lists no graph for the role and precision asked for. For the micro backend: the blob is
    /// malformed (header, layer table, sections, parameters) or not the one the manifest lists.
    Graph = 7,
    /// The ONNX Runtime shared library cannot be found or loaded.
    Library = 8,
    /// The model directory has no outlier calibration (`"outlier": null`), so there is no filter.
    NotCalibrated = 9,
    /// An input holds a NaN or an infinity: the filter's rows, or the noise given to a sampler.
    NonFiniteInput = 10,
    /// An execution provider named in the options is not available and `strict` was set.
    ProviderUnavailable = 11,
    /// ONNX Runtime failed while running a graph.
    OnnxRuntime = 12,
    /// A bug inside edgevae panicked; the panic was caught at the C boundary (`libedgevae`'s
    /// calls; the micro calls never unwind).
    Panic = 13,
    /// Any other failure inside edgevae (a bug, or an error newer than this status list).
    Internal = 14,
    /// The model produced a NaN or an infinity where a value must be returned: a sample, or the
    /// reconstruction of an element the filter must clean. Nothing is returned; the last error
    /// names the row and column. The runtime never hands out a non-finite value.
    NonFiniteOutput = 15,
    /// The handle is in use by a call on another thread; nothing was done. Retry later, or give
    /// each thread its own sampler or filter. (`edgevae_micro_error`: another thread is
    /// writing or reading the micro handle's message this instant.)
    Busy = 16,
}

/// Every status, in numeric order (module-private, so cbindgen leaves it out of the header).
const ALL: [edgevae_status; 17] = [
    edgevae_status::Ok,
    edgevae_status::NullPointer,
    edgevae_status::InvalidArgument,
    edgevae_status::BufferLength,
    edgevae_status::BufferTooSmall,
    edgevae_status::Io,
    edgevae_status::Manifest,
    edgevae_status::Graph,
    edgevae_status::Library,
    edgevae_status::NotCalibrated,
    edgevae_status::NonFiniteInput,
    edgevae_status::ProviderUnavailable,
    edgevae_status::OnnxRuntime,
    edgevae_status::Panic,
    edgevae_status::Internal,
    edgevae_status::NonFiniteOutput,
    edgevae_status::Busy,
];

impl edgevae_status {
    /// The C constant's name, NUL-terminated.
    fn c_name(self) -> &'static str {
        match self {
            edgevae_status::Ok => "EDGEVAE_STATUS_OK\0",
            edgevae_status::NullPointer => "EDGEVAE_STATUS_NULL_POINTER\0",
            edgevae_status::InvalidArgument => "EDGEVAE_STATUS_INVALID_ARGUMENT\0",
            edgevae_status::BufferLength => "EDGEVAE_STATUS_BUFFER_LENGTH\0",
            edgevae_status::BufferTooSmall => "EDGEVAE_STATUS_BUFFER_TOO_SMALL\0",
            edgevae_status::Io => "EDGEVAE_STATUS_IO\0",
            edgevae_status::Manifest => "EDGEVAE_STATUS_MANIFEST\0",
            edgevae_status::Graph => "EDGEVAE_STATUS_GRAPH\0",
            edgevae_status::Library => "EDGEVAE_STATUS_LIBRARY\0",
            edgevae_status::NotCalibrated => "EDGEVAE_STATUS_NOT_CALIBRATED\0",
            edgevae_status::NonFiniteInput => "EDGEVAE_STATUS_NON_FINITE_INPUT\0",
            edgevae_status::ProviderUnavailable => "EDGEVAE_STATUS_PROVIDER_UNAVAILABLE\0",
            edgevae_status::OnnxRuntime => "EDGEVAE_STATUS_ONNX_RUNTIME\0",
            edgevae_status::Panic => "EDGEVAE_STATUS_PANIC\0",
            edgevae_status::Internal => "EDGEVAE_STATUS_INTERNAL\0",
            edgevae_status::NonFiniteOutput => "EDGEVAE_STATUS_NON_FINITE_OUTPUT\0",
            edgevae_status::Busy => "EDGEVAE_STATUS_BUSY\0",
        }
    }

    /// The C constant's name without the trailing NUL, e.g. `EDGEVAE_STATUS_OK`.
    pub fn name(self) -> &'static str {
        self.c_name().trim_end_matches('\0')
    }

    /// The status a micro-backend error is reported as: a blob that is not what the manifest
    /// lists is a `GRAPH` problem, as a graph's is.
    pub fn of_micro(error: &MicroError) -> Self {
        use MicroError as E;
        match error {
            E::Misaligned {
                what: "the blob's start",
                ..
            }
            | E::ArenaMisaligned { .. }
            | E::ArenaOverflow { .. }
            | E::WrongRole { .. }
            | E::EmptyBatch
            | E::ZeroPasses => edgevae_status::InvalidArgument,
            E::ArenaTooSmall { .. } => edgevae_status::BufferTooSmall,
            E::BufferLength { .. } => edgevae_status::BufferLength,
            E::NotCalibrated => edgevae_status::NotCalibrated,
            E::NonFiniteInput { .. } | E::NonFiniteNoise { .. } => edgevae_status::NonFiniteInput,
            E::NonFiniteOutput { .. } => edgevae_status::NonFiniteOutput,
            E::Core(_) => edgevae_status::Internal,
            // The rest describe the blob (header, layers, sections, checksum, manifest entry);
            // MicroError is non-exhaustive, and a new blob check belongs here too.
            _ => edgevae_status::Graph,
        }
    }
}

/// The name of a status value as a static NUL-terminated string (`"EDGEVAE_STATUS_OK"`, ...),
/// or `"EDGEVAE_STATUS_UNKNOWN"` for a value that is not a status. Never NULL; do not free.
///
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn edgevae_status_name(status: i32) -> *const c_char {
    const UNKNOWN: &str = "EDGEVAE_STATUS_UNKNOWN\0";
    ALL.iter()
        .find(|s| **s as i32 == status)
        .map_or(UNKNOWN, |s| s.c_name())
        .as_ptr()
        .cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_dense_and_named() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(*s as i32, i as i32);
            assert!(s.c_name().ends_with('\0'));
            assert!(!s.name().contains('\0'));
        }
    }
}
