//! IDX files (the MNIST format), gzipped or raw. Header: two zero bytes, an element-type code, the
//! number of dimensions, then each dimension as a big-endian u32; the payload follows row-major.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::{file_bytes, DataError, Values};
use crate::mapped_vec::MappedVec;

/// Refuse headers that claim more than this many elements (4 GiB of u8, 16 GiB of f32); below
/// that, memory is only committed as payload bytes actually arrive.
const MAX_ELEMENTS: u64 = 1 << 32;
const MAX_DIMS: u8 = 4;
/// Address space reserved up front for a gzip file's payload (committed only as it is written).
const PAYLOAD_RESERVE: usize = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    U8,
    F32,
}

impl IdxType {
    fn from_code(code: u8, path: &Path) -> Result<Self, DataError> {
        match code {
            0x08 => Ok(IdxType::U8),
            0x0d => Ok(IdxType::F32),
            _ => Err(DataError::UnsupportedIdxType {
                path: path.to_path_buf(),
                code,
            }),
        }
    }

    fn size(self) -> u64 {
        match self {
            IdxType::U8 => 1,
            IdxType::F32 => 4,
        }
    }
}

/// A decoded IDX array with its dimensions: u8 payloads stay bytes, f32 ones are decoded.
#[derive(Clone, Debug)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub elem: IdxType,
    pub values: Values,
}

struct Header {
    elem: IdxType,
    dims: Vec<u64>,
    payload_bytes: u64,
}

fn parse_header(path: &Path, magic: [u8; 4], dim_bytes: &[u8]) -> Result<Header, DataError> {
    let elem = IdxType::from_code(magic[2], path)?;
    let dims: Vec<u64> = dim_bytes
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let absurd = |why| DataError::AbsurdDims {
        path: path.to_path_buf(),
        dims: dims.clone(),
        why,
    };
    if dims.contains(&0) {
        return Err(absurd("a dimension is zero"));
    }
    let mut elements: u64 = 1;
    for &d in &dims {
        elements = elements.saturating_mul(d);
    }
    if elements > MAX_ELEMENTS {
        return Err(absurd("more than 2^32 elements"));
    }
    Ok(Header {
        elem,
        payload_bytes: elements * elem.size(),
        dims,
    })
}

fn check_magic(path: &Path, magic: [u8; 4]) -> Result<u8, DataError> {
    let ndims = magic[3];
    if magic[0] != 0 || magic[1] != 0 || ndims == 0 || ndims > MAX_DIMS {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
        });
    }
    Ok(ndims)
}

/// The values of `bytes[skip..]`; a u8 payload keeps the buffer (the header is drained off it).
fn decode_payload(elem: IdxType, mut bytes: MappedVec<u8>, skip: usize) -> Values {
    match elem {
        IdxType::U8 => {
            let kept = bytes.len() - skip;
            bytes.copy_within(skip.., 0);
            bytes.truncate(kept);
            Values::Bytes(bytes)
        }
        IdxType::F32 => Values::Floats(
            bytes[skip..]
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
    }
}

fn finish(
    path: &Path,
    header: Header,
    payload: MappedVec<u8>,
    skip: usize,
) -> Result<IdxArray, DataError> {
    let values = decode_payload(header.elem, payload, skip);
    if let Values::Floats(f) = &values {
        if let Some((index, &value)) = f.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DataError::NonFinite {
                path: path.to_path_buf(),
                index,
                value,
            });
        }
    }
    Ok(IdxArray {
        dims: header.dims.iter().map(|&d| d as usize).collect(),
        elem: header.elem,
        values,
    })
}

/// Parses an uncompressed IDX image held in memory.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    let (header, header_len) = check_framing(path, bytes)?;
    finish(path, header, MappedVec::from_slice(bytes), header_len)
}

/// `parse` on a buffer it may keep: a u8 file's values are the file's own bytes, not a copy.
fn parse_owned(path: &Path, bytes: MappedVec<u8>) -> Result<IdxArray, DataError> {
    let (header, header_len) = check_framing(path, &bytes)?;
    finish(path, header, bytes, header_len)
}

/// The header, checked, and its length, once the payload is known to have exactly the promised
/// length.
fn check_framing(path: &Path, bytes: &[u8]) -> Result<(Header, usize), DataError> {
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual: bytes.len() as u64,
    };
    let magic: [u8; 4] = bytes
        .get(..4)
        .and_then(|m| m.try_into().ok())
        .ok_or_else(|| truncated(4))?;
    let ndims = check_magic(path, magic)?;
    let header_len = 4 + 4 * usize::from(ndims);
    let dim_bytes = bytes
        .get(4..header_len)
        .ok_or_else(|| truncated(header_len as u64))?;
    let header = parse_header(path, magic, dim_bytes)?;
    let expected = header_len as u64 + header.payload_bytes;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(truncated(expected));
    }
    if actual > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            extra: actual - expected,
        });
    }
    Ok((header, header_len))
}

/// Reads an IDX stream (the gzip case): header first, so a lying header is refused before any
/// large allocation, then exactly the payload it promises.
pub fn read_stream(path: &Path, mut reader: impl Read) -> Result<IdxArray, DataError> {
    let io = |e| DataError::io(path, e);
    let mut consumed: u64 = 0;
    let mut read_exact = |reader: &mut dyn Read, buf: &mut [u8], expected_total: u64| {
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(DataError::Truncated {
                        path: path.to_path_buf(),
                        expected: expected_total,
                        actual: consumed + filled as u64,
                    })
                }
                Ok(k) => filled += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        consumed += buf.len() as u64;
        Ok(())
    };
    let mut magic = [0u8; 4];
    read_exact(&mut reader, &mut magic, 4)?;
    let ndims = check_magic(path, magic)?;
    let mut dim_bytes = vec![0u8; 4 * usize::from(ndims)];
    let header_len = 4 + dim_bytes.len() as u64;
    read_exact(&mut reader, &mut dim_bytes, header_len)?;
    let header = parse_header(path, magic, &dim_bytes)?;
    let expected = header_len + header.payload_bytes;
    // Up to the promised payload and one byte more (to detect trailing data), into a mapping
    // whose pages are committed only as decoded bytes arrive (a lying header costs nothing); a
    // claim beyond PAYLOAD_RESERVE grows the mapping only with the data.
    let reserve = usize::try_from(header.payload_bytes + 1)
        .map_or(PAYLOAD_RESERVE, |n| n.min(PAYLOAD_RESERVE));
    // A system that refuses the reservation (strict overcommit) gets growth with the data.
    let mut payload = MappedVec::try_with_capacity(reserve).unwrap_or_default();
    payload
        .read_to_end(&mut (&mut reader).take(header.payload_bytes + 1))
        .map_err(io)?;
    let got = payload.len() as u64;
    if got < header.payload_bytes {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual: header_len + got,
        });
    }
    if got > header.payload_bytes {
        let rest = std::io::copy(&mut reader, &mut std::io::sink()).map_err(io)?;
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            extra: got - header.payload_bytes + rest,
        });
    }
    finish(path, header, payload, 0)
}

/// Whether the file starts with the gzip magic bytes.
pub fn is_gzip(path: &Path) -> Result<bool, DataError> {
    let mut head = [0u8; 2];
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut n = 0;
    while n < 2 {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    Ok(n == 2 && head == [0x1f, 0x8b])
}

/// Reads an IDX file: gzip (every member) is streamed through flate2, a raw file read whole.
pub fn read(path: &Path) -> Result<IdxArray, DataError> {
    if is_gzip(path)? {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        // Every gzip member, as gunzip reads them: GzDecoder stopped after the first, so data
        // after it (a second member, or garbage) was ignored instead of refused as trailing.
        read_stream(path, MultiGzDecoder::new(BufReader::new(file)))
    } else {
        parse_owned(path, file_bytes::read(path)?)
    }
}
