//! The provider's endpoints, at Scalekit's paths: the router, discovery, the key set,
//! UserInfo, its home page and IdP-initiated login. The hosted login is in
//! [`authorize`](super::authorize), the token endpoint in [`token`](super::token).

use super::token::oauth_error;
use super::{
    misbehaviour::Misbehaviour,
    pages::message_page,
    store::{Counters, IdpState},
};
use axum::{
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::json;
use std::sync::Arc;

pub(super) type Shared = Arc<IdpState>;

pub(super) const SESSION_COOKIE: &str = "dev_idp_session";

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route(
            "/oauth/authorize",
            get(super::authorize::authorize).post(super::authorize::submit_login),
        )
        .route("/oauth/token", axum::routing::post(super::token::token))
        .route(
            "/oauth/revoke",
            axum::routing::post(super::revocation::revoke),
        )
        .route("/keys", get(keys))
        .route("/userinfo", get(userinfo))
        .route("/oidc/logout", get(super::authorize::logout))
        .route("/", get(home))
        .route("/session/end", axum::routing::post(end_session))
        .route("/idp-initiated", get(idp_initiated))
        .route("/counters", get(counters))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_or_hang,
        ))
        .with_state(state)
}

/// How many requests each endpoint has served and how many entries each map holds, as
/// JSON (for `scripts/soak.sh`).
async fn counters(State(state): State<Shared>) -> Response {
    let c = &state.counters;
    Json(json!({
        "requests": Counters::get(&c.requests),
        "discovery": Counters::get(&c.discovery),
        "authorize": Counters::get(&c.authorize),
        "token": Counters::get(&c.token),
        "jwks": Counters::get(&c.jwks),
        "userinfo": Counters::get(&c.userinfo),
        "revocation": Counters::get(&c.revocation),
        "logout": Counters::get(&c.logout),
        "sizes": state.sizes(),
    }))
    .into_response()
}

/// Counts every request; under `Misbehaviour::Hangs`, accepts it and never answers; under
/// `Misbehaviour::AnswersSlowly`, answers after 3 seconds.
async fn count_or_hang(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    Counters::bump(&state.counters.requests);
    match state.misbehaviour() {
        Some(Misbehaviour::Hangs) => std::future::pending::<()>().await,
        Some(Misbehaviour::AnswersSlowly) => {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await
        }
        _ => {}
    }
    next.run(request).await
}

pub(super) fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

pub(super) fn parse<T: DeserializeOwned + Default>(raw: Option<&str>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn redirect(location: &str, set_cookie: Option<String>) -> Response {
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

pub(super) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(base) {
        Ok(url) => url,
        Err(_) => return base.to_string(),
    };
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

pub(super) fn session_cookie(headers: &HeaderMap) -> Option<String> {
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
    if state.misbehaviour() == Some(Misbehaviour::UserinfoHangs) {
        std::future::pending::<()>().await;
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
