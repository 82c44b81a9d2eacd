//! What can go wrong in the micro backend: a blob that is not what the manifest describes, or a
//! call with buffers that do not fit. Small and allocation-free, like [`CoreError`].

use core::fmt;

use super::MicroPrecision;
use crate::core::{CoreError, GraphRole};

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MicroError {
    /// Fewer bytes than the header or the layer table needs (a truncated file).
    BlobTooShort {
        len: usize,
        needed: usize,
    },
    /// The first 8 bytes are not the micro blob's magic.
    NotABlob,
    UnsupportedBlobVersion {
        found: u32,
    },
    /// A header or layer-table field holds a value no blob has.
    BlobField {
        field: &'static str,
        value: u32,
    },
    /// The header's byte count is not the blob's length.
    BlobLength {
        header: u32,
        actual: usize,
    },
    /// The blob, or a section in it, does not start on a multiple of `align` bytes.
    Misaligned {
        what: &'static str,
        offset: usize,
        align: usize,
    },
    /// A layer's section runs outside the blob or into its header.
    SectionOutOfBounds {
        layer: usize,
        what: &'static str,
        offset: usize,
        bytes: usize,
    },
    /// A layer's shape or kind does not fit the model the header and manifest describe.
    BlobShape {
        layer: usize,
        problem: &'static str,
    },
    /// A bias or scale is NaN or infinite.
    NonFiniteParameter {
        layer: usize,
        what: &'static str,
    },
    /// The manifest lists no micro blob of this role and precision.
    NotInManifest {
        role: GraphRole,
        precision: MicroPrecision,
    },
    /// The manifest lists no micro blob of this role.
    NoMicroBlob {
        role: GraphRole,
    },
    /// The blob's SHA-256 or length is not the manifest's.
    ChecksumMismatch {
        role: GraphRole,
    },
    /// The blob's header and the manifest disagree about the model.
    ManifestMismatch {
        field: &'static str,
    },
    /// A sampler blob asked to filter, or the other way round.
    WrongRole {
        blob: GraphRole,
        call: GraphRole,
    },
    /// The manifest has no outlier calibration, which filtering needs.
    NotCalibrated,
    /// The scratch arena holds `given` bytes; one row needs `needed`.
    ArenaTooSmall {
        needed: usize,
        given: usize,
    },
    /// The arena does not start on a multiple of [`super::ARENA_ALIGN`] bytes.
    ArenaMisaligned {
        offset: usize,
    },
    /// `rows` rows need more bytes than the address space has.
    ArenaOverflow {
        rows: usize,
    },
    EmptyBatch,
    ZeroPasses,
    /// A caller buffer has the wrong length.
    BufferLength {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    NonFiniteInput {
        row: usize,
        column: usize,
        value: f32,
    },
    NonFiniteNoise {
        what: &'static str,
        index: usize,
        value: f32,
    },
    NonFiniteOutput {
        what: &'static str,
        row: usize,
        column: usize,
        value: f32,
    },
    Core(CoreError),
}

impl From<CoreError> for MicroError {
    fn from(e: CoreError) -> Self {
        MicroError::Core(e)
    }
}

impl fmt::Display for MicroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MicroError as E;
        match self {
            E::BlobTooShort { len, needed } => write!(
                f,
                "micro blob is truncated: {len} bytes, its header and layer table need {needed}"
            ),
            E::NotABlob => write!(f, "not an edgevae micro blob (bad magic)"),
            E::UnsupportedBlobVersion { found } => write!(
                f,
                "micro blob version {found} is not supported (this runtime reads {})",
                super::format::BLOB_VERSION
            ),
            E::BlobField { field, value } => write!(f, "micro blob: {field} {value} is invalid"),
            E::BlobLength { header, actual } => write!(
                f,
                "micro blob is {actual} bytes but its header says {header}"
            ),
            E::Misaligned {
                what,
                offset,
                align,
            } => write!(
                f,
                "micro blob: {what} is {offset} bytes past a multiple of {align}; \
                 place the blob on a {align}-byte boundary"
            ),
            E::SectionOutOfBounds {
                layer,
                what,
                offset,
                bytes,
            } => write!(
                f,
                "micro blob: layer {layer}'s {what} ({bytes} bytes at offset {offset}) lies \
                 outside the blob's sections"
            ),
            E::BlobShape { layer, problem } => write!(f, "micro blob: layer {layer}: {problem}"),
            E::NonFiniteParameter { layer, what } => {
                write!(
                    f,
                    "micro blob: layer {layer}'s {what} holds NaN or infinity"
                )
            }
            E::NotInManifest { role, precision } => write!(
                f,
                "the manifest lists no {} micro blob in {}",
                role.name(),
                precision.name()
            ),
            E::NoMicroBlob { role } => write!(
                f,
                "the manifest lists no {} micro blob: export with --precision micro-...",
                role.name()
            ),
            E::ChecksumMismatch { role } => write!(
                f,
                "the {} micro blob's SHA-256 or length differs from the manifest's: it is \
                 damaged or from another export",
                role.name()
            ),
            E::ManifestMismatch { field } => write!(
                f,
                "the micro blob's {field} differs from the manifest's: it is from another model"
            ),
            E::WrongRole { blob, call } => write!(
                f,
                "this is a {} blob; {} needs a {} blob",
                blob.name(),
                call.name(),
                call.name()
            ),
            E::NotCalibrated => write!(
                f,
                "the manifest has no outlier calibration: export with calibration to filter"
            ),
            E::ArenaTooSmall { needed, given } => write!(
                f,
                "scratch arena of {given} bytes is too small: one row needs {needed} \
                 (see required_arena)"
            ),
            E::ArenaMisaligned { offset } => write!(
                f,
                "scratch arena starts {offset} bytes past a multiple of {}",
                super::ARENA_ALIGN
            ),
            E::ArenaOverflow { rows } => {
                write!(
                    f,
                    "an arena for {rows} rows is larger than the address space"
                )
            }
            E::EmptyBatch => write!(f, "a batch of 0 rows"),
            E::ZeroPasses => write!(f, "filtering needs at least one pass"),
            E::BufferLength {
                what,
                expected,
                found,
            } => write!(f, "{what} holds {found} values, {expected} expected"),
            E::NonFiniteInput { row, column, value } => {
                write!(f, "input row {row}, column {column} is {value}")
            }
            E::NonFiniteNoise { what, index, value } => {
                write!(f, "noise {what}[{index}] is {value}")
            }
            E::NonFiniteOutput {
                what,
                row,
                column,
                value,
            } => write!(
                f,
                "the model's {what} at row {row}, column {column} is {value}"
            ),
            E::Core(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for MicroError {}
