//! Reference values of the micro backend on the committed quickstart model's int8 blobs,
//! produced on x86-64 and checked on every target: one sample (seed 3) and that sample, with
//! two pixels corrupted, filtered in two passes. No std, no alloc, no heap: the same file runs
//! in `runtime/tests/micro_vectors.rs` on the host and in the Cortex-M4 binary
//! (`runtime/cortex-m4`) under qemu, with the blobs in flash.

use edgevae_runtime::core::{GraphRole, Manifest};
use edgevae_runtime::micro::{MicroFilterOutput, MicroModel};

/// A blob placed on a 16-byte boundary, as the micro backend requires.
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

pub static SAMPLER: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../../models/quickstart/sampler_micro_int8.bin"
));
pub static FILTER: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../../models/quickstart/filter_micro_int8.bin"
));

pub const D: usize = 784;
/// One row's arena for each blob (`micro::required_arena(manifest, role, 1)`, checked).
pub const SAMPLER_ARENA: usize = 2176;
pub const FILTER_ARENA: usize = 8320;
pub const SEED: u64 = 3;
/// Every 97th value of the sample, from value 0.
const SAMPLE_PICKS: [f32; 9] = [
    6.815_078_5e-6,
    3.289_257_6e-16,
    1.933_780_6e-6,
    1.980_532_7e-7,
    2.485_757_6e-8,
    0.847_359_54,
    3.681_722_3e-8,
    2.871_376_2e-7,
    8.522_82e-7,
];
const SAMPLE_SUM: f32 = 70.674_08;
/// The filtered row's score, masked elements and reconstruction sum.
const FILTER_SCORE: f32 = 34.734_703;
const FILTER_MASKED: usize = 58;
const FILTER_RECONSTRUCTION_SUM: f32 = 67.303_2;
/// Host and device run the same code on IEEE f32; this allows for a differently rounded libm.
const TOLERANCE: f32 = 1e-4;

/// Which checks failed, one bit each (0: all passed).
pub const OPEN: u32 = 1;
pub const ARENA: u32 = 2;
pub const SAMPLE: u32 = 4;
pub const FILTER_ROW: u32 = 8;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

/// What the host computes, for regenerating the constants.
pub struct Measured {
    pub picks: [f32; 9],
    pub sum: f32,
    pub score: f32,
    pub masked: usize,
    pub reconstruction_sum: f32,
}

/// Runs the sampler and the filter; returns the failed checks and what was measured.
pub fn check(manifest: &Manifest) -> (u32, Measured) {
    let mut failed = 0;
    let mut measured = Measured {
        picks: [0.0; 9],
        sum: 0.0,
        score: 0.0,
        masked: 0,
        reconstruction_sum: 0.0,
    };
    let (Ok(sampler), Ok(filter)) = (
        MicroModel::from_blob(&SAMPLER.0, manifest),
        MicroModel::from_blob(&FILTER.0, manifest),
    ) else {
        return (OPEN, measured);
    };
    let sizes = (
        sampler.required_arena(1).unwrap_or(0),
        filter.required_arena(1).unwrap_or(0),
        edgevae_runtime::micro::required_arena(manifest, GraphRole::Filter, 1).unwrap_or(0),
    );
    if sizes != (SAMPLER_ARENA, FILTER_ARENA, FILTER_ARENA) {
        failed |= ARENA;
    }
    let mut arena = [0u32; FILTER_ARENA / 4];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);
    let mut x = [0.0f32; D];
    if sampler
        .sample_into(&mut bytes[..SAMPLER_ARENA], 1, SEED, &mut x)
        .is_err()
    {
        return (failed | SAMPLE, measured);
    }
    for (i, p) in measured.picks.iter_mut().enumerate() {
        *p = x[i * 97];
    }
    measured.sum = x.iter().sum();
    let picks_ok = measured
        .picks
        .iter()
        .zip(&SAMPLE_PICKS)
        .all(|(a, b)| close(*a, *b));
    if !picks_ok || !close(measured.sum, SAMPLE_SUM) {
        failed |= SAMPLE;
    }
    // Two corrupted pixels: the filter must find them.
    x[300] = 1.0 - x[300];
    x[500] = 1.0 - x[500];
    let mut scores = [0.0f32; 1];
    // Separate bindings: a tuple of arrays is built and then moved, a second copy on the stack.
    let mut element_scores = [0.0f32; D];
    let mut cleaned = [0.0f32; D];
    let mut reconstruction = [0.0f32; D];
    let mut mask = [0u8; D];
    let out = MicroFilterOutput {
        scores: &mut scores,
        element_scores: &mut element_scores,
        mask: &mut mask,
        cleaned: &mut cleaned,
        reconstruction: &mut reconstruction,
    };
    if filter.filter_into(bytes, &x, 1, 2, out).is_err() {
        return (failed | FILTER_ROW, measured);
    }
    measured.score = scores[0];
    measured.masked = mask.iter().filter(|m| **m != 0).count();
    measured.reconstruction_sum = reconstruction.iter().sum();
    if !close(measured.score, FILTER_SCORE)
        || measured.masked != FILTER_MASKED
        || mask[300] != 1
        || mask[500] != 1
        || !close(measured.reconstruction_sum, FILTER_RECONSTRUCTION_SUM)
    {
        failed |= FILTER_ROW;
    }
    (failed, measured)
}
