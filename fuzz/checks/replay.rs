//! Replays a committed fuzz corpus through its target's check: every file of
//! `fuzz/corpus/<target>/`, each one's panic caught and reported with its file name, so that a
//! test run covers what the fuzzer found without cargo-fuzz or a nightly toolchain.

use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>/` (below `root`, the repository root);
/// panics naming the files whose input panicked. Returns how many files were replayed.
pub fn replay(root: &Path, target: &str, check: fn(&[u8])) -> usize {
    let dir = root.join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} inputs of {} panicked: {failed:?}",
        failed.len(),
        files.len(),
        dir.display()
    );
    files.len()
}
