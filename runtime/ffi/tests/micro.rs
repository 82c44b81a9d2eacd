//! `edgevae_micro_*` called from Rust as C would call them, on the committed quickstart's int8
//! blobs: results equal to the Rust micro backend's, and a status plus a message for each
//! bad argument (NULL, a bad or misaligned blob, the wrong role, a short arena, overlapping
//! buffers). No ONNX Runtime is involved.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr::{null, null_mut};

use edgevae::*;
use edgevae_runtime::core::{GraphRole, Manifest};
use edgevae_runtime::micro::{MicroFilterOutput, MicroModel};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/quickstart");
const D: usize = 784;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{MODEL}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `bytes` at a 16-byte boundary (as in flash), plus `shift` bytes.
struct Placed {
    words: Vec<u128>,
    shift: usize,
    len: usize,
}

impl Placed {
    fn new(bytes: &[u8], shift: usize) -> Self {
        let mut words = vec![0u128; (bytes.len() + shift).div_ceil(16)];
        bytemuck::cast_slice_mut::<u128, u8>(&mut words)[shift..shift + bytes.len()]
            .copy_from_slice(bytes);
        Self {
            words,
            shift,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.words)[self.shift..self.shift + self.len]
    }
}

fn last_error() -> String {
    let mut buf = vec![0u8; 4096];
    let mut written = 0;
    // SAFETY: `buf` holds 4096 writable bytes, `written` is a live usize.
    let status = unsafe { edgevae_last_error(buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    assert_eq!(status, edgevae_status::Ok);
    String::from_utf8(buf[..written].to_vec()).expect("UTF-8")
}

#[track_caller]
fn expect(status: edgevae_status, want: edgevae_status, needle: &str) {
    let message = last_error();
    assert_eq!(status, want, "{message}");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

/// Opens `blob` with the quickstart manifest; the handle or the status.
fn open(blob: &[u8]) -> Result<*mut edgevae_micro, edgevae_status> {
    let manifest = read("manifest.json");
    let mut out = null_mut();
    // SAFETY: live slices with their lengths; `blob` outlives the handle in every test (each
    // frees it before the blob is dropped); `out` is writable.
    let status = unsafe {
        edgevae_micro_open(
            manifest.as_ptr(),
            manifest.len(),
            blob.as_ptr(),
            blob.len(),
            &mut out,
        )
    };
    if status == edgevae_status::Ok {
        Ok(out)
    } else {
        assert!(out.is_null(), "*out is NULL on failure");
        Err(status)
    }
}

fn arena_size(micro: *const edgevae_micro, rows: usize) -> usize {
    let mut bytes = 0;
    // SAFETY: a live handle and a writable usize.
    let status = unsafe { edgevae_micro_arena_size(micro, rows, &mut bytes) };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    bytes
}

#[test]
fn micro_calls_give_the_rust_backends_results() {
    let (sampler_blob, filter_blob) = (
        Placed::new(&read("sampler_micro_int8.bin"), 0),
        Placed::new(&read("filter_micro_int8.bin"), 0),
    );
    let sampler = open(sampler_blob.bytes()).expect("sampler blob opens");
    let filter = open(filter_blob.bytes()).expect("filter blob opens");
    let manifest = Manifest::parse(&read("manifest.json")).expect("manifest");
    let rust_sampler = MicroModel::from_blob(sampler_blob.bytes(), &manifest).expect("rust");
    let rust_filter = MicroModel::from_blob(filter_blob.bytes(), &manifest).expect("rust");
    let n = 3;
    assert_eq!(
        arena_size(sampler, n),
        edgevae_runtime::micro::required_arena(&manifest, GraphRole::Sampler, n).expect("size")
    );
    let mut arena = vec![0u32; arena_size(filter, n) / 4];
    let arena_bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);
    let sampler_arena = arena_size(sampler, n);

    let mut x = vec![0f32; n * D];
    // SAFETY: a live handle; arena and out are live, disjoint buffers of the lengths given.
    let status = unsafe {
        edgevae_micro_sample(
            sampler,
            arena_bytes.as_mut_ptr(),
            sampler_arena,
            n,
            11,
            x.as_mut_ptr(),
            x.len(),
        )
    };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    let mut want = vec![0f32; n * D];
    rust_sampler
        .sample_into(&mut arena_bytes[..sampler_arena], n, 11, &mut want)
        .expect("rust sample");
    assert_eq!(x, want, "the C ABI's sample is the Rust API's");

    x[5] = 1.0 - x[5];
    let mut c = [
        vec![0f32; n],
        vec![0f32; n * D],
        vec![0f32; n * D],
        vec![0f32; n * D],
    ];
    let mut c_mask = vec![0u8; n * D];
    let [scores, element_scores, cleaned, reconstruction] = &mut c;
    // SAFETY: a live handle; every buffer is live, of the length given, and disjoint.
    let status = unsafe {
        edgevae_micro_filter(
            filter,
            arena_bytes.as_mut_ptr(),
            arena_bytes.len(),
            x.as_ptr(),
            x.len(),
            n,
            2,
            scores.as_mut_ptr(),
            scores.len(),
            element_scores.as_mut_ptr(),
            element_scores.len(),
            c_mask.as_mut_ptr(),
            c_mask.len(),
            cleaned.as_mut_ptr(),
            cleaned.len(),
            reconstruction.as_mut_ptr(),
            reconstruction.len(),
        )
    };
    assert_eq!(status, edgevae_status::Ok, "{}", last_error());
    let mut r = [
        vec![0f32; n],
        vec![0f32; n * D],
        vec![0f32; n * D],
        vec![0f32; n * D],
    ];
    let mut r_mask = vec![0u8; n * D];
    {
        let [scores, element_scores, cleaned, reconstruction] = &mut r;
        let out = MicroFilterOutput {
            scores,
            element_scores,
            mask: &mut r_mask,
            cleaned,
            reconstruction,
        };
        rust_filter
            .filter_into(arena_bytes, &x, n, 2, out)
            .expect("rust filter");
    }
    assert_eq!(c, r, "the C ABI's filter outputs are the Rust API's");
    assert_eq!(c_mask, r_mask);
    assert_eq!(c_mask[5], 1, "the flipped pixel is masked");
    // SAFETY: handles from edgevae_micro_open, freed once; NULL is fine.
    unsafe {
        edgevae_micro_free(sampler);
        edgevae_micro_free(filter);
        edgevae_micro_free(null_mut());
    }
}

#[test]
fn bad_micro_arguments_get_a_status_and_a_message() {
    let good = read("sampler_micro_int8.bin");
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    expect(
        open(Placed::new(&flipped, 0).bytes()).unwrap_err(),
        edgevae_status::Graph,
        "SHA-256",
    );
    expect(
        open(Placed::new(&good, 4).bytes()).unwrap_err(),
        edgevae_status::InvalidArgument,
        "4 bytes past a multiple of 16",
    );
    expect(
        open(Placed::new(&good[..100], 0).bytes()).unwrap_err(),
        edgevae_status::Graph,
        "100 bytes but its header says 439968",
    );
    let mut out = null_mut();
    // SAFETY: NULL pointers are refused before use; `out` is writable.
    let status = unsafe { edgevae_micro_open(null(), 0, good.as_ptr(), good.len(), &mut out) };
    expect(status, edgevae_status::NullPointer, "manifest_json is NULL");
    let json = b"{\"format_version\": 2";
    // SAFETY: live slices with their lengths; `out` is writable.
    let status =
        unsafe { edgevae_micro_open(json.as_ptr(), json.len(), good.as_ptr(), 0, &mut out) };
    expect(status, edgevae_status::Manifest, "manifest_json");

    let blob = Placed::new(&good, 0);
    let sampler = open(blob.bytes()).expect("opens");
    let needed = arena_size(sampler, 1);
    let mut arena = vec![0u32; needed / 4 + 1];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);
    let mut x = vec![0f32; D];
    // SAFETY: for all calls below, a live handle and buffers live for the lengths given; the
    // overlapping and misaligned cases are refused before any write.
    unsafe {
        let status = edgevae_micro_sample(
            sampler,
            bytes.as_mut_ptr(),
            needed - 1,
            1,
            1,
            x.as_mut_ptr(),
            D,
        );
        expect(
            status,
            edgevae_status::BufferTooSmall,
            &format!("needs {needed}"),
        );
        let status = edgevae_micro_sample(
            sampler,
            bytes.as_mut_ptr().add(1),
            needed,
            1,
            1,
            x.as_mut_ptr(),
            D,
        );
        expect(
            status,
            edgevae_status::InvalidArgument,
            "past a multiple of 4",
        );
        let status = edgevae_micro_sample(
            sampler,
            bytes.as_mut_ptr(),
            needed,
            1,
            1,
            x.as_mut_ptr(),
            D - 1,
        );
        expect(
            status,
            edgevae_status::BufferLength,
            "out holds 783 values, 784 expected",
        );
        let status =
            edgevae_micro_sample(sampler, bytes.as_mut_ptr(), needed, 0, 1, x.as_mut_ptr(), 0);
        expect(status, edgevae_status::InvalidArgument, "n is 0");
        let status = edgevae_micro_sample(
            sampler,
            x.as_mut_ptr().cast(),
            needed,
            1,
            1,
            x.as_mut_ptr(),
            D,
        );
        expect(
            status,
            edgevae_status::InvalidArgument,
            "arena and out overlap",
        );
        let status =
            edgevae_micro_sample(null(), bytes.as_mut_ptr(), needed, 1, 1, x.as_mut_ptr(), D);
        expect(status, edgevae_status::NullPointer, "micro is NULL");
        let mut s = [0f32; 1];
        let status = edgevae_micro_filter(
            sampler,
            bytes.as_mut_ptr(),
            needed,
            x.as_ptr(),
            D,
            1,
            1,
            s.as_mut_ptr(),
            1,
            vec![0f32; D].as_mut_ptr(),
            D,
            vec![0u8; D].as_mut_ptr(),
            D,
            vec![0f32; D].as_mut_ptr(),
            D,
            vec![0f32; D].as_mut_ptr(),
            D,
        );
        expect(status, edgevae_status::InvalidArgument, "sampler");
        let mut size = 0;
        let status = edgevae_micro_arena_size(sampler, 0, &mut size);
        expect(status, edgevae_status::InvalidArgument, "max_batch is 0");
        edgevae_micro_free(sampler);
    }
}
