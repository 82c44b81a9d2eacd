//! Why a data file or data specification was refused. Every file variant carries the path.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an IDX file: magic bytes {found:02x?}, expected 00 00 <type> <ndims>")]
    BadMagic { path: PathBuf, found: [u8; 4] },
    #[error("{path}: IDX element type 0x{code:02x} is not supported (u8 0x08 and f32 0x0d are)")]
    UnsupportedIdxType { path: PathBuf, code: u8 },
    #[error(
        "{path}: payload too short: the header promises {expected} bytes, the file has {actual}"
    )]
    Truncated {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: {extra} bytes after the payload the header describes")]
    TrailingBytes { path: PathBuf, extra: u64 },
    #[error("{path}: implausible dimensions {dims:?}: {why}")]
    AbsurdDims {
        path: PathBuf,
        dims: Vec<u64>,
        why: &'static str,
    },
    #[error("{path}: invalid npy file: {problem}")]
    BadNpy { path: PathBuf, problem: String },
    #[error("{path}: value #{index} is {value}; data must be finite")]
    NonFinite {
        path: PathBuf,
        index: usize,
        value: f32,
    },
    #[error("{path}: no training images found (looked for {looked_for})")]
    NothingFound { path: PathBuf, looked_for: String },
    #[error("{path}: {problem}")]
    Mismatch { path: PathBuf, problem: String },
    #[error("invalid data specification {spec:?}: {problem}")]
    BadSpec { spec: String, problem: String },
}

impl DataError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
