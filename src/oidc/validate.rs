//! Token validation: ID tokens at login and refresh, access tokens on every request
//! that needs the person.
//!
//! Every token must be signed with an allow-listed asymmetric algorithm by a key from the
//! provider's key set (never `none`, never HMAC, so the public key cannot be abused as a
//! shared secret), carry our provider's exact `iss`, an `aud` containing our client id,
//! a `sub`, and be inside its `exp`/`nbf`/`iat` window give or take the clock leeway.
//! ID tokens must also carry the `nonce` we sent and, when present, an `azp` naming us.

use super::jwks::JwksCache;
use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};
use serde::{Deserialize, Deserializer};

/// Signature algorithms we accept. HMAC (`HS*`) is deliberately absent.
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What a token must match.
#[derive(Clone, Debug)]
pub struct Expectations {
    pub issuer: String,
    pub client_id: String,
    /// Seconds of clock skew tolerated (at most 60).
    pub leeway_secs: u64,
}

/// Why a token was rejected. Each variant names one rule, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("algorithm {0} is not allowed")]
    DisallowedAlgorithm(String),
    #[error("no key in the provider's key set matches kid {0:?}")]
    UnknownKey(Option<String>),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInTheFuture,
    #[error("the issuer is not our provider")]
    WrongIssuer,
    #[error("the audience does not include our client id")]
    WrongAudience,
    #[error("the authorized party (azp) is not our client id")]
    WrongAuthorizedParty,
    #[error("the required claim {0} is missing")]
    MissingClaim(String),
    #[error("the nonce does not match the one we sent")]
    NonceMismatch,
    #[error("the key set could not be fetched: {0}")]
    KeySetUnavailable(String),
}

/// Claims of an ID token (Scalekit's and the standard ones we show).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    #[serde(default)]
    pub azp: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    /// Scalekit: the organization.
    #[serde(default)]
    pub oid: Option<String>,
    /// Scalekit: the provider's session.
    #[serde(default)]
    pub sid: Option<String>,
}

/// Claims of an access token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Verifies signature, algorithm, `iss`, `aud`, `sub`, `exp`, `nbf` and `iat`, and
/// returns the claims. Shared by both token kinds.
async fn verify<T: serde::de::DeserializeOwned + HasIssuedAt>(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
) -> Result<T, ValidationError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        // `alg: none` and other algorithms the crate does not know fail to parse here.
        ErrorKind::Json(_)
        | ErrorKind::Base64(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidToken => ValidationError::Malformed,
        _ => ValidationError::Malformed,
    })?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(ValidationError::DisallowedAlgorithm(format!(
            "{:?}",
            header.alg
        )));
    }
    let key = jwks
        .key_for(header.kid.as_deref())
        .await
        .map_err(|e| ValidationError::KeySetUnavailable(e.to_string()))?
        .ok_or_else(|| ValidationError::UnknownKey(header.kid.clone()))?;

    let mut validation = Validation::new(header.alg);
    validation.leeway = expect.leeway_secs;
    validation.validate_nbf = true;
    validation.set_issuer(&[&expect.issuer]);
    validation.set_audience(&[&expect.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

    let data = jsonwebtoken::decode::<T>(token, &key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => ValidationError::BadSignature,
        ErrorKind::ExpiredSignature => ValidationError::Expired,
        ErrorKind::ImmatureSignature => ValidationError::NotYetValid,
        ErrorKind::InvalidIssuer => ValidationError::WrongIssuer,
        ErrorKind::InvalidAudience => ValidationError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => ValidationError::MissingClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            ValidationError::DisallowedAlgorithm(format!("{:?}", header.alg))
        }
        ErrorKind::Json(err) if err.to_string().contains("missing field `sub`") => {
            ValidationError::MissingClaim("sub".into())
        }
        _ => ValidationError::Malformed,
    })?;
    let claims = data.claims;
    if let Some(iat) = claims.issued_at() {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        if iat > now + expect.leeway_secs as i64 {
            return Err(ValidationError::IssuedInTheFuture);
        }
    }
    Ok(claims)
}

trait HasIssuedAt {
    fn issued_at(&self) -> Option<i64>;
}
impl HasIssuedAt for IdTokenClaims {
    fn issued_at(&self) -> Option<i64> {
        self.iat
    }
}
impl HasIssuedAt for AccessTokenClaims {
    fn issued_at(&self) -> Option<i64> {
        self.iat
    }
}

/// Validates an ID token. `expected_nonce` is the nonce sent in the authorization request
/// (required at login); on refresh it is `None`, and the caller compares `sub` instead.
pub async fn validate_id_token(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
    expected_nonce: Option<&str>,
) -> Result<IdTokenClaims, ValidationError> {
    let claims: IdTokenClaims = verify(jwks, token, expect).await?;
    if claims.sub.is_empty() {
        return Err(ValidationError::MissingClaim("sub".into()));
    }
    // OIDC Core 3.1.3.7: with several audiences `azp` must be present; when present it
    // must be us.
    match &claims.azp {
        Some(azp) if *azp != expect.client_id => return Err(ValidationError::WrongAuthorizedParty),
        None if claims.aud.len() > 1 => return Err(ValidationError::WrongAuthorizedParty),
        _ => {}
    }
    if let Some(expected) = expected_nonce {
        let got = claims
            .nonce
            .as_deref()
            .ok_or(ValidationError::NonceMismatch)?;
        if !constant_time_eq(got.as_bytes(), expected.as_bytes()) {
            return Err(ValidationError::NonceMismatch);
        }
    }
    Ok(claims)
}

/// Validates an access token (signature, `exp`, `nbf`, `iat`, `iss`, `aud`, `sub`).
pub async fn validate_access_token(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
) -> Result<AccessTokenClaims, ValidationError> {
    let claims: AccessTokenClaims = verify(jwks, token, expect).await?;
    if claims.sub.is_empty() {
        return Err(ValidationError::MissingClaim("sub".into()));
    }
    Ok(claims)
}

/// Compares two secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
