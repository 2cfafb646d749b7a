//! The token endpoint (`/oauth/token`): authorization code with PKCE, and rotating
//! refresh tokens.

use super::{
    misbehaviour::Misbehaviour,
    routes::*,
    store::{Counters, IdpState, RefreshGrant},
    tokens::{mint, Grant, TokenResponse},
};
use crate::crypto::{constant_time_eq, pkce_challenge};
use axum::{
    extract::{RawForm, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;
use serde_json::json;

#[derive(Default, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// True when the request authenticates as the registered client: HTTP Basic, or (when
/// `body` is given) `client_id` and `client_secret` in the form.
pub(super) fn client_authenticated(
    state: &IdpState,
    headers: &HeaderMap,
    body: Option<(Option<String>, Option<String>)>,
) -> bool {
    let (client_id, client_secret) = match (basic_credentials(headers), body) {
        (Some(credentials), _) => credentials,
        (None, Some((id, secret))) => (id.unwrap_or_default(), secret.unwrap_or_default()),
        (None, None) => return false,
    };
    client_id == state.settings.client_id
        && constant_time_eq(client_secret.as_bytes(), state.client_secret.as_bytes())
}

/// `client_secret_basic` credentials from the Authorization header.
pub(super) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

pub(super) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    Counters::bump(&state.counters.token);
    if state.misbehaviour() == Some(Misbehaviour::TokenEndpointDown) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    let form: TokenForm = parse(std::str::from_utf8(&body).ok());
    let basic_only = matches!(
        state.misbehaviour(),
        Some(Misbehaviour::BasicClientAuthOnly | Misbehaviour::RegisteredForBasicAuth)
    );
    let body_credentials =
        (!basic_only).then(|| (form.client_id.clone(), form.client_secret.clone()));
    if !client_authenticated(&state, &headers, body_credentials) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let now = now();
    let (email, session_id, nonce, scope, is_refresh, routing) = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let Some(grant) = form.code.as_deref().and_then(|c| state.take_code(c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the code is invalid, expired or already used",
                );
            };
            if grant.expires_at < now {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the code has expired",
                );
            }
            if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                );
            }
            if let Some(challenge) = &grant.code_challenge {
                let verified = form.code_verifier.as_deref().is_some_and(|v| {
                    constant_time_eq(pkce_challenge(v).as_bytes(), challenge.as_bytes())
                });
                if !verified {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "the PKCE code_verifier does not match",
                    );
                }
            }
            (
                grant.email,
                grant.session_id,
                grant.nonce,
                grant.scope,
                false,
                grant.routing,
            )
        }
        Some("refresh_token") => {
            let Some(grant) = form
                .refresh_token
                .as_deref()
                .and_then(|t| state.take_refresh_token(t))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is invalid, revoked or already used",
                );
            };
            (
                grant.email,
                grant.session_id,
                None,
                grant.scope,
                true,
                grant.routing,
            )
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code or refresh_token",
            )
        }
    };
    let Some(person) = state.person(&email) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the user no longer exists",
        );
    };
    let grant = Grant {
        person: &person,
        is_refresh,
        session_id: &session_id,
        nonce: nonce.as_deref(),
        scope: &scope,
        routing: &routing,
    };
    let (access_token, id_token, expires_in) = match mint(&state, &grant, now) {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::error!(%err, "built-in provider could not sign tokens");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "could not sign tokens",
            );
        }
    };
    let refresh_token = scope.split(' ').any(|s| s == "offline_access").then(|| {
        state.issue_refresh_token(RefreshGrant {
            email: person.email.clone(),
            session_id: session_id.clone(),
            scope: scope.clone(),
            routing: routing.clone(),
        })
    });
    let body = TokenResponse {
        access_token,
        id_token,
        refresh_token,
        token_type: "Bearer",
        expires_in,
        scope,
    };
    let mut response = if state.misbehaviour() == Some(Misbehaviour::OversizedTokenResponse) {
        // Valid JSON, padded past any sane size.
        let json = serde_json::to_string(&body).unwrap_or_default();
        let padded = format!("{json}{}", " ".repeat(4 * 1024 * 1024));
        ([(header::CONTENT_TYPE, "application/json")], padded).into_response()
    } else {
        Json(body).into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
