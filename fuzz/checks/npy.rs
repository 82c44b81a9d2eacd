//! Bytes -> the trainer's `.npy` parser (`npy::parse`, what `npy::read` runs on a memory-mapped
//! file). An f32 array that parses must survive an encode/parse round trip unchanged.
//!
//! The check itself, shared by the fuzz target (`fuzz/fuzz_targets/npy.rs`) and the test that
//! replays the committed corpus `fuzz/corpus/npy/` on every test run.

use std::path::Path;

use edgevae_trainer::data::{npy, Values};

/// Runs one input; a panic is a bug.
pub fn check_input(data: &[u8]) {
    let path = Path::new("fuzz.npy");
    let Ok(array) = npy::parse(path, data) else {
        return;
    };
    assert!((1..=4).contains(&array.shape.len()));
    assert_eq!(array.shape.iter().product::<usize>(), array.values.len());
    assert!(array.values.as_f32().iter().all(|v| v.is_finite()));
    if let Values::Floats(floats) = &array.values {
        let bytes = npy::encode_f32(&array.shape, floats).expect("encode");
        let again = npy::parse(path, &bytes).expect("re-parse what was encoded");
        assert_eq!(again.shape, array.shape);
        assert_eq!(again.values, array.values);
    }
}
