//! Logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.4), validated as its
//! section 2.6 says: signature and algorithm as for ID tokens, `iss`, `aud`, `iat`, `exp`
//! when present, the back-channel logout event, a `sid` or a `sub`, and no `nonce` (so an
//! ID token can never pass as one). The caller checks that `jti` was not seen before.

use super::{
    jwks::{JwksCache, KeySource},
    validate::{verify_with, Expectations, HasIssuedAt, ValidationError},
};
use serde::Deserialize;

/// The `events` member a logout token must carry.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A validated logout token's claims.
#[derive(Clone, Debug, Deserialize)]
pub struct LogoutTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expiry, when the provider sets one.
    #[serde(default)]
    pub exp: Option<i64>,
    /// The token's unique id: each is accepted once.
    pub jti: String,
    /// The person whose sessions end (every one, when there is no `sid`).
    #[serde(default)]
    pub sub: Option<String>,
    /// The provider's session that ends.
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    events: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    nonce: Option<serde::de::IgnoredAny>,
}

impl HasIssuedAt for LogoutTokenClaims {
    fn issued_at(&self) -> Option<i64> {
        Some(self.iat)
    }
}

/// Why a logout token was refused.
#[derive(Debug, thiserror::Error)]
pub enum LogoutTokenError {
    /// The token failed the checks it shares with ID tokens.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The header's `typ` is neither `logout+jwt` nor `JWT`.
    #[error("the token's typ is not logout+jwt")]
    WrongType,
    /// No back-channel logout event.
    #[error("the token carries no back-channel logout event")]
    NoLogoutEvent,
    /// Neither `sid` nor `sub`.
    #[error("the token names neither a session (sid) nor a person (sub)")]
    NoSubject,
    /// A `nonce`: an ID token, not a logout token.
    #[error("the token carries a nonce")]
    HasNonce,
    /// Its `jti` was seen before.
    #[error("the token was already used")]
    Replayed,
}

/// Validates a logout token for our client; `jti` uniqueness is the caller's.
pub async fn validate_logout_token(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
) -> Result<LogoutTokenClaims, LogoutTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| ValidationError::Malformed)?;
    let typ = header.typ.as_deref().map(str::to_ascii_lowercase);
    if !matches!(
        typ.as_deref(),
        None | Some("jwt" | "logout+jwt" | "application/logout+jwt")
    ) {
        return Err(LogoutTokenError::WrongType);
    }
    let claims: LogoutTokenClaims = verify_with(
        jwks,
        token,
        expect,
        &["iss", "aud", "iat", "jti"],
        KeySource::Untrusted,
    )
    .await?;
    if !claims
        .events
        .get(BACKCHANNEL_LOGOUT_EVENT)
        .is_some_and(serde_json::Value::is_object)
    {
        return Err(LogoutTokenError::NoLogoutEvent);
    }
    if claims.sid.as_deref().is_none_or(str::is_empty)
        && claims.sub.as_deref().is_none_or(str::is_empty)
    {
        return Err(LogoutTokenError::NoSubject);
    }
    if claims.nonce.is_some() {
        return Err(LogoutTokenError::HasNonce);
    }
    Ok(claims)
}
