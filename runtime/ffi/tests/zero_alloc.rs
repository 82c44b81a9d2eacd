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

/// `edgevae_micro_sample` and `edgevae_micro_filter`, as libedgevae links them, allocate
/// nothing at all, not even on the first call: the caller owns the handle, the blob, the arena
/// and every buffer.
#[test]
fn micro_calls_allocate_nothing() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/quickstart");
    let read = |name: &str| std::fs::read(format!("{root}/{name}")).expect(name);
    let manifest = read("manifest.json");
    // Aligned copies of the blobs, as in flash.
    let place = |bytes: Vec<u8>| {
        let mut words = vec![0u128; bytes.len().div_ceil(16)];
        // SAFETY: `words` holds at least bytes.len() bytes; the regions are distinct.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), words.as_mut_ptr().cast(), bytes.len())
        };
        (words, bytes.len())
    };
    let (sampler_words, sampler_len) = place(read("sampler_micro_int8.bin"));
    let (filter_words, filter_len) = place(read("filter_micro_int8.bin"));
    // The handles: caller storage, allocated before counting starts.
    let (mut sampler, mut filter) = (
        Box::new(edgevae_micro::new()),
        Box::new(edgevae_micro::new()),
    );
    // SAFETY: writable handles; live buffers with their lengths, outliving the handles' use.
    unsafe {
        let open = |micro: &mut edgevae_micro, words: &[u128], len| {
            edgevae_micro_open(
                micro,
                manifest.as_ptr(),
                manifest.len(),
                words.as_ptr().cast(),
                len,
            )
        };
        assert_eq!(
            open(&mut sampler, &sampler_words, sampler_len),
            edgevae_status::Ok
        );
        assert_eq!(
            open(&mut filter, &filter_words, filter_len),
            edgevae_status::Ok
        );
    }
    let (sampler, filter): (&edgevae_micro, &edgevae_micro) = (&sampler, &filter);
    let (n, d) = (4usize, 784usize);
    let mut arena = vec![0u32; 64 * 1024];
    let arena_len = arena.len() * 4;
    let arena = arena.as_mut_ptr().cast::<u8>();
    let mut x = vec![0.0f32; n * d];
    let (mut scores, mut element_scores, mut cleaned, mut reconstruction) = (
        vec![0.0f32; n],
        vec![0.0f32; n * d],
        vec![0.0f32; n * d],
        vec![0.0f32; n * d],
    );
    let mut mask = vec![0u8; n * d];
    for seed in 1..4 {
        // SAFETY: live handle; arena and x are disjoint live buffers of the lengths given.
        let (status, allocations) = counted(|| unsafe {
            edgevae_micro_sample(sampler, arena, arena_len, n, seed, x.as_mut_ptr(), x.len())
        });
        assert_eq!(
            (status, allocations),
            (edgevae_status::Ok, 0),
            "micro sample"
        );
        // SAFETY: live handle; every buffer is live, disjoint and of the length given.
        let (status, allocations) = counted(|| unsafe {
            edgevae_micro_filter(
                filter,
                arena,
                arena_len,
                x.as_ptr(),
                x.len(),
                n,
                2,
                scores.as_mut_ptr(),
                n,
                element_scores.as_mut_ptr(),
                n * d,
                mask.as_mut_ptr(),
                n * d,
                cleaned.as_mut_ptr(),
                n * d,
                reconstruction.as_mut_ptr(),
                n * d,
            )
        });
        assert_eq!(
            (status, allocations),
            (edgevae_status::Ok, 0),
            "micro filter"
        );
    }
}
