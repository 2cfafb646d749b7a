//! Session cookies already unsealed, remembered by the SHA-256 of their sealed values.
//!
//! Every page view of a signed-in person carries the same sealed cookies until the next
//! refresh. Unsealing them (AES-256-GCM over kilobytes of base64) and decoding the ID
//! token's claims cost more than any other part of the session check (PERFORMANCE.md).
//! Both are a pure function of the sealed values and this process's key, so the result
//! can be remembered without changing any decision: what depends on the clock or on
//! other requests (the access token's expiry, a back-channel logout) is still checked on
//! every request by the caller.

use super::cookies::AccessCookie;
use crate::oidc::IdTokenClaims;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// What a request's session cookies say, once unsealed and decoded.
pub(super) struct Unsealed {
    /// The access-token cookie's contents.
    pub access: AccessCookie,
    /// When the session started (the ID cookie's binding), 0 without an ID cookie.
    pub started_at: i64,
    /// The ID token's claims, completed from the profile cookie.
    pub profile: Option<IdTokenClaims>,
}

impl Unsealed {
    /// When the access token expires (Unix seconds): the entry is of no use after that,
    /// as the token check then fails. Read from the token without checking it, which is
    /// enough to decide when to forget; an unreadable one counts as expiring in ten
    /// minutes.
    fn expires_at(&self, now: i64) -> i64 {
        #[derive(serde::Deserialize)]
        struct Expiry {
            exp: i64,
        }
        match &self.access {
            AccessCookie::Opaque { expires_at, .. } => *expires_at,
            AccessCookie::Jwt { token } => {
                jsonwebtoken::dangerous::insecure_decode_claims::<Expiry>(token)
                    .map(|claims| claims.exp)
                    .unwrap_or_else(|_| now.saturating_add(600))
            }
        }
    }
}

/// The sealed values a session is read from, one per cookie (absent cookies empty).
pub(super) struct SealedValues<'a> {
    pub access: &'a str,
    pub id: &'a str,
    pub profile: &'a str,
}

impl SealedValues<'_> {
    /// The memo's key: the SHA-256 of every value, each preceded by its length so that
    /// no two different sets of values hash the same input.
    fn key(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for value in [self.access, self.id, self.profile] {
            hasher.update(value.len().to_le_bytes());
            hasher.update(value.as_bytes());
        }
        hasher.finalize().into()
    }
}

/// The memo: unsealed session cookies by their sealed values' key, each until its access
/// token expires, and at most [`Self::CAPACITY`] of them (it is only a cache; a miss
/// unseals again). So it holds about one entry per live session, like the validated-token
/// cache, rather than one per refresh ever seen.
#[derive(Default)]
pub(super) struct UnsealedSessions {
    entries: Mutex<HashMap<[u8; 32], Remembered>>,
}

/// One memo entry: until when it is of use (Unix seconds), and what the cookies unsealed to.
type Remembered = (i64, Arc<Unsealed>);

impl UnsealedSessions {
    /// Bounds memory: at this many entries the expired ones are dropped, then all.
    const CAPACITY: usize = 10_000;
    /// Entries are kept this long past their token's expiry (the largest clock leeway).
    const GRACE_SECS: i64 = 60;
    /// Expired entries are dropped whenever the map reaches a multiple of this size.
    const SWEEP_EVERY: usize = 512;

    /// The unsealed cookies for `sealed`, if remembered.
    pub(super) fn get(&self, sealed: &SealedValues<'_>) -> Option<Arc<Unsealed>> {
        // Hashed before the lock is taken: the values are kilobytes.
        let key = sealed.key();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&key).map(|(_, unsealed)| unsealed.clone())
    }

    /// Remembers what `sealed` unsealed to, at `now` (Unix seconds).
    pub(super) fn insert(&self, sealed: &SealedValues<'_>, unsealed: Arc<Unsealed>, now: i64) {
        let key = sealed.key();
        let until = unsealed.expires_at(now).saturating_add(Self::GRACE_SECS);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let len = entries.len();
        if len >= Self::CAPACITY || (len > 0 && len.is_multiple_of(Self::SWEEP_EVERY)) {
            entries.retain(|_, (until, _)| *until > now);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (until, unsealed));
    }

    /// How many entries it holds (for the memory log).
    pub(super) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsealed(token: &str) -> Arc<Unsealed> {
        Arc::new(Unsealed {
            access: AccessCookie::Jwt {
                token: token.into(),
            },
            started_at: 1,
            profile: None,
        })
    }

    #[test]
    fn only_the_exact_same_values_hit() {
        let memo = UnsealedSessions::default();
        let sealed = SealedValues {
            access: "aaa",
            id: "bbb",
            profile: "",
        };
        memo.insert(&sealed, unsealed("t1"), 0);
        let hit = memo.get(&sealed).expect("remembered");
        assert_eq!(hit.access.token(), "t1");
        for other in [
            SealedValues {
                access: "aab",
                id: "bbb",
                profile: "",
            },
            // The same bytes split differently between the cookies.
            SealedValues {
                access: "aaab",
                id: "bb",
                profile: "",
            },
            SealedValues {
                access: "aaa",
                id: "bbb",
                profile: "c",
            },
            SealedValues {
                access: "aaa",
                id: "",
                profile: "bbb",
            },
        ] {
            assert!(memo.get(&other).is_none());
        }
    }

    #[test]
    fn entries_of_expired_tokens_are_swept() {
        let memo = UnsealedSessions::default();
        let opaque = |n: usize, expires_at: i64| {
            Arc::new(Unsealed {
                access: AccessCookie::Opaque {
                    token: n.to_string(),
                    expires_at,
                },
                started_at: 1,
                profile: None,
            })
        };
        let values: Vec<String> = (0..UnsealedSessions::SWEEP_EVERY + 1)
            .map(|n| n.to_string())
            .collect();
        // Half of them expired long ago, by the time the map is swept.
        for (n, value) in values.iter().enumerate() {
            let expires_at = if n % 2 == 0 { 100 } else { 10_000 };
            let sealed = SealedValues {
                access: value,
                id: "",
                profile: "",
            };
            memo.insert(&sealed, opaque(n, expires_at), 1_000);
        }
        assert!(
            memo.len() <= UnsealedSessions::SWEEP_EVERY / 2 + 2,
            "{}",
            memo.len()
        );
        let live = SealedValues {
            access: &values[1],
            id: "",
            profile: "",
        };
        assert!(memo.get(&live).is_some(), "live entries stay");
    }

    #[test]
    fn the_memo_stays_bounded() {
        let memo = UnsealedSessions::default();
        let values: Vec<String> = (0..UnsealedSessions::CAPACITY + 10)
            .map(|n| n.to_string())
            .collect();
        for value in &values {
            let sealed = SealedValues {
                access: value,
                id: "",
                profile: "",
            };
            memo.insert(&sealed, unsealed(value), 0);
        }
        assert!(memo.len() <= UnsealedSessions::CAPACITY);
    }
}
