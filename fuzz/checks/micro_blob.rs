//! Bytes -> `MicroModel::from_blob`, the micro backend's blob reader (no_std, built here without
//! the runtime's default features but with `micro`), then a sample or a filter run on what it
//! accepts. Any panic, stack overflow or sanitizer report is a bug: every input must give `Ok`
//! or a `MicroError`, and what runs must give finite values or an error.
//!
//! The manifest is the quickstart's, with every micro entry (both roles, every precision)
//! pinned to the input's length and SHA-256, so that a mutated blob passes the checksum and
//! the header, layer-table and section checks behind it are fuzzed. Seeds: prefixes of the
//! quickstart's blobs (`fuzz/make_corpus.py`); a whole-blob run starts from `models/quickstart`
//! (`fuzz/README.md`).
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/micro_blob.rs`) and the test that replays the
//! committed corpus `fuzz/corpus/micro_blob/` on every test run.

use edgevae_runtime::core::{GraphRole, Manifest};
use edgevae_runtime::micro::{MicroFilterOutput, MicroModel, MicroPrecision};
use sha2::{Digest, Sha256};
use std::fmt::Write;

static MANIFEST: &[u8] = include_bytes!("../../models/quickstart/manifest.json");
/// Rows per call: more than one, so that batching is exercised.
const ROWS: usize = 2;

/// The quickstart manifest with a micro entry for each role and precision, all pinned to `blob`.
fn manifest_for(blob: &[u8]) -> Manifest {
    let mut manifest = Manifest::parse(MANIFEST).expect("the quickstart manifest parses");
    let template = manifest.micro[0].clone();
    manifest.micro.clear();
    let mut hex = String::new();
    for byte in Sha256::digest(blob) {
        write!(hex, "{byte:02x}").expect("writing to a String");
    }
    for role in [GraphRole::Sampler, GraphRole::Filter] {
        for precision in [
            MicroPrecision::Fp32,
            MicroPrecision::Fp16,
            MicroPrecision::Int8,
        ] {
            let mut entry = template.clone();
            entry.role = role;
            entry.precision = precision;
            entry.bytes = blob.len() as u64;
            entry.sha256.clear();
            entry.sha256.push_str(&hex).expect("64 hex digits fit");
            manifest.micro.push(entry).expect("six entries fit");
        }
    }
    manifest
}

/// `data` on a 16-byte boundary, as a blob is in flash or behind an aligned `include_bytes!`.
fn aligned(data: &[u8]) -> Vec<u128> {
    let mut words = vec![0u128; data.len().div_ceil(16)];
    bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..data.len()].copy_from_slice(data);
    words
}

/// Whether `from_blob` accepts `data`, with the manifest pinned to it.
pub fn accepts(data: &[u8]) -> bool {
    let (manifest, words) = (manifest_for(data), aligned(data));
    let blob = &bytemuck::cast_slice::<u128, u8>(&words)[..data.len()];
    let accepted = MicroModel::from_blob(blob, &manifest).is_ok();
    accepted
}

/// Runs one input; a panic is a bug.
pub fn check_input(data: &[u8]) {
    let (manifest, words) = (manifest_for(data), aligned(data));
    let blob = &bytemuck::cast_slice::<u128, u8>(&words)[..data.len()];
    let Ok(model) = MicroModel::from_blob(blob, &manifest) else {
        return;
    };
    let bytes = model
        .required_arena(ROWS)
        .expect("an accepted blob has an arena size");
    let mut arena_words = vec![0u32; bytes.div_ceil(4)];
    let arena = &mut bytemuck::cast_slice_mut::<u32, u8>(&mut arena_words)[..bytes];
    let d = manifest.input_dim as usize;
    match model.role() {
        GraphRole::Sampler => {
            let mut x = vec![f32::NAN; ROWS * d];
            if model.sample_into(arena, ROWS, 7, &mut x).is_ok() {
                assert!(
                    x.iter().all(|v| v.is_finite()),
                    "a sample that succeeded is finite"
                );
            }
        }
        GraphRole::Filter => {
            let x: Vec<f32> = (0..ROWS * d).map(|i| (i % 7) as f32 / 6.0).collect();
            let mut scores = vec![f32::NAN; ROWS];
            let mut element_scores = vec![f32::NAN; ROWS * d];
            let mut mask = vec![2u8; ROWS * d];
            let mut cleaned = vec![f32::NAN; ROWS * d];
            let mut reconstruction = vec![f32::NAN; ROWS * d];
            let out = MicroFilterOutput {
                scores: &mut scores,
                element_scores: &mut element_scores,
                mask: &mut mask,
                cleaned: &mut cleaned,
                reconstruction: &mut reconstruction,
            };
            if model.filter_into(arena, &x, ROWS, 2, out).is_ok() {
                assert!(scores.iter().all(|v| !v.is_nan()), "scores are set");
                assert!(mask.iter().all(|m| *m <= 1), "the mask is 0 or 1");
                assert!(
                    cleaned.iter().chain(&reconstruction).all(|v| v.is_finite()),
                    "a filter run that succeeded gives finite cleaned values"
                );
            }
        }
    }
}
