//! Sealing: the cookie key, authenticated encryption of values, and the limits and raw
//! reading of the `Cookie` header that sealing must respect.

use axum::http::HeaderMap;
use sha2::{Digest, Sha512};
use tower_cookies::{Cookie, Key};

/// Seals values with the session key (AES-256-GCM, the value's name as associated data),
/// for what the app keeps outside cookies: a refresh result shared through the store.
#[derive(Clone)]
pub struct Sealer(pub(super) Key);

impl Sealer {
    /// `value`, sealed under `name`.
    pub fn seal(&self, name: &'static str, value: String) -> String {
        let mut jar = tower_cookies::cookie::CookieJar::new();
        jar.private_mut(&self.0).add(Cookie::new(name, value));
        jar.get(name)
            .map(|c| c.value().to_string())
            .unwrap_or_default()
    }

    /// The value sealed under `name`, if it unseals.
    pub fn unseal(&self, name: &'static str, sealed: &str) -> Option<String> {
        let mut jar = tower_cookies::cookie::CookieJar::new();
        jar.add_original(Cookie::new(name, sealed.to_string()));
        jar.private(&self.0)
            .get(name)
            .map(|c| c.value().to_string())
    }
}

/// Every value of cookie `name` in the request's `Cookie` headers (the one home for
/// reading them raw: a jar keeps only one value per name).
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .collect()
}

/// Browsers drop a cookie whose, value and attributes pass 4096 bytes, silently.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// A token that does not fit in a cookie once sealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the {cookie} cookie would be {bytes} bytes once sealed; browsers keep at most {MAX_COOKIE_BYTES}")]
pub struct CookieTooLarge {
    /// Which cookie.
    pub cookie: &'static str,
    /// Its sealed size.
    pub bytes: usize,
}

/// Derives the 64-byte cookie key (encryption + signing halves) from the secret.
pub(super) fn derive_key(secret: &[u8]) -> Key {
    let mut hasher = Sha512::new();
    hasher.update(b"scalekit-leptos-starter/cookie-key/v1\0");
    hasher.update(secret);
    Key::from(&hasher.finalize())
}
