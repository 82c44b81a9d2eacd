//! Fuzz target `micro_blob`: the check is in `fuzz/checks/micro_blob.rs`, shared with the test
//! that replays `fuzz/corpus/micro_blob/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/micro_blob.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_input(data));
