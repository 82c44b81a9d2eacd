//! Fuzz target `idx`: the check is in `fuzz/checks/idx.rs`, shared with the test that replays
//! `fuzz/corpus/idx/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/idx.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_input(data));
