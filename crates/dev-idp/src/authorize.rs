//! The hosted login page (`/oauth/authorize`: sign in or sign up), and RP-initiated
//! logout (`/oidc/logout`).

use super::{
    pages::{login_page, message_page, AuthorizeParams},
    routes::*,
    store::{CodeGrant, Counters, IdpState, Routing},
};
use axum::{
    extract::{RawForm, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
};
use serde::Deserialize;

/// Checks what must hold before we may redirect anywhere: a known client and a
/// registered redirect URI. Otherwise the page says so and never redirects.
pub(super) fn check_client(
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

pub(super) fn seeded_emails(state: &IdpState) -> Vec<String> {
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

pub(super) async fn authorize(
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

pub(super) async fn submit_login(State(state): State<Shared>, RawForm(body): RawForm) -> Response {
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
struct LogoutParams {
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    #[allow(dead_code)]
    id_token_hint: Option<String>,
}

pub(super) async fn logout(
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
