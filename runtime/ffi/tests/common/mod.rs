//! Model directories for the C ABI tests: copies of the committed quickstart model with and
//! without an outlier calibration (as runtime/tests/common/mod.rs makes them: only the graphs
//! are checksummed, so the copy's manifest can carry a hand-written outlier section).

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Per-element noise variance written into the calibrated copy (residual threshold 0.3 with
/// `ELEMENT_THRESHOLD` 9).
pub const ELEMENT_NOISE: f32 = 0.01;
pub const ELEMENT_THRESHOLD: f64 = 9.0;
pub const SCORE_THRESHOLD: f64 = 1.0;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn quickstart() -> PathBuf {
    root().join("models/quickstart")
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

/// A copy of the quickstart model without calibration (whatever the committed one has now).
pub fn uncalibrated_quickstart() -> tempfile::TempDir {
    copy_with(|_| serde_json::Value::Null)
}

pub fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}
