//! `Sampler::sample_into` and `OutlierFilter::filter_into` make no Rust heap allocation per call
//! once warmed up, at batch 1 and 64. Counts allocations made on this test's thread through a
//! counting global allocator. Uses the committed quickstart model (a calibrated copy for the
//! filter) and the fetched ONNX Runtime library.

mod common;

use std::path::Path;

use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::counted;

#[test]
fn sample_into_allocates_nothing_after_warm_up() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    let model = ModelDir::open(&dir, RuntimeOptions::default()).expect("quickstart model");
    let mut sampler = model.sampler().expect("sampler");
    let d = model.input_dim();
    for n in [1usize, 64] {
        let mut out = vec![0.0f32; n * d];
        sampler.sample_into(n, 1, &mut out).expect("warm-up");
        for seed in 2..6 {
            let (result, allocations) = counted(|| sampler.sample_into(n, seed, &mut out));
            result.expect("sample");
            assert_eq!(
                allocations, 0,
                "batch {n}, seed {seed}: {allocations} allocations"
            );
        }
        assert!(out.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }
    // The counter works: a Vec on this thread is seen.
    let (_, allocations) = counted(|| std::hint::black_box(vec![1u8; 16]));
    assert_eq!(allocations, 1);
}

#[test]
fn filter_into_allocates_nothing_after_warm_up() {
    let dir = common::calibrated_quickstart();
    let model = ModelDir::open(dir.path(), RuntimeOptions::default()).expect("calibrated copy");
    let mut sampler = model.sampler().expect("sampler");
    let mut filter = model.filter().expect("filter");
    let d = model.input_dim();
    let mut out = FilterOutput::new(64, d);
    for n in [1usize, 64] {
        let mut x = vec![0.0f32; n * d];
        sampler.sample_into(n, 9, &mut x).expect("samples");
        // Something for the mask to find.
        x[..d / 10].iter_mut().for_each(|v| *v = 1.0 - *v);
        filter.filter_into(&x, n, 1, &mut out).expect("warm-up");
        for passes in [1usize, 3, 1, 3] {
            let (result, allocations) = counted(|| filter.filter_into(&x, n, passes, &mut out));
            result.expect("filter");
            assert_eq!(
                allocations, 0,
                "batch {n}, {passes} passes: {allocations} allocations"
            );
            assert_eq!(out.rows(), n);
        }
        assert!(out.cleaned().iter().all(|v| v.is_finite()));
    }
}
