//! Model directories for the C ABI tests: the runtime tests' copies of the committed quickstart
//! model with and without an outlier calibration, plus C strings for paths.

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod quickstart_copies;

pub use quickstart_copies::*;

use std::ffi::CString;
use std::path::Path;

pub fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}
