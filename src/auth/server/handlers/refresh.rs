//! `GET /auth/refresh?return_to=…`: refreshes an expired session, then goes back. The
//! refresh-token cookie is only sent below `/auth`. Reached from another site it may
//! refresh, never end a session.

use super::{not_answering, parse_query, see_other, site};
use crate::{
    auth::{
        server::{login_state::safe_return_path, refresh::RefreshError},
        Notice, REFRESH_PATH,
    },
    oidc::log_provider_failure,
    server::AppState,
};
use axum::{
    extract::{RawQuery, State},
    http::HeaderMap,
    response::Response,
};
use tower_cookies::Cookies;

/// `/auth/refresh?return_to=<path>`.
pub fn refresh_url(return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", return_to)
        .finish();
    format!("{REFRESH_PATH}?{query}")
}

#[derive(Default, serde::Deserialize)]
struct RefreshQuery {
    return_to: Option<String>,
}

pub(super) async fn refresh(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: RefreshQuery = parse_query(raw);
    let destination = query
        .return_to
        .as_deref()
        .and_then(safe_return_path)
        .unwrap_or_else(|| state.auth.settings.post_login_path.clone());
    let may_end_session = site(&state, &headers).may_end_session();
    match state.auth.refresh(&jar, &headers, may_end_session).await {
        Ok(_) => see_other(&state.auth.location(&destination)),
        Err(RefreshError::Unavailable(err)) => {
            log_provider_failure(
                "refresh failed; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            not_answering(
                &state.leptos,
                "We could not renew your session just now. You are still signed in; please try again in a moment.",
                refresh_url(&destination),
            )
        }
        Err(RefreshError::NotBound) => {
            tracing::warn!("refresh cookie not bound to this session: refused, session untouched");
            see_other(&state.auth.location("/"))
        }
        Err(err) if may_end_session => {
            tracing::info!(reason = %err, "session not refreshed; signing out locally");
            state.auth.cookies.clear_session(&jar);
            see_other(&Notice::SessionEnded.home_url())
        }
        Err(err) => {
            tracing::info!(reason = %err, "session not refreshed; a cross-site request does not end it");
            see_other(&Notice::SessionEnded.home_url())
        }
    }
}
