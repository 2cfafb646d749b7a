//! The provider's signing keys, cached in memory.
//!
//! Scalekit's SDKs either cache the key set for the life of the process (so a key
//! rotation breaks them until restart) or fetch it on every call (so every request costs
//! a round trip). This cache does neither: keys are served from memory, and a token
//! signed with a key id we do not know triggers one refetch, at most once per
//! `min_refetch_interval`, so a flood of forged key ids cannot make us hammer the provider.
//!
//! That budget must not let an attacker lock real people out after a key rotation: a
//! token that just came from the token endpoint ([`KeySource::TokenEndpoint`]: we asked
//! the provider for it over TLS) may always cause one refetch of its own. Tokens anyone
//! can send ([`KeySource::Untrusted`]: bearer tokens, IdP-initiated tokens, cookies) share
//! the rate-limited budget.

use super::{Breaker, OidcError};
use jsonwebtoken::{
    jwk::{Jwk, PublicKeyUse},
    DecodingKey,
};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};
use url::Url;

#[derive(Default)]
struct FetchState {
    loaded: bool,
    last_refetch: Option<Instant>,
}

/// Where a token being verified came from: who may make us refetch the key set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Just received from the provider's token endpoint: may always refetch once.
    TokenEndpoint,
    /// Presented by a client: refetches are rate-limited.
    Untrusted,
}

/// What the key set says about a token's `kid`.
pub enum KeyLookup {
    /// The key that verifies it.
    Found(DecodingKey),
    /// No such key, even in a freshly fetched set.
    Unknown,
    /// Not in the set, which was refetched too recently to look again: a key the provider
    /// has only just published may be known in a moment.
    RefetchDeferred,
}

#[derive(Clone)]
struct CachedKey {
    kid: Option<String>,
    key: DecodingKey,
}

/// An in-memory cache of one provider's JSON Web Key Set.
pub struct JwksCache {
    jwks_uri: Url,
    http: reqwest::Client,
    breaker: Option<Arc<Breaker>>,
    min_refetch_interval: Duration,
    keys: RwLock<Vec<CachedKey>>,
    /// Serialises fetches; holds whether the set was loaded and when it was last
    /// refetched for an unknown key id.
    fetch_state: tokio::sync::Mutex<FetchState>,
    fetches: AtomicU64,
}

impl JwksCache {
    /// An empty cache; the key set is fetched when a token first needs it.
    pub fn new(http: reqwest::Client, jwks_uri: Url, min_refetch_interval: Duration) -> Self {
        JwksCache {
            jwks_uri,
            http,
            breaker: None,
            min_refetch_interval,
            keys: RwLock::new(Vec::new()),
            fetch_state: tokio::sync::Mutex::new(FetchState::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Fetches go through `breaker` (the provider's circuit breaker).
    pub fn guarded_by(mut self, breaker: Arc<Breaker>) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// How many times the key set has been fetched from the provider.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key that verifies a token whose header names `kid`.
    ///
    /// A token without `kid` is accepted only while the key set holds exactly one key.
    /// An unknown `kid` causes one refetch (rate-limited); if it is still unknown, the
    /// answer is [`KeyLookup::Unknown`], and [`KeyLookup::RefetchDeferred`] when the
    /// rate limit kept us from looking.
    pub async fn key_for(
        &self,
        kid: Option<&str>,
        source: KeySource,
    ) -> Result<KeyLookup, OidcError> {
        if let Some(key) = self.lookup(kid) {
            return Ok(KeyLookup::Found(key));
        }
        let mut fetch_state = self.fetch_state.lock().await;
        // Another task may have fetched while we waited for the lock.
        if let Some(key) = self.lookup(kid) {
            return Ok(KeyLookup::Found(key));
        }
        if fetch_state.loaded {
            // The set is loaded and still lacks this key: refetch (a rotation). Fetches
            // are serialised by this lock, so even trusted tokens cost one each at most.
            let budget_spent = fetch_state
                .last_refetch
                .is_some_and(|at| at.elapsed() < self.min_refetch_interval);
            match source {
                KeySource::TokenEndpoint => {}
                KeySource::Untrusted if budget_spent => return Ok(KeyLookup::RefetchDeferred),
                KeySource::Untrusted => fetch_state.last_refetch = Some(Instant::now()),
            }
        }
        let keys = self.fetch().await?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        fetch_state.loaded = true;
        Ok(self
            .lookup(kid)
            .map_or(KeyLookup::Unknown, KeyLookup::Found))
    }

    fn lookup(&self, kid: Option<&str>) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        match kid {
            Some(kid) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .map(|k| k.key.clone()),
            None if keys.len() == 1 => Some(keys[0].key.clone()),
            None => None,
        }
    }

    async fn fetch(&self) -> Result<Vec<CachedKey>, OidcError> {
        match &self.breaker {
            Some(breaker) => breaker.call(self.fetch_now()).await,
            None => self.fetch_now().await,
        }
    }

    async fn fetch_now(&self) -> Result<Vec<CachedKey>, OidcError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let endpoint = self.jwks_uri.to_string();
        let response = self
            .http
            .get(self.jwks_uri.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OidcError::from_http(&endpoint, e))?;
        if !response.status().is_success() {
            return Err(OidcError::UnexpectedStatus {
                endpoint,
                status: response.status().as_u16(),
            });
        }
        let body = super::http::read_body(response, &endpoint).await?;
        let keys = parse_key_set(&body).map_err(|message| OidcError::Malformed {
            endpoint: endpoint.clone(),
            message,
        })?;
        tracing::info!(jwks_uri = %endpoint, keys = keys.len(), "fetched the provider's signing keys");
        Ok(keys)
    }
}

/// Keeps the signature keys of a JWKS document that this library can use. Keys it cannot
/// read (a new key type, say) are skipped one by one rather than failing the whole set.
fn parse_key_set(body: &[u8]) -> Result<Vec<CachedKey>, String> {
    #[derive(serde::Deserialize)]
    struct RawKeySet {
        keys: Vec<serde_json::Value>,
    }
    let set: RawKeySet = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let keys = set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| jwk.is_supported())
        .filter(|jwk| {
            !matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature)
        })
        .filter_map(|jwk| {
            DecodingKey::from_jwk(&jwk).ok().map(|key| CachedKey {
                kid: jwk.common.key_id.clone(),
                key,
            })
        })
        .collect();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_JWK: &str = r#"{"kty":"RSA","kid":"snk_1","use":"sig","alg":"RS256",
        "n":"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw","e":"AQAB"}"#;

    #[test]
    fn keeps_signature_keys_and_skips_encryption_and_unsupported_ones() {
        let enc = RSA_JWK
            .replace(r#""use":"sig""#, r#""use":"enc""#)
            .replace("snk_1", "enc_1");
        let body = format!(
            r#"{{"keys":[{RSA_JWK},{enc},{{"kty":"oct","kid":"h","k":"c2VjcmV0"}},{{"kty":"weird","kid":"w"}}]}}"#
        );
        let keys = parse_key_set(body.as_bytes()).unwrap();
        // The `oct` (HMAC) key is "supported" by the crate but is never trusted: our
        // algorithm allow-list has no HS* entry, so it cannot verify anything (see validate.rs).
        let kids: Vec<_> = keys
            .iter()
            .map(|k| k.kid.clone().unwrap_or_default())
            .collect();
        assert!(kids.contains(&"snk_1".to_string()));
        assert!(!kids.contains(&"enc_1".to_string()));
        assert!(!kids.contains(&"w".to_string()));
    }

    #[test]
    fn malformed_key_sets_are_errors() {
        assert!(parse_key_set(b"not json").is_err());
        assert!(parse_key_set(br#"{"nokeys":[]}"#).is_err());
    }
}
