//! A library path that is not ONNX Runtime gives EDGEVAE_STATUS_LIBRARY, and a later open with
//! the default search still works. Its own test binary: ONNX Runtime loads once per process,
//! so this must run before any other model is opened.

#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::ffi::CStr;
use std::ptr::null_mut;

use edgevae::*;

use common::{c_path, quickstart};

fn open(options: &edgevae_options) -> (edgevae_status, String) {
    let dir = c_path(&quickstart());
    let mut model = null_mut();
    // SAFETY: a NUL-terminated path, live options, a writable out-parameter.
    let status = unsafe { edgevae_model_open(dir.as_ptr(), options, &mut model) };
    let mut buf = [0u8; 2048];
    let mut written = 0;
    // SAFETY: `buf` holds 2048 writable bytes; `written` is a live usize.
    unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    // SAFETY: a model from edgevae_model_open, or NULL.
    unsafe { edgevae_model_free(model) };
    let message = CStr::from_bytes_until_nul(&buf).expect("NUL");
    (status, message.to_string_lossy().into_owned())
}

#[test]
fn a_file_that_is_not_onnx_runtime_is_a_library_error() {
    // The manifest exists, so the search stops there and tries to load it.
    let not_a_library = c_path(&quickstart().join("manifest.json"));
    let options = edgevae_options {
        library_path: not_a_library.as_ptr(),
        ..edgevae_options::default()
    };
    let (status, message) = open(&options);
    assert_eq!(status, edgevae_status::Library, "{message}");
    assert!(
        message.starts_with("edgevae_model_open: cannot load ONNX Runtime from")
            && message.contains("manifest.json"),
        "{message}"
    );

    let (status, message) = open(&edgevae_options::default());
    assert_eq!(status, edgevae_status::Ok, "{message}");
}
