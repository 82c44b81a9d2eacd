//! The C ABI on several threads: one sampler or filter used by two threads at once gets
//! `EDGEVAE_STATUS_BUSY` for the call that finds it in use (never undefined behaviour), and
//! every call that succeeds gives the one-thread result; several threads each with their own
//! model, sampler and filter, opened in parallel, give results bit-identical to one thread.

#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::ffi::CStr;
use std::path::Path;
use std::ptr::null;
use std::time::{Duration, Instant};

use edgevae::*;

use common::{c_path, calibrated_quickstart, Handles};

const DIM: usize = 784;

/// A model, sampler and filter of `dir`, opened through the C ABI.
impl Handles {
    fn open(dir: &Path) -> Self {
        let mut h = Handles {
            model: std::ptr::null_mut(),
            sampler: std::ptr::null_mut(),
            filter: std::ptr::null_mut(),
        };
        let dir = c_path(dir);
        // SAFETY: a NUL-terminated path, NULL options, writable out-parameters; the sampler
        // and filter are made from the live model.
        unsafe {
            assert_eq!(
                edgevae_model_open(dir.as_ptr(), null(), &mut h.model),
                edgevae_status::Ok
            );
            assert_eq!(
                edgevae_sampler_new(h.model, &mut h.sampler),
                edgevae_status::Ok
            );
            assert_eq!(
                edgevae_filter_new(h.model, &mut h.filter),
                edgevae_status::Ok
            );
        }
        h
    }
}

/// (status, samples) of one sampling call; `sampler` is a handle's address.
fn sample(sampler: usize, n: usize, seed: u64) -> (edgevae_status, Vec<f32>) {
    let mut out = vec![0.0f32; n * DIM];
    // SAFETY: `sampler` is the address of a live sampler; `out` holds `n * DIM` floats.
    let status = unsafe {
        edgevae_sampler_sample(
            sampler as *mut edgevae_sampler,
            n,
            seed,
            out.as_mut_ptr(),
            out.len(),
        )
    };
    (status, out)
}

/// (status, scores, cleaned) of one filter run; `filter` is a handle's address.
fn filter(filter: usize, x: &[f32], n: usize) -> (edgevae_status, Vec<f32>, Vec<f32>) {
    let mut scores = vec![0.0f32; n];
    let mut cleaned = vec![0.0f32; n * DIM];
    // SAFETY: `filter` is the address of a live filter; every buffer holds the length passed.
    let status = unsafe {
        edgevae_filter_run(
            filter as *mut edgevae_filter,
            x.as_ptr(),
            x.len(),
            n,
            2,
            scores.as_mut_ptr(),
            n,
            std::ptr::null_mut(),
            0,
            cleaned.as_mut_ptr(),
            cleaned.len(),
        )
    };
    (status, scores, cleaned)
}

fn last_error() -> String {
    let mut buf = vec![0u8; 1024];
    let mut written = 0usize;
    // SAFETY: `buf` holds 1024 writable bytes, `written` is a live usize.
    let status = unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    assert_eq!(status, edgevae_status::Ok);
    CStr::from_bytes_until_nul(&buf)
        .expect("NUL-terminated")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn one_handle_on_two_threads_is_busy_not_undefined() {
    let dir = calibrated_quickstart();
    let h = Handles::open(dir.path());
    let n = 512;
    let (status, reference) = sample(h.sampler as usize, n, 9);
    assert_eq!(status, edgevae_status::Ok);
    let (status, ref_scores, ref_cleaned) = filter(h.filter as usize, &reference, n);
    assert_eq!(status, edgevae_status::Ok);

    let (sampler, filter_handle) = (h.sampler as usize, h.filter as usize);
    let deadline = Instant::now() + Duration::from_secs(20);
    let outcomes: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (reference, ref_scores, ref_cleaned) = (&reference, &ref_scores, &ref_cleaned);
                scope.spawn(move || {
                    let (mut ok, mut busy) = (0, 0);
                    // Until each thread has seen both outcomes (or the deadline).
                    while (ok == 0 || busy == 0) && Instant::now() < deadline {
                        let (status, out) = sample(sampler, n, 9);
                        let (fstatus, scores, cleaned) = filter(filter_handle, reference, n);
                        for (status, same) in [
                            (status, out == *reference),
                            (fstatus, scores == *ref_scores && cleaned == *ref_cleaned),
                        ] {
                            match status {
                                edgevae_status::Ok => {
                                    assert!(same, "a concurrent call changed the result");
                                    ok += 1;
                                }
                                edgevae_status::Busy => {
                                    let message = last_error();
                                    assert!(
                                        message.contains("in use by a call on another thread"),
                                        "{message}"
                                    );
                                    busy += 1;
                                }
                                other => panic!("{other:?}: {}", last_error()),
                            }
                        }
                    }
                    (ok, busy)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let busy: usize = outcomes.iter().map(|o| o.1).sum();
    let ok: usize = outcomes.iter().map(|o| o.0).sum();
    assert!(
        busy > 0 && ok > 0,
        "outcomes (ok, busy) per thread: {outcomes:?}"
    );
}

#[test]
fn many_handles_on_many_threads_match_one_thread() {
    let dir = calibrated_quickstart();
    let (n, calls) = (16, 12);
    let reference: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = {
        let h = Handles::open(dir.path());
        (0..calls)
            .map(|seed| {
                let (status, x) = sample(h.sampler as usize, n, seed);
                assert_eq!(status, edgevae_status::Ok);
                let (status, scores, cleaned) = filter(h.filter as usize, &x, n);
                assert_eq!(status, edgevae_status::Ok);
                (x, scores, cleaned)
            })
            .collect()
    };
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (dir, reference) = (dir.path(), &reference);
            scope.spawn(move || {
                // Opened on each thread at once: the library and environment load once.
                let h = Handles::open(dir);
                for (seed, want) in reference.iter().enumerate() {
                    let (status, x) = sample(h.sampler as usize, n, seed as u64);
                    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
                    let (status, scores, cleaned) = filter(h.filter as usize, &x, n);
                    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
                    assert!(
                        x == want.0 && scores == want.1 && cleaned == want.2,
                        "thread {t}, call {seed}: results differ from one thread's"
                    );
                }
            });
        }
    });
}
