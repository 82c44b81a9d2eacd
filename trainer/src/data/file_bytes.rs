//! Reading an uncompressed data file whole, before it is parsed.
//!
//! Not a memory map: a mapped file that another process truncates while it is parsed faults
//! (SIGBUS) and kills the trainer (`trainer/tests/data_file_changes.rs`); a read of a file
//! cut short is an ordinary short file, which the parsers refuse with an error naming it. The
//! parsers copy every value into owned vectors anyway, so the map saved no memory at the peak.

use std::path::Path;

use super::DataError;

/// The bytes of `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}
