//! `.npy` arrays (f32 or u8, C order) through the npyz crate. u8 values are scaled to [0, 1];
//! f32 values are taken as they are and must be finite.

use std::io::Write;
use std::path::Path;

use npyz::{DType, NpyFile, NpyHeader, TypeChar, WriterBuilder};

use super::{file_bytes, DataError, Values};

/// A decoded npy array with its shape: uint8 arrays stay bytes, float32 ones are f32.
#[derive(Clone, Debug)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub values: Values,
}

/// Parses npy bytes; `path` is only used in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<NpyArray, DataError> {
    let bad = |problem: String| DataError::BadNpy {
        path: path.to_path_buf(),
        problem,
    };
    precheck_header(path, bytes)?;
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
    let values = if from_u8 {
        Values::Bytes(
            file.into_vec::<u8>()
                .map_err(|e| bad(format!("payload: {e}")))?
                .into(),
        )
    } else {
        let floats: Vec<f32> = file.into_vec().map_err(|e| bad(format!("payload: {e}")))?;
        if let Some((index, &value)) = floats.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DataError::NonFinite {
                path: path.to_path_buf(),
                index,
                value,
            });
        }
        Values::Floats(floats)
    };
    Ok(NpyArray {
        shape: shape.iter().map(|&d| d as usize).collect(),
        values,
    })
}

/// The deepest bracket nesting a header may have: a supported header has 2
/// (`{'shape': (2, 3), ...}`), a structured dtype with a sub-array shape 4.
const MAX_HEADER_NESTING: usize = 4;

/// Checks the header framing before npyz sees it (both found by `fuzz/` target `npy`):
/// - the header length must fit in the bytes that follow its length field: npyz allocates the
///   length it reads (up to 4 GiB in format 2 and 3) before reading, so a 150-byte file could
///   ask for gigabytes;
/// - brackets must not nest deeper than [`MAX_HEADER_NESTING`]: npyz's header parser backtracks
///   exponentially in the nesting of `[` and `{` (ten levels took seconds, twenty would take
///   hours, and deeper ones exhaust the stack).
fn precheck_header(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Ok(());
    }
    let (start, len) = match bytes.get(6..8) {
        Some([1, 0]) => (
            10usize,
            bytes
                .get(8..10)
                .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))),
        ),
        Some([2 | 3, 0]) => (
            12,
            bytes
                .get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        // npyz refuses other versions before reading any length.
        _ => return Ok(()),
    };
    let Some(len) = len else {
        return Ok(());
    };
    let end = start as u64 + u64::from(len);
    let Some(header) = usize::try_from(end)
        .ok()
        .and_then(|end| bytes.get(start..end))
    else {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: end,
            actual: bytes.len() as u64,
        });
    };
    if !nesting_within(header, MAX_HEADER_NESTING) {
        return Err(DataError::BadNpy {
            path: path.to_path_buf(),
            problem: format!("header: brackets nest deeper than {MAX_HEADER_NESTING} levels"),
        });
    }
    Ok(())
}

/// Whether no bracket in the Python literal `text` nests deeper than `max` (brackets inside
/// quoted strings do not count). A linear scan: malformed text is left to npyz to refuse.
fn nesting_within(text: &[u8], max: usize) -> bool {
    let (mut depth, mut quote, mut escaped) = (0usize, None, false);
    for &b in text {
        if let Some(q) = quote {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                _ if b == q => quote = None,
                _ => {}
            }
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
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

/// Reads an `.npy` file.
pub fn read(path: &Path) -> Result<NpyArray, DataError> {
    let bytes = file_bytes::read(path)?;
    parse(path, &bytes)
}

/// Writes a row-major array of `shape` as npy to `out`, streamed (no copy of the array): the one
/// npy writer, for every element type npyz serialises.
pub fn encode<T, W>(out: W, shape: &[usize], values: &[T]) -> std::io::Result<()>
where
    T: npyz::AutoSerialize + Copy,
    W: Write,
{
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(out)
        .begin_nd()?;
    writer.extend(values.iter().copied())?;
    writer.finish()
}

/// Encodes a row-major f32 array of `shape` as npy bytes.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(128 + values.len() * 4);
    encode(&mut bytes, shape, values)?;
    Ok(bytes)
}

/// Encodes a row-major u8 array of `shape` as npy bytes.
pub fn encode_u8(shape: &[usize], values: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(128 + values.len());
    encode(&mut bytes, shape, values)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input `fuzz/` target `npy` found (152 bytes): a valid format-2 file whose header
    /// length field says 0x8b000074 (2.3 GB). npyz allocated that much before reading.
    #[test]
    fn a_header_length_past_the_end_is_refused_before_allocating() {
        let mut bytes = b"\x93NUMPY\x02\x00\x74\x00\x00\x8b".to_vec();
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        bytes.extend_from_slice(format!("{dict:<115}\n").as_bytes());
        bytes.extend_from_slice(&[
            0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0, 0, 0, 0x3e, 0x95, 0xbf, 0xd6, 0x33,
            0, 0, 0x40, 0x40,
        ]);
        assert_eq!(bytes.len(), 152);
        match parse(Path::new("x.npy"), &bytes) {
            Err(DataError::Truncated {
                expected, actual, ..
            }) => {
                assert_eq!(expected, 12 + 0x8b00_0074);
                assert_eq!(actual, 152);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        // The same file with its true header length parses.
        bytes[8..12].copy_from_slice(&116u32.to_le_bytes());
        let array = parse(Path::new("x.npy"), &bytes).expect("valid");
        assert_eq!(array.shape, vec![3, 2]);
        // A format-1 length past the end too.
        let mut v1 = encode_f32(&[2], &[1.0, 2.0]).expect("encode");
        v1[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            parse(Path::new("x.npy"), &v1),
            Err(DataError::Truncated {
                expected: 65_545,
                ..
            })
        ));
    }

    /// The input `fuzz/` target `npy` found next (179 bytes): ten nested `{` in the header took
    /// npyz 19 s to refuse (twice the time per level).
    #[test]
    fn deeply_nested_headers_are_refused_without_parsing() {
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        bytes.extend_from_slice(
            format!("{:37}{}  {}", "", "{".repeat(10), "6".repeat(83)).as_bytes(),
        );
        bytes.extend_from_slice(&[b' '; 18]);
        bytes.extend_from_slice(&[0; 11]);
        bytes.extend_from_slice(&[0xbf, 0xd6, 0x33, 0, 0, 0x40, 0x40, 0]);
        assert_eq!(bytes.len(), 179);
        let started = std::time::Instant::now();
        match parse(Path::new("x.npy"), &bytes) {
            Err(DataError::BadNpy { problem, .. }) => {
                assert!(problem.contains("nest"), "{problem}")
            }
            other => panic!("expected BadNpy, got {other:?}"),
        }
        assert!(started.elapsed().as_secs_f64() < 1.0);
        // Brackets inside strings do not count; four levels are allowed.
        assert!(nesting_within(
            b"{'descr': '[[[[[[', 'shape': (((1,),),)}",
            4
        ));
        assert!(!nesting_within(b"{'shape': (((((1,),),),),)}", 4));
        assert!(nesting_within(br"{'a': '\'[[[[[', 'b': [[[1]]]}", 4));
    }
}
