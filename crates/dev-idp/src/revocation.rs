//! `POST /oauth/revoke`: token revocation (RFC 7009), for refresh tokens. The app calls
//! it at logout, so a copied refresh cookie is dead even if the browser never reaches
//! the logout page.

use super::{
    store::{Counters, IdpState},
    token::{client_authenticated, oauth_error},
};
use axum::{
    extract::{RawForm, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use std::sync::Arc;

#[derive(Default, serde::Deserialize)]
struct RevocationForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Authenticates the client like the token endpoint, then forgets the token. RFC 7009
/// §2.2: 200 whether or not the token was known.
pub async fn revoke(
    State(state): State<Arc<IdpState>>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    Counters::bump(&state.counters.revocation);
    let form: RevocationForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let body_credentials = Some((form.client_id.clone(), form.client_secret.clone()));
    if !client_authenticated(&state, &headers, body_credentials) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let Some(token) = form.token.filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    state.revoke_refresh_token(&token);
    StatusCode::OK.into_response()
}
