//! Authentication as the UI sees it: the shared [`User`] type and the server functions
//! that start a login, read the current user, refresh the session and log out.
//!
//! This module compiles for both the server and the browser. The server functions are
//! written whole here, as Leptos' examples do: the `#[server]` macro keeps their bodies
//! out of the browser build, which calls them over HTTP. Everything that handles tokens
//! or secrets lives in [`server`](mod@server), compiled for the server only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub mod guard;
#[cfg(feature = "ssr")]
pub mod server;

/// The URL prefix under which the refresh-token cookie is sent (`Path=/auth/refresh`).
/// The refresh server function lives below it so the browser sends that cookie to it.
pub const REFRESH_PATH: &str = "/auth/refresh";

/// The signed-in person, as shown by the UI. Built from validated token claims;
/// carries no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `sub`: the provider's user id (`usr_…` at Scalekit).
    pub id: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the provider verified the email address.
    pub email_verified: Option<bool>,
    /// Full name.
    pub name: Option<String>,
    /// Given (first) name.
    pub given_name: Option<String>,
    /// Family (last) name.
    pub family_name: Option<String>,
    /// Profile picture URL.
    pub picture: Option<String>,
    /// `oid`: the organization (`org_…`).
    pub organization_id: Option<String>,
    /// `sid`: the provider's session (`ses_…`).
    pub session_id: Option<String>,
    /// When the current access token expires (seconds since the Unix epoch).
    pub access_token_expires_at: i64,
    /// The same instant, formatted on the server (`2026-11-27 10:20:00 UTC`).
    pub access_token_expires_at_utc: String,
    /// Roles in the organization (from the access token's `roles`).
    pub roles: Vec<String>,
    /// Permissions as `resource:action` (from the access token's `permissions`).
    pub permissions: Vec<String>,
}

impl User {
    /// True when the access token grants `permission` (e.g. `"reports:read"`).
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// The best name to greet the person with.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.id)
    }
}

/// Which hosted page to open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginIntent {
    /// The login page.
    #[default]
    Login,
    /// The sign-up page (`prompt=create`).
    Signup,
}

/// Where to route a login: Scalekit's enterprise SSO (by email domain, organization or
/// connection) and social login. Every field is optional; invalid values are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginHints {
    /// The person's email: sent as `login_hint`, its domain as `domain_hint`.
    #[serde(default)]
    pub login_hint: Option<String>,
    #[serde(default)]
    /// Log in through this organization's SSO (`organization_id`).
    pub organization_id: Option<String>,
    #[serde(default)]
    /// Log in through this SSO connection (`connection_id`).
    pub connection_id: Option<String>,
    /// A social provider listed in `Leptos.toml` (`google`, `github`, …).
    #[serde(default)]
    pub provider: Option<String>,
}

/// Starts a login or sign-up: remembers `state`, `nonce` and the PKCE verifier in a
/// sealed short-lived cookie, then redirects the browser to the provider's hosted page.
/// `return_to` (a same-origin path) is where the person lands afterwards.
#[server(prefix = "/auth", endpoint = "login")]
pub async fn start_login(
    /// Log in, or sign up (`prompt=create`).
    #[server(default)]
    intent: LoginIntent,
    /// A same-origin path to land on afterwards.
    #[server(default)]
    return_to: Option<String>,
    /// The person's email, to route to their organization's SSO.
    #[server(default)]
    login_hint: Option<String>,
    /// Log in through this organization's SSO.
    #[server(default)]
    organization_id: Option<String>,
    /// Log in through this SSO connection.
    #[server(default)]
    connection_id: Option<String>,
    /// A social provider (`google`, `github`, …).
    #[server(default)]
    provider: Option<String>,
) -> Result<(), ServerFnError> {
    let hints = LoginHints {
        login_hint,
        organization_id,
        connection_id,
        provider,
    };
    // Like every server function, it answers only same-origin calls
    // (`request_site::same_origin_server_functions`).
    let (auth, jar) = server::extract::request_context().await?;
    match auth
        .begin_login(&jar, intent, &hints, return_to.as_deref())
        .await
    {
        Ok(url) => leptos_axum::redirect(url.as_str()),
        Err(err) => {
            err.log();
            leptos_axum::redirect(&err.notice().home_url());
        }
    }
    Ok(())
}

/// The social providers offered on the home page (`social_providers` in `Leptos.toml`).
#[server(prefix = "/auth", endpoint = "options")]
pub async fn social_providers() -> Result<Vec<String>, ServerFnError> {
    let (auth, _) = server::extract::request_context().await?;
    Ok(auth.settings.social_providers.clone())
}

/// The signed-in person, or `None`. Validates the access token locally (cached keys):
/// no call to the provider.
#[server(prefix = "/auth", endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, ServerFnError> {
    server::extract::signed_in_user().await
}

/// The signed-in person of the page being rendered, read from the session the server's
/// route guard validated for it (every page in `<SignedInRoutes>`): no await, no
/// `Resource`, nothing serialized into the page for it. `None` on any other page, and in
/// the browser (pages render on the server; only islands run there). So never call it in
/// an `#[island]`: the server's render and the browser's would differ, and hydration
/// with them. An island that needs the person takes it as a prop from its page.
pub fn guarded_user() -> Option<User> {
    #[cfg(feature = "ssr")]
    return server::extract::guarded_user();
    #[cfg(not(feature = "ssr"))]
    return None;
}

/// Refreshes the session with the rotating refresh token and returns the person with
/// the new expiry, or `None` when the session has ended. Lives under [`REFRESH_PATH`]
/// because only there does the browser send the refresh-token cookie.
#[server(prefix = "/auth/refresh", endpoint = "session")]
pub async fn refresh_session() -> Result<Option<User>, ServerFnError> {
    let (auth, jar) = server::extract::request_context().await?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    match auth.refresh(&jar, &headers, true).await {
        Ok(session) => Ok(Some(session.user())),
        Err(server::refresh::RefreshError::Unavailable(err)) => {
            crate::oidc::log_provider_failure(
                "refresh failed; the provider is unavailable",
                &err,
                err.is_circuit_open(),
            );
            server::extract::set_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            Err(ServerFnError::new(Notice::ProviderUnavailable.message()))
        }
        Err(err) => {
            tracing::info!(%err, "session not refreshed");
            Ok(None)
        }
    }
}

/// Logs out: clears the session cookies and redirects the browser to the provider's
/// logout URL, which ends the provider's session and comes back to the home page.
#[server(prefix = "/auth", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let (auth, jar) = server::extract::request_context().await?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let destination = auth.logout(&jar, &headers).await;
    tracing::info!("signed out");
    leptos_axum::redirect(&destination);
    Ok(())
}

/// A message for the home page, carried as `/?notice=<code>` so it reads the same with
/// and without JavaScript. Only these fixed codes exist: no text from the URL is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The identity provider could not be reached to start a login.
    ProviderUnavailable,
    /// The session could not be refreshed (expired, revoked or replayed refresh token).
    SessionEnded,
    /// A login could not be started for a reason of ours, not the provider's.
    LoginNotStarted,
}

impl Notice {
    /// The query parameter that carries a notice to the home page.
    pub const QUERY_KEY: &'static str = "notice";

    /// Every notice: the home page shows only these.
    pub const ALL: [Notice; 3] = [
        Notice::ProviderUnavailable,
        Notice::SessionEnded,
        Notice::LoginNotStarted,
    ];

    /// The notice's value in the query string.
    pub fn code(self) -> &'static str {
        match self {
            Notice::ProviderUnavailable => "provider_unavailable",
            Notice::SessionEnded => "session_ended",
            Notice::LoginNotStarted => "login_not_started",
        }
    }

    /// The notice named by a query value, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.code() == code)
    }

    /// What the person reads.
    pub fn message(self) -> &'static str {
        match self {
            Notice::ProviderUnavailable => {
                "The sign-in service could not be reached. Please try again in a moment."
            }
            Notice::SessionEnded => "Your session has ended. Please log in again.",
            Notice::LoginNotStarted => "The login could not be started. Please try again.",
        }
    }

    /// The home-page URL that shows this notice.
    pub fn home_url(self) -> String {
        format!("/?{}={}", Self::QUERY_KEY, self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Notice;

    #[test]
    fn every_notice_round_trips_through_its_code() {
        for notice in Notice::ALL {
            assert_eq!(Notice::from_code(notice.code()), Some(notice));
        }
        assert_eq!(Notice::from_code("<script>"), None);
    }
}
