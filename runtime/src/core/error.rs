//! Errors of the core: small, typed, allocation-free.

use core::fmt;

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// The manifest is not valid JSON of the expected shape: where, and what is wrong there.
    ManifestSyntax {
        field: super::FieldPath,
        problem: super::FieldProblem,
    },
    /// The manifest's format version is not one this runtime reads.
    UnsupportedFormat { found: u32 },
    /// A manifest field has an impossible value.
    ManifestValue(&'static str),
    /// A caller buffer has the wrong length.
    BufferLength { expected: usize, found: usize },
    /// The model's reconstruction of an element the filter must clean is NaN or infinite.
    NonFiniteReconstruction { column: usize, value: f32 },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::ManifestSyntax { field, problem } if field.is_root() => {
                write!(f, "manifest is not an edgevae manifest: {problem}")
            }
            CoreError::ManifestSyntax { field, problem } => {
                write!(f, "manifest field `{field}`: {problem}")
            }
            CoreError::UnsupportedFormat { found } => write!(
                f,
                "manifest format version {found} is not supported (this runtime reads {})",
                super::FORMAT_VERSION
            ),
            CoreError::ManifestValue(what) => write!(f, "manifest: {what}"),
            CoreError::BufferLength { expected, found } => {
                write!(f, "buffer holds {found} values, {expected} expected")
            }
            CoreError::NonFiniteReconstruction { column, value } => write!(
                f,
                "the model reconstructs element {column} as {value}, so the outlier there \
                 cannot be cleaned"
            ),
        }
    }
}

impl core::error::Error for CoreError {}
