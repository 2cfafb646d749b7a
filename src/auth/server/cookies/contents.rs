//! What the auth cookies hold: typed values, JSON-encoded, then sealed by the policy.
//! None of them is ever sent to the browser readable, and none is `Debug` where it holds
//! a token.

use crate::oidc::UserInfo;
use serde::{Deserialize, Serialize};

/// A random value sealed into both the ID cookie and the refresh cookie of one session,
/// with when the session started (a back-channel logout by `sub` ends the sessions
/// started before it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionBinding {
    id: String,
    started_at: i64,
}

impl SessionBinding {
    /// A fresh binding, for a login at `now` (Unix seconds).
    pub fn new(now: i64) -> Self {
        SessionBinding {
            id: crate::util::random_token(),
            started_at: now,
        }
    }

    /// When the person logged in (Unix seconds).
    pub fn started_at(&self) -> i64 {
        self.started_at
    }
}

/// The sealed contents of the access-token cookie.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessCookie {
    /// A JWT: its claims are validated on every request.
    Jwt {
        /// The token.
        token: String,
    },
    /// An opaque token (some providers issue them): the session rests on the validated
    /// ID token, and this token is valid until `expires_at` (from the token response).
    Opaque {
        /// The token.
        token: String,
        /// When it expires (Unix seconds).
        expires_at: i64,
    },
}

impl AccessCookie {
    /// The token itself, e.g. as a bearer token for your API.
    pub fn token(&self) -> &str {
        match self {
            AccessCookie::Jwt { token } | AccessCookie::Opaque { token, .. } => token,
        }
    }
}

/// The sealed contents of the ID cookie: the ID token (the profile and the logout
/// hint) and the session binding. Its presence marks a session worth refreshing.
#[derive(Serialize, Deserialize)]
pub struct IdCookie {
    /// The ID token, validated before it was sealed.
    pub id_token: String,
    /// Must equal the refresh cookie's binding.
    pub session: SessionBinding,
}

/// The sealed contents of the refresh cookie: the token and the session it belongs to.
/// Deliberately not `Debug`: it holds a refresh token.
#[derive(Serialize, Deserialize)]
pub struct RefreshCookie {
    /// The refresh token.
    pub refresh_token: String,
    /// Must equal the ID cookie's binding, or the refresh is refused.
    pub session: SessionBinding,
}

/// The sealed contents of the profile cookie: what the UserInfo endpoint said at login,
/// for providers whose ID tokens carry no profile.
pub type ProfileCookie = UserInfo;

/// A typed cookie value as JSON (sealed afterwards by the private jar).
pub(super) fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A typed cookie value; anything else (an older format, garbage) reads as absent.
pub(super) fn decode<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_str(value).ok()
}
