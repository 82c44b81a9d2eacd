//! Read-only file mapping for uncompressed data files.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::DataError;

/// Maps `path` read-only. The map is only read while the file is parsed into owned vectors.
pub fn map(path: &Path) -> Result<Mmap, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    // SAFETY: the map is read-only and private to this process; the loaders copy what they need
    // into owned buffers before it is dropped. A file truncated by another process while it is
    // being parsed would fault (SIGBUS): data files are inputs nobody edits during a load.
    unsafe { Mmap::map(&file) }.map_err(|e| DataError::io(path, e))
}
