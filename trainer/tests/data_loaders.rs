//! Integration tests of the data loaders: IDX (raw and gzip), npy, MNIST-style directories,
//! `--data` specifications, the built-in generators and `--corrupt`. Every test writes its own
//! small files into a temporary directory and runs in milliseconds.

#[path = "support/data_files.rs"]
mod data_files;
#[path = "support/largest_alloc.rs"]
mod largest_alloc;

use std::path::{Path, PathBuf};

use edgevae_trainer::data::manifold::ManifoldSpec;
use edgevae_trainer::data::{
    corrupt, idx, load_splits, npy, Corruption, DataError, DataSource, Dataset, LoadOptions,
    Scaling, Values,
};

use data_files::{f32_be, gzip, idx_bytes, npy_v1};
use largest_alloc::{largest_allocation, SMALL_ALLOCATION};

// ---------------------------------------------------------------------------------------------
// Helpers.

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn assert_names_path(err: &DataError, path: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error message {msg:?} does not name {}",
        path.display()
    );
}

fn opts(val_fraction: f32) -> LoadOptions {
    LoadOptions {
        val_fraction,
        ..LoadOptions::default()
    }
}

/// The rows of a dataset, as bit patterns (for set comparisons).
fn rows(ds: &Dataset) -> Vec<Vec<u32>> {
    (0..ds.len())
        .map(|i| ds.row(i).iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// `n` distinct u8 images of `rows*cols`: the first byte of image i is i.
fn u8_images(n: usize, rows: usize, cols: usize) -> Vec<u8> {
    (0..n * rows * cols)
        .map(|k| {
            let (i, j) = (k / (rows * cols), k % (rows * cols));
            if j == 0 {
                i as u8
            } else {
                ((i * 31 + j * 7) % 256) as u8
            }
        })
        .collect()
}

fn mask_fraction(ds: &Dataset) -> f64 {
    let mask = ds.outlier_mask.as_ref().expect("outlier mask");
    assert_eq!(mask.len(), ds.values().len());
    mask.iter().filter(|&&m| m).count() as f64 / mask.len() as f64
}

// ---------------------------------------------------------------------------------------------
// 1. IDX files.

#[test]
fn idx_raw_u8_values_are_scaled_to_unit_interval_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = vec![0, 51, 102, 255, 1, 128, 200, 254, 17, 34, 68, 153];
    let path = write(
        dir.path(),
        "x-idx3-ubyte",
        &idx_bytes(0x08, &[2, 2, 3], &payload),
    );
    let a = idx::read(&path).unwrap();
    assert_eq!(a.dims, vec![2, 2, 3]);
    assert_eq!(a.elem, idx::IdxType::U8);
    assert_eq!(a.values, Values::Bytes(payload.clone().into()));
    let values = a.values.as_f32();
    assert_eq!(values.len(), 12);
    assert_eq!(values[0], 0.0);
    assert_eq!(values[1], 0.2);
    assert_eq!(values[2], 0.4);
    assert_eq!(values[3], 1.0);
    for (v, b) in values.iter().zip(&payload) {
        assert_eq!(*v, f32::from(*b) / 255.0);
        assert!((0.0..=1.0).contains(v));
    }
}

#[test]
fn idx_gzipped_u8_reads_identically_to_raw() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x08, &[3, 4, 5], &u8_images(3, 4, 5));
    let raw = idx::read(&write(dir.path(), "a-idx3-ubyte", &bytes)).unwrap();
    let gz = idx::read(&write(dir.path(), "a-idx3-ubyte.gz", &gzip(&bytes))).unwrap();
    assert_eq!(gz.dims, raw.dims);
    assert_eq!(gz.elem, raw.elem);
    assert_eq!(gz.values, raw.values);
    assert_eq!(gz.dims, vec![3, 4, 5]);
}

#[test]
fn idx_parse_in_memory_matches_read_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x08, &[2, 3], &[9, 8, 7, 6, 5, 4]);
    let path = write(dir.path(), "m-idx2-ubyte", &bytes);
    let parsed = idx::parse(&path, &bytes).unwrap();
    let read = idx::read(&path).unwrap();
    assert_eq!(parsed.dims, read.dims);
    assert_eq!(parsed.values, read.values);
    assert_eq!(parsed.values.as_f32()[0], 9.0 / 255.0);
}

#[test]
fn idx_f32_big_endian_values_are_taken_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let values = [1.5f32, -2.25, 0.0, 3.0e-7, 1e6, -0.5];
    let bytes = idx_bytes(0x0d, &[3, 2], &f32_be(&values));
    let raw = idx::read(&write(dir.path(), "f-idx2-float", &bytes)).unwrap();
    assert_eq!(raw.elem, idx::IdxType::F32);
    assert_eq!(raw.dims, vec![3, 2]);
    assert_eq!(raw.values, Values::Floats(values.to_vec()));
    let gz = idx::read(&write(dir.path(), "f-idx2-float.gz", &gzip(&bytes))).unwrap();
    assert_eq!(gz.values, raw.values);
}

#[test]
fn idx_f32_file_outside_unit_interval_loads_with_real_scaling() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
    let path = write(
        dir.path(),
        "real-idx2-float",
        &idx_bytes(0x0d, &[4, 3], &f32_be(&values)),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.25)).unwrap();
    assert_eq!(s.train.scaling, Scaling::Real);
    assert_eq!(s.train.dim, 3);
    assert_eq!(s.train.image_shape, None);
    assert_eq!(s.train.len() + s.val.len(), 4);
    assert!(s.test.is_none());
}

#[test]
fn idx_four_dims_with_trailing_channel_of_one_keeps_image_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c-idx4-ubyte",
        &idx_bytes(0x08, &[4, 2, 3, 1], &u8_images(4, 2, 3)),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.25)).unwrap();
    assert_eq!(s.train.dim, 6);
    assert_eq!(s.train.image_shape, Some((2, 3)));
    assert_eq!(s.train.scaling, Scaling::Unit);
}

// ---------------------------------------------------------------------------------------------
// 2. MNIST-style directories.

#[test]
fn mnist_directory_gives_train_val_and_test_splits() {
    let dir = tempfile::tempdir().unwrap();
    let (n, n_test, r, c) = (20usize, 6usize, 4usize, 5usize);
    let train_bytes = u8_images(n, r, c);
    let test_bytes: Vec<u8> = u8_images(n_test, r, c).iter().map(|b| 255 - b).collect();
    let dims = [n as u32, r as u32, c as u32];
    write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gzip(&idx_bytes(0x08, &dims, &train_bytes)),
    );
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_bytes(0x08, &[n_test as u32, r as u32, c as u32], &test_bytes),
    );
    // Label files sit beside the images in the MNIST layout and must not be picked up.
    write(
        dir.path(),
        "train-labels-idx1-ubyte.gz",
        &gzip(&idx_bytes(0x08, &[n as u32], &vec![3; n])),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte",
        &idx_bytes(0x08, &[n_test as u32], &vec![1; n_test]),
    );
    let s = load_splits(&DataSource::Path(dir.path().to_path_buf()), &opts(0.25)).unwrap();
    assert_eq!(s.train.len() + s.val.len(), n);
    assert_eq!(s.val.len(), (n as f32 * 0.25).round() as usize);
    assert_eq!(s.train.len(), 15);
    for ds in [&s.train, &s.val] {
        assert_eq!(ds.dim, r * c);
        assert_eq!(ds.image_shape, Some((r, c)));
        assert_eq!(ds.scaling, Scaling::Unit);
        assert!(ds.clean.is_none() && ds.outlier_mask.is_none());
        // u8 images stay bytes in memory (a quarter of f32's size); batches convert them.
        assert!(ds.is_bytes());
    }
    // Train and val partition the training images: every image exactly once.
    let mut got = rows(&s.train);
    got.extend(rows(&s.val));
    got.sort();
    let mut want: Vec<Vec<u32>> = train_bytes
        .chunks(r * c)
        .map(|img| {
            img.iter()
                .map(|&b| (f32::from(b) / 255.0).to_bits())
                .collect()
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    let test = s.test.expect("test split from t10k images");
    assert_eq!(test.len(), n_test);
    assert_eq!(test.image_shape, Some((r, c)));
    assert_eq!(test.scaling, Scaling::Unit);
    assert!(test.is_bytes());
    let want_test: Vec<f32> = test_bytes.iter().map(|&b| f32::from(b) / 255.0).collect();
    assert_eq!(test.values(), want_test);
}

#[test]
fn mnist_directory_val_fraction_rounds_and_respects_limit() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_bytes(0x08, &[30, 2, 2], &u8_images(30, 2, 2)),
    );
    let src = DataSource::Path(dir.path().to_path_buf());
    let s = load_splits(&src, &opts(0.1)).unwrap();
    assert_eq!(s.val.len(), 3);
    assert_eq!(s.train.len(), 27);
    assert!(s.test.is_none(), "no t10k/test file, no test split");
    let limited = LoadOptions {
        limit: Some(10),
        val_fraction: 0.2,
        ..LoadOptions::default()
    };
    let s = load_splits(&src, &limited).unwrap();
    assert_eq!(s.train.len() + s.val.len(), 10);
    assert_eq!(s.val.len(), 2);
}

#[test]
fn mnist_directory_with_test_of_other_width_is_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_bytes(0x08, &[4, 2, 2], &u8_images(4, 2, 2)),
    );
    let test = write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_bytes(0x08, &[2, 3, 3], &u8_images(2, 3, 3)),
    );
    let err = load_splits(&DataSource::Path(dir.path().to_path_buf()), &opts(0.25)).unwrap_err();
    assert!(matches!(err, DataError::Mismatch { .. }), "{err:?}");
    assert_names_path(&err, &test);
}

#[test]
fn label_file_given_as_data_is_refused_as_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_bytes(0x08, &[10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    );
    let err = load_splits(&DataSource::Path(path.clone()), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::Mismatch { .. }), "{err:?}");
    assert_names_path(&err, &path);
    let gz = write(
        dir.path(),
        "train-labels-idx1-ubyte.gz",
        &gzip(&idx_bytes(0x08, &[3], &[1, 2, 3])),
    );
    let err = load_splits(&DataSource::Path(gz.clone()), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::Mismatch { .. }), "{err:?}");
    assert_names_path(&err, &gz);
}

#[test]
fn directory_without_train_images_is_nothing_found() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_bytes(0x08, &[2, 2, 2], &u8_images(2, 2, 2)),
    );
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_bytes(0x08, &[2], &[0, 1]),
    );
    let err = load_splits(&DataSource::Path(dir.path().to_path_buf()), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::NothingFound { .. }), "{err:?}");
    assert_names_path(&err, dir.path());
}

#[test]
fn single_row_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "one.npy",
        &npy::encode_f32(&[1, 4], &[0.1; 4]).unwrap(),
    );
    let err = load_splits(&DataSource::Path(path), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::Mismatch { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. npy files.

#[test]
fn npy_f32_round_trips_through_encode_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..15).map(|i| i as f32 / 16.0).collect();
    let bytes = npy::encode_f32(&[5, 3], &values).unwrap();
    let path = write(dir.path(), "a.npy", &bytes);
    let a = npy::read(&path).unwrap();
    assert_eq!(a.shape, vec![5, 3]);
    assert_eq!(a.values, Values::Floats(values.clone()));
    let b = npy::parse(&path, &bytes).unwrap();
    assert_eq!(b.values, a.values);
}

#[test]
fn npy_u8_round_trips_scaled_to_unit_interval() {
    let dir = tempfile::tempdir().unwrap();
    let raw = u8_images(4, 3, 2);
    let path = write(
        dir.path(),
        "u.npy",
        &npy::encode_u8(&[4, 3, 2], &raw).unwrap(),
    );
    let a = npy::read(&path).unwrap();
    assert_eq!(a.shape, vec![4, 3, 2]);
    assert_eq!(a.values, Values::Bytes(raw.clone().into()));
    let want: Vec<f32> = raw.iter().map(|&b| f32::from(b) / 255.0).collect();
    assert_eq!(a.values.as_f32(), want);
}

#[test]
fn npy_u8_images_load_as_unit_images() {
    let dir = tempfile::tempdir().unwrap();
    let raw = u8_images(10, 3, 4);
    let path = write(
        dir.path(),
        "imgs.npy",
        &npy::encode_u8(&[10, 3, 4], &raw).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.2)).unwrap();
    assert_eq!(s.train.len(), 8);
    assert_eq!(s.val.len(), 2);
    assert_eq!(s.train.dim, 12);
    assert_eq!(s.train.image_shape, Some((3, 4)));
    assert_eq!(s.train.scaling, Scaling::Unit);
    assert!(s.test.is_none());
}

#[test]
fn npy_f32_in_unit_interval_is_unit_and_outside_is_real() {
    let dir = tempfile::tempdir().unwrap();
    let unit: Vec<f32> = (0..32).map(|i| i as f32 / 31.0).collect();
    let path = write(
        dir.path(),
        "unit.npy",
        &npy::encode_f32(&[2, 16], &unit).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.5)).unwrap();
    assert_eq!(s.train.scaling, Scaling::Unit);
    assert_eq!(s.train.dim, 16);
    // A square row length reads as a square image.
    assert_eq!(s.train.image_shape, Some((4, 4)));

    let mut real = unit.clone();
    real[7] = 1.0001;
    let path = write(
        dir.path(),
        "real.npy",
        &npy::encode_f32(&[2, 16], &real).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.5)).unwrap();
    assert_eq!(s.train.scaling, Scaling::Real);

    let neg: Vec<f32> = (0..12).map(|i| i as f32 - 6.0).collect();
    let path = write(
        dir.path(),
        "neg.npy",
        &npy::encode_f32(&[3, 4], &neg).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.34)).unwrap();
    assert_eq!(s.train.scaling, Scaling::Real);
    assert_eq!(s.train.dim, 4);
    // [N, 6]-style non-square rows have no image shape; 4 = 2x2 does.
    assert_eq!(s.train.image_shape, Some((2, 2)));
    let path = write(
        dir.path(),
        "six.npy",
        &npy::encode_f32(&[2, 6], &[0.5; 12]).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.5)).unwrap();
    assert_eq!(s.train.image_shape, None);
}

#[test]
fn npy_is_recognised_by_magic_without_extension() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..8).map(|i| i as f32 * 10.0).collect();
    let path = write(
        dir.path(),
        "features.bin",
        &npy::encode_f32(&[4, 2], &values).unwrap(),
    );
    let s = load_splits(&DataSource::Path(path), &opts(0.25)).unwrap();
    assert_eq!(s.train.len() + s.val.len(), 4);
    assert_eq!(s.train.dim, 2);
    assert_eq!(s.train.scaling, Scaling::Real);
}

#[test]
fn npy_hand_written_little_and_big_endian_f4_parse() {
    let dir = tempfile::tempdir().unwrap();
    let values = [1.0f32, -2.5, 3.25, 0.125, 7.0, -8.0];
    let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = write(dir.path(), "le.npy", &npy_v1("<f4", false, "(2, 3)", &le));
    let a = npy::read(&path).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.values, Values::Floats(values.to_vec()));
    let path = write(
        dir.path(),
        "be.npy",
        &npy_v1(">f4", false, "(2, 3)", &f32_be(&values)),
    );
    let a = npy::read(&path).unwrap();
    assert_eq!(a.values, Values::Floats(values.to_vec()));
}

// ---------------------------------------------------------------------------------------------
// 4. Malformed inputs.

#[test]
fn idx_wrong_magic_is_bad_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(&[0; 60]);
    let path = write(dir.path(), "zip-idx3-ubyte", &bytes);
    let err = idx::read(&path).unwrap_err();
    match &err {
        DataError::BadMagic { found, .. } => assert_eq!(found, b"PK\x03\x04"),
        other => panic!("expected BadMagic, got {other:?}"),
    }
    assert_names_path(&err, &path);
    // Zero or more than four dimensions are refused at the magic too.
    for ndims in [0u8, 5] {
        let p = write(dir.path(), "nd", &[0, 0, 0x08, ndims, 0, 0, 0, 1, 7]);
        let err = idx::read(&p).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
    }
    // The gzip path checks the magic too.
    let p = write(dir.path(), "zip.gz", &gzip(&bytes));
    let err = idx::read(&p).unwrap_err();
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
    assert_names_path(&err, &p);
}

#[test]
fn idx_raw_short_payload_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "short-idx3-ubyte",
        &idx_bytes(0x08, &[3, 2, 2], &[1; 10]),
    );
    let err = idx::read(&path).unwrap_err();
    match &err {
        DataError::Truncated {
            expected, actual, ..
        } => {
            assert_eq!(*expected, 16 + 12);
            assert_eq!(*actual, 16 + 10);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_names_path(&err, &path);
    // A header cut short is truncated as well.
    let p = write(dir.path(), "half-header", &[0, 0, 0x08, 3, 0, 0, 0, 3, 0]);
    let err = idx::read(&p).unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
}

#[test]
fn idx_gz_short_payload_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "short-idx3-ubyte.gz",
        &gzip(&idx_bytes(0x0d, &[3, 2], &f32_be(&[1.0, 2.0, 3.0]))),
    );
    let err = idx::read(&path).unwrap_err();
    match &err {
        DataError::Truncated {
            expected, actual, ..
        } => {
            assert_eq!(*expected, 12 + 24);
            assert_eq!(*actual, 12 + 12);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_names_path(&err, &path);
}

#[test]
fn idx_extra_bytes_after_payload_are_trailing_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x08, &[2, 2], &[1, 2, 3, 4, 5, 6, 7]);
    for (name, data) in [
        ("long-idx2-ubyte", bytes.clone()),
        ("long.gz", gzip(&bytes)),
    ] {
        let path = write(dir.path(), name, &data);
        let err = idx::read(&path).unwrap_err();
        match &err {
            DataError::TrailingBytes { extra, .. } => assert_eq!(*extra, 3, "{name}"),
            other => panic!("{name}: expected TrailingBytes, got {other:?}"),
        }
        assert_names_path(&err, &path);
    }
}

#[test]
fn idx_zero_dimension_is_absurd() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x08, &[5, 0, 28], &[]);
    for (name, data) in [
        ("zero-idx3-ubyte", bytes.clone()),
        ("zero.gz", gzip(&bytes)),
    ] {
        let path = write(dir.path(), name, &data);
        let err = idx::read(&path).unwrap_err();
        match &err {
            DataError::AbsurdDims { dims, .. } => assert_eq!(dims, &vec![5, 0, 28]),
            other => panic!("{name}: expected AbsurdDims, got {other:?}"),
        }
        assert_names_path(&err, &path);
    }
}

#[test]
fn idx_dims_beyond_2_pow_32_elements_are_absurd_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let header = idx_bytes(0x08, &[65536, 65536, 2], &[]);
    let mut with_some_payload = header.clone();
    with_some_payload.extend_from_slice(&[7; 100]);
    for (name, data) in [
        ("huge-idx3-ubyte", with_some_payload.clone()),
        ("huge.gz", gzip(&with_some_payload)),
        ("huge-header-only.gz", gzip(&header)),
    ] {
        let path = write(dir.path(), name, &data);
        let (res, largest) = largest_allocation(|| idx::read(&path));
        let err = res.unwrap_err();
        assert!(
            matches!(err, DataError::AbsurdDims { .. }),
            "{name}: {err:?}"
        );
        assert_names_path(&err, &path);
        assert!(
            largest < SMALL_ALLOCATION,
            "{name}: allocated {largest} bytes"
        );
    }
    // Four u32::MAX dims do not overflow the element count either.
    let p = write(
        dir.path(),
        "max",
        &idx_bytes(0x0d, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX], &[]),
    );
    let err = idx::read(&p).unwrap_err();
    assert!(matches!(err, DataError::AbsurdDims { .. }), "{err:?}");
}

#[test]
fn idx_raw_header_at_element_limit_is_truncated_without_allocation() {
    // 65536 x 65536 = 2^32 elements is the largest header accepted; a raw file is mapped and its
    // length checked before anything is decoded.
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "limit-idx2-float",
        &idx_bytes(0x0d, &[65536, 65536], &[0; 64]),
    );
    let (res, largest) = largest_allocation(|| idx::read(&path));
    let err = res.unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
    assert!(largest < SMALL_ALLOCATION, "allocated {largest} bytes");
}

#[test]
fn idx_gz_header_at_element_limit_is_truncated_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "limit-idx2-ubyte.gz",
        &gzip(&idx_bytes(0x08, &[65536, 65536], &[0; 64])),
    );
    let (res, largest) = largest_allocation(|| idx::read(&path));
    let err = res.unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
    assert!(largest < SMALL_ALLOCATION, "allocated {largest} bytes");
}

#[test]
fn idx_unsupported_element_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x0b, &[2, 2], &[0; 8]);
    for (name, data) in [
        ("short-idx2-int", bytes.clone()),
        ("short.gz", gzip(&bytes)),
    ] {
        let path = write(dir.path(), name, &data);
        let err = idx::read(&path).unwrap_err();
        match &err {
            DataError::UnsupportedIdxType { code, .. } => assert_eq!(*code, 0x0b),
            other => panic!("{name}: expected UnsupportedIdxType, got {other:?}"),
        }
        assert_names_path(&err, &path);
    }
}

#[test]
fn idx_empty_file_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty-idx3-ubyte", &[]);
    let err = idx::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::Truncated { actual: 0, .. }),
        "{err:?}"
    );
    assert_names_path(&err, &path);
    // An empty gzip stream too.
    let path = write(dir.path(), "empty.gz", &gzip(&[]));
    let err = idx::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::Truncated { actual: 0, .. }),
        "{err:?}"
    );
    // And through load_splits.
    let path = write(dir.path(), "empty2-idx3-ubyte", &[]);
    let err = load_splits(&DataSource::Path(path.clone()), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
    assert_names_path(&err, &path);
}

#[test]
fn idx_corrupt_gzip_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
    garbage.extend((0..200u32).map(|i| (i * 97 % 251) as u8));
    let path = write(dir.path(), "bad-idx3-ubyte.gz", &garbage);
    let err = idx::read(&path).unwrap_err();
    assert_names_path(&err, &path);
    // A valid gzip cut off half-way.
    let full = gzip(&idx_bytes(0x08, &[8, 8, 8], &u8_images(8, 8, 8)));
    let path = write(dir.path(), "cut.gz", &full[..full.len() / 2]);
    let err = idx::read(&path).unwrap_err();
    assert_names_path(&err, &path);
    // Only the gzip magic.
    let path = write(dir.path(), "magic-only.gz", &[0x1f, 0x8b]);
    let err = idx::read(&path).unwrap_err();
    assert_names_path(&err, &path);
}

#[test]
fn idx_nan_is_non_finite() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(0x0d, &[2, 2], &f32_be(&[0.0, 1.0, f32::NAN, 2.0]));
    for (name, data) in [("nan-idx2-float", bytes.clone()), ("nan.gz", gzip(&bytes))] {
        let path = write(dir.path(), name, &data);
        let err = idx::read(&path).unwrap_err();
        match &err {
            DataError::NonFinite { index, value, .. } => {
                assert_eq!(*index, 2);
                assert!(value.is_nan());
            }
            other => panic!("{name}: expected NonFinite, got {other:?}"),
        }
        assert_names_path(&err, &path);
    }
    let path = write(
        dir.path(),
        "inf-idx2-float",
        &idx_bytes(0x0d, &[1, 2], &f32_be(&[f32::INFINITY, 0.0])),
    );
    let err = idx::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::NonFinite { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn npy_nan_is_non_finite() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "nan.npy",
        &npy::encode_f32(&[2, 2], &[0.5, 0.25, 0.0, f32::NAN]).unwrap(),
    );
    let err = npy::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::NonFinite { index: 3, .. }),
        "{err:?}"
    );
    assert_names_path(&err, &path);
    let err = load_splits(&DataSource::Path(path.clone()), &opts(0.5)).unwrap_err();
    assert!(matches!(err, DataError::NonFinite { .. }), "{err:?}");
}

#[test]
fn npy_unsupported_dtype_is_bad_npy() {
    let dir = tempfile::tempdir().unwrap();
    let f64s: Vec<u8> = (0..6).flat_map(|i| f64::from(i).to_le_bytes()).collect();
    let path = write(dir.path(), "f8.npy", &npy_v1("<f8", false, "(2, 3)", &f64s));
    let err = npy::read(&path).unwrap_err();
    assert!(matches!(err, DataError::BadNpy { .. }), "{err:?}");
    assert_names_path(&err, &path);
    let path = write(
        dir.path(),
        "i4.npy",
        &npy_v1("<i4", false, "(2, 3)", &[0; 24]),
    );
    let err = npy::read(&path).unwrap_err();
    assert!(matches!(err, DataError::BadNpy { .. }), "{err:?}");
    let path = write(
        dir.path(),
        "i1.npy",
        &npy_v1("|i1", false, "(2, 3)", &[0; 6]),
    );
    let err = npy::read(&path).unwrap_err();
    assert!(matches!(err, DataError::BadNpy { .. }), "{err:?}");
}

#[test]
fn npy_fortran_order_and_garbage_header_are_bad_npy() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "f.npy",
        &npy_v1("<f4", true, "(2, 3)", &[0; 24]),
    );
    let err = npy::read(&path).unwrap_err();
    assert!(matches!(err, DataError::BadNpy { .. }), "{err:?}");
    assert_names_path(&err, &path);
    let mut junk = b"\x93NUMPY\x01\x00\x10\x00".to_vec();
    junk.extend_from_slice(b"this is no dict\n");
    let path = write(dir.path(), "junk.npy", &junk);
    let err = npy::read(&path).unwrap_err();
    assert!(matches!(err, DataError::BadNpy { .. }), "{err:?}");
    assert_names_path(&err, &path);
    // An empty .npy has no header at all.
    let path = write(dir.path(), "empty.npy", &[]);
    let err = npy::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::BadNpy { .. } | DataError::Truncated { .. }),
        "{err:?}"
    );
    assert_names_path(&err, &path);
}

#[test]
fn npy_short_payload_is_truncated_and_long_is_trailing() {
    let dir = tempfile::tempdir().unwrap();
    let full = npy::encode_f32(&[4, 3], &[0.5; 12]).unwrap();
    let path = write(dir.path(), "short.npy", &full[..full.len() - 5]);
    let err = npy::read(&path).unwrap_err();
    match &err {
        DataError::Truncated {
            expected, actual, ..
        } => {
            assert_eq!(*expected, full.len() as u64);
            assert_eq!(*actual, full.len() as u64 - 5);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_names_path(&err, &path);
    let mut long = full.clone();
    long.extend_from_slice(&[1, 2]);
    let path = write(dir.path(), "long.npy", &long);
    let err = npy::read(&path).unwrap_err();
    assert!(
        matches!(err, DataError::TrailingBytes { extra: 2, .. }),
        "{err:?}"
    );
    assert_names_path(&err, &path);
}

#[test]
fn npy_absurd_shapes_are_refused_without_allocation() {
    let dir = tempfile::tempdir().unwrap();
    for (name, descr, shape) in [
        ("huge1.npy", "<f4", "(1099511627776, 1048576)"),
        ("huge2.npy", "|u1", "(4294967296, 4294967295)"),
        ("zero.npy", "<f4", "(3, 0)"),
        ("scalar.npy", "<f4", "()"),
        ("five.npy", "<f4", "(1, 1, 1, 1, 1)"),
        // Element counts that overflow u64: npyz multiplies unchecked, the loader must not.
        ("huge3.npy", "<f4", "(1099511627776, 1099511627776)"),
        ("huge4.npy", "|u1", "(4294967296, 4294967296, 2)"),
    ] {
        let path = write(dir.path(), name, &npy_v1(descr, false, shape, &[0; 64]));
        let res = std::panic::catch_unwind(|| largest_allocation(|| npy::read(&path)));
        let (res, largest) = res.unwrap_or_else(|_| panic!("{name}: npy::read panicked"));
        let err = res.unwrap_err();
        assert!(
            matches!(
                err,
                DataError::AbsurdDims { .. } | DataError::Truncated { .. }
            ),
            "{name}: {err:?}"
        );
        assert_names_path(&err, &path);
        assert!(
            largest < SMALL_ALLOCATION,
            "{name}: allocated {largest} bytes"
        );
    }
}

#[test]
fn npy_shape_with_byte_count_near_u64_max_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, descr, shape) in [
        ("max-u1.npy", "|u1", "(18446744073709551615,)"),
        ("max-f4.npy", "<f4", "(4611686018427387903,)"),
    ] {
        let path = write(dir.path(), name, &npy_v1(descr, false, shape, &[0; 64]));
        let res = std::panic::catch_unwind(|| npy::read(&path));
        let err = res
            .unwrap_or_else(|_| panic!("{name}: npy::read panicked"))
            .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::AbsurdDims { .. } | DataError::Truncated { .. }
            ),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn missing_file_is_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-file-idx3-ubyte");
    let err = idx::read(&path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_names_path(&err, &path);
    let npy_path = dir.path().join("absent.npy");
    let err = npy::read(&npy_path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_names_path(&err, &npy_path);
    let err = load_splits(&DataSource::Path(path.clone()), &opts(0.1)).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_names_path(&err, &path);
}

// ---------------------------------------------------------------------------------------------
// 5. `--data` specifications.

#[test]
fn data_spec_sprites_parses_with_default_and_explicit_n() {
    assert_eq!(
        DataSource::parse("sprites").unwrap(),
        DataSource::Sprites { n: 10000 }
    );
    assert_eq!(
        DataSource::parse("sprites:n=50").unwrap(),
        DataSource::Sprites { n: 50 }
    );
}

#[test]
fn data_spec_manifold_parses_all_fields() {
    let src = DataSource::parse("manifold:n=100,k=3,d=20,outliers=0.1").unwrap();
    assert_eq!(
        src,
        DataSource::Manifold(ManifoldSpec {
            n: 100,
            latent: 3,
            dim: 20,
            outliers: 0.1,
        })
    );
    assert_eq!(
        DataSource::parse("manifold").unwrap(),
        DataSource::Manifold(ManifoldSpec::default())
    );
    match DataSource::parse("manifold:d=7").unwrap() {
        DataSource::Manifold(m) => {
            assert_eq!(m.dim, 7);
            assert_eq!(m.n, ManifoldSpec::default().n);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_spec_bad_parameters_are_bad_spec() {
    for spec in [
        "sprites:x=1",
        "sprites:n=abc",
        "sprites:n",
        "sprites:n=1",
        "sprites:n=-5",
        "manifold:outliers=2",
        "manifold:outliers=-0.1",
        "manifold:outliers=1",
        "manifold:outliers=NaN",
        "manifold:k=0",
        "manifold:d=0",
        "manifold:z=3",
        // More than MAX_GENERATED_VALUES values, or a size that overflows.
        "sprites:n=2000000",
        "sprites:n=18446744073709551615",
        "manifold:n=100000000,d=100",
        "manifold:n=4,d=18446744073709551615",
    ] {
        match DataSource::parse(spec) {
            Err(err @ DataError::BadSpec { .. }) => {
                assert!(err.to_string().contains(spec), "{spec}: {err}")
            }
            other => panic!("{spec}: expected BadSpec, got {other:?}"),
        }
    }
}

#[test]
fn data_spec_anything_else_is_a_path() {
    for spec in [
        "data/mnist",
        "/abs/train.npy",
        "sprites.npy",
        "Sprites",
        "spritesheet:n=3",
        "C:\\data",
        "",
    ] {
        assert_eq!(
            DataSource::parse(spec).unwrap(),
            DataSource::Path(PathBuf::from(spec)),
            "{spec}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Built-in generators.

fn sprites(n: usize, seed: u64) -> edgevae_trainer::data::Splits {
    let opts = LoadOptions {
        seed,
        ..LoadOptions::default()
    };
    load_splits(&DataSource::Sprites { n }, &opts).unwrap()
}

#[test]
fn sprites_are_deterministic_per_seed() {
    let a = sprites(40, 3);
    let b = sprites(40, 3);
    let c = sprites(40, 4);
    assert_eq!(a.train.values(), b.train.values());
    assert_eq!(a.val.values(), b.val.values());
    assert_eq!(
        a.test.as_ref().unwrap().values(),
        b.test.as_ref().unwrap().values()
    );
    assert_ne!(a.train.values(), c.train.values());
    assert_ne!(
        a.test.as_ref().unwrap().values(),
        c.test.as_ref().unwrap().values()
    );
}

#[test]
fn sprites_are_unit_images_with_ink_and_background() {
    let s = sprites(40, 11);
    assert_eq!(s.train.len() + s.val.len(), 40);
    assert_eq!(s.val.len(), 4);
    let test = s.test.as_ref().expect("sprites have a test split");
    assert_eq!(test.len(), 8);
    for ds in [&s.train, &s.val, test] {
        assert_eq!(ds.dim, 28 * 28);
        assert_eq!(ds.image_shape, Some((28, 28)));
        assert_eq!(ds.scaling, Scaling::Unit);
        assert!(ds.clean.is_none() && ds.outlier_mask.is_none());
        for i in 0..ds.len() {
            let row = ds.row(i);
            assert!(row.iter().all(|v| (0.0..=1.0).contains(v)), "row {i}");
            let max = row.iter().copied().fold(f32::MIN, f32::max);
            let min = row.iter().copied().fold(f32::MAX, f32::min);
            assert!(max > 0.9, "row {i}: no ink (max {max})");
            assert_eq!(min, 0.0, "row {i}: no background");
        }
    }
    // Not all the same picture.
    assert_ne!(s.train.row(0), s.train.row(1));
}

#[test]
fn manifold_with_outliers_is_real_with_clean_copy_and_mask() {
    let src = DataSource::parse("manifold:n=200,k=2,d=10,outliers=0.2").unwrap();
    let s = load_splits(&src, &LoadOptions::default()).unwrap();
    assert_eq!(s.train.len() + s.val.len(), 200);
    let test = s.test.as_ref().expect("manifold has a test split");
    assert_eq!(test.len(), 40);
    for ds in [&s.train, &s.val, test] {
        assert_eq!(ds.dim, 10);
        assert_eq!(ds.scaling, Scaling::Real);
        assert_eq!(ds.image_shape, None);
        let clean = ds.clean.as_ref().expect("clean copy");
        let mask = ds.outlier_mask.as_ref().expect("outlier mask");
        assert_eq!(clean.len(), ds.values().len());
        for ((v, c), m) in ds.values().iter().zip(clean).zip(mask) {
            assert!(v.is_finite());
            if *m {
                assert_ne!(v, c);
            } else {
                assert_eq!(v, c);
            }
        }
    }
    let f = mask_fraction(&s.train);
    assert!((f - 0.2).abs() < 0.05, "outlier fraction {f}");
    // The clean data is standardised to about unit overall variance.
    let clean = s.train.clean.as_ref().unwrap();
    let mean = clean.iter().map(|&v| f64::from(v)).sum::<f64>() / clean.len() as f64;
    let var = clean
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / clean.len() as f64;
    assert!(
        mean.abs() < 0.3 && (0.6..1.4).contains(&var),
        "{mean} {var}"
    );
}

#[test]
fn manifold_without_outliers_has_no_clean_copy() {
    let src = DataSource::parse("manifold:n=50,k=2,d=6").unwrap();
    let s = load_splits(&src, &LoadOptions::default()).unwrap();
    assert_eq!(s.train.scaling, Scaling::Real);
    assert!(s.train.clean.is_none() && s.train.outlier_mask.is_none());
    let a = load_splits(&src, &LoadOptions::default()).unwrap();
    assert_eq!(a.train.values(), s.train.values());
}

// ---------------------------------------------------------------------------------------------
// 7. `--corrupt`.

fn corrupt_opts(fraction: f32, seed: u64) -> LoadOptions {
    LoadOptions {
        seed,
        corrupt: Some(fraction),
        ..LoadOptions::default()
    }
}

fn check_corrupted_unit(ds: &Dataset, fraction: f64) {
    let clean = ds.clean.as_ref().expect("clean copy");
    let mask = ds.outlier_mask.as_ref().expect("mask");
    let f = mask_fraction(ds);
    assert!((f - fraction).abs() < 0.05, "mask fraction {f}");
    let mut changed = 0usize;
    for ((v, c), m) in ds.values().iter().zip(clean).zip(mask) {
        assert!((0.0..=1.0).contains(v));
        if *m {
            changed += usize::from(v != c);
        } else {
            assert_eq!(v, c);
        }
    }
    let masked = mask.iter().filter(|&&m| m).count();
    assert!(
        changed as f64 > 0.9 * masked as f64,
        "{changed} of {masked} masked values differ from clean"
    );
}

#[test]
fn corrupt_sprites_replaces_a_fraction_and_keeps_clean_copy() {
    let src = DataSource::parse("sprites:n=100").unwrap();
    let s = load_splits(&src, &corrupt_opts(0.25, 5)).unwrap();
    check_corrupted_unit(&s.train, 0.25);
    check_corrupted_unit(&s.val, 0.25);
    let test = s.test.as_ref().expect("test split");
    check_corrupted_unit(test, 0.25);
    // The clean copies are exactly what an uncorrupted load with the same seed gives.
    let plain = load_splits(
        &src,
        &LoadOptions {
            seed: 5,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.train.clean.as_deref().unwrap(), &plain.train.values()[..]);
    assert_eq!(s.val.clean.as_deref().unwrap(), &plain.val.values()[..]);
    assert_eq!(
        test.clean.as_deref().unwrap(),
        &plain.test.unwrap().values()[..]
    );
}

#[test]
fn corrupt_is_deterministic_per_seed() {
    let src = DataSource::Sprites { n: 100 };
    let a = load_splits(&src, &corrupt_opts(0.25, 9)).unwrap();
    let b = load_splits(&src, &corrupt_opts(0.25, 9)).unwrap();
    assert_eq!(a.train.values(), b.train.values());
    assert_eq!(a.train.outlier_mask, b.train.outlier_mask);
    assert_eq!(a.val.values(), b.val.values());
    let (ta, tb) = (a.test.unwrap(), b.test.unwrap());
    assert_eq!(ta.values(), tb.values());
    assert_eq!(ta.outlier_mask, tb.outlier_mask);
    let c = load_splits(&src, &corrupt_opts(0.25, 10)).unwrap();
    assert_ne!(a.train.outlier_mask, c.train.outlier_mask);
}

#[test]
fn corrupt_of_zero_changes_nothing() {
    let src = DataSource::Sprites { n: 20 };
    let a = load_splits(&src, &corrupt_opts(0.0, 1)).unwrap();
    let b = load_splits(
        &src,
        &LoadOptions {
            seed: 1,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(a.train.values(), b.train.values());
    assert!(a.train.clean.is_none() && a.train.outlier_mask.is_none());
}

#[test]
fn corrupt_manifold_adds_to_existing_outliers() {
    let src = DataSource::parse("manifold:n=300,k=2,d=10,outliers=0.1").unwrap();
    let base = load_splits(&src, &LoadOptions::default()).unwrap();
    let s = load_splits(&src, &corrupt_opts(0.2, 0)).unwrap();
    // The clean copy is still the manifold data, not the outlier-laden values.
    assert_eq!(s.train.clean, base.train.clean);
    let old = base.train.outlier_mask.as_ref().unwrap();
    let new = s.train.outlier_mask.as_ref().unwrap();
    assert!(
        old.iter().zip(new).all(|(o, n)| !o || *n),
        "mask lost old outliers"
    );
    let f = mask_fraction(&s.train);
    let want = 1.0 - 0.9 * 0.8;
    assert!(
        (f - want).abs() < 0.05,
        "combined fraction {f}, want about {want}"
    );
    let clean = s.train.clean.as_ref().unwrap();
    for ((v, c), m) in s.train.values().iter().zip(clean).zip(new) {
        if !m {
            assert_eq!(v, c);
        }
    }
}

#[test]
fn corrupt_function_on_real_data_uses_unbounded_noise() {
    let values: Vec<f32> = vec![0.5; 4000];
    let mut ds = Dataset::new(40, None, Scaling::Real, values.clone());
    corrupt(
        &mut ds,
        Corruption {
            fraction: 0.5,
            seed: 3,
        },
        "t",
    );
    assert_eq!(ds.clean.as_deref(), Some(&values[..]));
    let mask = ds.outlier_mask.as_ref().unwrap();
    let f = mask_fraction(&ds);
    assert!((f - 0.5).abs() < 0.05, "{f}");
    // N(0, 1) noise: some replaced values fall outside [0, 1].
    let outside = ds
        .values()
        .iter()
        .zip(mask)
        .filter(|(v, m)| **m && !(0.0..=1.0).contains(*v))
        .count();
    assert!(outside > 100, "{outside}");
    let mut other = Dataset::new(40, None, Scaling::Real, values);
    corrupt(
        &mut other,
        Corruption {
            fraction: 0.5,
            seed: 3,
        },
        "u",
    );
    assert_ne!(other.values(), ds.values(), "streams must differ");
}
