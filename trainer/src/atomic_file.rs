//! Atomic writes: the data goes to a temporary file in the destination directory, is synced, and
//! is renamed over the destination, so a reader (or a resumed run after a crash) sees either the
//! old file or the new one, never a partial one.

use std::ffi::OsStr;
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

/// The process id in a temporary name made by [`temp_path`] (`<name>.tmp-<pid>`), if it is one.
fn temp_owner(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let (stem, pid) = name.rsplit_once(".tmp-")?;
    if stem.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether `name` is a temporary name made by [`temp_path`].
pub fn is_temp_name(name: &OsStr) -> bool {
    temp_owner(name).is_some()
}

/// Removes the temporary files that another process (one killed mid-write: the pid is in the
/// name, so a later process never overwrites them) left in `dir`; returns how many. A missing
/// `dir` holds none.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    remove_files_named(dir, |name| {
        temp_owner(name).is_some_and(|pid| pid != std::process::id())
    })
}

/// Removes the plain files of `dir` whose name `doomed` picks; returns how many. A missing `dir`
/// holds none.
pub fn remove_files_named(dir: &Path, doomed: impl Fn(&OsStr) -> bool) -> Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if doomed(&entry.file_name()) && entry.file_type().is_ok_and(|t| t.is_file()) {
            fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `bytes` to `dest` atomically.
pub fn write(dest: &Path, bytes: &[u8]) -> Result<()> {
    write_with(dest, |tmp| {
        let mut f = fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Lets `fill` stream the file's bytes into a buffered writer of the temporary file, then
/// syncs and renames.
pub fn write_streamed<F>(dest: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut std::io::BufWriter<fs::File>) -> std::io::Result<()>,
{
    write_with(dest, |tmp| {
        let mut out = std::io::BufWriter::new(fs::File::create(tmp)?);
        fill(&mut out)?;
        out.flush()
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
    // Make the rename itself durable: until the directory is synced, a power cut can bring back
    // the old file. A failure here is reported (the new file is in place, but not yet safe);
    // only a file system that cannot sync a directory at all (EINVAL) is let through.
    if let Some(dir) = dest.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let synced = fs::File::open(dir).and_then(|d| d.sync_all());
        match synced {
            Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => {
                return Err(Error::io(dir, e));
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporary_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let own = temp_path(&dir.path().join("state.json"));
        for name in [
            "state.json",
            "state.json.tmp-4000000000",
            "a.tmp-1",
            "b.tmp-x",
        ] {
            fs::write(dir.path().join(name), b"x").expect("write");
        }
        fs::write(&own, b"x").expect("write");
        assert_eq!(remove_stale_temps(dir.path()).expect("remove"), 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let own = own
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(left, vec!["b.tmp-x".to_string(), "state.json".into(), own]);
        assert_eq!(
            remove_stale_temps(&dir.path().join("missing")).expect("missing"),
            0
        );
    }
}
