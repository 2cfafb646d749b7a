//! The auth endpoints that browsers reach by navigation, and the route guard.
//!
//! - `GET /auth/callback`: the provider sends people back here with a code.
//! - `GET /auth/refresh?return_to=…`: refreshes an expired session (the refresh-token
//!   cookie is only sent below `/auth`), then goes back. Reached from another site it may
//!   refresh, never end a session.
//! - `GET /login?…` (deep links) and `GET /auth/initiate` (IdP-initiated SSO): start a
//!   routed login; reached from another site they ask first (`POST /login` continues).
//! - [`guard`]: protected pages render only for a valid session.

use super::{
    login_state::safe_return_path,
    request_site::RequestSite,
    service::{CallbackError, CallbackQuery, RefreshError, SessionStatus, SharedAuth},
};
use crate::server::AppState;
use crate::{
    auth::{LoginHints, LoginIntent, Notice, REFRESH_PATH},
    oidc::OidcError,
    pages::{
        confirm_login::{confirm_login_document, ConfirmLogin},
        errors::{error_document, ErrorPage},
    },
};
use axum::{
    extract::{RawForm, RawQuery, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::de::DeserializeOwned;
use tower_cookies::Cookies;

/// The callback (at `callback_path` from `Leptos.toml`), refresh and login routes.
pub fn routes(callback_path: &str) -> Router<AppState> {
    Router::new()
        .route(callback_path, get(callback))
        .route(REFRESH_PATH, get(refresh))
        .route("/login", get(deep_link_login).post(confirmed_login))
        .route(IDP_INITIATED_PATH, get(idp_initiated_login))
}

/// A `303 See Other` to `location`, never cached.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
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

fn page(state: &AppState, status: u16, page: ErrorPage) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let html = error_document(&state.leptos, status.as_u16(), &page);
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(response)
}

async fn callback(
    State(state): State<AppState>,
    jar: Cookies,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: CallbackQuery = parse_query(raw);
    match state.auth.complete_login(&jar, &query).await {
        Ok(destination) => see_other(&state.auth.location(&destination)),
        Err(err) => {
            tracing::warn!(reason = %err, "login failed at the callback");
            let status = err.status();
            page(&state, status, callback_error_page(err))
        }
    }
}

fn callback_error_page(err: CallbackError) -> ErrorPage {
    if let CallbackError::Exchange(OidcError::Refused { error, .. }) = &err {
        if error == "invalid_client" {
            return ErrorPage {
                title: "The sign-in service did not recognise this app".into(),
                message: "The identity provider refused the app's client credentials, so you were not signed in. The site's administrator needs to check SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET and token_endpoint_auth_method in Leptos.toml.".into(),
                provider_error: None,
                retry: Some(("Back to the home page".into(), "/".into())),
            };
        }
    }
    if err.is_provider_outage() {
        return ErrorPage {
            title: "The sign-in service is not answering".into(),
            message: "We could not complete your sign-in with the identity provider. Please try again in a moment.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        };
    }
    match err {
        CallbackError::UnsolicitedError => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "This sign-in link does not belong to a sign-in started in this browser.".into(),
            provider_error: None,
            retry: Some(("Log in".into(), "/".into())),
        },
        CallbackError::Provider { error, description } => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "The identity provider reported a problem with this sign-in.".into(),
            provider_error: Some((error, description)),
            retry: Some(("Try again".into(), "/".into())),
        },
        CallbackError::LoginState(reason) => ErrorPage {
            title: "This sign-in has expired".into(),
            message: format!("We could not finish this sign-in: {reason}. Please start again."),
            provider_error: None,
            retry: Some(("Log in again".into(), "/".into())),
        },
        CallbackError::MissingCode => ErrorPage {
            title: "Sign-in was not completed".into(),
            message: "The identity provider sent you back without a sign-in code.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        },
        // Outages were handled above: what is left is the provider refusing the code.
        CallbackError::Exchange(_) => ErrorPage {
            title: "This sign-in link was already used".into(),
            message: "Sign-in codes work once and expire after a few minutes. Please log in again.".into(),
            provider_error: None,
            retry: Some(("Log in again".into(), "/".into())),
        },
        CallbackError::TokensTooLarge(_) => ErrorPage {
            title: "Sign-in could not be stored".into(),
            message: "The identity provider's tokens are too large to keep in a browser cookie, so you were not signed in. The site's administrator needs to trim the tokens' claims.".into(),
            provider_error: None,
            retry: Some(("Back to the home page".into(), "/".into())),
        },
        // `UserInfo` failures are outages, handled above.
        CallbackError::NoIdToken
        | CallbackError::InvalidTokens(_)
        | CallbackError::UserInfo(_)
        | CallbackError::IssuerMismatch(_) => ErrorPage {
            title: "Sign-in could not be verified".into(),
            message: "The identity provider's answer did not pass our security checks, so you were not signed in.".into(),
            provider_error: None,
            retry: Some(("Try again".into(), "/".into())),
        },
    }
}

/// The app's "initiate login URL" for IdP-initiated SSO (register `APP_URL` + this path
/// in the Scalekit dashboard).
pub const IDP_INITIATED_PATH: &str = "/auth/initiate";

#[derive(Default, serde::Deserialize)]
struct IdpInitiatedQuery {
    idp_initiated_login: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// IdP-initiated SSO: the provider sends people here with a signed token naming the
/// connection, organization and email; we verify it with the provider's keys and start a
/// normal (app-initiated) login routed by them, so the usual state, nonce and PKCE checks
/// still apply. A `relay_state` that is a path on this site becomes the return-to path
/// (our own random `state` keeps protecting the callback).
async fn idp_initiated_login(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: IdpInitiatedQuery = parse_query(raw);
    if let Some(error) = query.error {
        // Anyone can send this link: its text is logged (escaped), never shown.
        tracing::warn!(?error, description = ?query.error_description, "IdP-initiated login reported an error");
        return page(
            &state,
            401,
            callback_error_page(CallbackError::UnsolicitedError),
        );
    }
    let Some(token) = query.idp_initiated_login else {
        return page(&state, 400, callback_error_page(CallbackError::MissingCode));
    };
    let claims = match state.auth.oidc.validate_idp_initiated(&token).await {
        Ok(claims) => claims,
        Err(err) => {
            tracing::warn!(reason = %err, "IdP-initiated login token refused");
            return page(
                &state,
                401,
                callback_error_page(CallbackError::InvalidTokens(err)),
            );
        }
    };
    let request = LoginRequest {
        hints: LoginHints {
            login_hint: claims.login_hint,
            organization_id: claims.organization_id,
            connection_id: claims.connection_id,
            provider: None,
        },
        intent: LoginIntent::Login,
        return_to: claims.relay_state,
    };
    // The provider's portal is another site: the person confirms here first.
    if !site(&state, &headers).may_start_login() {
        return confirm(&state, &request).await;
    }
    start_login(&state, &jar, &request).await
}

/// Starts a login from a browser navigation: a redirect to the provider, or home with a
/// notice when the provider cannot be reached.
async fn start_login(state: &AppState, jar: &Cookies, request: &LoginRequest) -> Response {
    match state
        .auth
        .begin_login(
            jar,
            request.intent,
            &request.hints,
            request.return_to.as_deref(),
        )
        .await
    {
        Ok(url) => see_other(url.as_str()),
        Err(err) => {
            tracing::error!(%err, "cannot start a login");
            see_other(&Notice::ProviderUnavailable.home_url())
        }
    }
}

/// A login to start: where to route it, log in or sign up, and where to land.
#[derive(Default, serde::Deserialize)]
struct LoginRequest {
    #[serde(flatten)]
    hints: LoginHints,
    #[serde(default)]
    intent: LoginIntent,
    return_to: Option<String>,
}

/// Where a request to one of these handlers comes from.
fn site(state: &AppState, headers: &HeaderMap) -> RequestSite {
    RequestSite::of(headers, &state.auth.app_url.origin().ascii_serialization())
}

/// `GET /login?organization_id=…&connection_id=…&login_hint=…&provider=…`: a link a
/// customer's portal can use to send its people straight to their organization's SSO.
/// Unless it comes from the app's own pages, the person confirms first: otherwise any
/// site, mail or chat message could route them into an SSO connection of its choosing
/// (login CSRF), or replace a login they have in progress.
async fn deep_link_login(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let request: LoginRequest = parse_query(raw);
    if !site(&state, &headers).may_start_login() {
        return confirm(&state, &request).await;
    }
    start_login(&state, &jar, &request).await
}

/// The confirmation page for a login another site asked for.
async fn confirm(state: &AppState, request: &LoginRequest) -> Response {
    let provider_host = state
        .auth
        .oidc
        .config()
        .environment_url
        .host_str()
        .unwrap_or("the identity provider")
        .to_string();
    let options = crate::auth::server::service::authorization_options(
        request.intent,
        &request.hints,
        &state.auth.settings.social_providers,
    );
    let routing = [
        ("Organization", options.organization_id.clone()),
        ("Connection", options.connection_id.clone()),
        ("Email", options.login_hint.clone()),
        ("Social provider", options.provider.clone()),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value?)))
    .collect();
    let mut fields: Vec<(&'static str, String)> = [
        ("organization_id", options.organization_id),
        ("connection_id", options.connection_id),
        ("login_hint", options.login_hint),
        ("provider", options.provider),
        (
            "return_to",
            request.return_to.as_deref().and_then(safe_return_path),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    if request.intent == LoginIntent::Signup {
        fields.push(("intent", "signup".into()));
    }
    let html = confirm_login_document(
        &state.leptos,
        &ConfirmLogin {
            provider_host,
            routing,
            fields,
        },
    );
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(response)
}

/// `POST /login`: the confirmation page's button. Only this origin's pages may post it.
async fn confirmed_login(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let origin = state.auth.app_url.origin().ascii_serialization();
    if !RequestSite::is_same_origin_call(&headers, &origin) {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), "cross-site login confirmation refused");
        return page(
            &state,
            403,
            ErrorPage {
                title: "This sign-in must start on this site".into(),
                message: "The sign-in request came from another site, so it was not started."
                    .into(),
                provider_error: None,
                retry: Some(("Log in".into(), "/".into())),
            },
        );
    }
    let request: LoginRequest = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    start_login(&state, &jar, &request).await
}

/// `/auth/refresh?return_to=<path>`.
fn refresh_url(return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", return_to)
        .finish();
    format!("{REFRESH_PATH}?{query}")
}

#[derive(Default, serde::Deserialize)]
struct RefreshQuery {
    return_to: Option<String>,
}

async fn refresh(
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
            tracing::warn!(%err, "refresh failed; the provider is unavailable");
            let retry = refresh_url(&destination);
            page(
                &state,
                503,
                ErrorPage {
                    title: "The sign-in service is not answering".into(),
                    message: "We could not renew your session just now. You are still signed in; please try again in a moment.".into(),
                    provider_error: None,
                    retry: Some(("Try again".into(), retry)),
                },
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

/// Route guard for the protected prefixes of `Leptos.toml`: renders the page only for a
/// valid session, sends an expired one through `/auth/refresh` first, and everyone else
/// to the home page. Protected pages are never cached.
pub async fn guard(
    State(auth): State<SharedAuth>,
    jar: Cookies,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !auth.settings.is_protected(path) {
        return next.run(request).await;
    }
    match auth.session(&jar).await {
        SessionStatus::Active(session) => {
            request.extensions_mut().insert(*session);
            no_store(next.run(request).await)
        }
        SessionStatus::Refreshable => {
            let here = request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let location: String = refresh_url(&here);
            see_other(&location)
        }
        SessionStatus::Anonymous => see_other("/"),
    }
}
