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

use crate::{
    auth::server::cookies::Sealer,
    oidc::{OidcError, TokenSet},
};
use serde::{Deserialize, Serialize};
use std::{
    future::Future,
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

/// What a shared refresh stores (sealed): new tokens, or the provider's final refusal.
#[derive(Serialize, Deserialize)]
enum StoredOutcome {
    Tokens(StoredTokens),
    Refused {
        error: String,
        description: Option<String>,
    },
}

/// [`TokenSet`], serialisable only here, only ever stored sealed.
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    token_type: Option<String>,
}

const SEALED_RESULT: &str = "sk_refresh_result";

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

    /// Refreshes with `refresh_token` at most once, whichever instances the concurrent
    /// requests land on: the first takes a lock and calls the provider (`call`); the
    /// others wait (bounded by the lock's life) and receive the same new tokens, or the
    /// same final refusal. A waiter never sends the old token once the winner finished:
    /// it finds the result first. Transient failures are not shared, so a retry tries
    /// again.
    ///
    /// The coordination runs on a task of its own: a request cancelled mid-call (a tab
    /// closed while its refresh is at the provider) neither abandons the provider's answer
    /// (the rotated tokens are stored for the others) nor lets a second call start.
    pub async fn refresh_once<F, Fut>(
        self: &Arc<Self>,
        refresh_token: &str,
        call: F,
    ) -> RefreshResult
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<TokenSet, OidcError>> + Send + 'static,
    {
        let cell = self.local.refresh_call(refresh_token);
        let store = Arc::clone(self);
        let token = refresh_token.to_string();
        let task_cell = cell.clone();
        let task = tokio::spawn(async move {
            task_cell
                .get_or_init(|| async { store.coordinated(&token, call).await })
                .await
                .clone()
        });
        let result = task.await.unwrap_or_else(|_| {
            Err(Arc::new(OidcError::Unreachable(
                "the refresh task stopped".into(),
            )))
        });
        if let Err(err) = &result {
            if !err.is_invalid_grant() {
                self.local.forget_refresh(refresh_token);
            }
        }
        result
    }

    async fn coordinated<F, Fut>(&self, refresh_token: &str, call: F) -> RefreshResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<TokenSet, OidcError>>,
    {
        let Some(shared) = &self.shared else {
            return call().await.map_err(Arc::new);
        };
        let key = local::hash_hex(refresh_token);
        let owner = crate::util::random_token();
        let deadline = Instant::now() + self.settings.refresh_lock_ttl + Duration::from_secs(1);
        // Once Redis has answered, another instance may be refreshing this very token: a
        // store failure from then on is an outage (retry page), never a second provider
        // call with the same token. Only a store unreachable from the start falls back.
        let mut coordinating = false;
        let unavailable = || {
            Err(Arc::new(OidcError::Unreachable(
                "the session store failed while coordinating a refresh".into(),
            )))
        };
        let mine = loop {
            match self.shared_answer(shared.refresh_result(&key).await) {
                None if coordinating => return unavailable(),
                None => break false,
                Some(Some(sealed)) => {
                    if let Some(result) = self.unseal_outcome(&sealed) {
                        return result;
                    }
                }
                Some(None) => {}
            }
            coordinating = true;
            match self.shared_answer(
                shared
                    .lock_refresh(&key, &owner, self.settings.refresh_lock_ttl)
                    .await,
            ) {
                None => return unavailable(),
                Some(true) => {
                    // A winner may have finished between our look and our lock.
                    if let Some(Some(sealed)) =
                        self.shared_answer(shared.refresh_result(&key).await)
                    {
                        let _ = shared.unlock_refresh(&key, &owner).await;
                        if let Some(result) = self.unseal_outcome(&sealed) {
                            return result;
                        }
                    }
                    break true;
                }
                Some(false) => {}
            }
            if Instant::now() >= deadline {
                return Err(Arc::new(OidcError::Timeout(
                    "waiting for another instance's refresh".into(),
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let result = call().await.map_err(Arc::new);
        if mine {
            let shared_ok = match self.seal_outcome(&result) {
                Some(sealed) => self
                    .shared_answer(
                        shared
                            .put_refresh_result(&key, &sealed, self.settings.refresh_grace)
                            .await,
                    )
                    .is_some(),
                None => true,
            };
            // A result the others cannot read: keep the lock until it expires, so no
            // waiter sends the (now rotated) token meanwhile.
            if shared_ok {
                let _ = shared.unlock_refresh(&key, &owner).await;
            }
        }
        result
    }

    fn seal_outcome(&self, result: &RefreshResult) -> Option<String> {
        let outcome = match result {
            Ok(tokens) => StoredOutcome::Tokens(StoredTokens {
                access_token: tokens.access_token.clone(),
                id_token: tokens.id_token.clone(),
                refresh_token: tokens.refresh_token.clone(),
                expires_in: tokens.expires_in,
                token_type: tokens.token_type.clone(),
            }),
            Err(err) => match err.as_ref() {
                OidcError::Refused { error, description } if err.is_invalid_grant() => {
                    StoredOutcome::Refused {
                        error: error.clone(),
                        description: description.clone(),
                    }
                }
                // Transient failures are not shared: the next attempt tries again.
                _ => return None,
            },
        };
        let json = serde_json::to_string(&outcome).ok()?;
        Some(self.sealer.seal(SEALED_RESULT, json))
    }

    fn unseal_outcome(&self, sealed: &str) -> Option<RefreshResult> {
        let json = self.sealer.unseal(SEALED_RESULT, sealed)?;
        Some(match serde_json::from_str::<StoredOutcome>(&json).ok()? {
            StoredOutcome::Tokens(t) => Ok(TokenSet {
                access_token: t.access_token,
                id_token: t.id_token,
                refresh_token: t.refresh_token,
                expires_in: t.expires_in,
                token_type: t.token_type,
            }),
            StoredOutcome::Refused { error, description } => {
                Err(Arc::new(OidcError::Refused { error, description }))
            }
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn store() -> Arc<SessionStore> {
        let policy = crate::auth::server::cookies::CookiePolicy::new(
            &crate::config::Settings::shipped().cookies,
            600,
            b"0123456789abcdef0123456789abcdef",
        );
        Arc::new(
            SessionStore::new(
                None,
                policy.sealer(),
                StoreSettings {
                    refresh_lock_ttl: Duration::from_secs(5),
                    refresh_grace: Duration::from_secs(10),
                    ended_retention: Duration::from_secs(60),
                    redis_timeout: Duration::from_millis(250),
                    memory_capacity: 1000,
                },
            )
            .unwrap(),
        )
    }

    fn tokens(access: &str) -> TokenSet {
        TokenSet {
            access_token: access.into(),
            id_token: None,
            refresh_token: Some(format!("rt_after_{access}")),
            expires_in: Some(300),
            token_type: Some("Bearer".into()),
        }
    }

    #[tokio::test]
    async fn a_refresh_cancelled_mid_call_is_finished_and_shared_not_sent_again() {
        let store = store();
        let calls = Arc::new(AtomicU64::new(0));
        let slow_call = {
            let calls = calls.clone();
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(tokens("first"))
            }
        };
        // The request gives up (a closed tab) while its refresh is at the provider.
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            store.refresh_once("rt_1", slow_call),
        )
        .await;
        assert!(cancelled.is_err(), "cancelled mid-call");
        // Another request with the same refresh token: no second provider call; it gets
        // the first call's tokens.
        let second_call = {
            let calls = calls.clone();
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(tokens("second"))
            }
        };
        let result = store.refresh_once("rt_1", second_call).await.unwrap();
        assert_eq!(result.access_token, "first");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one provider call");
    }

    #[test]
    fn sealed_results_open_only_under_their_key_and_name() {
        let store = store();
        let sealed = store.seal_outcome(&Ok(tokens("a"))).unwrap();
        assert!(!sealed.contains("rt_after_a"), "sealed, not readable");
        let opened = store.unseal_outcome(&sealed).unwrap().unwrap();
        assert_eq!(opened.refresh_token.as_deref(), Some("rt_after_a"));
        assert!(store.unseal_outcome("garbage").is_none());
        let transient: RefreshResult = Err(Arc::new(OidcError::Timeout("t".into())));
        assert!(
            store.seal_outcome(&transient).is_none(),
            "outages are not shared"
        );
    }
}
