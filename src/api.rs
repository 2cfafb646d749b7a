//! An example of *your own API*, protected by the provider's access tokens, and the
//! client the app calls it with: the account page's server function sends the signed-in
//! person's token (the README's recipe "Call your API with the access token"). Point
//! [`ExampleApi`] at your service and give it your endpoints.

use crate::{
    auth::server::SharedAuth,
    oidc::{log_provider_failure, OidcError},
    server::AppState,
};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

/// The client server functions call the API with (`expect_context::<AppState>().api`).
#[derive(Clone)]
pub struct ExampleApi {
    /// The app's own origin (`APP_URL`); point this at your API instead.
    base_url: std::sync::Arc<str>,
    /// One shared HTTP client (connection pooling).
    http: reqwest::Client,
}

/// Why a call to the API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the API call failed: {0}")]
    Call(#[from] reqwest::Error),
}

impl ExampleApi {
    /// A client for the API at `base_url`, each call bounded by `timeout`.
    pub fn new(base_url: &url::Url, timeout: std::time::Duration) -> Result<Self, OidcError> {
        Ok(ExampleApi {
            base_url: base_url.as_str().trim_end_matches('/').into(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| {
                    OidcError::Unreachable(format!("cannot build the HTTP client: {e}"))
                })?,
        })
    }

    /// Who the API says `access_token` belongs to (its `sub`).
    pub async fn whoami(&self, access_token: &str) -> Result<String, ApiError> {
        let answer: serde_json::Value = self
            .http
            .get(format!("{}/api/example/whoami", self.base_url))
            .bearer_auth(access_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(answer["sub"].as_str().unwrap_or_default().to_string())
    }
}

/// `GET /api/example/whoami` with `Authorization: Bearer <access token>`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/example/whoami", get(whoami))
}

async fn whoami(State(auth): State<SharedAuth>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return unauthorized("a bearer token is required");
    };
    match auth.validate_presented_token(token).await {
        Ok(claims) => Json(json!({
            "sub": claims.sub,
            "organization_id": claims.oid,
            "session_id": claims.sid,
            "expires_at": claims.exp,
        }))
        .into_response(),
        Err(err) if err.could_not_check_token() => {
            log_provider_failure(
                "cannot check an API token; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            let body = Json(
                json!({ "error": "the sign-in service is not answering; try again in a moment" }),
            );
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
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
