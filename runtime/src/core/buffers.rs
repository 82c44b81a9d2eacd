//! Buffer checks shared by the samplers and filters.

use super::CoreError;

/// Checks that `buf` holds exactly `rows * width` values.
pub fn check_len(buf: &[f32], rows: usize, width: usize) -> Result<(), CoreError> {
    let expected = rows.checked_mul(width).ok_or(CoreError::BufferLength {
        expected: usize::MAX,
        found: buf.len(),
    })?;
    if buf.len() != expected {
        return Err(CoreError::BufferLength {
            expected,
            found: buf.len(),
        });
    }
    Ok(())
}
