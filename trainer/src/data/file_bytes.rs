//! Reading an uncompressed data file whole, before it is parsed.
//!
//! Not a map of the file: a mapped file that another process truncates while it is parsed
//! faults (SIGBUS) and kills the trainer (`trainer/tests/data_file_changes.rs`); a read of a
//! file cut short is an ordinary short file, which the parsers refuse with an error naming it.
//! The bytes are read into an anonymous mapping instead (`mapped_vec.rs`), which no other
//! process can touch.

use std::path::Path;

use super::DataError;
use crate::mapped_vec::MappedVec;

/// The bytes of `path`, in their own mapping (`mapped_vec.rs`): a u8 payload is kept in it,
/// and the file's bytes go back to the OS as soon as a parser has copied out what it keeps.
pub fn read(path: &Path) -> Result<MappedVec<u8>, DataError> {
    let io = |e| DataError::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    // The size is a hint: a file that grows or shrinks meanwhile is read as it is.
    let hint = file.metadata().map_or(0, |m| m.len());
    let mut bytes =
        MappedVec::try_with_capacity(usize::try_from(hint).map_or(0, |n| n.saturating_add(1)))
            .map_err(io)?;
    bytes.read_to_end(&mut file).map_err(io)?;
    Ok(bytes)
}
