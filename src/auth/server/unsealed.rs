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
    time::{Duration, Instant},
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

/// The memo: unsealed session cookies by their sealed values' key, bounded in count and
/// age (it is only a cache; a miss unseals again).
#[derive(Default)]
pub(super) struct UnsealedSessions {
    entries: Mutex<HashMap<[u8; 32], Remembered>>,
}

/// One memo entry: when it was added, and what the cookies unsealed to.
type Remembered = (Instant, Arc<Unsealed>);

impl UnsealedSessions {
    /// Bounds memory: at this many entries the old ones are dropped, then all.
    const CAPACITY: usize = 10_000;
    /// Entries older than this are dropped when the map is swept: a session's cookies
    /// change at each refresh, so old entries are mostly of sessions that moved on
    /// (`scripts/soak.sh` adds about 500 a minute for 200 people refreshing every 25 s).
    /// A live session whose entry went costs one more unsealing.
    const MAX_AGE: Duration = Duration::from_secs(600);
    /// The map is swept whenever it reaches a multiple of this size.
    const SWEEP_EVERY: usize = 512;

    /// The unsealed cookies for `sealed`, if remembered.
    pub(super) fn get(&self, sealed: &SealedValues<'_>) -> Option<Arc<Unsealed>> {
        // Hashed before the lock is taken: the values are kilobytes.
        let key = sealed.key();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&key).map(|(_, unsealed)| unsealed.clone())
    }

    /// Remembers what `sealed` unsealed to.
    pub(super) fn insert(&self, sealed: &SealedValues<'_>, unsealed: Arc<Unsealed>) {
        let key = sealed.key();
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let len = entries.len();
        if len >= Self::CAPACITY || (len > 0 && len.is_multiple_of(Self::SWEEP_EVERY)) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < Self::MAX_AGE);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (now, unsealed));
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
        memo.insert(&sealed, unsealed("t1"));
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
            memo.insert(&sealed, unsealed(value));
        }
        assert!(memo.len() <= UnsealedSessions::CAPACITY);
    }
}
