//! The C ABI called from Rust as C would call it: statuses and last-error messages for NULL
//! pointers, wrong lengths, bad options and missing files; results identical to the Rust API;
//! free(NULL); last_error's truncation; per-thread messages. Uses the fetched ONNX Runtime.

#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr::{null, null_mut};

use edgevae::*;
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

use common::{c_path, calibrated_quickstart, uncalibrated_quickstart, Handles, SCORE_THRESHOLD};

const DIM: usize = 784;

/// The calling thread's last error, read through the C ABI.
fn last_error() -> String {
    let mut buf = vec![0u8; 4096];
    let mut written = usize::MAX;
    // SAFETY: `buf` holds 4096 writable bytes, `written` is a live usize.
    let status = unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    assert_eq!(status, edgevae_status::Ok, "last_error itself failed");
    assert_eq!(buf[written], 0, "NUL after the message");
    String::from_utf8(buf[..written].to_vec()).expect("UTF-8 message")
}

/// Asserts a status and that the last error starts with `function` and contains `needle`.
#[track_caller]
fn expect_error(status: edgevae_status, want: edgevae_status, function: &str, needle: &str) {
    assert_eq!(status, want, "status; last error: {}", last_error());
    let message = last_error();
    assert!(
        message.starts_with(&format!("{function}: ")),
        "{message:?} should start with {function}"
    );
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
}

fn open_with(dir: &Path, options: *const edgevae_options) -> (edgevae_status, Handles) {
    let mut h = Handles {
        model: null_mut(),
        sampler: null_mut(),
        filter: null_mut(),
    };
    let dir = c_path(dir);
    // SAFETY: a NUL-terminated path, NULL or live options, a writable out-parameter.
    let status = unsafe { edgevae_model_open(dir.as_ptr(), options, &mut h.model) };
    (status, h)
}

/// Model, sampler and filter of a calibrated model directory.
fn open_all(dir: &Path) -> Handles {
    open_all_with(dir, null())
}

/// [`open_all`] with `options` (NULL: the defaults).
fn open_all_with(dir: &Path, options: *const edgevae_options) -> Handles {
    let (status, mut h) = open_with(dir, options);
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    // SAFETY: a live model and writable out-parameters.
    unsafe {
        assert_eq!(
            edgevae_sampler_new(h.model, &mut h.sampler),
            edgevae_status::Ok,
            "{}",
            last_error()
        );
        assert_eq!(
            edgevae_filter_new(h.model, &mut h.filter),
            edgevae_status::Ok,
            "{}",
            last_error()
        );
    }
    h
}

/// What `edgevae_options_default` writes (asserted to succeed).
fn default_options() -> edgevae_options {
    let mut options = edgevae_options::default();
    // SAFETY: `options` is a live, writable edgevae_options.
    let status = unsafe { edgevae_options_default(&mut options) };
    assert_eq!(status, edgevae_status::Ok);
    options
}

fn sample(sampler: *mut edgevae_sampler, n: usize, seed: u64) -> Vec<f32> {
    let mut out = vec![0.0f32; n * DIM];
    // SAFETY: a live sampler and `n * DIM` writable floats.
    let status = unsafe { edgevae_sampler_sample(sampler, n, seed, out.as_mut_ptr(), out.len()) };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    out
}

/// Flips about 5 % of the pixels of the even rows (x -> 1 - x).
fn corrupt(x: &mut [f32]) {
    for (k, v) in x.iter_mut().enumerate() {
        let (row, col) = (k / DIM, k % DIM);
        if row % 2 == 0 && (row * 7919 + col * 104_729) % 20 == 0 {
            *v = 1.0 - *v;
        }
    }
}

struct Filtered {
    scores: Vec<f32>,
    mask: Vec<u8>,
    cleaned: Vec<f32>,
}

fn run_filter(filter: *mut edgevae_filter, x: &[f32], n: usize, passes: usize) -> Filtered {
    let mut out = Filtered {
        scores: vec![0.0; n],
        mask: vec![0; n * DIM],
        cleaned: vec![0.0; n * DIM],
    };
    // SAFETY: a live filter; every buffer is live with the length passed.
    let status = unsafe {
        edgevae_filter_run(
            filter,
            x.as_ptr(),
            x.len(),
            n,
            passes,
            out.scores.as_mut_ptr(),
            n,
            out.mask.as_mut_ptr(),
            n * DIM,
            out.cleaned.as_mut_ptr(),
            n * DIM,
        )
    };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    out
}

#[test]
fn version_and_status_names() {
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(edgevae_version()) };
    assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    let name = |s: i32| {
        // SAFETY: a static NUL-terminated string.
        unsafe { CStr::from_ptr(edgevae_status_name(s)) }
            .to_str()
            .expect("ASCII")
            .to_owned()
    };
    assert_eq!(name(0), "EDGEVAE_STATUS_OK");
    assert_eq!(
        name(edgevae_status::NullPointer as i32),
        "EDGEVAE_STATUS_NULL_POINTER"
    );
    assert_eq!(name(9), "EDGEVAE_STATUS_NOT_CALIBRATED");
    assert_eq!(name(14), "EDGEVAE_STATUS_INTERNAL");
    assert_eq!(name(15), "EDGEVAE_STATUS_NON_FINITE_OUTPUT");
    assert_eq!(name(16), "EDGEVAE_STATUS_BUSY");
    assert_eq!(name(17), "EDGEVAE_STATUS_UNKNOWN");
    assert_eq!(name(-1), "EDGEVAE_STATUS_UNKNOWN");
}

#[test]
fn null_pointers_are_refused_with_a_message() {
    let dir = calibrated_quickstart();
    let h = open_all(dir.path());
    let mut size = 0usize;
    let mut threshold = 0.0f64;
    let mut x = vec![0.5f32; DIM];
    let mut scores = [0.0f32; 1];
    let mut mask = vec![0u8; DIM];
    let null_model: *const edgevae_model = null();
    let c_dir = c_path(dir.path());
    use edgevae_status::NullPointer;

    // SAFETY: every pointer is NULL, live, or points to a buffer of the length passed.
    unsafe {
        expect_error(
            edgevae_options_default(null_mut()),
            NullPointer,
            "edgevae_options_default",
            "out is NULL",
        );
        let mut model = std::ptr::NonNull::<edgevae_model>::dangling().as_ptr();
        let status = edgevae_model_open(null(), null(), &mut model);
        expect_error(status, NullPointer, "edgevae_model_open", "dir is NULL");
        assert!(model.is_null(), "a failed open leaves *out NULL");
        let status = edgevae_model_open(c_dir.as_ptr(), null(), null_mut());
        expect_error(status, NullPointer, "edgevae_model_open", "out is NULL");

        let status = edgevae_model_input_dim(null_model, &mut size);
        expect_error(
            status,
            NullPointer,
            "edgevae_model_input_dim",
            "model is NULL",
        );
        let status = edgevae_model_input_dim(h.model, null_mut());
        expect_error(
            status,
            NullPointer,
            "edgevae_model_input_dim",
            "out is NULL",
        );
        let status = edgevae_model_latent(null_model, &mut size);
        expect_error(status, NullPointer, "edgevae_model_latent", "model is NULL");

        let mut sampler = null_mut();
        let status = edgevae_sampler_new(null_model, &mut sampler);
        expect_error(status, NullPointer, "edgevae_sampler_new", "model is NULL");
        assert!(sampler.is_null());
        let status = edgevae_sampler_new(h.model, null_mut());
        expect_error(status, NullPointer, "edgevae_sampler_new", "out is NULL");
        let status = edgevae_sampler_sample(null_mut(), 1, 0, x.as_mut_ptr(), DIM);
        expect_error(
            status,
            NullPointer,
            "edgevae_sampler_sample",
            "sampler is NULL",
        );
        let status = edgevae_sampler_sample(h.sampler, 1, 0, null_mut(), DIM);
        expect_error(status, NullPointer, "edgevae_sampler_sample", "out is NULL");

        let mut filter = null_mut();
        let status = edgevae_filter_new(null_model, &mut filter);
        expect_error(status, NullPointer, "edgevae_filter_new", "model is NULL");
        let status = edgevae_filter_score_threshold(null(), &mut threshold);
        expect_error(
            status,
            NullPointer,
            "edgevae_filter_score_threshold",
            "filter is NULL",
        );
        let status = edgevae_filter_score_threshold(h.filter, null_mut());
        expect_error(
            status,
            NullPointer,
            "edgevae_filter_score_threshold",
            "out is NULL",
        );

        let run = |filter, x: *const f32, scores: *mut f32, mask: *mut u8, mask_len| {
            edgevae_filter_run(
                filter,
                x,
                DIM,
                1,
                1,
                scores,
                1,
                mask,
                mask_len,
                null_mut(),
                0,
            )
        };
        let (xp, sp, mp) = (x.as_ptr(), scores.as_mut_ptr(), mask.as_mut_ptr());
        let status = run(null_mut(), xp, sp, mp, DIM);
        expect_error(status, NullPointer, "edgevae_filter_run", "filter is NULL");
        let status = run(h.filter, null(), sp, mp, DIM);
        expect_error(status, NullPointer, "edgevae_filter_run", "x is NULL");
        let status = run(h.filter, xp, null_mut(), mp, DIM);
        expect_error(status, NullPointer, "edgevae_filter_run", "scores is NULL");
        let status = run(h.filter, xp, sp, null_mut(), DIM);
        expect_error(status, NullPointer, "edgevae_filter_run", "mask is NULL");
        // NULL with length 0: the output is not wanted.
        assert_eq!(run(h.filter, xp, sp, null_mut(), 0), edgevae_status::Ok);

        // last_error's own failures keep the stored message.
        let before = last_error();
        assert_eq!(edgevae_last_error(null_mut(), 0, null_mut()), NullPointer);
        let mut w = 0;
        assert_eq!(edgevae_last_error(null_mut(), 8, &mut w), NullPointer);
        assert_eq!(last_error(), before);
    }
}

#[test]
fn missing_directory_and_bad_files() {
    let (status, h) = open_with(Path::new("/nonexistent/edgevae-model"), null());
    expect_error(
        status,
        edgevae_status::Io,
        "edgevae_model_open",
        "/nonexistent/edgevae-model/manifest.json",
    );
    assert!(h.model.is_null());

    let bad = tempfile::tempdir().expect("temp dir");
    std::fs::write(bad.path().join("manifest.json"), b"{\"format_version\": 1}").expect("write");
    let (status, _) = open_with(bad.path(), null());
    expect_error(
        status,
        edgevae_status::Manifest,
        "edgevae_model_open",
        "manifest",
    );

    // A graph whose bytes differ from the manifest's checksum: the model opens (graphs are
    // loaded later), the sampler does not.
    let dir = calibrated_quickstart();
    let graph = dir.path().join("sampler_fp32.onnx");
    let mut bytes = std::fs::read(&graph).expect("graph");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&graph, bytes).expect("write");
    let (status, h) = open_with(dir.path(), null());
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    let mut sampler = null_mut();
    // SAFETY: a live model and a writable out-parameter.
    let status = unsafe { edgevae_sampler_new(h.model, &mut sampler) };
    expect_error(
        status,
        edgevae_status::Graph,
        "edgevae_sampler_new",
        "SHA-256",
    );
    assert!(sampler.is_null());
}

#[test]
fn bad_options_are_invalid_arguments() {
    let dir = calibrated_quickstart();
    let options = default_options();
    assert!(options.providers.is_null() && options.library_path.is_null());
    assert_eq!((options.threads, options.strict), (0, false));
    assert_eq!(options.precision, EDGEVAE_PRECISION_FP32);
    assert!(options.prepack_weights);

    let gpu = CString::new("cpu,gpu").expect("C string");
    let o = edgevae_options {
        providers: gpu.as_ptr(),
        ..options
    };
    let (status, h) = open_with(dir.path(), &o);
    expect_error(
        status,
        edgevae_status::InvalidArgument,
        "edgevae_model_open",
        "unknown execution provider \"gpu\"",
    );
    assert!(h.model.is_null());

    let o = edgevae_options {
        precision: 4,
        ..options
    };
    let (status, _) = open_with(dir.path(), &o);
    expect_error(
        status,
        edgevae_status::InvalidArgument,
        "edgevae_model_open",
        "options.precision is 4",
    );

    let latin1 = b"cpu\xff\0";
    let o = edgevae_options {
        providers: latin1.as_ptr().cast::<c_char>(),
        ..options
    };
    let (status, _) = open_with(dir.path(), &o);
    expect_error(
        status,
        edgevae_status::InvalidArgument,
        "edgevae_model_open",
        "options.providers is not UTF-8",
    );

    let empty = CString::new("").expect("C string");
    let o = edgevae_options {
        library_path: empty.as_ptr(),
        ..options
    };
    let (status, _) = open_with(dir.path(), &o);
    expect_error(
        status,
        edgevae_status::InvalidArgument,
        "edgevae_model_open",
        "library_path is empty",
    );

    // Good options: fp16w graphs on one thread, CUDA asked for and fallen back from.
    let cuda_cpu = CString::new("cuda,cpu").expect("C string");
    let o = edgevae_options {
        providers: cuda_cpu.as_ptr(),
        threads: 1,
        precision: EDGEVAE_PRECISION_FP16W,
        ..options
    };
    let (status, mut h) = open_with(dir.path(), &o);
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    // SAFETY: a live model and a writable out-parameter.
    let status = unsafe { edgevae_sampler_new(h.model, &mut h.sampler) };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    let x = sample(h.sampler, 2, 3);
    assert!(x
        .iter()
        .all(|v| v.is_finite() && (-0.01..=1.01).contains(v)));

    // Strict: a provider this build lacks is an error when the session is made.
    #[cfg(not(feature = "cuda"))]
    {
        let cuda = CString::new("cuda").expect("C string");
        let o = edgevae_options {
            providers: cuda.as_ptr(),
            strict: true,
            ..options
        };
        let (status, h) = open_with(dir.path(), &o);
        assert_eq!(status, edgevae_status::Ok, "{}", last_error());
        let mut sampler = null_mut();
        // SAFETY: a live model and a writable out-parameter.
        let status = unsafe { edgevae_sampler_new(h.model, &mut sampler) };
        expect_error(
            status,
            edgevae_status::ProviderUnavailable,
            "edgevae_sampler_new",
            "cuda",
        );
        assert!(sampler.is_null());
    }
}

#[test]
fn wrong_lengths_are_refused_before_any_write() {
    let dir = calibrated_quickstart();
    let h = open_all(dir.path());
    let n = 3;
    let len = n * DIM;
    const SENTINEL: f32 = 42.0;
    use edgevae_status::{BufferLength, InvalidArgument};

    for bad_len in [len - 1, len + 1, 0] {
        let mut out = vec![SENTINEL; len + 1];
        // SAFETY: `out` holds len + 1 >= bad_len writable floats.
        let status = unsafe { edgevae_sampler_sample(h.sampler, n, 0, out.as_mut_ptr(), bad_len) };
        let needle = format!("out holds {bad_len} values, {len} expected");
        expect_error(status, BufferLength, "edgevae_sampler_sample", &needle);
        assert!(out.iter().all(|&v| v == SENTINEL), "nothing written");
    }
    let mut out = vec![SENTINEL; DIM];
    // SAFETY: the calls are refused before `out` is used.
    unsafe {
        let status = edgevae_sampler_sample(h.sampler, 0, 0, out.as_mut_ptr(), 0);
        expect_error(status, InvalidArgument, "edgevae_sampler_sample", "n is 0");
        let status = edgevae_sampler_sample(h.sampler, usize::MAX, 0, out.as_mut_ptr(), DIM);
        expect_error(
            status,
            InvalidArgument,
            "edgevae_sampler_sample",
            "overflows",
        );
        let misaligned = out.as_mut_ptr().cast::<u8>().add(1).cast::<f32>();
        let status = edgevae_sampler_sample(h.sampler, 1, 0, misaligned, DIM);
        expect_error(
            status,
            InvalidArgument,
            "edgevae_sampler_sample",
            "not aligned",
        );
    }

    let mut x = sample(h.sampler, n, 9);
    let mut scores = vec![SENTINEL; n + 1];
    let mut mask = vec![7u8; len + 1];
    let mut cleaned = vec![SENTINEL; len + 1];
    let untouched = |s: &[f32], m: &[u8], c: &[f32]| {
        s.iter().all(|&v| v == SENTINEL)
            && m.iter().all(|&v| v == 7)
            && c.iter().all(|&v| v == SENTINEL)
    };
    /// One bad call: the lengths and counts passed, and the status and message expected.
    struct Case {
        x_len: usize,
        n: usize,
        passes: usize,
        scores_len: usize,
        mask_len: usize,
        cleaned_len: usize,
        want: edgevae_status,
        needle: &'static str,
    }
    let good = Case {
        x_len: len,
        n,
        passes: 1,
        scores_len: n,
        mask_len: len,
        cleaned_len: len,
        want: BufferLength,
        needle: "",
    };
    let cases = [
        Case {
            x_len: len - 1,
            needle: "x holds 2351 values, 2352 expected",
            ..good
        },
        Case {
            scores_len: n + 1,
            needle: "scores holds 4 values, 3 expected",
            ..good
        },
        Case {
            mask_len: len + 1,
            needle: "mask holds 2353 values",
            ..good
        },
        Case {
            mask_len: 0,
            needle: "mask holds 0 values",
            ..good
        },
        Case {
            cleaned_len: len - 1,
            needle: "cleaned holds 2351 values",
            ..good
        },
        Case {
            passes: 0,
            want: InvalidArgument,
            needle: "passes is 0",
            ..good
        },
        Case {
            x_len: 0,
            n: 0,
            scores_len: 0,
            mask_len: 0,
            cleaned_len: 0,
            want: InvalidArgument,
            needle: "n is 0",
            ..good
        },
        Case {
            n: usize::MAX / 2,
            want: InvalidArgument,
            needle: "overflows",
            ..good
        },
    ];
    for c in cases {
        // SAFETY: every buffer holds at least the length passed.
        let status = unsafe {
            edgevae_filter_run(
                h.filter,
                x.as_ptr(),
                c.x_len,
                c.n,
                c.passes,
                scores.as_mut_ptr(),
                c.scores_len,
                mask.as_mut_ptr(),
                c.mask_len,
                cleaned.as_mut_ptr(),
                c.cleaned_len,
            )
        };
        let (want, needle) = (c.want, c.needle);
        expect_error(status, want, "edgevae_filter_run", needle);
        assert!(
            untouched(&scores, &mask, &cleaned),
            "nothing written ({needle})"
        );
    }

    x[DIM + 3] = f32::NAN;
    // SAFETY: every buffer holds at least the length passed.
    let status = unsafe {
        edgevae_filter_run(
            h.filter,
            x.as_ptr(),
            len,
            n,
            1,
            scores.as_mut_ptr(),
            n,
            mask.as_mut_ptr(),
            len,
            cleaned.as_mut_ptr(),
            len,
        )
    };
    expect_error(
        status,
        edgevae_status::NonFiniteInput,
        "edgevae_filter_run",
        "row 1, column 3 is NaN",
    );
    assert!(untouched(&scores, &mask, &cleaned));
}

#[test]
fn sample_then_filter_matches_the_rust_api() {
    let dir = calibrated_quickstart();
    let mut h = open_all(dir.path());
    let (mut dim, mut latent) = (0usize, 0usize);
    let mut threshold = 0.0f64;
    // SAFETY: live handles and writable out-parameters.
    unsafe {
        assert_eq!(
            edgevae_model_input_dim(h.model, &mut dim),
            edgevae_status::Ok
        );
        assert_eq!(
            edgevae_model_latent(h.model, &mut latent),
            edgevae_status::Ok
        );
        assert_eq!(
            edgevae_filter_score_threshold(h.filter, &mut threshold),
            edgevae_status::Ok
        );
    }
    assert_eq!((dim, latent, threshold), (DIM, 32, SCORE_THRESHOLD));

    // Samplers and filters do not borrow the model.
    // SAFETY: a live model, freed once; the field is nulled so Drop does not free it again.
    unsafe { edgevae_model_free(h.model) };
    h.model = null_mut();

    let rust = ModelDir::open(dir.path(), RuntimeOptions::default()).expect("model");
    let mut rust_sampler = rust.sampler().expect("sampler");
    let mut rust_filter = rust.filter().expect("filter");
    let n = 8;
    let clean = sample(h.sampler, n, 5);
    let mut expected = vec![0.0f32; n * DIM];
    rust_sampler
        .sample_into(n, 5, &mut expected)
        .expect("Rust samples");
    assert_eq!(clean, expected, "same seed, same samples as the Rust API");
    assert_ne!(sample(h.sampler, n, 6), clean);

    let mut x = clean.clone();
    corrupt(&mut x);
    // Batch sizes 2, 8, 3: the filter's buffers grow at 8 and are reused at 3.
    for (rows, passes) in [(2, 1), (n, 1), (n, 3), (3, 3)] {
        let xs = &x[..rows * DIM];
        let got = run_filter(h.filter, xs, rows, passes);
        let mut want = FilterOutput::new(rows, DIM);
        rust_filter
            .filter_into(xs, rows, passes, &mut want)
            .expect("Rust filter");
        assert_eq!(got.scores, want.scores(), "{rows} rows, {passes} passes");
        assert_eq!(got.mask, want.mask());
        assert_eq!(got.cleaned, want.cleaned());
        for row in 0..rows {
            let corrupted = row % 2 == 0;
            let outlier = f64::from(got.scores[row]) > threshold;
            assert_eq!(outlier, corrupted, "row {row}: score {}", got.scores[row]);
        }
    }

    // In place (cleaned = x), and without the optional outputs.
    let full = run_filter(h.filter, &x, n, 3);
    let mut in_place = x.clone();
    let mut scores = vec![0.0f32; n];
    let p = in_place.as_mut_ptr();
    // SAFETY: `p` points to n * DIM floats, read as x and written as cleaned (allowed to alias);
    // `scores` holds n floats.
    let status = unsafe {
        edgevae_filter_run(
            h.filter,
            p,
            n * DIM,
            n,
            3,
            scores.as_mut_ptr(),
            n,
            null_mut(),
            0,
            p,
            n * DIM,
        )
    };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    assert_eq!(in_place, full.cleaned);
    assert_eq!(scores, full.scores);
}

#[test]
fn uncalibrated_model_has_no_filter() {
    let dir = uncalibrated_quickstart();
    let (status, h) = open_with(dir.path(), null());
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    let mut filter = std::ptr::NonNull::<edgevae_filter>::dangling().as_ptr();
    // SAFETY: a live model and a writable out-parameter.
    let status = unsafe { edgevae_filter_new(h.model, &mut filter) };
    expect_error(
        status,
        edgevae_status::NotCalibrated,
        "edgevae_filter_new",
        "no outlier calibration (\"outlier\": null)",
    );
    assert!(filter.is_null());
}

#[test]
fn free_accepts_null() {
    // SAFETY: NULL is documented as fine for every free function.
    unsafe {
        edgevae_model_free(null_mut());
        edgevae_sampler_free(null_mut());
        edgevae_filter_free(null_mut());
    }
}

#[test]
fn last_error_truncates_safely() {
    // A message with a two-byte character: the path is quoted in the IO error.
    let (status, _) = open_with(Path::new("/nonexistent/modèle"), null());
    assert_eq!(status, edgevae_status::Io);
    let message = last_error();
    let accent = message.find('è').expect("the path is in the message");
    let needed = message.len() + 1;

    let read = |len: usize| {
        let mut buf = vec![0xAAu8; len + 4];
        let mut written = usize::MAX;
        // SAFETY: `buf` holds len + 4 >= len writable bytes.
        let status = unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), len, &mut written) };
        assert!(
            buf[len..].iter().all(|&b| b == 0xAA),
            "wrote past len {len}"
        );
        (status, written, buf)
    };
    let text = |buf: &[u8]| {
        let end = buf.iter().position(|&b| b == 0).expect("NUL");
        String::from_utf8(buf[..end].to_vec()).expect("cut at a character boundary")
    };

    // Asking for the size.
    let mut written = 0;
    // SAFETY: NULL with length 0 is allowed; `written` is a live usize.
    let status = unsafe { edgevae_last_error(null_mut(), 0, &mut written) };
    assert_eq!((status, written), (edgevae_status::BufferTooSmall, needed));
    // Exactly enough room.
    let (status, written, buf) = read(needed);
    assert_eq!((status, written), (edgevae_status::Ok, message.len()));
    assert_eq!(text(&buf), message);
    // One byte short: all but the last byte, and the NUL.
    let (status, written, buf) = read(needed - 1);
    assert_eq!((status, written), (edgevae_status::BufferTooSmall, needed));
    assert_eq!(text(&buf), message[..message.len() - 1]);
    // Room ends inside 'è' (2 bytes): the cut goes before it.
    let (status, _, buf) = read(accent + 2);
    assert_eq!(status, edgevae_status::BufferTooSmall);
    assert_eq!(text(&buf), message[..accent]);
    let (_, _, buf) = read(accent + 3);
    assert_eq!(text(&buf), message[..accent + 2]);
    // One byte: just the NUL.
    let (status, written, buf) = read(1);
    assert_eq!(
        (status, written, buf[0]),
        (edgevae_status::BufferTooSmall, needed, 0)
    );
    // Reading never changes the message.
    assert_eq!(last_error(), message);
}

#[test]
fn last_error_is_per_thread() {
    let (status, _) = open_with(Path::new("/nonexistent/main-thread"), null());
    assert_eq!(status, edgevae_status::Io);
    let main_message = last_error();
    std::thread::spawn(|| {
        assert_eq!(last_error(), "", "a new thread has no error");
        let (status, _) = open_with(Path::new("/nonexistent/other-thread"), null());
        assert_eq!(status, edgevae_status::Io);
        assert!(last_error().contains("other-thread"));
    })
    .join()
    .expect("thread");
    assert_eq!(last_error(), main_message);
}

#[test]
fn fast_open_options_give_the_same_samples() {
    let dir = calibrated_quickstart();
    let reference = open_all(dir.path());
    let expected = sample(reference.sampler, 4, 11);

    let fast = edgevae_options {
        prepack_weights: false,
        threads: 1,
        ..default_options()
    };
    let h = open_all_with(dir.path(), &fast);
    let got = sample(h.sampler, 4, 11);
    let diff = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff <= 1e-5, "without prepacking: max abs diff {diff}");
}

/// The C side of `huge_finite_values_are_masked_and_flag_the_row` (runtime/tests/filter.rs):
/// row 0 with every 7th element at 3.0e38 comes back with all 112 masked, finite scores and
/// cleaned values, and a score above the threshold.
#[test]
fn huge_finite_values_are_masked_through_the_c_abi() {
    let dir = calibrated_quickstart();
    let h = open_all(dir.path());
    let n = 8;
    let mut x = sample(h.sampler, n, 5);
    for v in x[..DIM].iter_mut().step_by(7) {
        *v = 3.0e38;
    }
    let mut threshold = 0.0f64;
    // SAFETY: a live filter and a writable double.
    let status = unsafe { edgevae_filter_score_threshold(h.filter, &mut threshold) };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    for passes in [1, 3] {
        let out = run_filter(h.filter, &x, n, passes);
        let masked = out.mask[..DIM].iter().step_by(7).filter(|&&m| m == 1);
        assert_eq!(masked.count(), 112, "{passes} passes");
        assert!(out.scores.iter().all(|s| s.is_finite()), "{:?}", out.scores);
        assert!(out.cleaned.iter().all(|v| v.is_finite() && v.abs() < 10.0));
        assert!(
            f64::from(out.scores[0]) > threshold,
            "row 0 scores {} against the threshold {threshold}",
            out.scores[0]
        );
    }
}
