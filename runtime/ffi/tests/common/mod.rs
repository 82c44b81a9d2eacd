//! Model directories for the C ABI tests: the runtime tests' copies of the committed quickstart
//! model with and without an outlier calibration, plus C strings for paths.

// Each test crate that includes this module uses part of it.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod quickstart_copies;

pub use quickstart_copies::*;

use std::ffi::CString;

use edgevae::{
    edgevae_filter, edgevae_filter_free, edgevae_model, edgevae_model_free, edgevae_sampler,
    edgevae_sampler_free,
};
use std::path::Path;

pub fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}

/// Owns the handles a test makes and frees them, NULL or not.
pub struct Handles {
    pub model: *mut edgevae_model,
    pub sampler: *mut edgevae_sampler,
    pub filter: *mut edgevae_filter,
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: each is NULL or a live handle from the matching constructor, freed only here.
        unsafe {
            edgevae_filter_free(self.filter);
            edgevae_sampler_free(self.sampler);
            edgevae_model_free(self.model);
        }
    }
}
