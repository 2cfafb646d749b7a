//! The provider's endpoints, at Scalekit's paths.

use super::{
    misbehaviour::Misbehaviour,
    pages::{login_page, message_page, AuthorizeParams},
    store::{CodeGrant, Counters, IdpState, RefreshGrant, Routing},
    tokens::{mint, Grant, TokenResponse},
};
use crate::crypto::{constant_time_eq, pkce_challenge};
use axum::{
    extract::{RawForm, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::json;
use std::sync::Arc;

type Shared = Arc<IdpState>;

const SESSION_COOKIE: &str = "dev_idp_session";

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/authorize", get(authorize).post(submit_login))
        .route("/oauth/token", axum::routing::post(token))
        .route(
            "/oauth/revoke",
            axum::routing::post(super::revocation::revoke),
        )
        .route("/keys", get(keys))
        .route("/userinfo", get(userinfo))
        .route("/oidc/logout", get(logout))
        .route("/", get(home))
        .route("/session/end", axum::routing::post(end_session))
        .route("/idp-initiated", get(idp_initiated))
        .with_state(state)
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn parse<T: DeserializeOwned + Default>(raw: Option<&str>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect(location: &str, set_cookie: Option<String>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(base) {
        Ok(url) => url,
        Err(_) => return base.to_string(),
    };
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

async fn discovery(State(state): State<Shared>) -> Response {
    Counters::bump(&state.counters.discovery);
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/keys"),
        "end_session_endpoint": format!("{issuer}/oidc/logout"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": if state.misbehaviour() == Some(Misbehaviour::BasicClientAuthOnly) {
            json!(["client_secret_basic"])
        } else {
            json!(["client_secret_post", "client_secret_basic"])
        },
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "email", "email_verified", "name", "given_name", "family_name", "oid", "sid", "nonce"],
    }))
    .into_response()
}

async fn keys(State(state): State<Shared>) -> Response {
    Counters::bump(&state.counters.jwks);
    if state.misbehaviour() == Some(Misbehaviour::KeySetDown) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    Json(json!({ "keys": state.published_keys() })).into_response()
}

/// The UserInfo endpoint (OIDC Core 5.3): the profile of the access token's owner. The
/// token must be one of ours (signature, issuer, audience, lifetime).
async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    Counters::bump(&state.counters.userinfo);
    if state.misbehaviour() == Some(Misbehaviour::UserinfoDown) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    let unauthorized = || {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a valid access token is required",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized();
    };
    let Some(sub) = state.verify_access_token(token) else {
        return unauthorized();
    };
    let Some(person) = state.person_by_id(&sub) else {
        return unauthorized();
    };
    let sub = if state.misbehaviour() == Some(Misbehaviour::UserinfoAboutAnotherUser) {
        "usr_someone_else".to_string()
    } else {
        person.id
    };
    Json(json!({
        "sub": sub,
        "email": person.email,
        "email_verified": person.email_verified,
        "name": person.name,
        "given_name": person.given_name,
        "family_name": person.family_name,
    }))
    .into_response()
}

/// Checks what must hold before we may redirect anywhere: a known client and a
/// registered redirect URI. Otherwise the page says so and never redirects.
fn check_client(
    state: &IdpState,
    params: &AuthorizeParams,
) -> Result<String, (&'static str, &'static str)> {
    if params.client_id.as_deref() != Some(state.settings.client_id.as_str()) {
        return Err((
            "Unknown application",
            "This application is not registered with the identity provider (client_id).",
        ));
    }
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    if !state.registration.redirect_uris.contains(&redirect_uri) {
        return Err((
            "Redirect URL not allowed",
            "The redirect_uri is not registered for this application.",
        ));
    }
    Ok(redirect_uri)
}

fn refused_client((title, message): (&str, &str)) -> Response {
    html(StatusCode::BAD_REQUEST, message_page(title, message))
}

/// Errors that are reported back to the app (RFC 6749 §4.1.2.1).
fn check_request(params: &AuthorizeParams) -> Result<(), (&'static str, &'static str)> {
    if params.response_type.as_deref() != Some("code") {
        return Err((
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if !params
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .any(|s| s == "openid")
    {
        return Err(("invalid_scope", "the openid scope is required"));
    }
    if params.code_challenge.is_some() && params.code_challenge_method.as_deref() != Some("S256") {
        return Err(("invalid_request", "code_challenge_method must be S256"));
    }
    Ok(())
}

fn error_redirect(
    redirect_uri: &str,
    params: &AuthorizeParams,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = params.state.as_deref() {
        pairs.push(("state", state));
    }
    redirect(&with_query(redirect_uri, &pairs), None)
}

fn seeded_emails(state: &IdpState) -> Vec<String> {
    state
        .settings
        .users
        .iter()
        .map(|u| u.email.clone())
        .collect()
}

fn code_redirect(
    state: &IdpState,
    redirect_uri: &str,
    params: &AuthorizeParams,
    email: &str,
    session_id: &str,
    set_cookie: Option<String>,
) -> Response {
    let code = state.issue_code(CodeGrant {
        redirect_uri: redirect_uri.to_string(),
        email: email.to_string(),
        session_id: session_id.to_string(),
        nonce: params.nonce.clone(),
        code_challenge: params.code_challenge.clone(),
        scope: params.scope.clone().unwrap_or_default(),
        expires_at: now() + state.settings.authorization_code_ttl_secs as i64,
        routing: Routing {
            organization_id: params.organization_id.clone(),
            connection: params
                .connection_id
                .clone()
                .or_else(|| params.provider.as_ref().map(|p| format!("conn_social_{p}")))
                .unwrap_or_else(|| "conn_dev_password".into()),
        },
    });
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = params.state.as_deref() {
        pairs.push(("state", s));
    }
    // RFC 9207: say who is sending the person back.
    pairs.push(("iss", state.issuer.as_str()));
    redirect(&with_query(redirect_uri, &pairs), set_cookie)
}

async fn authorize(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    Counters::bump(&state.counters.authorize);
    let params: AuthorizeParams = parse(raw.as_deref());
    let redirect_uri = match check_client(&state, &params) {
        Ok(uri) => uri,
        Err(refusal) => return refused_client(refusal),
    };
    if let Err((error, description)) = check_request(&params) {
        return error_redirect(&redirect_uri, &params, error, description);
    }
    let prompt = params.prompt.as_deref().unwrap_or("");
    let remembered = session_cookie(&headers).and_then(|c| state.session(&c));
    match (remembered, prompt) {
        // Remembered, and the app did not ask to see the page again.
        (Some(session), p) if p != "login" && p != "create" && p != "select_account" => {
            code_redirect(
                &state,
                &redirect_uri,
                &params,
                &session.email,
                &session.id,
                None,
            )
        }
        (None, "none") => error_redirect(
            &redirect_uri,
            &params,
            "login_required",
            "the person is not logged in",
        ),
        _ => html(
            StatusCode::OK,
            login_page(&params, None, &seeded_emails(&state), None),
        ),
    }
}

#[derive(Default, Deserialize)]
struct LoginForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

async fn submit_login(State(state): State<Shared>, RawForm(body): RawForm) -> Response {
    let form: LoginForm = parse(std::str::from_utf8(&body).ok());
    let params = &form.params;
    let redirect_uri = match check_client(&state, params) {
        Ok(uri) => uri,
        Err(refusal) => return refused_client(refusal),
    };
    if let Err((error, description)) = check_request(params) {
        return error_redirect(&redirect_uri, params, error, description);
    }
    let email = form.email.trim().to_lowercase();
    let retry = |message: &str| {
        html(
            StatusCode::UNPROCESSABLE_ENTITY,
            login_page(params, Some(message), &seeded_emails(&state), Some(&email)),
        )
    };
    let looks_like_email = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !looks_like_email {
        return retry("Enter a valid email address.");
    }
    let person = if params.is_sign_up() {
        let name = form.name.trim();
        if name.is_empty() || name.len() > 200 {
            return retry("Enter your name.");
        }
        match state.sign_up(&email, name) {
            Some(person) => person,
            None => return retry("An account with this email already exists. Log in instead."),
        }
    } else {
        match state.person(&email) {
            Some(person) => person,
            None => return retry("No account uses this email. Create an account instead."),
        }
    };
    let (cookie, session) = state.open_session(&person.email);
    let set_cookie = format!("{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax");
    code_redirect(
        &state,
        &redirect_uri,
        params,
        &person.email,
        &session.id,
        Some(set_cookie),
    )
}

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

async fn token(
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

#[derive(Default, Deserialize)]
struct LogoutParams {
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    #[allow(dead_code)]
    id_token_hint: Option<String>,
}

async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    Counters::bump(&state.counters.logout);
    let params: LogoutParams = parse(raw.as_deref());
    if let Some(session) = session_cookie(&headers).and_then(|c| state.close_session(&c)) {
        super::backchannel::notify(&state, &session).await;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    match params.post_logout_redirect_uri {
        Some(uri) if state.registration.post_logout_redirect_uris.contains(&uri) => {
            let target = match params.state.as_deref() {
                Some(s) => with_query(&uri, &[("state", s)]),
                None => uri,
            };
            redirect(&target, Some(clear))
        }
        Some(_) => html(
            StatusCode::BAD_REQUEST,
            message_page("Signed out", "You are signed out, but the post_logout_redirect_uri is not registered, so you were not sent back."),
        ),
        None => {
            let mut response = html(StatusCode::OK, message_page("Signed out", "You are signed out."));
            if let Ok(value) = HeaderValue::from_str(&clear) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
    }
}

/// The provider's own home page: where an IdP-initiated login starts, and where the
/// provider's session can be ended (a back-channel logout to the app).
async fn home(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let can_initiate = state.registration.initiate_login_uri.is_some();
    let signed_in = session_cookie(&headers)
        .and_then(|c| state.session(&c))
        .map(|s| s.email);
    html(
        StatusCode::OK,
        super::pages::home_page(can_initiate, signed_in),
    )
}

/// "End this session": ends the provider's session here and tells the app.
async fn end_session(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(session) = session_cookie(&headers).and_then(|c| state.close_session(&c)) {
        super::backchannel::notify(&state, &session).await;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let mut response = html(
        StatusCode::OK,
        message_page(
            "Session ended",
            "Your session with the identity provider has ended, and the app was told.",
        ),
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Default, Deserialize)]
struct InitiateParams {
    organization_id: Option<String>,
    connection_id: Option<String>,
    login_hint: Option<String>,
    relay_state: Option<String>,
}

/// Starts an IdP-initiated login the way Scalekit does: a short-lived signed token with
/// the connection, organization and email, sent to the app's initiate-login URL.
async fn idp_initiated(State(state): State<Shared>, RawQuery(raw): RawQuery) -> Response {
    let Some(target) = state.registration.initiate_login_uri.clone() else {
        return html(
            StatusCode::BAD_REQUEST,
            message_page("Not available", "The app registered no initiate-login URL."),
        );
    };
    let params: InitiateParams = parse(raw.as_deref());
    let now = now();
    let claims = json!({
        "iss": state.issuer,
        "aud": [state.settings.client_id],
        "iat": now,
        "exp": now + 300,
        "connection_id": params.connection_id.unwrap_or_else(|| "conn_dev_saml".into()),
        "organization_id": params.organization_id.unwrap_or_else(|| "org_analytical_engines".into()),
        "login_hint": params.login_hint,
        "relay_state": params.relay_state.unwrap_or_else(|| "/dashboard/profile".into()),
    });
    let key = state.current_key();
    let misbehaviour = state.misbehaviour();
    let signed = match (misbehaviour, state.stranger_key()) {
        (Some(m), Ok(stranger)) => m.sign(&claims, &key, stranger),
        _ => key.sign(&claims),
    };
    match signed {
        Ok(token) => redirect(
            &with_query(&target, &[("idp_initiated_login", &token)]),
            None,
        ),
        Err(err) => {
            tracing::error!(%err, "built-in provider could not sign tokens");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                message_page("Error", "Could not sign the login token."),
            )
        }
    }
}
