//! A graph's checksum as the manifest writes it: the SHA-256 of the file as 64 lower-case hex
//! digits. Written once, here: the exporter writes it, and the runtime and the Triton writer
//! compare a file's digest with it.

use heapless::String;

/// Hex digits in a SHA-256 checksum.
pub const SHA256_HEX_DIGITS: usize = 64;

/// `digest` (a SHA-256) as the manifest's text.
pub fn sha256_hex(digest: &[u8; 32]) -> String<SHA256_HEX_DIGITS> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::new();
    for byte in digest {
        for nibble in [byte >> 4, byte & 0xf] {
            // 32 bytes make exactly SHA256_HEX_DIGITS characters: the push cannot overflow.
            let _ = text.push(char::from(DIGITS[usize::from(nibble)]));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_two_lower_case_digits_high_nibble_first() {
        let mut digest = [0u8; 32];
        digest[0] = 0xa5;
        digest[1] = 0x0f;
        digest[31] = 0xff;
        let text = sha256_hex(&digest);
        assert_eq!(text.len(), SHA256_HEX_DIGITS);
        assert!(text.starts_with("a50f00"));
        assert!(text.ends_with("00ff"));
    }
}
