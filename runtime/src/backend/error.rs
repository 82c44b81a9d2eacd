//! The runtime's errors: each names the file or the provider concerned.

use std::path::PathBuf;

use crate::core::{CoreError, GraphRole, Precision};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error("ONNX Runtime library not found: looked for {tried}; run scripts/fetch-onnxruntime.sh or set ORT_DYLIB_PATH")]
    LibraryNotFound { tried: String },
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    LibraryLoad { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: CoreError,
    },
    #[error("{path}: SHA-256 is {found}, the manifest says {expected}")]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{path}: {problem}")]
    GraphMismatch { path: PathBuf, problem: String },
    #[error("{dir}: the manifest lists no {} graph in {}", role.name(), precision.name())]
    MissingGraph {
        dir: PathBuf,
        role: GraphRole,
        precision: Precision,
    },
    #[error("execution provider {provider}: {reason} (strict mode)")]
    ProviderUnavailable {
        provider: &'static str,
        /// Not in this build, or ONNX Runtime's message when it failed to initialise.
        reason: String,
    },
    #[error("unknown execution provider {0:?}: use cpu, cuda or tensorrt")]
    UnknownProvider(String),
    #[error(transparent)]
    Buffer(#[from] CoreError),
    #[error("{dir}: the manifest has no outlier calibration (\"outlier\": null), so the filter has no thresholds; re-export the model with calibration (`edgevae export` without --no-calibration)")]
    NotCalibrated { dir: PathBuf },
    #[error("the filter needs at least one pass")]
    ZeroPasses,
    #[error("the batch is empty: give at least one row")]
    EmptyBatch,
    #[error("the filter output holds {capacity} rows of {out_dim} values; {rows} rows of {dim} are needed")]
    FilterOutputTooSmall {
        rows: usize,
        dim: usize,
        capacity: usize,
        out_dim: usize,
    },
    #[error("the filter output cannot hold {rows} rows of {dim} values: more memory than can be reserved")]
    OutputTooLarge { rows: usize, dim: usize },
    #[error("input row {row}, column {column} is {value}; the filter needs finite values")]
    NonFiniteInput {
        row: usize,
        column: usize,
        value: f32,
    },
    #[error("{what} {index} of the noise is {value}; the sampler needs finite noise")]
    NonFiniteNoise {
        /// `u` or `eps`.
        what: &'static str,
        index: usize,
        value: f32,
    },
    #[error("the model's {what} of row {row}, column {column} is {value}; nothing was returned")]
    NonFiniteOutput {
        /// `sample` or `reconstruction` (of an element the filter must clean).
        what: &'static str,
        row: usize,
        column: usize,
        value: f32,
    },
    #[error("ONNX Runtime: {0}")]
    Ort(String),
}

impl RuntimeError {
    pub(crate) fn ort(e: impl std::fmt::Display) -> Self {
        RuntimeError::Ort(e.to_string())
    }
}
