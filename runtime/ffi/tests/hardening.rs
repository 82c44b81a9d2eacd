//! The C ABI's part of the hardening corpus (tests/corpus/README.md): every `edgevae_`
//! function that can fail, called as C would with NULL for each pointer argument, misaligned
//! pointers, wrong lengths for each buffer, zero `n` and `passes`, bad options, bad model
//! directories (the committed seeds of `tests/corpus/manifest/`, and generated ones) and
//! non-finite inputs. Each case runs under `catch_unwind` and must return the specific status,
//! with a last-error message that starts with the function's name and names the problem (the
//! parameter, or the file); output buffers and out-parameters are checked to be untouched (or
//! NULL) after the failure.

#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "../../../tests/corpus/harness.rs"]
mod harness;

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use edgevae::*;

use harness::{ensure, mentions, Corpus, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quickstart() -> PathBuf {
    root().join("models/quickstart")
}

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}

/// The calling thread's last error, read through the C ABI.
fn last_error() -> String {
    let mut buf = vec![0u8; 8192];
    let mut written = 0usize;
    // SAFETY: `buf` holds 8192 writable bytes, `written` is a live usize.
    let status = unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    assert_eq!(status, edgevae_status::Ok, "last_error itself failed");
    String::from_utf8_lossy(&buf[..written]).into_owned()
}

/// A failed call: its status and the last error it left.
type Failure = (edgevae_status, String);

/// The outcome of a call returning `status`.
fn outcome(status: edgevae_status) -> Result<(), Failure> {
    if status == edgevae_status::Ok {
        Ok(())
    } else {
        Err((status, last_error()))
    }
}

/// Checks the status and that the last error starts with `function` and contains `needle`.
fn expect(f: &Failure, status: edgevae_status, function: &str, needle: &str) -> Verdict {
    ensure(f.0 == status, || {
        format!("status {:?}, expected {status:?}", f.0)
    })?;
    ensure(f.1.starts_with(&format!("{function}: ")), || {
        format!("message {:?} does not start with {function}", f.1)
    })?;
    mentions(&f.1, needle)
}

use edgevae_status::{
    BufferLength, Graph, InvalidArgument, Io, Manifest, NonFiniteInput, NotCalibrated, NullPointer,
};

/// A pointer to `T` one byte past `base`: misaligned for any `T` wider than a byte.
fn misaligned<T>(base: *mut T) -> *mut T {
    base.cast::<u8>().wrapping_add(1).cast()
}

/// Owns handles and frees them.
struct Model(*mut edgevae_model);
impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: NULL or a live model from edgevae_model_open, freed only here.
        unsafe { edgevae_model_free(self.0) };
    }
}
struct Sampler(*mut edgevae_sampler);
impl Drop for Sampler {
    fn drop(&mut self) {
        // SAFETY: NULL or a live sampler from edgevae_sampler_new, freed only here.
        unsafe { edgevae_sampler_free(self.0) };
    }
}
struct Filter(*mut edgevae_filter);
impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: NULL or a live filter from edgevae_filter_new, freed only here.
        unsafe { edgevae_filter_free(self.0) };
    }
}

/// A non-NULL value for out-parameters, to see that a failed constructor writes NULL.
fn sentinel<T>() -> *mut T {
    std::ptr::NonNull::dangling().as_ptr()
}

fn open(dir: &Path, options: *const edgevae_options) -> Result<Model, Failure> {
    let dir = c_path(dir);
    let mut out = null_mut();
    // SAFETY: a NUL-terminated path, NULL or live options, a writable out-parameter.
    outcome(unsafe { edgevae_model_open(dir.as_ptr(), options, &mut out) })?;
    Ok(Model(out))
}

fn open_ok(dir: &Path) -> Model {
    open(dir, null()).unwrap_or_else(|f| panic!("open {}: {f:?}", dir.display()))
}

/// A copy of the quickstart model: links to its graphs, its manifest copied and then changed by
/// `change` (a JSON edit), and `replace` given a chance to swap graph files.
fn variant(
    change: impl FnOnce(&mut serde_json::Value),
    replace: impl FnOnce(&Path),
) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(quickstart()).expect("quickstart") {
        let entry = entry.expect("entry");
        if entry.file_name() != "manifest.json" {
            std::os::unix::fs::symlink(entry.path(), tmp.path().join(entry.file_name()))
                .expect("link");
        }
    }
    let mut m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(quickstart().join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    change(&mut m);
    std::fs::write(
        tmp.path().join("manifest.json"),
        serde_json::to_vec(&m).expect("JSON"),
    )
    .expect("write");
    replace(tmp.path());
    tmp
}

/// Replaces the link `name` in `dir` by a file of `bytes`.
fn put(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::remove_file(&path).expect("remove link");
    std::fs::write(path, bytes).expect("write");
}

// ---------------------------------------------------------------------------------------------

fn options_and_open(c: &mut Corpus) {
    const F: &str = "edgevae_options_default";
    c.case(
        "c-options",
        "options_default(NULL)",
        // SAFETY: NULL is refused before use.
        || outcome(unsafe { edgevae_options_default(null_mut()) }),
        |f| expect(f, NullPointer, F, "out is NULL"),
    );
    let mut buf = [edgevae_options::default(); 2];
    c.case(
        "c-options",
        "options_default(misaligned)",
        // SAFETY: the misaligned pointer is refused before use.
        || outcome(unsafe { edgevae_options_default(misaligned(buf.as_mut_ptr())) }),
        |f| expect(f, InvalidArgument, F, "out is not aligned"),
    );

    const O: &str = "edgevae_model_open";
    let dir = c_path(&quickstart());
    c.case(
        "c-open",
        "dir NULL",
        || {
            let mut out: *mut edgevae_model = sentinel();
            // SAFETY: NULL is refused before use; `out` is writable.
            outcome(unsafe { edgevae_model_open(null(), null(), &mut out) })
                .map_err(|f| (f, out.is_null()))
        },
        |(f, out_null)| {
            expect(f, NullPointer, O, "dir is NULL")?;
            ensure(*out_null, || "*out not set to NULL".into())
        },
    );
    c.case(
        "c-open",
        "out NULL",
        // SAFETY: a NUL-terminated path; NULL `out` is refused before use.
        || outcome(unsafe { edgevae_model_open(dir.as_ptr(), null(), null_mut()) }),
        |f| expect(f, NullPointer, O, "out is NULL"),
    );
    c.case(
        "c-open",
        "dir and out NULL",
        // SAFETY: NULLs are refused before use.
        || outcome(unsafe { edgevae_model_open(null(), null(), null_mut()) }),
        |f| expect(f, NullPointer, O, "out is NULL"),
    );
    let mut outs = [null_mut::<edgevae_model>(); 2];
    c.case(
        "c-open",
        "out misaligned",
        || {
            // SAFETY: the misaligned pointer is refused before use.
            outcome(unsafe {
                edgevae_model_open(dir.as_ptr(), null(), misaligned(outs.as_mut_ptr()))
            })
        },
        |f| expect(f, InvalidArgument, O, "out is not aligned"),
    );

    // Directories that are not model directories.
    let empty = tempfile::tempdir().expect("temp dir");
    let file = quickstart().join("manifest.json");
    let dirs: [(&str, PathBuf); 3] = [
        (
            "missing directory",
            PathBuf::from("/nonexistent/edgevae-corpus"),
        ),
        ("empty directory", empty.path().to_path_buf()),
        ("a file as directory", file.clone()),
    ];
    for (name, d) in dirs {
        let want = d.join("manifest.json").display().to_string();
        c.case(
            "c-open",
            name,
            || open(&d, null()),
            |f| expect(f, Io, O, &want),
        );
    }

    // Bad options.
    let gpu = CString::new("cpu,gpu").expect("C string");
    let npu = CString::new("npu").expect("C string");
    let latin1 = [b'c', b'p', 0xe9, 0u8];
    let empty_path = CString::new("").expect("C string");
    let bad: Vec<(&str, edgevae_options, &str)> = vec![
        (
            "providers \"cpu,gpu\"",
            edgevae_options {
                providers: gpu.as_ptr(),
                ..edgevae_options::default()
            },
            "unknown execution provider \"gpu\"",
        ),
        (
            "providers \"npu\"",
            edgevae_options {
                providers: npu.as_ptr(),
                ..edgevae_options::default()
            },
            "unknown execution provider \"npu\"",
        ),
        (
            "providers not UTF-8",
            edgevae_options {
                providers: latin1.as_ptr().cast::<c_char>(),
                ..edgevae_options::default()
            },
            "options.providers is not UTF-8",
        ),
        (
            "precision 4",
            edgevae_options {
                precision: 4,
                ..edgevae_options::default()
            },
            "options.precision is 4",
        ),
        (
            "precision u32::MAX",
            edgevae_options {
                precision: u32::MAX,
                ..edgevae_options::default()
            },
            "options.precision is 4294967295",
        ),
        (
            "library_path empty",
            edgevae_options {
                library_path: empty_path.as_ptr(),
                ..edgevae_options::default()
            },
            "options.library_path is empty",
        ),
    ];
    for (name, options, needle) in bad {
        c.case(
            "c-open",
            name,
            || open(&quickstart(), &options),
            |f| expect(f, InvalidArgument, O, needle),
        );
    }
    let mut options = edgevae_options::default();
    let cuda = CString::new("cuda").expect("C string");
    options.providers = cuda.as_ptr();
    options.strict = true;
    let strict = open(&quickstart(), &options).expect("strict options open");
    let mut sampler = null_mut();
    c.case(
        "c-open",
        "strict cuda, sampler_new",
        // SAFETY: a live model and a writable out-parameter.
        || outcome(unsafe { edgevae_sampler_new(strict.0, &mut sampler) }),
        |f| {
            expect(
                f,
                edgevae_status::ProviderUnavailable,
                "edgevae_sampler_new",
                "cuda",
            )
        },
    );

    // The committed manifest seeds: every bad one is EDGEVAE_STATUS_MANIFEST naming the file.
    let seeds = root().join("tests/corpus/manifest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&seeds)
        .expect("tests/corpus/manifest")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for seed in files {
        let name = seed
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name == "valid-small.json" {
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = dir.path().join("manifest.json");
        std::fs::copy(&seed, &manifest).expect("copy");
        let want = manifest.display().to_string();
        c.case(
            "c-manifest-seeds",
            name,
            || open(dir.path(), null()),
            |f| expect(f, Manifest, O, &want),
        );
    }
}

fn model_accessors(c: &mut Corpus, model: &Model) {
    for (function, read) in [
        (
            "edgevae_model_input_dim",
            edgevae_model_input_dim as unsafe extern "C" fn(_, _) -> _,
        ),
        ("edgevae_model_latent", edgevae_model_latent),
    ] {
        c.case(
            "c-model",
            format!("{function}(NULL, &out)"),
            || {
                let mut value = usize::MAX;
                // SAFETY: NULL is refused before use.
                outcome(unsafe { read(null(), &mut value) }).map_err(|f| (f, value))
            },
            |(f, value)| {
                expect(f, NullPointer, function, "model is NULL")?;
                ensure(*value == usize::MAX, || "out written".into())
            },
        );
        c.case(
            "c-model",
            format!("{function}(model, NULL)"),
            // SAFETY: a live model; NULL is refused before use.
            || outcome(unsafe { read(model.0, null_mut()) }),
            |f| expect(f, NullPointer, function, "out is NULL"),
        );
        let mut outs = [0usize; 2];
        c.case(
            "c-model",
            format!("{function}(model, misaligned)"),
            // SAFETY: a live model; the misaligned pointer is refused before use.
            || outcome(unsafe { read(model.0, misaligned(outs.as_mut_ptr())) }),
            |f| expect(f, InvalidArgument, function, "out is not aligned"),
        );
        let mut model_buf = [0u64; 4];
        c.case(
            "c-model",
            format!("{function}(misaligned model, &out)"),
            || {
                // SAFETY: the misaligned model pointer is refused before it is read.
                outcome(unsafe {
                    read(
                        misaligned(model_buf.as_mut_ptr()).cast::<edgevae_model>(),
                        &mut outs[0],
                    )
                })
            },
            |f| expect(f, InvalidArgument, function, "model is not aligned"),
        );
    }
}

fn constructors(c: &mut Corpus, model: &Model) {
    type New<T> = unsafe extern "C" fn(*const edgevae_model, *mut *mut T) -> edgevae_status;
    fn nulls<T>(c: &mut Corpus, function: &'static str, new: New<T>, model: &Model) {
        c.case(
            "c-constructors",
            format!("{function}(NULL, &out)"),
            || {
                let mut out: *mut T = sentinel();
                // SAFETY: NULL model is refused before use; `out` is writable.
                outcome(unsafe { new(null(), &mut out) }).map_err(|f| (f, out.is_null()))
            },
            |(f, out_null)| {
                expect(f, NullPointer, function, "model is NULL")?;
                ensure(*out_null, || "*out not set to NULL".into())
            },
        );
        c.case(
            "c-constructors",
            format!("{function}(model, NULL)"),
            // SAFETY: a live model; NULL is refused before use.
            || outcome(unsafe { new(model.0, null_mut()) }),
            |f| expect(f, NullPointer, function, "out is NULL"),
        );
        let mut outs = [null_mut::<T>(); 2];
        c.case(
            "c-constructors",
            format!("{function}(model, misaligned)"),
            // SAFETY: a live model; the misaligned pointer is refused before use.
            || outcome(unsafe { new(model.0, misaligned(outs.as_mut_ptr())) }),
            |f| expect(f, InvalidArgument, function, "out is not aligned"),
        );
    }
    nulls(c, "edgevae_sampler_new", edgevae_sampler_new, model);
    nulls(c, "edgevae_filter_new", edgevae_filter_new, model);

    // Model directories whose graphs do not match the manifest.
    const S: &str = "edgevae_sampler_new";
    const FN: &str = "edgevae_filter_new";
    let sampler = std::fs::read(quickstart().join("sampler_fp32.onnx")).expect("sampler");
    let filter = std::fs::read(quickstart().join("filter_fp32.onnx")).expect("filter");
    let mut flipped = sampler.clone();
    flipped[1000] ^= 0x80;
    let cases: Vec<(&str, tempfile::TempDir, &str, edgevae_status, String)> = vec![
        (
            "sampler graph byte flipped",
            variant(|_| {}, |d| put(d, "sampler_fp32.onnx", &flipped)),
            S,
            Graph,
            "sampler_fp32.onnx: SHA-256 is".into(),
        ),
        (
            "sampler graph truncated",
            variant(|_| {}, |d| put(d, "sampler_fp32.onnx", &sampler[..4096])),
            S,
            Graph,
            "file has 4096 bytes".into(),
        ),
        (
            "filter graph truncated",
            variant(
                |_| {},
                |d| put(d, "filter_fp32.onnx", &filter[..filter.len() / 2]),
            ),
            FN,
            Graph,
            "filter_fp32.onnx: file has".into(),
        ),
        (
            "sampler graph missing",
            variant(
                |_| {},
                |d| std::fs::remove_file(d.join("sampler_fp32.onnx")).expect("rm"),
            ),
            S,
            Io,
            "sampler_fp32.onnx".into(),
        ),
        (
            "filter graph is a directory",
            variant(
                |_| {},
                |d| {
                    std::fs::remove_file(d.join("filter_fp32.onnx")).expect("rm");
                    std::fs::create_dir(d.join("filter_fp32.onnx")).expect("mkdir");
                },
            ),
            FN,
            Io,
            "filter_fp32.onnx".into(),
        ),
        (
            "no sampler fp32 in the manifest",
            variant(
                |m| {
                    m["graphs"].as_array_mut().expect("graphs").remove(0);
                },
                |_| {},
            ),
            S,
            Graph,
            "lists no sampler graph in fp32".into(),
        ),
        (
            "manifest latent 31",
            variant(|m| m["latent"] = serde_json::json!(31), |_| {}),
            S,
            Graph,
            "expected [N, 31]".into(),
        ),
        (
            "filter file listed as the sampler",
            variant(
                |m| {
                    let f = m["graphs"][1].clone();
                    for key in ["file", "sha256", "bytes"] {
                        m["graphs"][0][key] = f[key].clone();
                    }
                },
                |_| {},
            ),
            S,
            Graph,
            "inputs are [\"x\"]".into(),
        ),
        (
            "outlier: null",
            variant(|m| m["outlier"] = serde_json::Value::Null, |_| {}),
            FN,
            NotCalibrated,
            "no outlier calibration".into(),
        ),
    ];
    for (name, dir, function, status, needle) in cases {
        let model = open_ok(dir.path());
        c.case(
            "c-model-dir",
            name,
            || {
                let mut out: *mut u8 = sentinel();
                // SAFETY: a live model and a writable out-parameter of the constructor's type
                // (both constructors write one pointer).
                let status = unsafe {
                    if function == S {
                        edgevae_sampler_new(model.0, (&raw mut out).cast())
                    } else {
                        edgevae_filter_new(model.0, (&raw mut out).cast())
                    }
                };
                let result = outcome(status);
                if result.is_ok() {
                    // SAFETY: a handle the constructor just made, of its type.
                    unsafe {
                        if function == S {
                            edgevae_sampler_free(out.cast());
                        } else {
                            edgevae_filter_free(out.cast());
                        }
                    }
                }
                result.map_err(|f| (f, out.is_null()))
            },
            |(f, out_null)| {
                expect(f, status, function, &needle)?;
                ensure(*out_null, || "*out not set to NULL".into())
            },
        );
    }
}

const SENTINEL: f32 = -7.25;

fn sampler_calls(c: &mut Corpus, sampler: &Sampler, dim: usize) {
    const F: &str = "edgevae_sampler_sample";
    let mut out = vec![SENTINEL; 3 * dim + 1];
    let untouched = |out: &[f32]| {
        ensure(out.iter().all(|&v| v == SENTINEL), || {
            "the output buffer was written".into()
        })
    };
    let cases: Vec<(
        String,
        *mut edgevae_sampler,
        usize,
        bool,
        usize,
        edgevae_status,
        String,
    )> = vec![
        (
            "sampler NULL".into(),
            null_mut(),
            1,
            true,
            dim,
            NullPointer,
            "sampler is NULL".into(),
        ),
        (
            "out NULL".into(),
            sampler.0,
            1,
            false,
            dim,
            NullPointer,
            "out is NULL".into(),
        ),
        (
            "out NULL, length 0".into(),
            sampler.0,
            1,
            false,
            0,
            NullPointer,
            "out is NULL".into(),
        ),
        (
            "n = 0".into(),
            sampler.0,
            0,
            true,
            0,
            InvalidArgument,
            "n is 0".into(),
        ),
        (
            "n = 0, out of dim".into(),
            sampler.0,
            0,
            true,
            dim,
            InvalidArgument,
            "n is 0".into(),
        ),
        (
            "n = usize::MAX".into(),
            sampler.0,
            usize::MAX,
            true,
            dim,
            InvalidArgument,
            "overflows".into(),
        ),
        (
            "n * dim just past usize::MAX".into(),
            sampler.0,
            usize::MAX / dim + 1,
            true,
            dim,
            InvalidArgument,
            "overflows".into(),
        ),
        (
            "out_len dim - 1".into(),
            sampler.0,
            1,
            true,
            dim - 1,
            BufferLength,
            format!("out holds {} values, {dim} expected", dim - 1),
        ),
        (
            "out_len dim + 1".into(),
            sampler.0,
            1,
            true,
            dim + 1,
            BufferLength,
            format!("out holds {} values, {dim} expected", dim + 1),
        ),
        (
            "out_len 0".into(),
            sampler.0,
            1,
            true,
            0,
            BufferLength,
            format!("out holds 0 values, {dim} expected"),
        ),
        (
            "n = 3, out_len dim".into(),
            sampler.0,
            3,
            true,
            dim,
            BufferLength,
            format!("out holds {dim} values, {} expected", 3 * dim),
        ),
        (
            "n = 2, out_len 3 dim".into(),
            sampler.0,
            2,
            true,
            3 * dim,
            BufferLength,
            format!("{} expected", 2 * dim),
        ),
    ];
    for (name, handle, n, with_out, len, status, needle) in cases {
        let ptr = if with_out {
            out.as_mut_ptr()
        } else {
            null_mut()
        };
        c.case(
            "c-sampler-sample",
            name,
            // SAFETY: NULL, or a live sampler; `ptr` is NULL or `out`, which holds 3 dim + 1
            // floats, more than any length passed.
            || outcome(unsafe { edgevae_sampler_sample(handle, n, 0, ptr, len) }),
            |f| expect(f, status, F, &needle),
        );
    }
    c.case(
        "c-sampler-sample",
        "out misaligned",
        || {
            // SAFETY: a live sampler; the misaligned pointer is refused before use.
            outcome(unsafe {
                edgevae_sampler_sample(sampler.0, 1, 0, misaligned(out.as_mut_ptr()), dim)
            })
        },
        |f| expect(f, InvalidArgument, F, "out is not aligned"),
    );
    let mut sampler_buf = [0u64; 4];
    c.case(
        "c-sampler-sample",
        "sampler misaligned",
        || {
            // SAFETY: the misaligned handle is refused before it is read.
            outcome(unsafe {
                edgevae_sampler_sample(
                    misaligned(sampler_buf.as_mut_ptr()).cast(),
                    1,
                    0,
                    out.as_mut_ptr(),
                    dim,
                )
            })
        },
        |f| expect(f, InvalidArgument, F, "sampler is not aligned"),
    );
    untouched(&out).expect("no call above may write to out");
}

/// The buffers of one `edgevae_filter_run` call.
struct Run {
    filter: *mut edgevae_filter,
    x: *const f32,
    x_len: usize,
    n: usize,
    passes: usize,
    scores: *mut f32,
    scores_len: usize,
    mask: *mut u8,
    mask_len: usize,
    cleaned: *mut f32,
    cleaned_len: usize,
}

fn filter_calls(c: &mut Corpus, filter: &Filter, x: &[f32], dim: usize) {
    const F: &str = "edgevae_filter_run";
    let n = x.len() / dim;
    let len = n * dim;
    // Output buffers with room for more than any length passed, filled with sentinels.
    let mut scores = vec![SENTINEL; n + 2];
    let mut mask = vec![0xa5u8; len + 2];
    let mut cleaned = vec![SENTINEL; len + 2];
    let mut xbuf = x.to_vec();
    xbuf.push(0.5);
    let good = Run {
        filter: filter.0,
        x: xbuf.as_ptr(),
        x_len: len,
        n,
        passes: 1,
        scores: scores.as_mut_ptr(),
        scores_len: n,
        mask: mask.as_mut_ptr(),
        mask_len: len,
        cleaned: cleaned.as_mut_ptr(),
        cleaned_len: len,
    };
    let with = |f: &dyn Fn(&mut Run)| {
        let mut r = Run { ..good };
        f(&mut r);
        r
    };
    let cases: Vec<(&str, Run, edgevae_status, String)> = vec![
        (
            "filter NULL",
            with(&|r| r.filter = null_mut()),
            NullPointer,
            "filter is NULL".into(),
        ),
        (
            "x NULL",
            with(&|r| r.x = null()),
            NullPointer,
            "x is NULL".into(),
        ),
        (
            "x NULL, length 0",
            with(&|r| {
                r.x = null();
                r.x_len = 0
            }),
            NullPointer,
            "x is NULL".into(),
        ),
        (
            "scores NULL",
            with(&|r| r.scores = null_mut()),
            NullPointer,
            "scores is NULL".into(),
        ),
        (
            "mask NULL, length n*dim",
            with(&|r| r.mask = null_mut()),
            NullPointer,
            "mask is NULL".into(),
        ),
        (
            "cleaned NULL, length n*dim",
            with(&|r| r.cleaned = null_mut()),
            NullPointer,
            "cleaned is NULL".into(),
        ),
        (
            "n = 0",
            with(&|r| r.n = 0),
            InvalidArgument,
            "n is 0".into(),
        ),
        (
            "passes = 0",
            with(&|r| r.passes = 0),
            InvalidArgument,
            "passes is 0".into(),
        ),
        (
            "n = 0 and passes = 0",
            with(&|r| {
                r.n = 0;
                r.passes = 0
            }),
            InvalidArgument,
            "n is 0".into(),
        ),
        (
            "n = usize::MAX",
            with(&|r| r.n = usize::MAX),
            InvalidArgument,
            "overflows".into(),
        ),
        (
            "x_len - 1",
            with(&|r| r.x_len = len - 1),
            BufferLength,
            format!("x holds {} values, {len} expected", len - 1),
        ),
        (
            "x_len + 1",
            with(&|r| r.x_len = len + 1),
            BufferLength,
            format!("x holds {} values, {len} expected", len + 1),
        ),
        (
            "x_len 0",
            with(&|r| r.x_len = 0),
            BufferLength,
            format!("x holds 0 values, {len} expected"),
        ),
        (
            "n + 1 rows claimed",
            with(&|r| r.n = n + 1),
            BufferLength,
            format!("x holds {len} values, {} expected", len + dim),
        ),
        (
            "scores_len n - 1",
            with(&|r| r.scores_len = n - 1),
            BufferLength,
            format!("scores holds {} values, {n} expected", n - 1),
        ),
        (
            "scores_len n + 1",
            with(&|r| r.scores_len = n + 1),
            BufferLength,
            format!("scores holds {} values, {n} expected", n + 1),
        ),
        (
            "scores_len 0",
            with(&|r| r.scores_len = 0),
            BufferLength,
            format!("scores holds 0 values, {n} expected"),
        ),
        (
            "mask_len - 1",
            with(&|r| r.mask_len = len - 1),
            BufferLength,
            format!("mask holds {} values", len - 1),
        ),
        (
            "mask_len 0, mask not NULL",
            with(&|r| r.mask_len = 0),
            BufferLength,
            "mask holds 0 values".into(),
        ),
        (
            "mask_len n (one per row)",
            with(&|r| r.mask_len = n),
            BufferLength,
            format!("mask holds {n} values"),
        ),
        (
            "cleaned_len + 1",
            with(&|r| r.cleaned_len = len + 1),
            BufferLength,
            format!("cleaned holds {} values", len + 1),
        ),
        (
            "cleaned_len 0, cleaned not NULL",
            with(&|r| r.cleaned_len = 0),
            BufferLength,
            "cleaned holds 0 values".into(),
        ),
        (
            "x misaligned",
            with(&|r| r.x = misaligned(r.x.cast_mut()).cast_const()),
            InvalidArgument,
            "x is not aligned".into(),
        ),
        (
            "scores misaligned",
            with(&|r| r.scores = misaligned(r.scores)),
            InvalidArgument,
            "scores is not aligned".into(),
        ),
        (
            "cleaned misaligned",
            with(&|r| r.cleaned = misaligned(r.cleaned)),
            InvalidArgument,
            "cleaned is not aligned".into(),
        ),
    ];
    for (name, r, status, needle) in cases {
        c.case(
            "c-filter-run",
            name,
            || call_run(&r),
            |f| expect(f, status, F, &needle),
        );
    }
    // NaN and infinities: the status names row and column.
    for (row, col) in [(0, 0), (0, dim - 1), (1, 100), (n - 1, dim - 1)] {
        for (what, value) in [
            ("NaN", f32::NAN),
            ("+Inf", f32::INFINITY),
            ("-Inf", f32::NEG_INFINITY),
        ] {
            let mut bad = xbuf.clone();
            bad[row * dim + col] = value;
            let r = Run {
                x: bad.as_ptr(),
                passes: 2,
                ..good
            };
            c.case(
                "c-filter-nonfinite",
                format!("{what} at row {row}, column {col}"),
                || call_run(&r),
                |f| {
                    expect(
                        f,
                        NonFiniteInput,
                        F,
                        &format!("input row {row}, column {col} is"),
                    )
                },
            );
        }
    }
    ensure(
        scores.iter().all(|&v| v == SENTINEL)
            && mask.iter().all(|&v| v == 0xa5)
            && cleaned.iter().all(|&v| v == SENTINEL),
        || "a failed call wrote to an output buffer".into(),
    )
    .expect("no output written on error");

    const T: &str = "edgevae_filter_score_threshold";
    let mut t = [f64::NAN; 2];
    c.case(
        "c-filter-threshold",
        "filter NULL",
        // SAFETY: NULL is refused before use.
        || outcome(unsafe { edgevae_filter_score_threshold(null(), t.as_mut_ptr()) }),
        |f| expect(f, NullPointer, T, "filter is NULL"),
    );
    c.case(
        "c-filter-threshold",
        "out NULL",
        // SAFETY: a live filter; NULL is refused before use.
        || outcome(unsafe { edgevae_filter_score_threshold(filter.0, null_mut()) }),
        |f| expect(f, NullPointer, T, "out is NULL"),
    );
    c.case(
        "c-filter-threshold",
        "out misaligned",
        // SAFETY: a live filter; the misaligned pointer is refused before use.
        || outcome(unsafe { edgevae_filter_score_threshold(filter.0, misaligned(t.as_mut_ptr())) }),
        |f| expect(f, InvalidArgument, T, "out is not aligned"),
    );
}

fn call_run(r: &Run) -> Result<(), Failure> {
    // SAFETY: every pointer is NULL, misaligned (both refused before use) or a live buffer
    // holding at least as many values as its length says; the filter is NULL or live.
    outcome(unsafe {
        edgevae_filter_run(
            r.filter,
            r.x,
            r.x_len,
            r.n,
            r.passes,
            r.scores,
            r.scores_len,
            r.mask,
            r.mask_len,
            r.cleaned,
            r.cleaned_len,
        )
    })
}

fn last_error_calls(c: &mut Corpus) {
    // edgevae_last_error reports its own failures by status only, leaving the message alone.
    let quiet = |status: edgevae_status| -> Result<(), Failure> {
        if status == edgevae_status::Ok {
            Ok(())
        } else {
            Err((status, String::new()))
        }
    };
    // A known message to look for afterwards.
    // SAFETY: NULL is refused before use.
    let _ = unsafe { edgevae_options_default(null_mut()) };
    let before = last_error();
    let mut buf = [0u8; 8];
    let mut written = 0usize;
    let cases: Vec<(&str, *mut c_char, usize, *mut usize, edgevae_status)> = vec![
        (
            "written NULL",
            buf.as_mut_ptr().cast(),
            buf.len(),
            null_mut(),
            NullPointer,
        ),
        (
            "buf NULL, len 8",
            null_mut(),
            8,
            &raw mut written,
            NullPointer,
        ),
        (
            "buf NULL, len 8, written NULL",
            null_mut(),
            8,
            null_mut(),
            NullPointer,
        ),
        (
            "buf of 8 bytes",
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut written,
            edgevae_status::BufferTooSmall,
        ),
        (
            "buf of 1 byte",
            buf.as_mut_ptr().cast(),
            1,
            &raw mut written,
            edgevae_status::BufferTooSmall,
        ),
        (
            "buf NULL, len 0 (asks the size)",
            null_mut(),
            0,
            &raw mut written,
            edgevae_status::BufferTooSmall,
        ),
    ];
    for (name, b, len, w, status) in cases {
        c.case(
            "c-last-error",
            name,
            // SAFETY: `b` is NULL or `buf` (8 writable bytes, `len` <= 8); `w` is NULL or a live
            // usize.
            || quiet(unsafe { edgevae_last_error(b, len, w) }),
            |f| {
                ensure(f.0 == status, || format!("expected {status:?}"))?;
                ensure(last_error() == before, || {
                    "the stored message changed".into()
                })
            },
        );
    }
    ensure(written == before.len() + 1, || format!("written {written}")).expect("size asked");
}

#[test]
fn c_api_hardening_corpus() {
    let mut c = Corpus::new("ffi");
    options_and_open(&mut c);
    let model = open_ok(&quickstart());
    let mut dim = 0usize;
    // SAFETY: a live model and a live usize.
    let status = unsafe { edgevae_model_input_dim(model.0, &mut dim) };
    assert_eq!(status, edgevae_status::Ok);
    model_accessors(&mut c, &model);
    constructors(&mut c, &model);

    let mut sampler = Sampler(null_mut());
    let mut filter = Filter(null_mut());
    // SAFETY: a live model and writable out-parameters.
    unsafe {
        assert_eq!(
            edgevae_sampler_new(model.0, &mut sampler.0),
            edgevae_status::Ok
        );
        assert_eq!(
            edgevae_filter_new(model.0, &mut filter.0),
            edgevae_status::Ok
        );
    }
    sampler_calls(&mut c, &sampler, dim);
    let n = 3;
    let mut x = vec![0.0f32; n * dim];
    // SAFETY: a live sampler and `n * dim` writable floats.
    let status = unsafe { edgevae_sampler_sample(sampler.0, n, 7, x.as_mut_ptr(), x.len()) };
    assert_eq!(status, edgevae_status::Ok);
    filter_calls(&mut c, &filter, &x, dim);
    last_error_calls(&mut c);
    // After all of it the handles still work.
    let mut scores = vec![0.0f32; n];
    // SAFETY: live handle and buffers of the lengths passed; mask and cleaned not wanted.
    let status = unsafe {
        edgevae_filter_run(
            filter.0,
            x.as_ptr(),
            x.len(),
            n,
            1,
            scores.as_mut_ptr(),
            n,
            null_mut(),
            0,
            null_mut(),
            0,
        )
    };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    c.finish();
}
