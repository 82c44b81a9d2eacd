//! Copies of the committed quickstart model for the filter tests, with a hand-written outlier
//! section (known thresholds) or none: only the graphs are checksummed, so a copy's manifest can
//! be edited. Also included by the C ABI tests (runtime/ffi/tests/common/mod.rs).

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Per-element noise variance written into the calibrated copy (the quickstart model has no
/// variance head, so this is its inlier variance).
pub const ELEMENT_NOISE: f32 = 0.01;
/// What an element score adds to the standardised residual at that noise: ln(2 pi 0.01).
pub const LOG_NORMALISER: f64 = -2.767_293_119_578_746;
/// Standardised residual 9 (residual threshold 0.3) as an element score.
pub const ELEMENT_THRESHOLD: f64 = 9.0 + LOG_NORMALISER;
/// Mean standardised residual 1 as a row score.
pub const SCORE_THRESHOLD: f64 = 1.0 + LOG_NORMALISER;

/// The repository root: the nearest ancestor of the including crate that holds
/// models/quickstart (this module serves crates at two depths).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("models/quickstart").is_dir())
        .expect("the repository root above the crate")
        .to_path_buf()
}

pub fn quickstart() -> PathBuf {
    root().join("models/quickstart")
}

/// A calibrated copy of the quickstart model.
pub fn calibrated_quickstart() -> tempfile::TempDir {
    copy_with(|dim| {
        serde_json::json!({
            "score_threshold": SCORE_THRESHOLD,
            "element_threshold": ELEMENT_THRESHOLD,
            "contamination": 0.1,
            "element_noise": vec![ELEMENT_NOISE; dim],
        })
    })
}

/// A copy of the quickstart model without calibration (the committed one is calibrated).
pub fn uncalibrated_quickstart() -> tempfile::TempDir {
    copy_with(|_| serde_json::Value::Null)
}

/// A copy of models/quickstart whose manifest's `outlier` section is `outlier(input_dim)`.
fn copy_with(outlier: impl FnOnce(usize) -> serde_json::Value) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(quickstart()).expect("models/quickstart") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).expect("copy");
    }
    let path = tmp.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    let dim = manifest["input_dim"].as_u64().expect("input_dim") as usize;
    manifest["outlier"] = outlier(dim);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");
    tmp
}
