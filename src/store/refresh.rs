//! Refreshing at most once per refresh token, whichever instances the requests land on
//! (see [`SessionStore::refresh_once`]), and the sealed form a shared result is kept in.

use super::{local, RefreshResult, SessionStore};
use crate::oidc::{OidcError, TokenSet};
use serde::{Deserialize, Serialize};
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreSettings;
    use std::sync::atomic::{AtomicU64, Ordering};

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
