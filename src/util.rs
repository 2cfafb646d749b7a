//! Small helpers shared across the server: random tokens, constant-time comparison and
//! the clock.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;

/// 32 random bytes from the operating system, base64url without padding (43
/// characters): `state`, `nonce`, PKCE verifiers, session bindings, lock owners.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares secrets without revealing, through timing, where they first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Now, in seconds since the Unix epoch (the unit of JWT times).
pub fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// A Unix time as people read it: `2026-11-27 10:20:00 UTC`.
pub fn format_utc(unix: i64) -> String {
    use time::{format_description::well_known::Rfc3339, OffsetDateTime};
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => t
            .format(&Rfc3339)
            .map(|s| s.replacen('T', " ", 1).replace('Z', " UTC"))
            .unwrap_or_else(|_| unix.to_string()),
        Err(_) => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
    }
}
