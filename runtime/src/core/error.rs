//! Errors of the core: small, typed, allocation-free.

use core::fmt;

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// The manifest is not valid JSON of the expected shape.
    ManifestSyntax,
    /// The manifest's format version is not one this runtime reads.
    UnsupportedFormat { found: u32 },
    /// A manifest field has an impossible value.
    ManifestValue(&'static str),
    /// A caller buffer has the wrong length.
    BufferLength { expected: usize, found: usize },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::ManifestSyntax => write!(
                f,
                "manifest is not valid JSON of the edgevae manifest shape"
            ),
            CoreError::UnsupportedFormat { found } => write!(
                f,
                "manifest format version {found} is not supported (this runtime reads {})",
                super::FORMAT_VERSION
            ),
            CoreError::ManifestValue(what) => write!(f, "manifest: {what}"),
            CoreError::BufferLength { expected, found } => {
                write!(f, "buffer holds {found} values, {expected} expected")
            }
        }
    }
}

impl core::error::Error for CoreError {}
