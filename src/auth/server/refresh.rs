//! Refreshing a session with the rotating refresh token. Requests holding the same
//! refresh token share one provider call (the store's `refresh_once`, across instances
//! with `SESSION_STORE_URL`), so two tabs refreshing at once do not end the session.

use super::{
    cookies::{CookieTooLarge, RefreshCookieError},
    session::Session,
    AuthService,
};
use crate::oidc::OidcError;
use axum::http::HeaderMap;
use std::sync::Arc;
use tower_cookies::Cookies;

/// Why a refresh did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("there is no refresh token")]
    /// The request carries no refresh token.
    NoRefreshToken,
    #[error("the provider ended this session (back-channel logout)")]
    /// The provider ended the session by back-channel logout; its refresh token was
    /// revoked (where the provider offers revocation).
    EndedByProvider,
    #[error("the refresh cookie does not belong to this browser's session")]
    /// The refresh cookie's session binding does not match the ID cookie's (or there is
    /// no ID cookie): a cookie tossed in from a sibling domain. Nothing is touched.
    NotBound,
    #[error("the session has ended: {0}")]
    /// The provider says the grant is dead (`invalid_grant`): the session is over.
    Ended(Arc<OidcError>),
    #[error("the refreshed tokens were rejected: {0}")]
    /// A refreshed token failed validation.
    InvalidTokens(OidcError),
    #[error("the refreshed ID token names another user or issuer")]
    /// The refreshed ID token names another person or issuer (OIDC Core 12.2).
    IdentityChanged,
    #[error("the identity provider is unavailable: {0}")]
    /// The provider failed; the session and refresh token are kept for a retry.
    Unavailable(Arc<OidcError>),
    #[error(transparent)]
    /// The refreshed tokens do not fit in cookies.
    TokensTooLarge(#[from] CookieTooLarge),
}

impl AuthService {
    /// Refreshes the session with the refresh token cookie (only sent below `/auth`),
    /// stores the rotated tokens and returns the new session. The refresh cookie must be
    /// bound to this browser's ID cookie, or nothing is touched. When the provider says
    /// the grant is dead the session cookies are cleared, if `may_end_session` (a request
    /// from another site may refresh, never end a session). Within the provider budget:
    /// past it, the session is kept and the answer is `Unavailable`.
    pub async fn refresh(
        &self,
        jar: &Cookies,
        headers: &HeaderMap,
        may_end_session: bool,
    ) -> Result<Session, RefreshError> {
        let flow = self.refresh_now(jar, headers, may_end_session);
        self.by_deadline(self.provider_deadline(), flow, |timeout| {
            RefreshError::Unavailable(Arc::new(timeout))
        })
        .await
    }

    async fn refresh_now(
        &self,
        jar: &Cookies,
        headers: &HeaderMap,
        may_end_session: bool,
    ) -> Result<Session, RefreshError> {
        let id = self.cookies.id_cookie(jar);
        let stored = match &id {
            Some(id) => self.cookies.bound_refresh_token(headers, &id.session),
            None if self.cookies.has_refresh_cookie(headers) => Err(RefreshCookieError::NotBound),
            None => Err(RefreshCookieError::Missing),
        }
        .map_err(|err| match err {
            RefreshCookieError::Missing => RefreshError::NoRefreshToken,
            RefreshCookieError::NotBound => RefreshError::NotBound,
        })?;
        let session = stored.session.clone();
        let end_session = |jar: &Cookies| {
            if may_end_session {
                self.cookies.clear_session(jar);
            }
        };
        let refresh_token = stored.refresh_token;
        let started_at = session.started_at();
        let previous = id.and_then(|id| self.profile(jar, &id.id_token));
        if let Some(previous) = &previous {
            if self
                .ended_by_provider(
                    started_at,
                    &previous.iss,
                    previous.sid.as_deref(),
                    &previous.sub,
                )
                .await
            {
                if let Err(err) = self.oidc.revoke_refresh_token(&refresh_token).await {
                    crate::oidc::log_provider_failure(
                        "the provider did not revoke the ended session's refresh token",
                        &err,
                        err.is_circuit_open(),
                    );
                }
                end_session(jar);
                return Err(RefreshError::EndedByProvider);
            }
        }
        let result = self
            .store
            .refresh_once(&refresh_token, {
                let oidc = Arc::clone(&self.oidc);
                let token = refresh_token.clone();
                move || async move { oidc.refresh(&token).await }
            })
            .await;
        let tokens = match result {
            Ok(tokens) => tokens,
            Err(err) if err.is_invalid_grant() => {
                end_session(jar);
                return Err(RefreshError::Ended(err));
            }
            Err(err) => return Err(RefreshError::Unavailable(err)),
        };
        let profile = match tokens.id_token.as_deref() {
            Some(id_token) => {
                let mut claims = self
                    .oidc
                    .validate_id_token(id_token, None, &tokens.access_token)
                    .await
                    .map_err(refreshed_token_error)?;
                // OIDC Core 12.2: a refreshed ID token must name the same person and issuer.
                if let Some(previous) = &previous {
                    if previous.sub != claims.sub || previous.iss != claims.iss {
                        end_session(jar);
                        return Err(RefreshError::IdentityChanged);
                    }
                }
                self.fill_from_userinfo(jar, &mut claims);
                Some(claims)
            }
            None => previous,
        };
        let access = self
            .access_claims(&tokens, profile.as_ref())
            .await
            .map_err(refreshed_token_error)?;
        if profile.as_ref().is_some_and(|p| p.sub != access.sub) {
            end_session(jar);
            return Err(RefreshError::IdentityChanged);
        }
        self.store_session(jar, &tokens, &access, &session)?;
        tracing::info!(sub = %access.sub, "session refreshed");
        Ok(Session { access, profile })
    }
}

/// A refreshed token that fails validation ends the session, except when the key set
/// could not be fetched: that is an outage (session and refresh token kept, retry page).
fn refreshed_token_error(err: OidcError) -> RefreshError {
    if err.could_not_check_token() {
        RefreshError::Unavailable(Arc::new(err))
    } else {
        RefreshError::InvalidTokens(err)
    }
}
