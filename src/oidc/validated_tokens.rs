//! Access tokens that passed full validation, remembered until they expire.

use super::validate::AccessTokenClaims;
use std::{collections::HashMap, sync::Mutex};

/// Access tokens that passed full validation, by SHA-256 of the token, until they expire.
///
/// Every page view of a signed-in person carries the same access token until it is
/// refreshed; verifying its RS256 signature each time would dominate the cost of the page.
/// A hit still re-checks `exp` and `nbf` against the clock.
#[derive(Default)]
pub(super) struct ValidatedTokens {
    entries: Mutex<HashMap<[u8; 32], AccessTokenClaims>>,
}

impl ValidatedTokens {
    /// Bounds memory: past this many live tokens, expired ones are dropped, then all
    /// (it is only a cache).
    const CAPACITY: usize = 10_000;
    /// Expired tokens are dropped whenever the cache reaches a multiple of this size, so
    /// it holds about as many tokens as there are people signed in, not every token seen.
    const SWEEP_EVERY: usize = 512;

    fn key(token: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(token.as_bytes()).into()
    }

    pub(super) fn get(&self, token: &str, now: i64, leeway: i64) -> Option<AccessTokenClaims> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let claims = entries.get(&Self::key(token))?;
        // The claims are the provider's: no overflow on whatever it put in them.
        let unexpired = claims.exp.saturating_add(leeway) > now;
        let started = claims
            .nbf
            .is_none_or(|nbf| nbf.saturating_sub(leeway) <= now);
        (unexpired && started).then(|| claims.clone())
    }

    pub(super) fn insert(&self, token: &str, claims: &AccessTokenClaims, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let len = entries.len();
        if len > 0 && len.is_multiple_of(Self::SWEEP_EVERY) {
            entries.retain(|_, c| c.exp > now);
        }
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, c| c.exp > now);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(Self::key(token), claims.clone());
    }

    pub(super) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64, nbf: Option<i64>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "i".into(),
            sub: "usr_1".into(),
            aud: vec!["c".into()],
            exp,
            iat: None,
            nbf,
            sid: None,
            oid: None,
            jti: None,
            roles: vec![],
            permissions: vec![],
            scope: None,
        }
    }

    #[test]
    fn validated_tokens_are_served_only_inside_their_time_window() {
        let cache = ValidatedTokens::default();
        cache.insert("token-a", &claims(1_000, None), 500);
        assert!(cache.get("token-a", 900, 60).is_some());
        assert!(
            cache.get("token-a", 1_059, 60).is_some(),
            "within the leeway"
        );
        assert!(cache.get("token-a", 1_060, 60).is_none(), "expired");
        assert!(cache.get("token-b", 900, 60).is_none(), "another token");
        cache.insert("token-c", &claims(2_000, Some(1_500)), 500);
        assert!(cache.get("token-c", 1_000, 60).is_none(), "not valid yet");
        assert!(cache.get("token-c", 1_450, 60).is_some());
        cache.insert("token-d", &claims(i64::MAX, Some(i64::MIN)), 500);
        assert!(
            cache.get("token-d", 1_000, 60).is_some(),
            "extreme claims do not overflow"
        );
    }
}
