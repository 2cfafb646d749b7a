//! The signed-in person, for axum handlers and server functions.
//!
//! [`CurrentUser`] and [`RequirePermission`] are axum extractors: on a page the route
//! guard already validated, they read the session it left in the request; anywhere else
//! they validate the cookies themselves (locally, no provider call). Server functions use
//! [`require_user`], [`require_permission`] and [`access_token`], which extract them and
//! phrase a refusal for people (401 signed out, 403 without the permission).

use super::{session::Session, SessionStatus, SharedAuth};
use crate::{auth::User, oidc::log_provider_failure, server::AppState};
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
};
use leptos::prelude::*;
use std::marker::PhantomData;
use tower_cookies::Cookies;

/// The signed-in person. Signed out: the request is refused with 401.
///
/// ```ignore
/// async fn handler(CurrentUser(user): CurrentUser) -> String { user.id }
/// ```
#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

/// A permission (Scalekit's `resource:action`) as a type, for [`RequirePermission`].
pub trait Permission {
    /// E.g. `"organization:manage"`.
    const NAME: &'static str;
}

/// The signed-in person, if their access token grants `P`. Signed out: 401; signed in
/// without it: 403.
pub struct RequirePermission<P: Permission>(pub User, pub PhantomData<P>);

/// Why [`CurrentUser`] or [`RequirePermission`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRejection {
    /// No valid session: 401.
    #[error("You need to be signed in to do this.")]
    SignedOut,
    /// Signed in, without this permission: 403.
    #[error("You need the \"{0}\" permission to do this.")]
    Forbidden(&'static str),
    /// The session could not be checked: the provider is not answering. 503.
    #[error("The sign-in service is not answering. You are still signed in; please try again in a moment.")]
    ProviderUnavailable,
}

impl AuthRejection {
    fn status(&self) -> StatusCode {
        match self {
            AuthRejection::SignedOut => StatusCode::UNAUTHORIZED,
            AuthRejection::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthRejection::ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}

/// The session of this request: the one the guard validated, else the cookies'.
async fn session<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Session, AuthRejection>
where
    SharedAuth: FromRef<S>,
{
    if let Some(session) = parts.extensions.get::<Session>() {
        return Ok(session.clone());
    }
    let jar = Cookies::from_request_parts(parts, state)
        .await
        .map_err(|_| AuthRejection::SignedOut)?;
    match SharedAuth::from_ref(state).session(&jar).await {
        SessionStatus::Active(session) => {
            parts.extensions.insert((*session).clone());
            Ok(*session)
        }
        SessionStatus::ProviderUnavailable(err) => {
            log_provider_failure(
                "cannot check a session; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            Err(AuthRejection::ProviderUnavailable)
        }
        SessionStatus::Refreshable | SessionStatus::Anonymous => Err(AuthRejection::SignedOut),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    SharedAuth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser(session(parts, state).await?.user()))
    }
}

impl<S: Send + Sync, P: Permission> FromRequestParts<S> for RequirePermission<P>
where
    SharedAuth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.has_permission(P::NAME) {
            Ok(RequirePermission(user, PhantomData))
        } else {
            Err(AuthRejection::Forbidden(P::NAME))
        }
    }
}

/// Runs one of these extractors inside a server function; a refusal becomes the
/// function's error, with its status when the function was called over HTTP:
/// `let RequirePermission(user, ..) = extract::<RequirePermission<P>>().await?;`.
pub async fn extract<T>() -> Result<T, ServerFnError>
where
    T: FromRequestParts<AppState, Rejection = AuthRejection>,
{
    try_extract::<T>().await?.map_err(|rejection| {
        set_status(rejection.status());
        ServerFnError::new(rejection.to_string())
    })
}

/// The signed-in person, or `None`, inside a server function (no refusal). An error
/// (503) only when the session could not be checked because the provider is not answering.
pub async fn signed_in_user() -> Result<Option<User>, ServerFnError> {
    match try_extract::<CurrentUser>().await? {
        Ok(CurrentUser(user)) => Ok(Some(user)),
        Err(rejection @ AuthRejection::ProviderUnavailable) => {
            set_status(rejection.status());
            Err(ServerFnError::new(rejection.to_string()))
        }
        Err(_) => Ok(None),
    }
}

/// The session the route guard validated for the page being rendered, if any.
pub(crate) fn guarded_user() -> Option<User> {
    with_context::<Parts, _>(|parts| parts.extensions.get::<Session>().map(Session::user)).flatten()
}

async fn try_extract<T>() -> Result<Result<T, AuthRejection>, ServerFnError>
where
    T: FromRequestParts<AppState, Rejection = AuthRejection>,
{
    let state = use_context::<AppState>()
        .ok_or_else(|| ServerFnError::new("the auth service is not configured"))?;
    let mut parts =
        use_context::<Parts>().ok_or_else(|| ServerFnError::new("not called within a request"))?;
    Ok(T::from_request_parts(&mut parts, &state).await)
}

/// The signed-in person, in any server function: `let user = require_user().await?;`.
/// Signed out: the call answers 401 with a clear message.
pub async fn require_user() -> Result<User, ServerFnError> {
    extract::<CurrentUser>().await.map(|CurrentUser(user)| user)
}

/// The signed-in person, if their access token grants `permission` (`resource:action`).
/// Signed out: 401; signed in without the permission: 403 with a clear message.
pub async fn require_permission(permission: &str) -> Result<User, ServerFnError> {
    let user = require_user().await?;
    if user.has_permission(permission) {
        Ok(user)
    } else {
        set_status(StatusCode::FORBIDDEN);
        Err(ServerFnError::new(format!(
            "You need the \"{permission}\" permission to do this."
        )))
    }
}

/// The signed-in person's access token, to call your own API from the server
/// (`Authorization: Bearer …`). Keep it on the server: never return it from a server
/// function. Signed out: 401, like [`require_user`].
pub async fn access_token() -> Result<String, ServerFnError> {
    require_user().await?;
    let (auth, jar) = request_context().await?;
    auth.access_token(&jar).ok_or_else(|| {
        set_status(StatusCode::UNAUTHORIZED);
        ServerFnError::new(AuthRejection::SignedOut.to_string())
    })
}

/// The auth service and the request's cookie jar, inside a server function.
pub async fn request_context() -> Result<(SharedAuth, Cookies), ServerFnError> {
    let auth = use_context::<AppState>()
        .map(|state| state.auth)
        .ok_or_else(|| ServerFnError::new("the auth service is not configured"))?;
    let jar = leptos_axum::extract::<Cookies>()
        .await
        .map_err(|e| ServerFnError::new(format!("cookies unavailable: {e}")))?;
    Ok((auth, jar))
}

/// Sets the status of a server function's own response. When the function runs inside a
/// page's server rendering (a resource, or the home page's `Suspend`), the response is the
/// page's, which stays as it is: the page shows the error instead.
pub fn set_status(status: StatusCode) {
    let called_over_http = use_context::<Parts>().is_some_and(|parts| {
        leptos::server_fn::axum::server_fn_paths().any(|(path, _)| path == parts.uri.path())
    });
    if !called_over_http {
        return;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}
