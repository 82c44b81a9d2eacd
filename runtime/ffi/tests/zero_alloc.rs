//! Through the C ABI, `edgevae_sampler_sample` and `edgevae_filter_run` make no Rust heap
//! allocation per call once a batch size has been seen (as the Rust API, runtime/tests/
//! zero_alloc.rs): the boundary's checks and panic guard cost nothing on the heap. Counts the
//! allocations of this test's thread through a counting global allocator.

#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::ptr::null_mut;

use edgevae::*;

use common::{c_path, calibrated_quickstart};

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::counted;

#[test]
fn sample_and_filter_allocate_nothing_after_warm_up() {
    let dir = calibrated_quickstart();
    let path = c_path(dir.path());
    let (mut model, mut sampler, mut filter) = (null_mut(), null_mut(), null_mut());
    let mut dim = 0usize;
    // SAFETY: a NUL-terminated path, NULL options, live out-parameters; the handles are used
    // by this thread only and freed once at the end.
    unsafe {
        assert_eq!(
            edgevae_model_open(path.as_ptr(), std::ptr::null(), &mut model),
            edgevae_status::Ok
        );
        assert_eq!(edgevae_model_input_dim(model, &mut dim), edgevae_status::Ok);
        assert_eq!(edgevae_sampler_new(model, &mut sampler), edgevae_status::Ok);
        assert_eq!(edgevae_filter_new(model, &mut filter), edgevae_status::Ok);
    }
    for n in [1usize, 16] {
        let len = n * dim;
        let mut x = vec![0.0f32; len];
        let mut scores = vec![0.0f32; n];
        let mut mask = vec![0u8; len];
        let mut cleaned = vec![0.0f32; len];
        // SAFETY: live handles; every buffer holds the length passed.
        let sample = |x: &mut [f32], seed| unsafe {
            edgevae_sampler_sample(sampler, n, seed, x.as_mut_ptr(), x.len())
        };
        // SAFETY: as above.
        let mut run = |x: &[f32]| unsafe {
            edgevae_filter_run(
                filter,
                x.as_ptr(),
                len,
                n,
                2,
                scores.as_mut_ptr(),
                n,
                mask.as_mut_ptr(),
                len,
                cleaned.as_mut_ptr(),
                len,
            )
        };
        assert_eq!(sample(&mut x, 1), edgevae_status::Ok, "warm-up");
        assert_eq!(run(&x), edgevae_status::Ok, "warm-up");
        for seed in 2..5 {
            let (status, allocations) = counted(|| sample(&mut x, seed));
            assert_eq!(
                (status, allocations),
                (edgevae_status::Ok, 0),
                "sample, batch {n}"
            );
            let (status, allocations) = counted(|| run(&x));
            assert_eq!(
                (status, allocations),
                (edgevae_status::Ok, 0),
                "filter, batch {n}"
            );
        }
    }
    // The counter works: a failing call formats its message on the heap.
    // SAFETY: the NULL is refused before use.
    let (status, allocations) =
        counted(|| unsafe { edgevae_sampler_sample(sampler, 1, 0, null_mut(), dim) });
    assert_eq!(status, edgevae_status::NullPointer);
    assert!(allocations > 0);
    // SAFETY: handles from the constructors above, freed once.
    unsafe {
        edgevae_filter_free(filter);
        edgevae_sampler_free(sampler);
        edgevae_model_free(model);
    }
}
