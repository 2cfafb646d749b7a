//! This process's memory: the store of a single instance, and every instance's fallback
//! while Redis is unreachable. Every map is bounded.

use super::{RefreshResult, SessionEnd};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::OnceCell;

/// Past this many entries a map drops its expired ones, then (still full) everything.
const CAPACITY: usize = 100_000;

/// One shared refresh call and when it started.
type SharedRefresh = (Instant, Arc<OnceCell<RefreshResult>>);

/// The in-process store.
pub struct LocalStore {
    refresh_grace: Duration,
    refreshes: Mutex<HashMap<[u8; 32], SharedRefresh>>,
    seen: Mutex<HashMap<String, Instant>>,
    ended: Mutex<HashMap<String, (i64, Instant)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The SHA-256 of `value`, as bytes.
pub fn hash(value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).into()
}

/// The SHA-256 of `value`, as lowercase hex: the form of every key the stores use.
pub fn hash_hex(value: &str) -> String {
    hash(value).iter().map(|b| format!("{b:02x}")).collect()
}

/// The key of an ended `sid` or `sub` (issuer-scoped).
pub fn ended_key(kind: &str, issuer: &str, id: &str) -> String {
    format!("{kind}:{}", hash_hex(&format!("{issuer}\0{id}")))
}

/// Keeps `map` under [`CAPACITY`]: expired entries first, then all.
fn bound<V>(map: &mut HashMap<String, V>, expired: impl Fn(&V) -> bool) {
    if map.len() >= CAPACITY {
        map.retain(|_, v| !expired(v));
        if map.len() >= CAPACITY {
            map.clear();
        }
    }
}

impl LocalStore {
    /// An empty store sharing refresh results for `refresh_grace`.
    pub fn new(refresh_grace: Duration) -> Self {
        LocalStore {
            refresh_grace,
            refreshes: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
        }
    }

    /// The shared call for this refresh token: in flight, or finished within the grace.
    pub fn refresh_call(&self, refresh_token: &str) -> Arc<OnceCell<RefreshResult>> {
        let mut calls = lock(&self.refreshes);
        let grace = self.refresh_grace;
        // Finished calls are shared for `grace`; unfinished ones (their request may have
        // been cancelled) for at most a minute.
        calls.retain(|_, (started, call)| {
            let age = started.elapsed();
            if call.initialized() {
                age < grace
            } else {
                age < Duration::from_secs(60)
            }
        });
        calls
            .entry(hash(refresh_token))
            .or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new())))
            .1
            .clone()
    }

    /// Forgets a call whose failure was transient, so the next attempt tries again.
    pub fn forget_refresh(&self, refresh_token: &str) {
        lock(&self.refreshes).remove(&hash(refresh_token));
    }

    /// True the first time `id` is seen in `namespace` within `ttl`.
    pub fn first_time(&self, namespace: &str, id: &str, ttl: Duration) -> bool {
        let mut seen = lock(&self.seen);
        let now = Instant::now();
        seen.retain(|_, until| *until > now);
        bound(&mut seen, |until| *until <= now);
        seen.insert(format!("{namespace}:{}", hash_hex(id)), now + ttl)
            .is_none()
    }

    /// Remembers an ended session for `retain`.
    pub fn end_session(&self, end: &SessionEnd, retain: Duration) {
        let mut ended = lock(&self.ended);
        let now = Instant::now();
        bound(&mut ended, |(_, until)| *until <= now);
        if let Some(sid) = &end.sid {
            ended.insert(ended_key("sid", &end.issuer, sid), (end.at, now + retain));
        } else if let Some(sub) = &end.sub {
            ended.insert(ended_key("sub", &end.issuer, sub), (end.at, now + retain));
        }
    }

    /// True when the session was ended here.
    pub fn is_ended(&self, issuer: &str, sid: Option<&str>, sub: &str, started_at: i64) -> bool {
        let ended = lock(&self.ended);
        if ended.is_empty() {
            return false;
        }
        let now = Instant::now();
        let live = |key: String| {
            ended
                .get(&key)
                .filter(|(_, until)| *until > now)
                .map(|(at, _)| *at)
        };
        sid.is_some_and(|sid| live(ended_key("sid", issuer, sid)).is_some())
            || live(ended_key("sub", issuer, sub)).is_some_and(|at| started_at <= at)
    }

    /// True once any session was ended here.
    pub fn has_ended_sessions(&self) -> bool {
        !lock(&self.ended).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_sessions_by_sid_or_by_everything_of_a_sub_before_the_logout() {
        let store = LocalStore::new(Duration::from_secs(10));
        let day = Duration::from_secs(86_400);
        store.end_session(
            &SessionEnd {
                issuer: "i".into(),
                sid: Some("s1".into()),
                sub: Some("u".into()),
                at: 100,
            },
            day,
        );
        assert!(store.is_ended("i", Some("s1"), "u", 50));
        assert!(!store.is_ended("i", Some("s2"), "u", 50), "only that sid");
        assert!(!store.is_ended("other", Some("s1"), "u", 50), "per issuer");
        store.end_session(
            &SessionEnd {
                issuer: "i".into(),
                sid: None,
                sub: Some("u".into()),
                at: 100,
            },
            day,
        );
        assert!(
            store.is_ended("i", Some("s2"), "u", 99),
            "every session of u before"
        );
        assert!(
            !store.is_ended("i", Some("s3"), "u", 101),
            "not a login after the logout"
        );
        assert!(!store.is_ended("i", None, "v", 0));
    }

    #[test]
    fn ids_are_new_once() {
        let store = LocalStore::new(Duration::from_secs(10));
        assert!(store.first_time("webhook", "msg_1", Duration::from_secs(60)));
        assert!(!store.first_time("webhook", "msg_1", Duration::from_secs(60)));
        assert!(
            store.first_time("logout", "msg_1", Duration::from_secs(60)),
            "per namespace"
        );
    }
}
