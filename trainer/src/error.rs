//! The library's error type: every variant names what failed and, where there is one, the file.

use std::path::PathBuf;

use crate::data::DataError;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The cause is part of the message and not also a `source`, so that a chain printed with
    /// `{:#}` names it once ("…: No space left on device (os error 28)", not three times).
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {problem}")]
    BadFile { path: PathBuf, problem: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A configuration value that cannot train, naming its field.
    #[error("invalid setting {0}")]
    InvalidSetting(#[from] crate::settings::InvalidSetting),
    /// Data handed to a numerical routine that it cannot work on (empty, NaN, ragged).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("device: {0}")]
    Device(String),
    /// The runtime (ONNX Runtime) refused a model or failed to run it.
    #[error(transparent)]
    Runtime(#[from] edgevae_runtime::RuntimeError),
    #[error(
        "training diverged in stage {stage}, epoch {epoch}, step {step}: {what} is not finite; \
         the last good checkpoint (end of epoch {last_good_epoch}) is kept in {run_dir}"
    )]
    NonFinite {
        stage: u8,
        epoch: usize,
        step: usize,
        what: String,
        last_good_epoch: usize,
        run_dir: PathBuf,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }

    pub fn bad_file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
