//! Atomic writes: the data goes to a temporary file in the destination directory, is synced, and
//! is renamed over the destination, so a reader (or a resumed run after a crash) sees either the
//! old file or the new one, never a partial one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary name used next to `dest`; files with this suffix are never read back.
pub fn temp_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    dest.with_file_name(name)
}

/// Writes `bytes` to `dest` atomically.
pub fn write(dest: &Path, bytes: &[u8]) -> Result<()> {
    write_with(dest, |tmp| {
        let mut f = fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Lets `fill` write the temporary file (any writer that takes a path), then syncs and renames.
pub fn write_with<F>(dest: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&Path) -> std::io::Result<()>,
{
    let tmp = temp_path(dest);
    let outcome = fill(&tmp).and_then(|()| {
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, dest)
    });
    if let Err(e) = outcome {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(dest, e));
    }
    // Make the rename itself durable.
    if let Some(dir) = dest.parent() {
        if let Ok(d) = fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(dest: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::bad_file(dest, format!("cannot serialise JSON: {e}")))?;
    write(dest, &text)
}

/// Reads and parses a JSON file, naming the file in any error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::bad_file(path, format!("invalid JSON: {e}")))
}
