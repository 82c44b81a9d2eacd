//! The committed corpus of the `manifest` fuzz target, replayed through the target's own check
//! (`fuzz/checks/manifest.rs`) on every test run: no input panics.

use std::path::Path;

#[path = "../../fuzz/checks/manifest.rs"]
mod manifest;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn manifest_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let replayed = replay::replay(&root, "manifest", manifest::check_input);
    assert!(replayed > 1000, "only {replayed} corpus files");
}
