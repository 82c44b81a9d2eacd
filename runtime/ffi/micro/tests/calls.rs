//! `edgevae_micro_*` called from Rust as C would call them, on the committed quickstart's int8
//! blobs: results equal to the Rust micro backend's; a status plus the handle's message for
//! each bad argument (NULL, a bad or misaligned blob, the wrong role, a short arena,
//! overlapping buffers); and the handle's life: never opened, failed, moved, closed, shared by
//! threads. No ONNX Runtime is involved.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr::null;

use ::edgevae_micro::*;
use edgevae_runtime::core::{GraphRole, Manifest};
use edgevae_runtime::micro::{MicroFilterOutput, MicroModel};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../models/quickstart");
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

/// The handle's message (`edgevae_micro_error`), which must be readable.
fn message(micro: *const edgevae_micro) -> String {
    let mut buf = vec![0u8; EDGEVAE_MICRO_MESSAGE_BYTES + 1];
    let mut written = 0;
    // SAFETY: a handle that is not being opened or closed; `buf` holds its length in writable
    // bytes, `written` is a live usize.
    let status =
        unsafe { edgevae_micro_error(micro, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    assert_eq!(status, edgevae_status::Ok);
    String::from_utf8(buf[..written].to_vec()).expect("UTF-8")
}

#[track_caller]
fn expect(micro: *const edgevae_micro, status: edgevae_status, want: edgevae_status, needle: &str) {
    let message = message(micro);
    assert_eq!(status, want, "{message}");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

/// Opens `blob` with the quickstart manifest into a new boxed handle; the handle either way,
/// and the status.
fn open(blob: &[u8]) -> (Box<edgevae_micro>, edgevae_status) {
    let manifest = read("manifest.json");
    let mut micro = Box::new(edgevae_micro::new());
    // SAFETY: a writable handle and live slices with their lengths; `blob` outlives the
    // handle's use in every test (each closes it, or drops it unused, before the blob).
    let status = unsafe {
        edgevae_micro_open(
            &mut *micro,
            manifest.as_ptr(),
            manifest.len(),
            blob.as_ptr(),
            blob.len(),
        )
    };
    (micro, status)
}

fn opened(blob: &[u8]) -> Box<edgevae_micro> {
    let (micro, status) = open(blob);
    assert_eq!(status, edgevae_status::Ok, "{}", message(&*micro));
    micro
}

fn arena_size(micro: &edgevae_micro, rows: usize) -> usize {
    let mut bytes = 0;
    // SAFETY: an open handle and a writable usize.
    let status = unsafe { edgevae_micro_arena_size(micro, rows, &mut bytes) };
    assert_eq!(status, edgevae_status::Ok, "{}", message(micro));
    bytes
}

/// One sample (seed `seed`) through the C ABI.
fn sample(micro: &edgevae_micro, arena: &mut [u8], seed: u64) -> (edgevae_status, Vec<f32>) {
    let mut x = vec![0f32; D];
    // SAFETY: a handle, and live disjoint buffers of the lengths given.
    let status = unsafe {
        edgevae_micro_sample(
            micro,
            arena.as_mut_ptr(),
            arena.len(),
            1,
            seed,
            x.as_mut_ptr(),
            D,
        )
    };
    (status, x)
}

#[test]
fn micro_calls_give_the_rust_backends_results() {
    let (sampler_blob, filter_blob) = (
        Placed::new(&read("sampler_micro_int8.bin"), 0),
        Placed::new(&read("filter_micro_int8.bin"), 0),
    );
    let sampler = opened(sampler_blob.bytes());
    let filter = opened(filter_blob.bytes());
    let (sampler, filter): (&edgevae_micro, &edgevae_micro) = (&sampler, &filter);
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
    assert_eq!(status, edgevae_status::Ok, "{}", message(sampler));
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
    assert_eq!(status, edgevae_status::Ok, "{}", message(filter));
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
    // SAFETY: open handles (interior mutability: the storage is an UnsafeCell) no other call
    // uses; NULL is fine.
    unsafe {
        for micro in [sampler, filter] {
            let status = edgevae_micro_close(std::ptr::from_ref(micro).cast_mut());
            assert_eq!(status, edgevae_status::Ok);
        }
        assert_eq!(
            edgevae_micro_close(std::ptr::null_mut()),
            edgevae_status::Ok
        );
    }
}

#[test]
fn bad_micro_arguments_get_a_status_and_a_message() {
    let good = read("sampler_micro_int8.bin");
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    let flipped = Placed::new(&flipped, 0);
    let (micro, status) = open(flipped.bytes());
    expect(
        &*micro,
        status,
        edgevae_status::Graph,
        "edgevae_micro_open: ",
    );
    expect(&*micro, status, edgevae_status::Graph, "SHA-256");
    let shifted = Placed::new(&good, 4);
    let (micro, status) = open(shifted.bytes());
    expect(
        &*micro,
        status,
        edgevae_status::InvalidArgument,
        "4 bytes past a multiple of 16",
    );
    let truncated = Placed::new(&good[..100], 0);
    let (micro, status) = open(truncated.bytes());
    expect(
        &*micro,
        status,
        edgevae_status::Graph,
        "100 bytes but its header says 439968",
    );
    let mut micro = Box::new(edgevae_micro::new());
    // SAFETY: NULL pointers are refused before use; the handle is writable.
    let status = unsafe { edgevae_micro_open(&mut *micro, null(), 0, good.as_ptr(), good.len()) };
    expect(
        &*micro,
        status,
        edgevae_status::NullPointer,
        "manifest_json is NULL",
    );
    let json = b"{\"format_version\": 2";
    // SAFETY: live slices with their lengths; the handle is writable.
    let status =
        unsafe { edgevae_micro_open(&mut *micro, json.as_ptr(), json.len(), good.as_ptr(), 0) };
    expect(&*micro, status, edgevae_status::Manifest, "manifest_json");
    // SAFETY: a NULL handle is refused before use.
    let status =
        unsafe { edgevae_micro_open(std::ptr::null_mut(), json.as_ptr(), 1, good.as_ptr(), 1) };
    assert_eq!(status, edgevae_status::NullPointer);
    // The JSON inside the handle it is parsed into: refused, not read.
    let inside = std::ptr::from_ref(&*micro).cast::<u8>();
    // SAFETY: the handle is writable and the JSON pointer is refused before any read.
    let status = unsafe { edgevae_micro_open(&mut *micro, inside, 64, good.as_ptr(), good.len()) };
    expect(
        &*micro,
        status,
        edgevae_status::InvalidArgument,
        "micro and manifest_json overlap",
    );

    let blob = Placed::new(&good, 0);
    let sampler = opened(blob.bytes());
    let sampler: &edgevae_micro = &sampler;
    let needed = arena_size(sampler, 1);
    let mut arena = vec![0u32; needed / 4 + 1];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);
    let mut x = vec![0f32; D];
    // SAFETY: for all calls below, an open handle and buffers live for the lengths given; the
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
            sampler,
            status,
            edgevae_status::BufferTooSmall,
            &format!("edgevae_micro_sample: scratch arena of {} bytes is too small: one row needs {needed}", needed - 1),
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
            sampler,
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
            sampler,
            status,
            edgevae_status::BufferLength,
            "out holds 783 values, 784 expected",
        );
        let status =
            edgevae_micro_sample(sampler, bytes.as_mut_ptr(), needed, 0, 1, x.as_mut_ptr(), 0);
        expect(sampler, status, edgevae_status::InvalidArgument, "n is 0");
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
            sampler,
            status,
            edgevae_status::InvalidArgument,
            "arena and out overlap",
        );
        let status =
            edgevae_micro_sample(null(), bytes.as_mut_ptr(), needed, 1, 1, x.as_mut_ptr(), D);
        assert_eq!(status, edgevae_status::NullPointer, "a NULL handle");
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
        expect(sampler, status, edgevae_status::InvalidArgument, "sampler");
        let mut size = 0;
        let status = edgevae_micro_arena_size(sampler, 0, &mut size);
        expect(
            sampler,
            status,
            edgevae_status::InvalidArgument,
            "max_batch is 0",
        );
        let status = edgevae_micro_arena_size(sampler, 1, std::ptr::null_mut());
        expect(
            sampler,
            status,
            edgevae_status::NullPointer,
            "bytes is NULL",
        );
        // Outputs inside the handle or the blob are refused before any write.
        let handle_bytes = std::ptr::from_ref(sampler).cast_mut().cast::<f32>();
        let status =
            edgevae_micro_sample(sampler, bytes.as_mut_ptr(), needed, 1, 1, handle_bytes, D);
        expect(
            sampler,
            status,
            edgevae_status::InvalidArgument,
            "out and micro overlap",
        );
        // A successful call leaves the message alone.
        assert_eq!(
            sample(sampler, &mut bytes[..needed], 1).0,
            edgevae_status::Ok
        );
        expect(
            sampler,
            edgevae_status::InvalidArgument,
            edgevae_status::InvalidArgument,
            "out and micro overlap",
        );
    }
}

#[test]
fn the_message_is_copied_with_last_error_semantics() {
    let blob = Placed::new(&read("sampler_micro_int8.bin"), 0);
    let sampler = opened(blob.bytes());
    assert_eq!(message(&*sampler), "", "no failure yet");
    let mut size = 0;
    // SAFETY: an open handle and a writable usize.
    let status = unsafe { edgevae_micro_arena_size(&*sampler, 0, &mut size) };
    assert_eq!(status, edgevae_status::InvalidArgument);
    let whole = message(&*sampler);
    let mut buf = [0xffu8; 8];
    let mut written = 0;
    // SAFETY: a handle, `buf` of 8 writable bytes, a live usize; then a size query with a
    // NULL buffer of length 0, which the call allows.
    unsafe {
        let status = edgevae_micro_error(&*sampler, buf.as_mut_ptr().cast(), 8, &mut written);
        assert_eq!(status, edgevae_status::BufferTooSmall);
        assert_eq!(written, whole.len() + 1, "the size needed, NUL included");
        assert_eq!(&buf[..7], &whole.as_bytes()[..7]);
        assert_eq!(buf[7], 0, "NUL-terminated");
        let status = edgevae_micro_error(&*sampler, std::ptr::null_mut(), 0, &mut written);
        assert_eq!(status, edgevae_status::BufferTooSmall);
        assert_eq!(written, whole.len() + 1);
        let status = edgevae_micro_error(&*sampler, std::ptr::null_mut(), 4, &mut written);
        assert_eq!(status, edgevae_status::NullPointer);
        let status = edgevae_micro_error(null(), buf.as_mut_ptr().cast(), 8, &mut written);
        assert_eq!(status, edgevae_status::NullPointer);
    }
}

#[test]
fn a_handle_is_refused_unless_open_where_it_was_opened() {
    let blob = Placed::new(&read("sampler_micro_int8.bin"), 0);
    let mut arena = vec![0u32; 4096];
    let arena: &mut [u8] = bytemuck::cast_slice_mut(&mut arena);

    let never = Box::new(edgevae_micro::new());
    assert_eq!(sample(&never, arena, 1).0, edgevae_status::InvalidArgument);
    let mut buf = [0u8; 8];
    let mut written = 0;
    // SAFETY: a handle never opened (zeroed), `buf` of 8 bytes, a live usize.
    let status = unsafe { edgevae_micro_error(&*never, buf.as_mut_ptr().cast(), 8, &mut written) };
    assert_eq!(
        status,
        edgevae_status::InvalidArgument,
        "no message in a never-opened handle"
    );

    let mut sampler = opened(blob.bytes());
    let (status, first) = sample(&sampler, arena, 7);
    assert_eq!(status, edgevae_status::Ok);

    // A copy (C struct assignment, memcpy) refers to the original's manifest: refused.
    let copy = Box::new(edgevae_micro::new());
    let copy = Box::into_raw(copy);
    // SAFETY: two live, distinct handles of the same size.
    unsafe { std::ptr::copy_nonoverlapping(&*sampler, copy, 1) };
    // SAFETY: `copy` came from Box::into_raw above and is taken back once.
    let copy = unsafe { Box::from_raw(copy) };
    let (status, _) = sample(&copy, arena, 7);
    expect(
        &*copy,
        status,
        edgevae_status::InvalidArgument,
        "must not be copied or moved",
    );
    // The original is unaffected.
    assert_eq!(
        sample(&sampler, arena, 7),
        (edgevae_status::Ok, first.clone())
    );

    assert_eq!(
        // SAFETY: an open handle no other call uses.
        unsafe { edgevae_micro_close(&mut *sampler) },
        edgevae_status::Ok
    );
    let (status, _) = sample(&sampler, arena, 7);
    assert_eq!(status, edgevae_status::InvalidArgument, "closed");

    // A failed open leaves a handle that refuses calls, with the open's message kept.
    let bad = Placed::new(&read("sampler_micro_int8.bin")[..64], 0);
    let (failed, status) = open(bad.bytes());
    assert_eq!(status, edgevae_status::Graph);
    let (status, _) = sample(&failed, arena, 7);
    expect(
        &*failed,
        status,
        edgevae_status::InvalidArgument,
        "failed to open",
    );

    // Reopened in place, the handle works again.
    let manifest = read("manifest.json");
    // SAFETY: a writable handle no other call uses, live slices; the blob outlives its use.
    let status = unsafe {
        edgevae_micro_open(
            &mut *sampler,
            manifest.as_ptr(),
            manifest.len(),
            blob.bytes().as_ptr(),
            blob.bytes().len(),
        )
    };
    assert_eq!(status, edgevae_status::Ok);
    assert_eq!(sample(&sampler, arena, 7), (edgevae_status::Ok, first));
}

#[test]
fn threads_share_one_open_handle() {
    let blob = Placed::new(&read("sampler_micro_int8.bin"), 0);
    let sampler = opened(blob.bytes());
    let needed = arena_size(&sampler, 1);
    let sampler: &edgevae_micro = &sampler;
    let want: Vec<Vec<f32>> = (0..4)
        .map(|seed| {
            let mut arena = vec![0u32; needed.div_ceil(4)];
            sample(sampler, bytemuck::cast_slice_mut(&mut arena), seed).1
        })
        .collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4u64)
            .map(|seed| {
                scope.spawn(move || {
                    let mut arena = vec![0u32; needed.div_ceil(4)];
                    (0..20)
                        .map(|_| sample(sampler, bytemuck::cast_slice_mut(&mut arena), seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (seed, run) in runs.into_iter().enumerate() {
            for (status, x) in run.join().expect("thread") {
                assert_eq!(status, edgevae_status::Ok);
                assert_eq!(x, want[seed], "seed {seed}");
            }
        }
    });
}
