//! Server-only authentication: [`AuthService`], the app's session logic on top of the
//! OIDC client and the cookie policy, and its parts, one job each:
//!
//! | module | job |
//! |---|---|
//! | [`login`] | start a login; finish it at the callback |
//! | [`session`] | read the session a request carries |
//! | `unsealed` | the session cookies already unsealed (a memo of a pure function) |
//! | [`refresh`] | refresh it with the rotating refresh token (once across instances) |
//! | [`logout`] | end it here and at the provider |
//! | [`backchannel`] | end it when the provider says so (back-channel logout) |
//! | [`extract`] | the signed-in person for handlers and server functions (`CurrentUser`) |
//! | [`handlers`] | the HTTP endpoints (callback, refresh, `/login`) |
//! | [`route_guard`] | signed-in pages render only for a valid session |
//! | [`cookies`] | the cookie policy and what each cookie holds |
//! | [`login_state`] | the login in progress (state, nonce, PKCE) and return paths |
//! | [`request_site`] | where a request comes from (same origin, a person, another site) |

pub mod backchannel;
pub mod cookies;
pub mod extract;
pub mod handlers;
pub mod login;
pub mod login_state;
pub mod logout;
pub mod refresh;
pub mod request_site;
pub mod route_guard;
pub mod session;
mod unsealed;

pub use backchannel::BACKCHANNEL_LOGOUT_PATH;
pub use extract::{access_token, require_permission, require_user, CurrentUser, RequirePermission};
pub use handlers::IDP_INITIATED_PATH;
pub use session::{Session, SessionStatus};

use crate::{config::AuthSettings, oidc::OidcClient, store::SessionStore};
use cookies::CookiePolicy;
use login_state::absolute_location;
use std::sync::Arc;
use url::Url;

/// Shared handle to the auth service (cheap to clone).
pub type SharedAuth = Arc<AuthService>;

/// Session logic: starting logins, finishing them, reading, refreshing and ending sessions.
pub struct AuthService {
    /// The OpenID Connect client for the configured provider.
    pub oidc: Arc<OidcClient>,
    /// Where and how the session is stored.
    pub cookies: CookiePolicy,
    /// The `[auth]` settings of `Leptos.toml`.
    pub settings: AuthSettings,
    /// `APP_URL`: every redirect to one of our own pages is built on it.
    pub app_url: Url,
    /// What is decided once per session across instances: refreshes, ended sessions.
    pub store: Arc<SessionStore>,
    /// Session cookies already unsealed.
    unsealed: unsealed::UnsealedSessions,
}

/// The `tracing` target of the map sizes logged once a minute (`RUST_LOG=memory=debug`):
/// how the soak shows every map bounded.
pub const MEMORY_LOG_TARGET: &str = "memory";

impl AuthService {
    /// Logs how many entries each of this process's maps holds, once a minute, forever.
    /// Spawned only when [`MEMORY_LOG_TARGET`] is enabled at debug level.
    pub async fn report_map_sizes(self: Arc<Self>) {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            let store = self.store.sizes();
            tracing::debug!(
                target: MEMORY_LOG_TARGET,
                validated_tokens = self.oidc.cached_tokens(),
                unsealed_sessions = self.unsealed.len(),
                refresh_calls = store.local.refresh_calls,
                seen_ids = store.local.seen_ids,
                ended_sessions = store.local.ended_sessions,
                recently_live = store.recently_live,
                "map sizes"
            );
        }
    }

    /// The service for one provider, cookie policy and settings, for the app at
    /// `app_url`, coordinating through `store`.
    pub fn new(
        oidc: OidcClient,
        cookies: CookiePolicy,
        settings: AuthSettings,
        app_url: Url,
        store: Arc<SessionStore>,
    ) -> Self {
        AuthService {
            oidc: Arc::new(oidc),
            cookies,
            settings,
            app_url,
            store,
            unsealed: Default::default(),
        }
    }

    /// The absolute `Location` of one of our pages: `APP_URL` plus a path that passed
    /// [`safe_return_path`](login_state::safe_return_path) (anything else gives the app's root).
    pub fn location(&self, path: &str) -> String {
        absolute_location(&self.app_url, path)
    }

    /// When a page or action started now must have its answer from the provider
    /// (`provider_budget_ms`).
    pub(crate) fn provider_deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.settings.provider_budget()
    }

    /// Runs `flow` until `deadline`. Past it the flow is abandoned (a provider call it
    /// was waiting on counts as a failure for the circuit breaker: see
    /// [`within_budget`](crate::oidc::within_budget)) and the answer is `on_timeout` of
    /// an [`OidcError::Timeout`](crate::oidc::OidcError::Timeout).
    pub(crate) async fn by_deadline<T, E>(
        &self,
        deadline: tokio::time::Instant,
        flow: impl std::future::Future<Output = Result<T, E>>,
        on_timeout: impl FnOnce(crate::oidc::OidcError) -> E,
    ) -> Result<T, E> {
        match crate::oidc::within_budget(deadline, flow).await {
            Ok(result) => result,
            Err(_) => Err(on_timeout(crate::oidc::OidcError::Timeout(format!(
                "no answer within {} ms",
                self.settings.provider_budget_ms
            )))),
        }
    }
}
