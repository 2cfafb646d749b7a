//! Logging out: the session ends here (cookies cleared, refresh token revoked) and at
//! the provider (its logout URL, where the person is sent next).

use super::AuthService;
use crate::oidc::log_provider_failure;
use axum::http::HeaderMap;
use tower_cookies::Cookies;

impl AuthService {
    /// Ends the session here and returns where to send the browser: the provider's
    /// logout URL, or our own post-logout page if the provider cannot be reached (the
    /// local session is gone either way). The provider calls stay within the budget.
    pub async fn logout(&self, jar: &Cookies, headers: &HeaderMap) -> String {
        let deadline = self.provider_deadline();
        let id = self.cookies.id_cookie(jar);
        let refresh = id
            .as_ref()
            .and_then(|id| self.cookies.bound_refresh_token(headers, &id.session).ok());
        let id_token = id.map(|id| id.id_token);
        self.cookies.clear_session(jar);
        // RFC 7009: the refresh token dies with the session, so a copy of the cookie
        // (or a browser that never reaches the provider's logout page) cannot revive it.
        if let Some(refresh) = refresh {
            let revocation = self.oidc.revoke_refresh_token(&refresh.refresh_token);
            match self.by_deadline(deadline, revocation, |e| e).await {
                Ok(true) => tracing::info!("refresh token revoked at the provider"),
                Ok(false) => {}
                Err(err) => log_provider_failure(
                    "the provider did not revoke the refresh token",
                    &err,
                    err.is_circuit_open(),
                ),
            }
        }
        let state = crate::util::random_token();
        let logout_url = self.oidc.logout_url(id_token.as_deref(), &state);
        match self.by_deadline(deadline, logout_url, |e| e).await {
            Ok(url) => url.to_string(),
            Err(err) => {
                log_provider_failure(
                    "provider logout URL unavailable; logging out locally",
                    &err,
                    err.is_circuit_open(),
                );
                self.settings.post_logout_path.clone()
            }
        }
    }
}
