//! The committed corpora of the `idx` and `npy` fuzz targets, replayed through the targets' own
//! checks (`fuzz/checks/`) on every test run: no input panics.

use std::path::Path;

#[path = "../../fuzz/checks/idx.rs"]
mod idx;
#[path = "../../fuzz/checks/npy.rs"]
mod npy;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn idx_corpus_replays_without_a_panic() {
    let replayed = replay::replay(root(), "idx", idx::check_input);
    assert!(replayed > 500, "only {replayed} corpus files");
}

#[test]
fn npy_corpus_replays_without_a_panic() {
    let replayed = replay::replay(root(), "npy", npy::check_input);
    assert!(replayed > 1000, "only {replayed} corpus files");
}
