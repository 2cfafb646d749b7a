//! This process's memory: the store of a single instance, and every instance's fallback
//! while Redis is unreachable. Every map is bounded.

use super::{RefreshResult, SessionEnd};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::OnceCell;

/// A map sweeps its expired entries once it has grown by this much (or doubled) since
/// its last sweep, so it tracks what is live rather than history, at an amortised
/// constant cost per insert.
const SWEEP_EVERY: usize = 1024;

/// One shared refresh call and when it started.
type SharedRefresh = (Instant, Arc<OnceCell<RefreshResult>>);

/// The in-process store.
pub struct LocalStore {
    refresh_grace: Duration,
    capacity: usize,
    refreshes: Mutex<HashMap<[u8; 32], SharedRefresh>>,
    /// Per namespace (webhook ids, logout-token ids), so a flood of one kind cannot push
    /// the other out.
    seen: Mutex<HashMap<String, Bounded<Instant>>>,
    ended: Mutex<Bounded<(i64, Instant)>>,
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

/// A map of entries that each expire, holding at most `capacity` of them.
struct Bounded<V> {
    entries: HashMap<String, V>,
    capacity: usize,
    /// The size at which the next sweep runs.
    next_sweep: usize,
}

impl<V> Bounded<V> {
    fn new(capacity: usize) -> Self {
        Bounded {
            entries: HashMap::new(),
            capacity,
            next_sweep: SWEEP_EVERY.min(capacity),
        }
    }

    /// Makes room for one more entry. Expired entries go once the map has grown enough
    /// since the last sweep. A map that was full is then cut to nine tenths of its
    /// capacity, forgetting exactly the entries closest to expiry (the oldest), never
    /// everything: forgetting every ended session at once would let their stolen cookies
    /// back in. Cutting a tenth, not just what expired, keeps the next sweep a tenth of
    /// the capacity away, so the work per insert stays constant.
    fn make_room(&mut self, now: Instant, until: impl Fn(&V) -> Instant) {
        let len = self.entries.len();
        if len < self.next_sweep {
            return;
        }
        self.entries.retain(|_, v| until(v) > now);
        let keep = self.capacity - self.capacity / 10;
        let excess = self.entries.len().saturating_sub(keep);
        if len >= self.capacity && excess > 0 {
            let mut deadlines: Vec<Instant> = self.entries.values().map(&until).collect();
            let (_, cut, _) = deadlines.select_nth_unstable(excess - 1);
            let cut = *cut;
            // Everything before the cut goes, and as many entries tied with it as make
            // up exactly `excess`.
            let before = deadlines.iter().filter(|d| **d < cut).count();
            let mut tied = excess.saturating_sub(before);
            self.entries.retain(|_, v| {
                let deadline = until(v);
                if deadline < cut {
                    false
                } else if deadline == cut && tied > 0 {
                    tied -= 1;
                    false
                } else {
                    true
                }
            });
        }
        let len = self.entries.len();
        self.next_sweep = len
            .saturating_add(SWEEP_EVERY)
            .max(len.saturating_mul(2))
            .min(self.capacity);
    }
}

/// How many entries each map of the in-process store holds (the soak's memory report).
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalSizes {
    pub refresh_calls: usize,
    pub seen_ids: usize,
    pub ended_sessions: usize,
}

impl LocalStore {
    /// An empty store sharing refresh results for `refresh_grace`, with at most
    /// `capacity` entries per map.
    pub fn new(refresh_grace: Duration, capacity: usize) -> Self {
        LocalStore {
            refresh_grace,
            capacity: capacity.max(10),
            refreshes: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            ended: Mutex::new(Bounded::new(capacity.max(10))),
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
        let mut namespaces = lock(&self.seen);
        let seen = namespaces
            .entry(namespace.to_string())
            .or_insert_with(|| Bounded::new(self.capacity));
        let now = Instant::now();
        let key = hash_hex(id);
        match seen.entries.get(&key) {
            Some(until) if *until > now => false,
            _ => {
                seen.make_room(now, |until| *until);
                seen.entries.insert(key, now + ttl);
                true
            }
        }
    }

    /// Remembers an ended session for `retain`.
    pub fn end_session(&self, end: &SessionEnd, retain: Duration) {
        let mut ended = lock(&self.ended);
        let now = Instant::now();
        let key = match (&end.sid, &end.sub) {
            (Some(sid), _) => ended_key("sid", &end.issuer, sid),
            (None, Some(sub)) => ended_key("sub", &end.issuer, sub),
            (None, None) => return,
        };
        ended.make_room(now, |(_, until)| *until);
        ended.entries.insert(key, (end.at, now + retain));
    }

    /// True when the session was ended here.
    pub fn is_ended(&self, issuer: &str, sid: Option<&str>, sub: &str, started_at: i64) -> bool {
        let ended = &lock(&self.ended).entries;
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

    /// How many entries each map holds.
    pub fn sizes(&self) -> LocalSizes {
        LocalSizes {
            refresh_calls: lock(&self.refreshes).len(),
            seen_ids: lock(&self.seen).values().map(|s| s.entries.len()).sum(),
            ended_sessions: lock(&self.ended).entries.len(),
        }
    }

    /// True once any session was ended here.
    pub fn has_ended_sessions(&self) -> bool {
        !lock(&self.ended).entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_sessions_by_sid_or_by_everything_of_a_sub_before_the_logout() {
        let store = LocalStore::new(Duration::from_secs(10), 1000);
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
    fn a_full_store_forgets_its_oldest_ended_sessions_not_all_of_them() {
        let store = LocalStore::new(Duration::from_secs(10), 100);
        for i in 0..150u64 {
            store.end_session(
                &SessionEnd {
                    issuer: "i".into(),
                    sid: Some(format!("s{i}")),
                    sub: None,
                    at: 100,
                },
                Duration::from_secs(1000 + i),
            );
        }
        assert!(store.sizes().ended_sessions <= 100);
        let remembered = (0..150)
            .filter(|i| store.is_ended("i", Some(&format!("s{i}")), "u", 50))
            .count();
        assert!(
            remembered >= 90,
            "only {remembered} of 150 ended sessions remembered"
        );
        assert!(store.is_ended("i", Some("s149"), "u", 50), "the newest");
        assert!(
            !store.is_ended("i", Some("s0"), "u", 50),
            "the oldest went first"
        );
    }

    #[test]
    fn a_full_map_whose_entries_all_expire_together_keeps_nine_tenths() {
        let mut map = Bounded::new(100);
        let until = Instant::now() + Duration::from_secs(60);
        for i in 0..150 {
            map.make_room(Instant::now(), |until| *until);
            map.entries.insert(format!("k{i}"), until);
            assert!(
                (90..=100).contains(&map.entries.len()) || i < 90,
                "{} entries after {} inserts",
                map.entries.len(),
                i + 1
            );
        }
    }

    #[test]
    fn a_full_map_is_cut_to_nine_tenths_so_sweeps_stay_rare() {
        let mut map = Bounded::new(100);
        let start = Instant::now();
        let mut sweeps = 0;
        for i in 0..1000u64 {
            // One second passes per insert and each entry lives 99 s: as many entries
            // expire as arrive, and the live count sits just under the capacity.
            let now = start + Duration::from_secs(i);
            if map.entries.len() >= map.next_sweep {
                sweeps += 1;
            }
            map.make_room(now, |until| *until);
            map.entries
                .insert(format!("k{i}"), now + Duration::from_secs(99));
            assert!(map.entries.len() <= 100);
        }
        assert!(sweeps <= 100, "{sweeps} sweeps for 1000 inserts");
    }

    #[test]
    fn a_flood_of_one_kind_of_id_does_not_push_out_another() {
        let store = LocalStore::new(Duration::from_secs(10), 100);
        assert!(store.first_time("logout", "jti-1", Duration::from_secs(100)));
        for i in 0..500 {
            store.first_time("webhook", &format!("msg_{i}"), Duration::from_secs(1000));
        }
        assert!(
            !store.first_time("logout", "jti-1", Duration::from_secs(100)),
            "the logout token's id was forgotten: it could be replayed"
        );
    }

    #[test]
    fn ids_are_new_once() {
        let store = LocalStore::new(Duration::from_secs(10), 1000);
        assert!(store.first_time("webhook", "msg_1", Duration::from_secs(60)));
        assert!(!store.first_time("webhook", "msg_1", Duration::from_secs(60)));
        assert!(
            store.first_time("logout", "msg_1", Duration::from_secs(60)),
            "per namespace"
        );
    }
}
