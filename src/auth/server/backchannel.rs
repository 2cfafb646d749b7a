//! `POST /auth/backchannel-logout`: the provider tells the app a session ended
//! (OpenID Connect Back-Channel Logout 1.0). Register `APP_URL/auth/backchannel-logout`
//! as the back-channel logout URL at the provider (Scalekit: the app's redirect
//! settings).
//!
//! A valid logout token marks its `sid` (or every session of its `sub`) ended in the
//! session store, for as long as a session can live: every instance then refuses that
//! session on its next request, and its refresh token is revoked when it next reaches
//! the refresh path. The answer is 200, or 400 with a JSON `error`; never cached. An
//! `error` of `temporarily_unavailable` (the provider's keys or the session store could
//! not be had) says that a retry may succeed.

use super::SharedAuth;
use crate::{
    oidc::{log_provider_failure, logout_token::LogoutTokenError, ValidationError},
    store::SessionEnd,
};
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::time::Duration;

/// Where providers post logout tokens.
pub const BACKCHANNEL_LOGOUT_PATH: &str = "/auth/backchannel-logout";

/// How long a logout token's `jti` is remembered: longer than any token stays valid.
const JTI_MEMORY: Duration = Duration::from_secs(24 * 3600);

#[derive(Default, serde::Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

fn answer(status: StatusCode, body: Option<serde_json::Value>) -> Response {
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refused(err: &LogoutTokenError) -> Response {
    tracing::warn!(reason = %err, "back-channel logout refused");
    answer(
        StatusCode::BAD_REQUEST,
        Some(serde_json::json!({
            "error": "invalid_request",
            "error_description": err.to_string(),
        })),
    )
}

/// The token could not be checked yet (the provider's keys could not be had, or its key
/// is newer than our copy of the set): not a refusal, so a provider that retries failed
/// deliveries is not told the token is invalid.
fn not_checked_yet() -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        Some(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "the logout token could not be checked yet; please retry",
        })),
    )
}

/// The endpoint. The body is read as a form whatever its declared type, so every
/// malformed request gets the same JSON answer.
pub async fn receive(State(auth): State<SharedAuth>, body: Bytes) -> Response {
    let form: LogoutForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let Some(token) = form.logout_token.filter(|t| !t.is_empty()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            Some(serde_json::json!({
                "error": "invalid_request",
                "error_description": "logout_token is required",
            })),
        );
    };
    // The provider's keys may need fetching (a fresh instance): within the same budget as
    // any request that waits on the provider.
    let validation = auth.oidc.validate_logout_token(&token);
    let checked = auth
        .by_deadline(auth.provider_deadline(), validation, |err| {
            LogoutTokenError::Invalid(ValidationError::key_set_unavailable(&err))
        })
        .await;
    let claims = match checked {
        Ok(claims) => claims,
        Err(LogoutTokenError::Invalid(err)) if err.is_key_set_unavailable() => {
            log_provider_failure(
                "back-channel logout not checked yet; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            return not_checked_yet();
        }
        // Signed with a key we have not fetched yet (a rotation moments after a refetch).
        Err(LogoutTokenError::Invalid(err @ ValidationError::KeyNotFetchedYet(_))) => {
            tracing::warn!(reason = %err, "back-channel logout not checked yet");
            return not_checked_yet();
        }
        Err(err) => return refused(&err),
    };
    let now = crate::util::now();
    // Older than the jti memory: a replay could no longer be recognised.
    if claims.iat < now.saturating_sub(JTI_MEMORY.as_secs() as i64) {
        return refused(&LogoutTokenError::Replayed);
    }
    // Ending is idempotent (the same session, the same cut-off: the token's own `iat`),
    // so it comes first: a provider retrying after a store failure is not refused as a
    // replay, and the `jti` is only remembered once the end is recorded everywhere.
    let recorded = auth
        .store
        .end_session(&SessionEnd {
            issuer: claims.iss.clone(),
            sid: claims.sid.clone(),
            sub: claims.sub.clone(),
            at: claims.iat.min(now),
        })
        .await;
    if !recorded {
        tracing::warn!(
            "back-channel logout recorded by this instance only: the session store is unreachable"
        );
        return answer(
            StatusCode::BAD_REQUEST,
            Some(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "the session could not be ended on every instance; please retry",
            })),
        );
    }
    let jti = format!("{}\0{}", claims.iss, claims.jti);
    if !auth.store.first_time("logout-jti", &jti, JTI_MEMORY).await {
        return refused(&LogoutTokenError::Replayed);
    }
    tracing::info!(sid = ?claims.sid, sub = ?claims.sub, "session ended by the provider (back-channel logout)");
    answer(StatusCode::OK, None)
}

/// The route, for the app's router.
pub fn routes() -> axum::Router<crate::server::AppState> {
    axum::Router::new().route(BACKCHANNEL_LOGOUT_PATH, axum::routing::post(receive))
}
