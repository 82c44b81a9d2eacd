//! One model, seed and batch give the same results on every target: samples and filter outputs
//! of the committed quickstart model against reference values made on x86-64
//! (`runtime/tests/reference/quickstart.bin`), within 1e-5 in fp32 and 1e-3 in fp16w, and the
//! seeded noise bit for bit (the core RNG is integer arithmetic plus IEEE operations that every
//! target rounds alike). Run natively and, cross-built, under qemu-aarch64 (`.ci/run`).
//!
//! `EDGEVAE_BLESS=1` on x86-64 rewrites the reference (after the model is regenerated).
//!
//! The reference file, little-endian, per precision in [`PRECISIONS`] order: the noise's bit
//! patterns (`2 * N * latent` u32: u, then eps), the samples (`N * dim` f32), then for the
//! filter's input batch the row scores (`N` f32), the mask (`N * dim` bytes) and the cleaned
//! rows (`N * dim` f32).

use std::path::{Path, PathBuf};

use edgevae_runtime::core::{GaussianRng, Precision};
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

const N: usize = 4;
const SEED: u64 = 2024;
const PASSES: usize = 2;
/// The tolerance of each precision checked: the fp16 graph (fp16 arithmetic) differs by where
/// the CPU provider inserts casts, so it is not compared across targets.
const PRECISIONS: [(Precision, f32); 2] = [(Precision::Fp32, 1e-5), (Precision::Fp16w, 1e-3)];

struct Results {
    noise: Vec<u32>,
    samples: Vec<f32>,
    scores: Vec<f32>,
    mask: Vec<u8>,
    cleaned: Vec<f32>,
}

fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/quickstart.bin")
}

/// The samples of seed `SEED` with every 9th element of rows 0 and 2 flipped (x -> 1 - x).
fn dirty(samples: &[f32], dim: usize) -> Vec<f32> {
    let mut x = samples.to_vec();
    for row in [0, 2] {
        for v in x[row * dim..(row + 1) * dim].iter_mut().step_by(9) {
            *v = 1.0 - *v;
        }
    }
    x
}

fn run(precision: Precision) -> Results {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    let options = RuntimeOptions {
        precision,
        threads: Some(1),
        ..RuntimeOptions::default()
    };
    let model = ModelDir::open(&dir, options).expect("quickstart model");
    let (k, d) = (model.latent(), model.input_dim());
    let mut noise = vec![0f32; 2 * N * k];
    GaussianRng::new(SEED).fill_normal(&mut noise);
    let mut samples = vec![0f32; N * d];
    let mut sampler = model.sampler().expect("sampler");
    sampler.sample_into(N, SEED, &mut samples).expect("sample");
    // sample_into draws exactly this noise: the same samples from it given explicitly.
    let mut again = vec![0f32; N * d];
    let (u, eps) = noise.split_at(N * k);
    sampler
        .sample_with_noise(N, u, eps, &mut again)
        .expect("sample with noise");
    assert_eq!(
        samples, again,
        "{precision:?}: sample_into's noise is not the RNG's"
    );

    let mut filter = model
        .filter()
        .expect("filter (the quickstart model is calibrated)");
    let mut out = FilterOutput::new(N, d);
    filter
        .filter_into(&dirty(&samples, d), N, PASSES, &mut out)
        .expect("filter");
    Results {
        noise: noise.iter().map(|v| v.to_bits()).collect(),
        samples,
        scores: out.scores().to_vec(),
        mask: out.mask().to_vec(),
        cleaned: out.cleaned().to_vec(),
    }
}

fn encode(all: &[Results]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for r in all {
        r.noise
            .iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        for values in [&r.samples, &r.scores] {
            values
                .iter()
                .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        }
        bytes.extend_from_slice(&r.mask);
        r.cleaned
            .iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    }
    bytes
}

/// Reads the reference in the layout `shape` (this run's results) has.
fn decode(bytes: &[u8], shape: &[Results]) -> Vec<Results> {
    let mut at = 0usize;
    let mut take = |len: usize| -> &[u8] {
        let part = bytes.get(at..at + len).unwrap_or_else(|| {
            panic!(
                "{} ends at byte {}: it does not hold this model's results (bless it again)",
                reference_path().display(),
                bytes.len()
            )
        });
        at += len;
        part
    };
    let words = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let floats = |b: &[u8]| -> Vec<f32> { words(b).into_iter().map(f32::from_bits).collect() };
    let out = shape
        .iter()
        .map(|s| Results {
            noise: words(take(4 * s.noise.len())),
            samples: floats(take(4 * s.samples.len())),
            scores: floats(take(4 * s.scores.len())),
            mask: take(s.mask.len()).to_vec(),
            cleaned: floats(take(4 * s.cleaned.len())),
        })
        .collect();
    assert_eq!(
        at,
        bytes.len(),
        "the reference has bytes after the last result"
    );
    out
}

/// The largest difference of `got` from `want`, relative to max(1, |want|), and where.
fn worst(got: &[f32], want: &[f32]) -> (f32, usize) {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .enumerate()
        .fold((0.0, 0), |(m, at), (i, e)| {
            assert!(!e.is_nan(), "NaN at {i}");
            if e > m {
                (e, i)
            } else {
                (m, at)
            }
        })
}

#[test]
fn results_match_the_x86_reference() {
    let results: Vec<Results> = PRECISIONS.iter().map(|&(p, _)| run(p)).collect();
    if std::env::var_os("EDGEVAE_BLESS").is_some_and(|v| v == "1") {
        assert_eq!(
            std::env::consts::ARCH,
            "x86_64",
            "the reference is made on x86-64"
        );
        let path = reference_path();
        std::fs::create_dir_all(path.parent().expect("tests/reference")).expect("mkdir");
        std::fs::write(&path, encode(&results)).expect("write the reference");
        return;
    }
    let bytes = std::fs::read(reference_path()).expect("tests/reference/quickstart.bin");
    let reference = decode(&bytes, &results);
    for ((&(precision, tolerance), got), want) in PRECISIONS.iter().zip(&results).zip(&reference) {
        let arch = std::env::consts::ARCH;
        assert_eq!(
            got.noise, want.noise,
            "{precision:?} on {arch}: the noise differs from x86-64's"
        );
        for (what, g, w) in [
            ("samples", &got.samples, &want.samples),
            ("row scores", &got.scores, &want.scores),
            ("cleaned", &got.cleaned, &want.cleaned),
        ] {
            let (err, at) = worst(g, w);
            // Shown with --nocapture: how far this target is from x86-64, not only that it is
            // within the tolerance.
            println!("{precision:?} on {arch}: {what}: largest difference from x86-64 {err:e}");
            assert!(
                err <= tolerance,
                "{precision:?} on {arch}: {what}[{at}] is {} where x86-64 gave {} \
                 (difference {err:e} > {tolerance:e})",
                g[at],
                w[at]
            );
        }
        let differ = got
            .mask
            .iter()
            .zip(&want.mask)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differ, 0,
            "{precision:?} on {arch}: {differ} mask elements differ from x86-64's"
        );
        assert!(
            want.mask.contains(&1),
            "the reference batch has masked elements"
        );
    }
}
