//! Bad micro blobs, each with its specific error, never a panic: the committed quickstart's
//! int8 blobs truncated, with a byte flipped, misplaced, from the other role, and edited into
//! shapes the manifest does not describe (with the manifest's checksum made to match, so the
//! shape check itself must refuse them).

use edgevae_runtime::core::{sha256_hex, GraphRole, Manifest, MicroPrecision};
use edgevae_runtime::micro::format::{HEADER_BYTES, LAYER_BYTES};
use edgevae_runtime::micro::{required_arena, MicroError, MicroModel};
use sha2::{Digest, Sha256};

#[path = "../../tests/corpus/harness.rs"]
mod harness;
use harness::{ensure, Corpus};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/quickstart");

/// A named edit of a good blob and the error it must produce.
type BlobEdit = (
    &'static str,
    Box<dyn Fn(&mut Vec<u8>)>,
    Box<dyn Fn(&MicroError) -> bool>,
);

fn manifest() -> Manifest {
    Manifest::parse(&std::fs::read(format!("{MODEL}/manifest.json")).expect("manifest"))
        .expect("parse")
}

fn blob(role: GraphRole) -> Vec<u8> {
    std::fs::read(format!("{MODEL}/{}_micro_int8.bin", role.name())).expect("blob")
}

/// `bytes` at a 16-byte boundary plus `shift`.
fn placed(bytes: &[u8], shift: usize) -> (Vec<u128>, usize) {
    let mut words = vec![0u128; (bytes.len() + shift).div_ceil(16) + 1];
    let raw: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    raw[shift..shift + bytes.len()].copy_from_slice(bytes);
    (words, shift)
}

fn open(bytes: &[u8], manifest: &Manifest) -> Result<(), MicroError> {
    let (words, shift) = placed(bytes, 0);
    let raw: &[u8] = bytemuck::cast_slice(&words);
    MicroModel::from_blob(&raw[shift..shift + bytes.len()], manifest).map(drop)
}

/// `manifest` with `role`'s int8 entry pinned to `bytes`.
fn pinned(manifest: &Manifest, role: GraphRole, bytes: &[u8]) -> Manifest {
    let mut m = manifest.clone();
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    for e in m.micro.iter_mut().filter(|e| e.role == role) {
        e.sha256 = sha256_hex(&digest);
        e.bytes = bytes.len() as u64;
    }
    m
}

fn set_word(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn the_committed_blobs_open() {
    let m = manifest();
    for role in [GraphRole::Sampler, GraphRole::Filter] {
        open(&blob(role), &m).expect("valid blob");
        assert!(required_arena(&m, role, 1).expect("arena") > 0);
    }
}

#[test]
fn each_bad_blob_gets_its_own_error() {
    let m = manifest();
    let good = blob(GraphRole::Sampler);
    let corpus = std::cell::RefCell::new(Corpus::new("micro"));
    // One corpus case: `bytes` opened with `manifest` must fail with an error `want` accepts,
    // whose message is not empty.
    let expect = |category: &'static str,
                  name: String,
                  bytes: &[u8],
                  manifest: &Manifest,
                  want: &dyn Fn(&MicroError) -> bool| {
        corpus.borrow_mut().case(
            category,
            name,
            || open(bytes, manifest),
            |e| ensure(want(e) && !e.to_string().is_empty(), || format!("{e}")),
        );
    };
    // Truncated: inside the header, inside the layer table, inside the sections.
    for len in [
        0,
        7,
        40,
        HEADER_BYTES + LAYER_BYTES,
        good.len() / 2,
        good.len() - 1,
    ] {
        expect(
            "truncated",
            format!("{len} bytes"),
            &good[..len],
            &m,
            &|e| {
                matches!(
                    e,
                    MicroError::BlobTooShort { .. }
                        | MicroError::BlobLength { .. }
                        | MicroError::NotABlob
                )
            },
        );
    }
    // Not a blob, another version.
    let mut bad = good.clone();
    bad[0] = b'X';
    expect("magic", "X for E".into(), &bad, &m, &|e| {
        *e == MicroError::NotABlob
    });
    let mut bad = good.clone();
    set_word(&mut bad, 8, 2);
    expect("version", "2".into(), &bad, &m, &|e| {
        *e == MicroError::UnsupportedBlobVersion { found: 2 }
    });
    // A weight byte flipped: the checksum.
    for at in [good.len() / 3, good.len() - 5] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        expect("checksum", format!("byte {at} flipped"), &bad, &m, &|e| {
            *e == MicroError::ChecksumMismatch {
                role: GraphRole::Sampler,
            }
        });
    }
    // Misplaced in memory.
    for shift in [1, 4, 8] {
        let (words, s) = placed(&good, shift);
        let raw: &[u8] = bytemuck::cast_slice(&words);
        corpus.borrow_mut().case(
            "misaligned",
            format!("{shift} bytes past 16"),
            || MicroModel::from_blob(&raw[s..s + good.len()], &m).map(drop),
            |e| {
                ensure(
                    matches!(e, MicroError::Misaligned { offset, .. } if *offset == shift),
                    || format!("{e}"),
                )
            },
        );
    }
    // The other role's blob under this one's name is found by its own header: a filter blob
    // with the sampler's checksum in the manifest fails the checksum.
    let filter = blob(GraphRole::Filter);
    let mut swapped = m.clone();
    for e in swapped
        .micro
        .iter_mut()
        .filter(|e| e.role == GraphRole::Filter)
    {
        e.sha256 = m
            .micro_blob(GraphRole::Sampler, MicroPrecision::Int8)
            .expect("entry")
            .sha256
            .clone();
    }
    expect(
        "role",
        "filter blob, sampler's checksum".into(),
        &filter,
        &swapped,
        &|e| {
            *e == MicroError::ChecksumMismatch {
                role: GraphRole::Filter,
            }
        },
    );
    // Not in the manifest.
    let mut none = m.clone();
    none.micro.clear();
    expect("manifest", "no micro entries".into(), &good, &none, &|e| {
        *e == MicroError::NotInManifest {
            role: GraphRole::Sampler,
            precision: MicroPrecision::Int8,
        }
    });
    // Shapes inconsistent with the manifest, checksums made to match.
    let header = |i: usize| 8 + 4 * i;
    let layer = |l: usize, i: usize| HEADER_BYTES + LAYER_BYTES * l + 4 * i;
    let edits: Vec<BlobEdit> = vec![
        (
            "latent",
            Box::new(move |b| set_word(b, header(4), 31)),
            Box::new(|e| *e == MicroError::ManifestMismatch { field: "latent" }),
        ),
        (
            "input_dim",
            Box::new(move |b| set_word(b, header(3), 785)),
            Box::new(|e| *e == MicroError::ManifestMismatch { field: "input_dim" }),
        ),
        (
            "width",
            Box::new(move |b| set_word(b, header(5), 255)),
            Box::new(|e| *e == MicroError::ManifestMismatch { field: "width" }),
        ),
        (
            "robust flag",
            Box::new(move |b| set_word(b, header(7), 3)),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::ManifestMismatch { .. } | MicroError::BlobField { .. }
                )
            }),
        ),
        (
            "a layer's inputs",
            Box::new(move |b| set_word(b, layer(1, 1), 255)),
            Box::new(|e| matches!(e, MicroError::BlobShape { layer: 1, .. })),
        ),
        (
            "a layer's outputs",
            Box::new(move |b| set_word(b, layer(0, 2), 300)),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::BlobShape { .. }
                        | MicroError::SectionOutOfBounds { .. }
                        | MicroError::BlobField { .. }
                )
            }),
        ),
        (
            "an activation",
            Box::new(move |b| set_word(b, layer(0, 3), 2)),
            Box::new(|e| matches!(e, MicroError::BlobShape { layer: 0, .. })),
        ),
        (
            "an unknown activation",
            Box::new(move |b| set_word(b, layer(0, 3), 9)),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::BlobField {
                        field: "layer activation",
                        value: 9
                    }
                )
            }),
        ),
        (
            "a misaligned section",
            Box::new(move |b| {
                let w = u32::from_le_bytes(b[layer(0, 4)..layer(0, 4) + 4].try_into().unwrap());
                set_word(b, layer(0, 4), w + 4)
            }),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::Misaligned {
                        what: "weights",
                        ..
                    }
                )
            }),
        ),
        (
            "a section past the end",
            Box::new(move |b| {
                let len = b.len() as u32;
                set_word(b, layer(2, 5), len - 16)
            }),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::SectionOutOfBounds {
                        layer: 2,
                        what: "bias",
                        ..
                    }
                )
            }),
        ),
        (
            "a section over the header",
            Box::new(move |b| set_word(b, layer(0, 4), 16)),
            Box::new(|e| matches!(e, MicroError::SectionOutOfBounds { layer: 0, .. })),
        ),
        (
            "a NaN bias",
            Box::new(move |b| {
                let at = u32::from_le_bytes(b[layer(0, 5)..layer(0, 5) + 4].try_into().unwrap())
                    as usize;
                b[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            }),
            Box::new(|e| {
                *e == MicroError::NonFiniteParameter {
                    layer: 0,
                    what: "bias",
                }
            }),
        ),
        (
            "the skip moved",
            Box::new(move |b| set_word(b, layer(0, 7), 1)),
            Box::new(|e| matches!(e, MicroError::BlobShape { layer: 0, .. })),
        ),
        (
            "a layer count over the table",
            Box::new(move |b| set_word(b, header(6), 33)),
            Box::new(|e| {
                matches!(
                    e,
                    MicroError::BlobField {
                        field: "layer count",
                        ..
                    }
                )
            }),
        ),
    ];
    for (what, edit, want) in &edits {
        let mut bad = good.clone();
        edit(&mut bad);
        let manifest = pinned(&m, GraphRole::Sampler, &bad);
        expect("shape", what.to_string(), &bad, &manifest, want.as_ref());
    }
    let corpus = corpus.into_inner();
    assert_eq!(corpus.total(), 29, "every case ran");
    corpus.finish();
}
