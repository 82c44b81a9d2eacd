//! How each runtime error maps onto the status every entry point returns. The status values
//! themselves, and the micro backend's mapping, are `edgevae_micro`'s (`runtime/ffi/micro`),
//! shared by both libraries.

use edgevae_runtime::core::CoreError;
use edgevae_runtime::RuntimeError;

pub use ::edgevae_micro::status::*;

/// The status a runtime error is reported as.
pub fn of(error: &RuntimeError) -> edgevae_status {
    match error {
        RuntimeError::LibraryNotFound { .. } | RuntimeError::LibraryLoad { .. } => {
            edgevae_status::Library
        }
        RuntimeError::Io { .. } => edgevae_status::Io,
        RuntimeError::Manifest { .. } => edgevae_status::Manifest,
        RuntimeError::Checksum { .. }
        | RuntimeError::GraphMismatch { .. }
        | RuntimeError::MissingGraph { .. } => edgevae_status::Graph,
        RuntimeError::ProviderUnavailable { .. } => edgevae_status::ProviderUnavailable,
        RuntimeError::UnknownProvider(_)
        | RuntimeError::OutputTooLarge { .. }
        | RuntimeError::ZeroPasses
        | RuntimeError::EmptyBatch => edgevae_status::InvalidArgument,
        RuntimeError::Buffer(CoreError::BufferLength { .. })
        | RuntimeError::FilterOutputTooSmall { .. } => edgevae_status::BufferLength,
        RuntimeError::NotCalibrated { .. } => edgevae_status::NotCalibrated,
        RuntimeError::NonFiniteInput { .. } | RuntimeError::NonFiniteNoise { .. } => {
            edgevae_status::NonFiniteInput
        }
        RuntimeError::NonFiniteOutput { .. } => edgevae_status::NonFiniteOutput,
        RuntimeError::Ort(_) => edgevae_status::OnnxRuntime,
        // Other core errors are manifest problems, which only reach us as `Manifest`; and
        // RuntimeError is non-exhaustive.
        _ => edgevae_status::Internal,
    }
}
