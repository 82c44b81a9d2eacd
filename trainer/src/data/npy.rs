//! `.npy` arrays (f32 or u8, C order) through the npyz crate. u8 values are scaled to [0, 1];
//! f32 values are taken as they are and must be finite.

use std::io::Write;
use std::path::Path;

use npyz::{DType, NpyFile, NpyHeader, TypeChar, WriterBuilder};

use super::{mapped, DataError};

/// A decoded npy array as f32, with its shape.
#[derive(Clone, Debug)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    /// Whether the file held bytes (scaled by 1/255) rather than floats.
    pub from_u8: bool,
}

/// Parses npy bytes; `path` is only used in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<NpyArray, DataError> {
    let bad = |problem: String| DataError::BadNpy {
        path: path.to_path_buf(),
        problem,
    };
    precheck_shape(path, bytes)?;
    let mut rest: &[u8] = bytes;
    let header = NpyHeader::from_reader(&mut rest).map_err(|e| bad(format!("header: {e}")))?;
    let shape: Vec<u64> = header.shape().to_vec();
    let (from_u8, item) = match header.dtype() {
        DType::Plain(ts) => match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => (false, 4u64),
            (TypeChar::Uint, 1) => (true, 1),
            (c, s) => {
                return Err(bad(format!(
                    "dtype {c:?}{s} is not supported (use float32 or uint8)"
                )))
            }
        },
        other => {
            return Err(bad(format!(
                "structured dtype {} is not supported",
                other.descr()
            )))
        }
    };
    if header.order() == npyz::Order::Fortran {
        return Err(bad(
            "Fortran-ordered arrays are not supported; save with C order".into(),
        ));
    }
    if shape.is_empty() || shape.len() > 4 {
        return Err(DataError::AbsurdDims {
            path: path.to_path_buf(),
            dims: shape,
            why: "expected 1 to 4 dimensions",
        });
    }
    if shape.contains(&0) {
        return Err(DataError::AbsurdDims {
            path: path.to_path_buf(),
            dims: shape,
            why: "a dimension is zero",
        });
    }
    let elements = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let expected = elements.and_then(|e| e.checked_mul(item));
    let actual = rest.len() as u64;
    match expected {
        None => {
            return Err(DataError::AbsurdDims {
                path: path.to_path_buf(),
                dims: shape,
                why: "element count overflows",
            })
        }
        Some(e) if e > actual => {
            let header_len = bytes.len() as u64 - actual;
            return Err(DataError::Truncated {
                path: path.to_path_buf(),
                expected: e.saturating_add(header_len),
                actual: bytes.len() as u64,
            });
        }
        Some(e) if e < actual => {
            return Err(DataError::TrailingBytes {
                path: path.to_path_buf(),
                extra: actual - e,
            })
        }
        Some(_) => {}
    }
    let file = NpyFile::with_header(header, rest);
    let values: Vec<f32> = if from_u8 {
        let raw: Vec<u8> = file.into_vec().map_err(|e| bad(format!("payload: {e}")))?;
        raw.into_iter().map(|b| f32::from(b) / 255.0).collect()
    } else {
        file.into_vec().map_err(|e| bad(format!("payload: {e}")))?
    };
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(DataError::NonFinite {
            path: path.to_path_buf(),
            index,
            value,
        });
    }
    Ok(NpyArray {
        shape: shape.iter().map(|&d| d as usize).collect(),
        values,
        from_u8,
    })
}

/// Refuses a header whose shape multiplies past u64 before npyz sees it: npyz multiplies the
/// dimensions unchecked. Anything this cannot read is left for npyz to judge.
fn precheck_shape(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let Some(text) = bytes
        .get(..bytes.len().min(65_536 + 12))
        .map(String::from_utf8_lossy)
    else {
        return Ok(());
    };
    let Some(at) = text.find("'shape'") else {
        return Ok(());
    };
    let after = &text[at..];
    let (Some(open), Some(close)) = (after.find('('), after.find(')')) else {
        return Ok(());
    };
    if close < open {
        return Ok(());
    }
    let dims: Vec<u64> = after[open + 1..close]
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    // 8 bytes per element is the largest item size accepted or reported on.
    let fits = dims
        .iter()
        .try_fold(8u64, |acc, &d| acc.checked_mul(d))
        .is_some();
    if fits {
        return Ok(());
    }
    Err(DataError::AbsurdDims {
        path: path.to_path_buf(),
        dims,
        why: "element count overflows",
    })
}

/// Reads an `.npy` file through a read-only map.
pub fn read(path: &Path) -> Result<NpyArray, DataError> {
    let map = mapped::map(path)?;
    parse(path, &map)
}

/// Encodes a row-major f32 array of `shape` as npy bytes.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(128 + values.len() * 4);
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut bytes)
        .begin_nd()?;
    writer.extend(values.iter().copied())?;
    writer.finish()?;
    Ok(bytes)
}

/// Encodes a row-major u8 array of `shape` as npy bytes.
pub fn encode_u8(shape: &[usize], values: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut bytes)
        .begin_nd()?;
    writer.extend(values.iter().copied())?;
    writer.finish()?;
    bytes.flush()?;
    Ok(bytes)
}
