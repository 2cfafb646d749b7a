//! Logins started by navigation: `GET /login?…` deep links (organization, connection,
//! email, social provider), `POST /login` (their confirmation from another site), and
//! `GET /auth/initiate` (IdP-initiated SSO).

use super::{
    callback::{callback_error_page, callback_status},
    no_store, page, parse_query, see_other, site,
};
use crate::{
    auth::{
        server::{
            login::{authorization_options, CallbackError},
            login_state::safe_return_path,
            request_site::RequestSite,
        },
        LoginHints, LoginIntent,
    },
    oidc::log_provider_failure,
    pages::{
        confirm_login::{confirm_login_document, ConfirmLogin},
        errors::ErrorPage,
    },
    server::AppState,
};
use axum::{
    extract::{RawForm, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tower_cookies::Cookies;

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
pub(super) async fn idp_initiated_login(
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
            &state.leptos,
            401,
            callback_error_page(CallbackError::UnsolicitedError),
        );
    }
    let Some(token) = query.idp_initiated_login else {
        return page(
            &state.leptos,
            400,
            callback_error_page(CallbackError::MissingCode),
        );
    };
    // Checking the token may need discovery and the key set; starting the login after it
    // needs nothing more. One budget covers both.
    let deadline = state.auth.provider_deadline();
    let validation = state.auth.oidc.validate_idp_initiated(&token);
    let claims = match state.auth.by_deadline(deadline, validation, |e| e).await {
        Ok(claims) => claims,
        Err(err) => {
            let err = CallbackError::InvalidTokens(err);
            if err.is_provider_outage() {
                log_provider_failure(
                    "cannot check an IdP-initiated login; the provider is unavailable",
                    &err,
                    err.is_circuit_open(),
                );
            } else {
                tracing::warn!(reason = %err, "IdP-initiated login token refused");
            }
            return page(
                &state.leptos,
                callback_status(&err),
                callback_error_page(err),
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
    start_login(&state, &jar, &request, deadline).await
}

/// Starts a login from a browser navigation: a redirect to the provider, or home with a
/// notice when the provider cannot be reached by `deadline`.
async fn start_login(
    state: &AppState,
    jar: &Cookies,
    request: &LoginRequest,
    deadline: tokio::time::Instant,
) -> Response {
    match state
        .auth
        .begin_login_by(
            deadline,
            jar,
            request.intent,
            &request.hints,
            request.return_to.as_deref(),
        )
        .await
    {
        Ok(url) => see_other(url.as_str()),
        Err(err) => {
            err.log();
            see_other(&err.notice().home_url())
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

/// `GET /login?organization_id=…&connection_id=…&login_hint=…&provider=…`: a link a
/// customer's portal can use to send its people straight to their organization's SSO.
/// Unless it comes from the app's own pages, the person confirms first: otherwise any
/// site, mail or chat message could route them into an SSO connection of its choosing
/// (login CSRF), or replace a login they have in progress.
pub(super) async fn deep_link_login(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let request: LoginRequest = parse_query(raw);
    if !site(&state, &headers).may_start_login() {
        return confirm(&state, &request).await;
    }
    start_login(&state, &jar, &request, state.auth.provider_deadline()).await
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
    let options = authorization_options(
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
pub(super) async fn confirmed_login(
    State(state): State<AppState>,
    jar: Cookies,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let origin = state.auth.app_url.origin().ascii_serialization();
    if !RequestSite::is_same_origin_call(&headers, &origin) {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), "cross-site login confirmation refused");
        return page(
            &state.leptos,
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
    start_login(&state, &jar, &request, state.auth.provider_deadline()).await
}
