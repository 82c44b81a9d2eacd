//! Small data files written by hand, for the loader tests and the hardening corpus (included by
//! path from both).

#![allow(dead_code)]

use std::io::Write;

/// An IDX file: 00 00 <code> <ndims>, big-endian u32 dims, then the payload.
pub fn idx_bytes(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

pub fn f32_be(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

pub fn f32_le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// The header dict of an npy file.
pub fn npy_dict(descr: &str, fortran: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
}

/// An npy file of format `major`.0 with the header text `dict`: magic, version, header length
/// (u16 for 1.0, u32 otherwise), the dict padded with spaces so the data starts at a multiple of
/// 64, a newline, then `payload`.
pub fn npy_raw(major: u8, dict: &str, payload: &[u8]) -> Vec<u8> {
    let len_field = if major == 1 { 2 } else { 4 };
    let mut dict = dict.to_string();
    let unpadded = 8 + len_field + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    assert_eq!((8 + len_field + dict.len()) % 64, 0);
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// A well-formed npy 1.0 file.
pub fn npy_v1(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    npy_raw(1, &npy_dict(descr, fortran, shape), payload)
}
