//! An example of *your own API*, protected by the provider's access tokens: the settings
//! page's server function calls it with the signed-in person's token (see the README's
//! recipe "Call your own API with the access token"). Replace it with your service.

use crate::auth::server::SharedAuth;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

/// How server functions reach the example API (provided as Leptos context).
#[derive(Clone)]
pub struct ExampleApi {
    /// The app's own origin (`APP_URL`); point this at your API instead.
    pub base_url: String,
    /// One shared HTTP client (connection pooling).
    pub http: reqwest::Client,
}

/// `GET /api/example/whoami` with `Authorization: Bearer <access token>`.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: SharedAuth) -> Router<S> {
    Router::new()
        .route("/api/example/whoami", get(whoami))
        .with_state(auth)
}

async fn whoami(State(auth): State<SharedAuth>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return unauthorized("a bearer token is required");
    };
    match auth
        .oidc
        .validate_access_token(token, crate::oidc::KeySource::Untrusted)
        .await
    {
        Ok(claims) => Json(json!({
            "sub": claims.sub,
            "organization_id": claims.oid,
            "session_id": claims.sid,
            "expires_at": claims.exp,
        }))
        .into_response(),
        Err(err) => {
            tracing::info!(%err, "API call with an unacceptable token");
            unauthorized("the bearer token is not valid")
        }
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        (StatusCode::UNAUTHORIZED, Json(json!({ "error": message }))).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}
