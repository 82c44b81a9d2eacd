//! The committed corpora of the `manifest` and `micro_blob` fuzz targets, replayed through the
//! targets' own checks (`fuzz/checks/*.rs`) on every test run: no input panics.

use std::path::Path;

#[path = "../../fuzz/checks/manifest.rs"]
mod manifest;
#[path = "../../fuzz/checks/micro_blob.rs"]
mod micro_blob;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn manifest_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let replayed = replay::replay(&root, "manifest", manifest::check_input);
    assert!(replayed > 1000, "only {replayed} corpus files");
}

#[test]
fn micro_blob_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let replayed = replay::replay(&root, "micro_blob", micro_blob::check_input);
    assert!(replayed >= 6, "only {replayed} corpus files");
}

/// The fuzz target's second seed directory: the whole quickstart blobs go through the check's
/// sample and filter paths, so the check itself is known to run on a good blob.
#[test]
fn micro_blob_check_runs_the_quickstart_blobs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    for role in ["sampler", "filter"] {
        let path = root.join(format!("{role}_micro_int8.bin"));
        let blob = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(micro_blob::accepts(&blob), "{} is refused", path.display());
        micro_blob::check_input(&blob);
    }
}
