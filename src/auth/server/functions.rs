//! The bodies of the server functions declared in `auth/mod.rs`, and the helpers any
//! server function of yours can call: [`require_user`] and [`access_token`].

use super::service::{SessionStatus, SharedAuth};
use crate::auth::{LoginHints, LoginIntent, Notice, User};
use leptos::prelude::*;
use tower_cookies::Cookies;

/// The auth service and the request's cookie jar.
async fn request_context() -> Result<(SharedAuth, Cookies), ServerFnError> {
    let auth = use_context::<crate::server::AppState>()
        .map(|state| state.auth)
        .ok_or_else(|| ServerFnError::new("the auth service is not configured"))?;
    let jar = leptos_axum::extract::<Cookies>()
        .await
        .map_err(|e| ServerFnError::new(format!("cookies unavailable: {e}")))?;
    Ok((auth, jar))
}

/// Sets the status of a server function's own response. When the function runs inside a
/// page's server rendering (a resource), the response is the page's, which stays as it is:
/// the page shows the error instead.
fn set_status(status: axum::http::StatusCode) {
    let called_over_http = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        leptos::server_fn::axum::server_fn_paths().any(|(path, _)| path == parts.uri.path())
    });
    if !called_over_http {
        return;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// The signed-in person, in any server function: `let user = require_user().await?;`.
/// Validates the access token locally (no provider call). Signed out: the call answers
/// 401 with a clear message.
pub async fn require_user() -> Result<User, ServerFnError> {
    let (auth, jar) = request_context().await?;
    match auth.session(&jar).await {
        SessionStatus::Active(session) => Ok(session.user()),
        SessionStatus::Refreshable | SessionStatus::Anonymous => {
            set_status(axum::http::StatusCode::UNAUTHORIZED);
            Err(ServerFnError::new("You need to be signed in to do this."))
        }
    }
}

/// The signed-in person, if their access token grants `permission` (`resource:action`).
/// Signed out: 401; signed in without the permission: 403 with a clear message.
pub async fn require_permission(permission: &str) -> Result<User, ServerFnError> {
    let user = require_user().await?;
    if user.has_permission(permission) {
        Ok(user)
    } else {
        set_status(axum::http::StatusCode::FORBIDDEN);
        Err(ServerFnError::new(format!(
            "You need the \"{permission}\" permission to do this."
        )))
    }
}

/// The signed-in person's access token, to call your own API from the server
/// (`Authorization: Bearer …`). Keep it on the server: never return it from a server
/// function. Signed out: 401, like [`require_user`].
pub async fn access_token() -> Result<String, ServerFnError> {
    let (auth, jar) = request_context().await?;
    match (auth.session(&jar).await, auth.access_token(&jar)) {
        (SessionStatus::Active(_), Some(token)) => Ok(token),
        _ => {
            set_status(axum::http::StatusCode::UNAUTHORIZED);
            Err(ServerFnError::new("You need to be signed in to do this."))
        }
    }
}

/// Implements [`crate::auth::social_providers`].
pub async fn social_providers() -> Result<Vec<String>, ServerFnError> {
    let (auth, _) = request_context().await?;
    Ok(auth.settings.social_providers.clone())
}

/// Implements [`crate::auth::start_login`]. Like every server function, it answers only
/// same-origin calls (`request_site::same_origin_server_functions`).
pub async fn start_login(
    intent: LoginIntent,
    hints: LoginHints,
    return_to: Option<String>,
) -> Result<(), ServerFnError> {
    let (auth, jar) = request_context().await?;
    match auth
        .begin_login(&jar, intent, &hints, return_to.as_deref())
        .await
    {
        Ok(url) => leptos_axum::redirect(url.as_str()),
        Err(err) => {
            tracing::error!(%err, "cannot start a login");
            leptos_axum::redirect(&Notice::ProviderUnavailable.home_url());
        }
    }
    Ok(())
}

/// Implements [`crate::auth::current_user`]: no provider call while keys are cached.
pub async fn current_user() -> Result<Option<User>, ServerFnError> {
    let (auth, jar) = request_context().await?;
    Ok(match auth.session(&jar).await {
        SessionStatus::Active(session) => Some(session.user()),
        SessionStatus::Refreshable | SessionStatus::Anonymous => None,
    })
}

/// Implements [`crate::auth::refresh_session`]: 503 when the provider is down.
pub async fn refresh_session() -> Result<Option<User>, ServerFnError> {
    let (auth, jar) = request_context().await?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    match auth.refresh(&jar, &headers, true).await {
        Ok(session) => Ok(Some(session.user())),
        Err(super::service::RefreshError::Unavailable(err)) => {
            tracing::warn!(%err, "refresh failed; the provider is unavailable");
            set_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            Err(ServerFnError::new(
                "The sign-in service could not be reached. Please try again in a moment.",
            ))
        }
        Err(err) => {
            tracing::info!(%err, "session not refreshed");
            Ok(None)
        }
    }
}

/// Implements [`crate::auth::logout`]: clears the session, then the provider's logout.
pub async fn logout() -> Result<(), ServerFnError> {
    let (auth, jar) = request_context().await?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let destination = auth.logout(&jar, &headers).await;
    tracing::info!("signed out");
    leptos_axum::redirect(&destination);
    Ok(())
}
