//! Copies of the committed quickstart model for the filter tests, with a hand-written outlier
//! section (known thresholds) or none: only the graphs are checksummed, so a copy's manifest can
//! be edited.

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Per-element noise variance written into the copy (residual threshold 0.3 with
/// `ELEMENT_THRESHOLD` 9).
pub const ELEMENT_NOISE: f32 = 0.01;
pub const ELEMENT_THRESHOLD: f64 = 9.0;
pub const SCORE_THRESHOLD: f64 = 1.0;

pub fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart")
}

/// Copies models/quickstart into a temporary directory with the outlier section removed (the
/// committed model is calibrated).
pub fn uncalibrated_quickstart() -> tempfile::TempDir {
    with_outlier(serde_json::Value::Null)
}

/// Copies models/quickstart into a temporary directory and writes an outlier section into the
/// copy's manifest.
pub fn calibrated_quickstart() -> tempfile::TempDir {
    with_outlier(serde_json::Value::Bool(true))
}

/// `Bool(true)` stands for the hand-written calibration below.
fn with_outlier(outlier: serde_json::Value) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(quickstart()).expect("models/quickstart") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).expect("copy");
    }
    let path = tmp.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    let dim = manifest["input_dim"].as_u64().expect("input_dim") as usize;
    manifest["outlier"] = if outlier.is_null() {
        outlier
    } else {
        serde_json::json!({
            "score_threshold": SCORE_THRESHOLD,
            "element_threshold": ELEMENT_THRESHOLD,
            "contamination": 0.1,
            "element_noise": vec![ELEMENT_NOISE; dim],
        })
    };
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");
    tmp
}
