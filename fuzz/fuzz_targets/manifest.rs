//! Fuzz target `manifest`: the check is in `fuzz/checks/manifest.rs`, shared with the test that replays
//! `fuzz/corpus/manifest/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/manifest.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_input(data));
