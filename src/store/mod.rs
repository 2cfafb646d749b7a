//! (Server only.) The session store: what must be decided once per session, whichever
//! instance a request lands on.
//!
//! - **Refresh**: for one refresh token, exactly one call reaches the provider; concurrent
//!   requests (tabs, a page load and its background refresh) wait and get the same new
//!   tokens. Refresh tokens rotate, and a provider following RFC 9700 revokes the whole
//!   grant when a rotated token comes back, so a second call would log the person out.
//! - **Ended sessions**: sessions the provider ended by back-channel logout.
//! - **Seen ids**: webhook deliveries and logout tokens handled once.
//!
//! Without `SESSION_STORE_URL` all of it lives in this process ([`local`]): right for one
//! instance. With it, a Redis shared by every instance ([`redis`]). When Redis is down
//! or slow, each call falls back to this process's memory (one warning when that starts,
//! one line when Redis answers again): the app keeps serving, coordinating per instance.
//!
//! Keys are SHA-256 hashes (never a token), and a shared refresh result is sealed with the
//! session key and kept only for the reuse grace period.

pub mod local;
pub mod redis;
mod refresh;

use crate::{
    auth::server::cookies::Sealer,
    oidc::{OidcError, TokenSet},
};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The answer to a refresh, shared by every request that presented the same token.
pub type RefreshResult = Result<TokenSet, Arc<OidcError>>;

/// A session the provider ended (OpenID Connect Back-Channel Logout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    /// The provider's issuer: ids are only unique per issuer.
    pub issuer: String,
    /// The provider's session (`sid`): that session ends.
    pub sid: Option<String>,
    /// The person (`sub`): without `sid`, every session of theirs started before `at`.
    pub sub: Option<String>,
    /// When (Unix seconds).
    pub at: i64,
}

/// How the store is set up.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// How long the winner of a refresh may hold the lock: the provider call's timeout
    /// plus a margin, so the lock outlives the call.
    pub refresh_lock_ttl: Duration,
    /// How long a refresh result is shared (`refresh_reuse_grace_secs`).
    pub refresh_grace: Duration,
    /// How long an ended session is remembered: as long as a session can live.
    pub ended_retention: Duration,
    /// The longest one Redis command may take before this process falls back.
    pub redis_timeout: Duration,
    /// Most entries in each of this process's maps (`memory_map_capacity`).
    pub memory_capacity: usize,
}

/// How many entries each of this process's maps holds, for the memory report.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreSizes {
    pub local: local::LocalSizes,
    pub recently_live: usize,
}

/// The store: this process's memory, and Redis when `SESSION_STORE_URL` is set.
pub struct SessionStore {
    local: local::LocalStore,
    shared: Option<redis::RedisStore>,
    sealer: Sealer,
    settings: StoreSettings,
    degraded: AtomicBool,
    /// Sessions the shared store said were not ended, and when: asked again after
    /// [`ENDED_CHECK_REUSE`], so a person's burst of requests costs one round trip.
    recently_live: std::sync::Mutex<std::collections::HashMap<[u8; 32], Instant>>,
}

/// How long a "not ended" answer from the shared store is reused by this instance: a
/// back-channel logout reaches every instance within this, well inside a second.
pub const ENDED_CHECK_REUSE: Duration = Duration::from_millis(250);

/// Why a store operation could not use Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `SESSION_STORE_URL` is not a Redis URL.
    #[error("SESSION_STORE_URL is not usable: {0}")]
    BadUrl(String),
    /// Redis did not answer in time.
    #[error("the session store did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered with an error, or the connection failed.
    #[error("the session store failed: {0}")]
    Redis(String),
}

impl SessionStore {
    /// The store for `url` (`None`: this process only). Never connects here: a Redis that
    /// is down at start-up is a fallback, not a failed start.
    pub fn new(
        url: Option<&str>,
        sealer: Sealer,
        settings: StoreSettings,
    ) -> Result<Self, StoreError> {
        let shared = url
            .map(|url| redis::RedisStore::new(url, settings.redis_timeout))
            .transpose()?;
        Ok(SessionStore {
            local: local::LocalStore::new(settings.refresh_grace, settings.memory_capacity),
            shared,
            sealer,
            settings,
            degraded: AtomicBool::new(false),
            recently_live: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Connects to the shared store now (in the background of start-up), so the first
    /// requests find it ready; a failure is the usual fallback.
    pub async fn warm_up(&self) {
        if let Some(shared) = &self.shared {
            let ready = shared.warm_up().await;
            self.shared_answer(ready);
        }
    }

    /// How many entries each of this process's maps holds.
    pub fn sizes(&self) -> StoreSizes {
        StoreSizes {
            local: self.local.sizes(),
            recently_live: self
                .recently_live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len(),
        }
    }

    /// True when several instances share this store (Redis configured).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn failed(&self, err: &StoreError) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(%err, "session store unavailable: coordinating within this instance until it is back");
        }
    }

    fn answered(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!("session store reachable again");
        }
    }

    /// A shared store's answer, or `None` (logged once) when it failed.
    fn shared_answer<T>(&self, result: Result<T, StoreError>) -> Option<T> {
        match result {
            Ok(value) => {
                self.answered();
                Some(value)
            }
            Err(err) => {
                self.failed(&err);
                None
            }
        }
    }

    /// True the first time `id` is seen in `namespace` within `ttl` (webhook deliveries,
    /// logout tokens' `jti`), across instances when the store is shared.
    pub async fn first_time(&self, namespace: &str, id: &str, ttl: Duration) -> bool {
        let locally_new = self.local.first_time(namespace, id, ttl);
        if let Some(shared) = &self.shared {
            let key = format!("{namespace}:{}", local::hash_hex(id));
            if let Some(new) = self.shared_answer(shared.first_time(&key, ttl).await) {
                return new;
            }
        }
        locally_new
    }

    /// Records a session the provider ended, for as long as a session can live. False
    /// when the shared store could not record it (only this instance knows).
    pub async fn end_session(&self, end: &SessionEnd) -> bool {
        let retain = self.settings.ended_retention;
        self.local.end_session(end, retain);
        match &self.shared {
            Some(shared) => {
                let stored = shared.end_session(end, retain).await;
                self.shared_answer(stored).is_some()
            }
            None => true,
        }
    }

    /// True when the provider ended this session: its `sid`, or every session of its
    /// `sub` started (`started_at`) before the logout. Cheap: a memory lookup, and with a
    /// shared store one round trip.
    pub async fn is_ended(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: &str,
        started_at: i64,
    ) -> bool {
        if self.local.is_ended(issuer, sid, sub, started_at) {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let key = local::hash(&format!(
            "{issuer}\0{}\0{sub}\0{started_at}",
            sid.unwrap_or("")
        ));
        let now = Instant::now();
        {
            let recent = self.recently_live.lock().unwrap_or_else(|e| e.into_inner());
            if recent
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < ENDED_CHECK_REUSE)
            {
                return false;
            }
        }
        // A store that did not answer is not remembered: the next request asks again.
        let Some(ended) = self.shared_answer(shared.is_ended(issuer, sid, sub, started_at).await)
        else {
            return false;
        };
        if !ended {
            let mut recent = self.recently_live.lock().unwrap_or_else(|e| e.into_inner());
            // Entries are useful for a quarter of a second: sweep often, and (a cache)
            // start again empty if a burst still fills it.
            if recent.len() % 1024 == 1023 || recent.len() >= self.settings.memory_capacity {
                recent.retain(|_, at| now.duration_since(*at) < ENDED_CHECK_REUSE);
                if recent.len() >= self.settings.memory_capacity {
                    recent.clear();
                }
            }
            recent.insert(key, now);
        }
        ended
    }

    /// True when a session may have been ended at all (so requests skip the check while
    /// no back-channel logout ever arrived and no store is shared).
    pub fn tracks_ended_sessions(&self) -> bool {
        self.shared.is_some() || self.local.has_ended_sessions()
    }
}
