//! Reference values of the core, produced on x86-64 and checked on every target: the committed
//! quickstart manifest's fields, the first normals of the seeded RNG (bit patterns), and a row
//! scored, masked and cleaned by `core::outlier::filter_row`. No std, no alloc: the same file
//! runs in `runtime/tests/core_vectors.rs` on the host and in the Cortex-M4 binary
//! (`runtime/cortex-m4`) under qemu.

use edgevae_runtime::core::outlier::{filter_row, InputGate, RowOutput, SCORE_CEILING};
use edgevae_runtime::core::{CoreError, GaussianRng, Manifest, Precision};

/// `GaussianRng::new(7)`'s first eight normals.
const RNG_SEED: u64 = 7;
const RNG_NORMALS: [u32; 8] = [
    0x4002_3b07,
    0x3f40_7d52,
    0xbf31_22f6,
    0x3f9c_1956,
    0x3f2b_046a,
    0xc011_b7f9,
    0xbd42_605b,
    0xbfae_ada5,
];

/// A pixel row with two outliers: a residual of 0.7 where the model expects little spread, and
/// 3e38, outside what pixel data can hold.
const ROW_X: [f32; 8] = [0.1, 0.5, 0.9, 0.0, 1.0, 0.3, 3.0e38, 0.7];
const ROW_MEAN: [f32; 8] = [0.12, 0.45, 0.2, 0.05, 0.98, 0.31, 0.5, 0.69];
const ROW_LOG_VAR: [f32; 8] = [-4.0, -3.0, -4.5, -5.0, -4.0, -3.5, -4.0, -4.0];
const ROW_THRESHOLD: f32 = 4.0;
const ROW_SCORE: u32 = 0x7dff_ffff;
const ROW_ELEMENT_SCORES: [u32; 8] = [
    0xc008_fa68,
    0xbf8e_5309,
    0x4225_c8fb,
    0xc032_a138,
    0xc008_fa68,
    0xbfd4_53ed,
    0x7f7f_ffff,
    0xc00a_06c4,
];
const ROW_MASK: [u8; 8] = [0, 0, 1, 0, 0, 0, 1, 0];
const ROW_CLEANED: [u32; 8] = [
    0x3dcc_cccd,
    0x3f00_0000,
    0x3e4c_cccd,
    0x0000_0000,
    0x3f80_0000,
    0x3e99_999a,
    0x3f00_0000,
    0x3f33_3333,
];

/// Which checks failed, one bit each (0: all passed).
pub const MANIFEST: u32 = 1;
pub const RNG: u32 = 2;
pub const ROW: u32 = 4;
pub const NAN_RECONSTRUCTION: u32 = 8;

/// `ROW_X` against `mean`: (row score, mask, cleaned, element scores).
fn score_row(mean: &[f32; 8]) -> (Result<f32, CoreError>, [u8; 8], [f32; 8], [f32; 8]) {
    let (mut mask, mut cleaned, mut scores) = ([0u8; 8], [0f32; 8], [0f32; 8]);
    let score = filter_row(
        &ROW_X,
        mean,
        &ROW_LOG_VAR,
        ROW_THRESHOLD,
        &InputGate::UNIT,
        RowOutput {
            mask: &mut mask,
            cleaned: &mut cleaned,
            element_scores: &mut scores,
        },
    );
    (score, mask, cleaned, scores)
}

/// Runs every check on the quickstart manifest's bytes, parsed into `manifest` (in place, as a
/// device would: the caller decides where the 17 KiB live); returns the failed checks' bits.
pub fn check(quickstart_manifest: &[u8], manifest: &mut Manifest) -> u32 {
    let mut failed = 0;
    match Manifest::parse_into(quickstart_manifest, manifest) {
        Ok(()) => {
            let m = &*manifest;
            let calibrated = m
                .outlier
                .as_ref()
                .is_some_and(|o| o.element_noise.len() == 784);
            if m.input_dim != 784
                || m.latent != 32
                || m.graphs.len() != 2 * Precision::ALL.len()
                || !calibrated
            {
                failed |= MANIFEST;
            }
        }
        Err(_) => failed |= MANIFEST,
    }

    let mut rng = GaussianRng::new(RNG_SEED);
    let mut normals = [0f32; 8];
    rng.fill_normal(&mut normals);
    if normals
        .iter()
        .zip(RNG_NORMALS)
        .any(|(v, bits)| v.to_bits() != bits)
    {
        failed |= RNG;
    }

    let (score, mask, cleaned, scores) = score_row(&ROW_MEAN);
    let same = |a: &[f32; 8], b: &[u32; 8]| a.iter().zip(b).all(|(v, bits)| v.to_bits() == *bits);
    let row_ok = score.is_ok_and(|s| s.to_bits() == ROW_SCORE)
        && same(&scores, &ROW_ELEMENT_SCORES)
        && mask == ROW_MASK
        && same(&cleaned, &ROW_CLEANED)
        && scores[6] == SCORE_CEILING;
    if !row_ok {
        failed |= ROW;
    }

    // A NaN reconstruction of an element that must be cleaned is an error, not a value.
    let mut nan_mean = ROW_MEAN;
    nan_mean[7] = f32::NAN;
    if score_row(&nan_mean).0.is_ok() {
        failed |= NAN_RECONSTRUCTION;
    }
    failed
}
