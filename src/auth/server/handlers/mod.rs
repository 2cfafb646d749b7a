//! The auth endpoints that browsers reach by navigation.
//!
//! - `GET /auth/callback`: the provider sends people back here with a code.
//! - `GET /auth/refresh?return_to=…`: refreshes an expired session (the refresh-token
//!   cookie is only sent below `/auth`), then goes back. Reached from another site it may
//!   refresh, never end a session.
//! - `GET /login?…` (deep links) and `GET /auth/initiate` (IdP-initiated SSO): start a
//!   routed login; reached from another site they ask first (`POST /login` continues).
//!
//! Each handler turns the service's typed errors into a status and a page for people.

mod callback;
mod login;
mod refresh;

pub use login::IDP_INITIATED_PATH;
pub use refresh::refresh_url;

use super::request_site::RequestSite;
use crate::{
    auth::REFRESH_PATH,
    pages::errors::{error_document, ErrorPage},
    server::AppState,
};
use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use leptos::config::LeptosOptions;
use serde::de::DeserializeOwned;

/// The callback (at `callback_path` from `Leptos.toml`), refresh and login routes.
pub fn routes(callback_path: &str) -> Router<AppState> {
    Router::new()
        .route(callback_path, get(callback::callback))
        .route(REFRESH_PATH, get(refresh::refresh))
        .route(
            "/login",
            get(login::deep_link_login).post(login::confirmed_login),
        )
        .route(IDP_INITIATED_PATH, get(login::idp_initiated_login))
}

/// A `303 See Other` to `location`, never cached.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(response)
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Parses a query string leniently: anything malformed reads as an empty query, which
/// the handlers then answer with a clear error page rather than a bare 400.
fn parse_query<T: DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// An error page for people, never cached.
pub(in crate::auth::server) fn page(
    options: &LeptosOptions,
    status: u16,
    page: ErrorPage,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let html = error_document(options, status.as_u16(), &page);
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(response)
}

/// The 503 page of a signed-in person's request that needed the provider while it is not
/// answering: they stay signed in, and `retry` asks again.
pub(in crate::auth::server) fn not_answering(
    options: &LeptosOptions,
    message: &str,
    retry: String,
) -> Response {
    page(
        options,
        503,
        ErrorPage {
            title: "The sign-in service is not answering".into(),
            message: message.into(),
            provider_error: None,
            retry: Some(("Try again".into(), retry)),
        },
    )
}

/// Where a request to one of these handlers comes from.
fn site(state: &AppState, headers: &HeaderMap) -> RequestSite {
    RequestSite::of(headers, &state.auth.app_url.origin().ascii_serialization())
}
