//! `Sampler::sample_into` makes no Rust heap allocation per call once warmed up, at batch 1 and
//! 64. Counts allocations made on this test's thread through a counting global allocator.
//! Uses the committed quickstart model and the fetched ONNX Runtime library.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use edgevae_runtime::{ModelDir, RuntimeOptions};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, ALLOCATIONS.load(Ordering::Relaxed) - before)
}

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
