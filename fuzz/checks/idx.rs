//! Bytes -> the trainer's IDX readers. Input starting with the gzip magic goes through the
//! streaming reader behind a `MultiGzDecoder` (what `idx::read` does for a .gz file: every gzip
//! member); anything else goes through the in-memory parser (what `idx::read` does for a
//! memory-mapped raw file) and, as a differential check, through the streaming reader too: both
//! must agree.
//!
//! The check itself, shared by the fuzz target (`fuzz/fuzz_targets/idx.rs`) and the test that
//! replays the committed corpus `fuzz/corpus/idx/` on every test run.

use std::path::Path;

use edgevae_trainer::data::idx;
use flate2::read::MultiGzDecoder;

fn check(array: &idx::IdxArray) {
    assert!((1..=4).contains(&array.dims.len()));
    assert_eq!(array.dims.iter().product::<usize>(), array.values.len());
    assert!(array.values.as_f32().iter().all(|v| v.is_finite()));
}

/// Runs one input; a panic is a bug.
pub fn check_input(data: &[u8]) {
    let path = Path::new("fuzz.idx");
    if data.starts_with(&[0x1f, 0x8b]) {
        if let Ok(array) = idx::read_stream(path, MultiGzDecoder::new(data)) {
            check(&array);
        }
        return;
    }
    let parsed = idx::parse(path, data);
    let streamed = idx::read_stream(path, data);
    match (&parsed, &streamed) {
        (Ok(a), Ok(b)) => {
            check(a);
            assert_eq!(a.dims, b.dims);
            assert_eq!(a.elem, b.elem);
            assert_eq!(a.values, b.values);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("parse and read_stream disagree: {parsed:?} vs {streamed:?}"),
    }
}
