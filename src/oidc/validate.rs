//! Token validation: ID tokens at login and refresh, access tokens on every request
//! that needs the person.
//!
//! Every token must be signed with an allow-listed asymmetric algorithm by a key from the
//! provider's key set (never `none`, never HMAC, so the public key cannot be abused as a
//! shared secret), carry our provider's exact `iss`, an `aud` containing our client id,
//! a `sub`, and be inside its `exp`/`nbf`/`iat` window give or take the clock leeway.
//! ID tokens must also carry the `nonce` we sent and, when present, an `azp` naming us.

pub(super) use super::claims::HasIssuedAt;
pub use super::claims::{AccessTokenClaims, IdTokenClaims, IdpInitiatedClaims};
use super::{
    jwks::{JwksCache, KeyLookup, KeySource},
    OidcError,
};
use crate::util::constant_time_eq;
use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};

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
    /// The exact `iss` (from discovery).
    pub issuer: String,
    /// Our client id: must be in `aud` (and be `azp` when present).
    pub client_id: String,
    /// Seconds of clock skew tolerated (at most 60).
    pub leeway_secs: u64,
    /// Accepted signature algorithms, a subset of [`ALLOWED_ALGORITHMS`].
    pub algorithms: Vec<Algorithm>,
}

/// Why a token was rejected. Each variant names one rule, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the token is not a well-formed JWT")]
    /// Not three base64url parts with JSON header and claims.
    Malformed,
    #[error("algorithm {0} is not allowed")]
    /// The header's `alg` is not in the allow-list (`none` and HS* never are).
    DisallowedAlgorithm(String),
    #[error("no key in the provider's key set matches kid {0:?}")]
    /// No key with the header's `kid`, even after one rate-limited refetch.
    UnknownKey(Option<String>),
    #[error("no key in the provider's key set matches kid {0:?} yet (refetched moments ago)")]
    /// No key with the header's `kid`, and the set was refetched too recently to look
    /// again: refused for now, though a key the provider has just published would pass
    /// a moment later.
    KeyNotFetchedYet(Option<String>),
    #[error("the signature does not verify")]
    /// The signature does not verify with the provider's key.
    BadSignature,
    #[error("the token has expired")]
    /// `exp` is in the past beyond the leeway.
    Expired,
    #[error("the token is not valid yet")]
    /// `nbf` is in the future beyond the leeway.
    NotYetValid,
    #[error("the token was issued in the future")]
    /// `iat` is in the future beyond the leeway.
    IssuedInTheFuture,
    #[error("the issuer is not our provider")]
    /// `iss` is not exactly the provider's issuer.
    WrongIssuer,
    #[error("the audience does not include our client id")]
    /// `aud` does not contain our client id.
    WrongAudience,
    #[error("the authorized party (azp) is not our client id")]
    /// `azp` names another client, or is missing while `aud` has several entries.
    WrongAuthorizedParty,
    #[error("the required claim {0} is missing")]
    /// A required claim (named) is absent.
    MissingClaim(String),
    #[error("the nonce does not match the one we sent")]
    /// The ID token's `nonce` is missing or not the one this login sent.
    NonceMismatch,
    /// The ID token's `at_hash` does not match the access token issued with it.
    #[error("the access token does not match the ID token's at_hash")]
    AccessTokenHashMismatch,
    #[error("the token is not an access token: {0}")]
    /// Another kind of token (an ID token, a logout token) presented as an access token.
    NotAnAccessToken(&'static str),
    #[error("the key set could not be fetched: {0}")]
    /// The provider's key set could not be fetched (an outage, not a forgery).
    KeySetUnavailable(String),
    #[error("the key set was not fetched: the provider's circuit breaker is open")]
    /// The key set was not fetched because the circuit breaker is open: an outage the
    /// breaker has already logged once, so the turned-away request need not log again.
    KeySetCircuitOpen,
}

impl ValidationError {
    /// The key set (or the discovery document naming it) could not be had: whether the
    /// breaker stopped the call stays visible, which decides how loudly it is logged.
    pub(crate) fn key_set_unavailable(err: &OidcError) -> Self {
        if err.is_circuit_open() {
            ValidationError::KeySetCircuitOpen
        } else {
            ValidationError::KeySetUnavailable(err.to_string())
        }
    }

    /// True when the key set was not fetched because the circuit breaker is open.
    pub fn is_circuit_open(&self) -> bool {
        matches!(self, ValidationError::KeySetCircuitOpen)
    }

    /// True when the provider, not the token, is why the token was not accepted.
    pub fn is_key_set_unavailable(&self) -> bool {
        matches!(
            self,
            ValidationError::KeySetUnavailable(_) | ValidationError::KeySetCircuitOpen
        )
    }
}

/// Verifies signature, algorithm, `iss`, `aud`, `sub`, `exp`, `nbf` and `iat`, and
/// returns the claims. Shared by both token kinds.
async fn verify<T: serde::de::DeserializeOwned + HasIssuedAt>(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
    source: KeySource,
) -> Result<T, ValidationError> {
    verify_with(jwks, token, expect, &["exp", "iss", "aud", "sub"], source).await
}

pub(super) async fn verify_with<T: serde::de::DeserializeOwned + HasIssuedAt>(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
    required_claims: &[&str],
    source: KeySource,
) -> Result<T, ValidationError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        // `alg: none` and other algorithms the crate does not know fail to parse here.
        ErrorKind::Json(_)
        | ErrorKind::Base64(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidToken => ValidationError::Malformed,
        _ => ValidationError::Malformed,
    })?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) || !expect.algorithms.contains(&header.alg) {
        return Err(ValidationError::DisallowedAlgorithm(format!(
            "{:?}",
            header.alg
        )));
    }
    let key = match jwks
        .key_for(header.kid.as_deref(), source)
        .await
        .map_err(|e| ValidationError::key_set_unavailable(&e))?
    {
        KeyLookup::Found(key) => key,
        KeyLookup::Unknown => return Err(ValidationError::UnknownKey(header.kid)),
        KeyLookup::RefetchDeferred => return Err(ValidationError::KeyNotFetchedYet(header.kid)),
    };

    let mut validation = Validation::new(header.alg);
    validation.leeway = expect.leeway_secs;
    validation.validate_nbf = true;
    validation.set_issuer(&[&expect.issuer]);
    validation.set_audience(&[&expect.client_id]);
    validation.set_required_spec_claims(required_claims);

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
        ErrorKind::Json(err) => match missing_field(&err.to_string()) {
            Some(field) => ValidationError::MissingClaim(field),
            None => ValidationError::Malformed,
        },
        _ => ValidationError::Malformed,
    })?;
    let claims = data.claims;
    if let Some(iat) = claims.issued_at() {
        let now = crate::util::now();
        if iat > now + expect.leeway_secs as i64 {
            return Err(ValidationError::IssuedInTheFuture);
        }
    }
    Ok(claims)
}

/// The field named by serde's "missing field `x`" message, if that is the error.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// Validates an IdP-initiated login token: signed by the provider's keys with an allowed
/// algorithm, our provider's `iss`, not expired, and (when it names an audience) for us.
pub async fn validate_idp_initiated(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
) -> Result<IdpInitiatedClaims, ValidationError> {
    verify_with(jwks, token, expect, &["exp", "iss"], KeySource::Untrusted).await
}

/// Validates an ID token. `expected_nonce` is the nonce sent in the authorization request
/// (required at login); on refresh it is `None`, and the caller compares `sub` instead.
pub async fn validate_id_token(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
    expected_nonce: Option<&str>,
) -> Result<IdTokenClaims, ValidationError> {
    // ID tokens are only ever taken from the token endpoint's answer.
    let claims: IdTokenClaims = verify(jwks, token, expect, KeySource::TokenEndpoint).await?;
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

/// Checks the ID token's `at_hash` against the access token issued with it (OIDC Core
/// 3.1.3.8 and 3.3.2.11): the base64url left half of the access token's hash, with the
/// hash of the ID token's signature algorithm. It binds the access token, opaque ones
/// included, to the validated ID token, so a token from elsewhere cannot be slipped in.
/// An ID token without `at_hash` passes (the claim is optional in the code flow).
/// `id_token` must already be validated: only its header's `alg` is read here.
pub fn check_access_token_hash(
    id_token: &str,
    at_hash: Option<&str>,
    access_token: &str,
) -> Result<(), ValidationError> {
    let Some(expected) = at_hash else {
        return Ok(());
    };
    let alg = jsonwebtoken::decode_header(id_token)
        .map_err(|_| ValidationError::Malformed)?
        .alg;
    let computed = access_token_hash(alg, access_token)
        .ok_or_else(|| ValidationError::DisallowedAlgorithm(format!("{alg:?}")))?;
    if constant_time_eq(computed.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ValidationError::AccessTokenHashMismatch)
    }
}

/// The `at_hash` value of `access_token` for an ID token signed with `alg`; `None` for
/// algorithms outside the allow-list.
pub fn access_token_hash(alg: Algorithm, access_token: &str) -> Option<String> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256, Sha384, Sha512};
    let digest: Vec<u8> = match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            Sha384::digest(access_token.as_bytes()).to_vec()
        }
        // Ed25519 signs with SHA-512 internally, which OIDC uses for its hashes too.
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => {
            Sha512::digest(access_token.as_bytes()).to_vec()
        }
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]))
}

/// Validates an access token (signature, `exp`, `nbf`, `iat`, `iss`, `aud`, `sub`) and
/// that it is one (see [`check_is_access_token`]). `source` says whether it just came
/// from the token endpoint.
pub async fn validate_access_token(
    jwks: &JwksCache,
    token: &str,
    expect: &Expectations,
    source: KeySource,
) -> Result<AccessTokenClaims, ValidationError> {
    let claims: AccessTokenClaims = verify(jwks, token, expect, source).await?;
    if claims.sub.is_empty() {
        return Err(ValidationError::MissingClaim("sub".into()));
    }
    check_is_access_token(token)?;
    Ok(claims)
}

/// Tells access tokens from the provider's other JWTs, which are signed by the same keys
/// for the same audience: an ID token must never open the API. A `typ` of `at+jwt`
/// (RFC 9068) settles it; any other `typ` than `JWT` (e.g. `logout+jwt`) is refused; a
/// plain `JWT` is refused when it carries a claim only ID tokens carry (`nonce`,
/// `at_hash`, `c_hash`: Scalekit's ID tokens always have `at_hash`, its access tokens
/// never). `token` must already be verified.
pub fn check_is_access_token(token: &str) -> Result<(), ValidationError> {
    #[derive(serde::Deserialize)]
    struct IdTokenOnly {
        nonce: Option<serde::de::IgnoredAny>,
        at_hash: Option<serde::de::IgnoredAny>,
        c_hash: Option<serde::de::IgnoredAny>,
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| ValidationError::Malformed)?;
    let typ = header.typ.as_deref().map(|t| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/").unwrap_or(&t).to_string()
    });
    match typ.as_deref() {
        Some("at+jwt") => return Ok(()),
        None | Some("jwt") => {}
        Some(_) => return Err(ValidationError::NotAnAccessToken("its typ is not at+jwt")),
    }
    let claims: IdTokenOnly = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| ValidationError::Malformed)?;
    if claims.nonce.is_some() || claims.at_hash.is_some() || claims.c_hash.is_some() {
        return Err(ValidationError::NotAnAccessToken(
            "it carries ID-token claims (nonce, at_hash or c_hash)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::test_support::{JwksServer, TestKey};
    use jsonwebtoken::Header;
    use serde_json::{json, Value};
    use std::time::Duration;

    const ISS: &str = "https://acme.scalekit.dev";
    const CLIENT: &str = "skc_client";

    fn expect() -> Expectations {
        Expectations {
            issuer: ISS.into(),
            client_id: CLIENT.into(),
            leeway_secs: 60,
            algorithms: ALLOWED_ALGORITHMS.to_vec(),
        }
    }

    use crate::util::now;

    fn id_claims() -> Value {
        json!({
            "iss": ISS, "aud": [CLIENT], "azp": CLIENT, "sub": "usr_1",
            "exp": now() + 300, "iat": now(), "nonce": "n-1",
            "email": "ada@example.com", "email_verified": true, "name": "Ada", "oid": "org_1", "sid": "ses_1",
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    async fn setup(keys: &[&TestKey]) -> (JwksServer, JwksCache) {
        let server = JwksServer::start(keys).await;
        let cache = JwksCache::new(
            reqwest::Client::new(),
            server.url.clone(),
            Duration::from_secs(30),
        );
        (server, cache)
    }

    async fn id(cache: &JwksCache, token: &str) -> Result<IdTokenClaims, ValidationError> {
        validate_id_token(cache, token, &expect(), Some("n-1")).await
    }

    #[tokio::test]
    async fn accepts_a_valid_id_token_and_reads_its_claims() {
        let key = TestKey::new("snk_a");
        let (_server, cache) = setup(&[&key]).await;
        let claims = id(&cache, &key.sign(&id_claims())).await.unwrap();
        assert_eq!(claims.sub, "usr_1");
        assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
        assert_eq!(claims.oid.as_deref(), Some("org_1"));
        // `aud` as a plain string is fine too.
        let single = with(id_claims(), "aud", json!(CLIENT));
        assert!(id(&cache, &key.sign(&single)).await.is_ok());
        // Within the clock leeway.
        let just_expired = with(id_claims(), "exp", json!(now() - 30));
        assert!(id(&cache, &key.sign(&just_expired)).await.is_ok());
    }

    #[tokio::test]
    async fn each_rule_rejects_its_case() {
        let key = TestKey::new("snk_a");
        let (_server, cache) = setup(&[&key]).await;
        let cases: Vec<(&str, Value, ValidationError)> = vec![
            (
                "wrong iss",
                with(id_claims(), "iss", json!("https://evil.example")),
                ValidationError::WrongIssuer,
            ),
            (
                "iss with extra slash",
                with(id_claims(), "iss", json!(format!("{ISS}/"))),
                ValidationError::WrongIssuer,
            ),
            (
                "aud without us",
                with(id_claims(), "aud", json!(["someone_else"])),
                ValidationError::WrongAudience,
            ),
            (
                "azp mismatch",
                with(id_claims(), "azp", json!("someone_else")),
                ValidationError::WrongAuthorizedParty,
            ),
            (
                "several aud, no azp",
                without(with(id_claims(), "aud", json!([CLIENT, "other"])), "azp"),
                ValidationError::WrongAuthorizedParty,
            ),
            (
                "expired",
                with(id_claims(), "exp", json!(now() - 120)),
                ValidationError::Expired,
            ),
            (
                "nbf in the future",
                with(id_claims(), "nbf", json!(now() + 300)),
                ValidationError::NotYetValid,
            ),
            (
                "iat in the future",
                with(id_claims(), "iat", json!(now() + 300)),
                ValidationError::IssuedInTheFuture,
            ),
            (
                "missing sub",
                without(id_claims(), "sub"),
                ValidationError::MissingClaim("sub".into()),
            ),
            (
                "empty sub",
                with(id_claims(), "sub", json!("")),
                ValidationError::MissingClaim("sub".into()),
            ),
            (
                "missing iss",
                without(id_claims(), "iss"),
                ValidationError::MissingClaim("iss".into()),
            ),
            (
                "missing exp",
                without(id_claims(), "exp"),
                ValidationError::MissingClaim("exp".into()),
            ),
            (
                "nonce mismatch",
                with(id_claims(), "nonce", json!("n-2")),
                ValidationError::NonceMismatch,
            ),
            (
                "nonce missing",
                without(id_claims(), "nonce"),
                ValidationError::NonceMismatch,
            ),
        ];
        for (name, claims, expected) in cases {
            let got = id(&cache, &key.sign(&claims)).await;
            assert_eq!(got.err(), Some(expected), "{name}");
        }
    }

    #[tokio::test]
    async fn rejects_forged_signatures_and_algorithms() {
        let key = TestKey::new("snk_a");
        let (_server, cache) = setup(&[&key]).await;

        // Another key claiming our key id.
        let impostor = TestKey::new("snk_a");
        assert_eq!(
            id(&cache, &impostor.sign(&id_claims())).await.err(),
            Some(ValidationError::BadSignature)
        );

        // alg: none, no signature.
        let b64 = |v: &Value| {
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                v.to_string(),
            )
        };
        let unsigned = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&id_claims())
        );
        assert!(matches!(
            id(&cache, &unsigned).await,
            Err(ValidationError::Malformed | ValidationError::DisallowedAlgorithm(_))
        ));

        // HS256 "signed" with the public key (key confusion).
        let public_json = serde_json::to_vec(&key.jwk).unwrap();
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("snk_a".into());
        let confused = jsonwebtoken::encode(
            &header,
            &id_claims(),
            &jsonwebtoken::EncodingKey::from_secret(&public_json),
        )
        .unwrap();
        assert_eq!(
            id(&cache, &confused).await.err(),
            Some(ValidationError::DisallowedAlgorithm("HS256".into()))
        );

        // Tampered payload.
        let token = key.sign(&id_claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = b64(&with(id_claims(), "sub", json!("usr_admin")));
        assert_eq!(
            id(&cache, &parts.join(".")).await.err(),
            Some(ValidationError::BadSignature)
        );

        for garbage in ["", "a.b", "not a jwt", "...."] {
            assert_eq!(
                id(&cache, garbage).await.err(),
                Some(ValidationError::Malformed),
                "{garbage:?}"
            );
        }
    }

    fn access_claims() -> Value {
        json!({
            "iss": ISS, "aud": [CLIENT], "sub": "usr_1", "exp": now() + 300, "iat": now(), "nbf": now(),
            "jti": "tkn_1", "sid": "ses_1", "oid": "org_1", "client_id": CLIENT,
        })
    }

    async fn bearer(cache: &JwksCache, token: &str) -> Result<AccessTokenClaims, ValidationError> {
        validate_access_token(cache, token, &expect(), KeySource::Untrusted).await
    }

    #[tokio::test]
    async fn unknown_kid_triggers_one_rate_limited_refetch() {
        let key = TestKey::new("snk_a");
        let (server, cache) = setup(&[&key]).await;
        assert!(bearer(&cache, &key.sign(&access_claims())).await.is_ok());
        assert_eq!(server.hits(), 1, "first use fetches the key set");
        assert!(bearer(&cache, &key.sign(&access_claims())).await.is_ok());
        assert_eq!(server.hits(), 1, "then it is served from memory");

        let stranger = TestKey::new("snk_unknown");
        let result = bearer(&cache, &stranger.sign(&access_claims())).await;
        assert_eq!(
            result.err(),
            Some(ValidationError::UnknownKey(Some("snk_unknown".into())))
        );
        assert_eq!(server.hits(), 2, "an unknown kid refetches once");
        for _ in 0..20 {
            assert!(bearer(&cache, &stranger.sign(&access_claims()))
                .await
                .is_err());
        }
        assert_eq!(
            server.hits(),
            2,
            "a flood of unknown kids does not hammer the provider"
        );
    }

    #[tokio::test]
    async fn a_spent_refetch_budget_does_not_lock_out_tokens_from_the_token_endpoint() {
        let old = TestKey::new("snk_old");
        let (server, cache) = setup(&[&old]).await;
        assert!(id(&cache, &old.sign(&id_claims())).await.is_ok());
        // An attacker spends the budget with a key id nobody knows...
        let stranger = TestKey::new("snk_attacker");
        assert!(bearer(&cache, &stranger.sign(&access_claims()))
            .await
            .is_err());
        assert_eq!(server.hits(), 2);
        // ...then the provider rotates and signs with its new key.
        let new = TestKey::new("snk_new");
        server.serve_keys(&[&old, &new]);
        assert_eq!(
            bearer(&cache, &new.sign(&access_claims())).await.err(),
            Some(ValidationError::KeyNotFetchedYet(Some("snk_new".into()))),
            "a presented token still waits for the budget"
        );
        assert!(
            id(&cache, &new.sign(&id_claims())).await.is_ok(),
            "a token from the token endpoint refetches at once"
        );
        assert_eq!(server.hits(), 3);
        assert!(bearer(&cache, &new.sign(&access_claims())).await.is_ok());
        assert_eq!(server.hits(), 3, "and everyone uses the new set");
    }

    #[tokio::test]
    async fn an_id_token_never_passes_as_an_access_token() {
        let key = TestKey::new("snk_a");
        let (_server, cache) = setup(&[&key]).await;
        let id_token = key.sign(&with(id_claims(), "at_hash", json!("abc")));
        assert!(matches!(
            bearer(&cache, &id_token).await,
            Err(ValidationError::NotAnAccessToken(_))
        ));
        // Even without at_hash: its nonce gives it away.
        assert!(matches!(
            bearer(&cache, &key.sign(&id_claims())).await,
            Err(ValidationError::NotAnAccessToken(_))
        ));
        let mut logout = Header::new(jsonwebtoken::Algorithm::RS256);
        logout.kid = Some("snk_a".into());
        logout.typ = Some("logout+jwt".into());
        assert!(matches!(
            bearer(&cache, &key.sign_with(logout, &access_claims())).await,
            Err(ValidationError::NotAnAccessToken(_))
        ));
        let mut at_jwt = Header::new(jsonwebtoken::Algorithm::RS256);
        at_jwt.kid = Some("snk_a".into());
        at_jwt.typ = Some("at+jwt".into());
        assert!(bearer(&cache, &key.sign_with(at_jwt, &access_claims()))
            .await
            .is_ok());
        assert!(bearer(&cache, &key.sign(&access_claims())).await.is_ok());
    }

    #[tokio::test]
    async fn key_rotation_is_picked_up_with_exactly_one_refetch() {
        let old = TestKey::new("snk_old");
        let new = TestKey::new("snk_new");
        let (server, cache) = setup(&[&old]).await;
        assert!(id(&cache, &old.sign(&id_claims())).await.is_ok());
        server.serve_keys(&[&old, &new]);
        assert!(id(&cache, &new.sign(&id_claims())).await.is_ok());
        assert_eq!(server.hits(), 2);
        assert!(id(&cache, &old.sign(&id_claims())).await.is_ok());
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn a_token_without_kid_needs_a_single_key_set() {
        let only = TestKey::new("snk_only");
        let (_server, cache) = setup(&[&only]).await;
        let no_kid = only.sign_with(Header::new(jsonwebtoken::Algorithm::RS256), &id_claims());
        assert!(id(&cache, &no_kid).await.is_ok());

        let a = TestKey::new("snk_a");
        let b = TestKey::new("snk_b");
        let (_server, cache) = setup(&[&a, &b]).await;
        let no_kid = a.sign_with(Header::new(jsonwebtoken::Algorithm::RS256), &id_claims());
        assert_eq!(
            id(&cache, &no_kid).await.err(),
            Some(ValidationError::UnknownKey(None))
        );
    }

    #[tokio::test]
    async fn access_tokens_are_checked_for_signature_issuer_audience_and_expiry() {
        let key = TestKey::new("snk_a");
        let (_server, cache) = setup(&[&key]).await;
        let claims = access_claims();
        let ok = bearer(&cache, &key.sign(&claims)).await.unwrap();
        assert_eq!(ok.sid.as_deref(), Some("ses_1"));
        let wrong_aud = with(claims.clone(), "aud", json!(["api"]));
        assert_eq!(
            bearer(&cache, &key.sign(&wrong_aud)).await.err(),
            Some(ValidationError::WrongAudience)
        );
        let expired = with(claims, "exp", json!(now() - 61 - 60));
        assert_eq!(
            bearer(&cache, &key.sign(&expired)).await.err(),
            Some(ValidationError::Expired)
        );
    }

    #[test]
    fn at_hash_binds_the_access_token_to_the_id_token() {
        // OIDC Core 1.0, Appendix A.3: this access token's RS256 at_hash.
        let access = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            access_token_hash(Algorithm::RS256, access).as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        assert_eq!(
            access_token_hash(Algorithm::RS384, access).map(|h| h.len()),
            Some(32),
            "left half of SHA-384, base64url"
        );
        assert_eq!(access_token_hash(Algorithm::HS256, access), None);

        let key = TestKey::new("k1");
        let id_token = key.sign(&id_claims());
        assert_eq!(
            check_access_token_hash(&id_token, Some("77QmUPtjPfzWtF2AnpK9RQ"), access),
            Ok(())
        );
        assert_eq!(
            check_access_token_hash(&id_token, Some("77QmUPtjPfzWtF2AnpK9RQ"), "another-token"),
            Err(ValidationError::AccessTokenHashMismatch)
        );
        assert_eq!(
            check_access_token_hash(&id_token, None, "another-token"),
            Ok(()),
            "at_hash is optional in the code flow"
        );
    }
}
