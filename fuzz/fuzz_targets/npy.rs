//! Fuzz target `npy`: the check is in `fuzz/checks/npy.rs`, shared with the test that replays
//! `fuzz/corpus/npy/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/npy.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_input(data));
