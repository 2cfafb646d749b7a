//! Ways the built-in provider can be told to misbehave, so tests can prove the app
//! rejects every broken or hostile token (modelled on the OpenID Foundation's
//! relying-party certification tests) and accepts the legitimate oddities.
//!
//! Only Rust code holding the [`DevIdp`](super::DevIdp) value can turn a misbehaviour
//! on ([`DevIdp::misbehave`](super::DevIdp::misbehave)): no URL, setting or environment
//! variable reaches it, so a normal run never misbehaves. Without the `testing` feature
//! it cannot be turned on at all, and the compiler drops these cases.
#![cfg_attr(not(feature = "testing"), allow(dead_code))]

use super::keys::SigningKey;
use crate::crypto::access_token_hash;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// One way to misbehave. Login-time cases apply to both the ID and the access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Signed by a key that is not ours, under our key id.
    SignedWithAnotherKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with our public key as the HMAC secret (key confusion).
    Hs256WithPublicKey,
    /// `iss` is another issuer.
    WrongIssuer,
    /// `aud` does not contain the client id.
    AudienceWithoutClient,
    /// `azp` names another client.
    WrongAuthorizedParty,
    /// `exp` two minutes ago (beyond the 60 s leeway).
    Expired,
    /// `iat` ten minutes ahead.
    IssuedInTheFuture,
    /// `nbf` ten minutes ahead.
    NotYetValid,
    /// No `sub`.
    MissingSubject,
    /// A `nonce` other than the one sent.
    WrongNonce,
    /// No `nonce`.
    MissingNonce,
    /// Signed by a key whose id never appears in the key set.
    UnknownKeyId,
    /// Must be accepted: no `kid` while the key set holds a single key.
    NoKeyId,
    /// Must be accepted: the provider rotates to a new key and publishes it.
    RotateKeys,
    /// On refresh only: the new ID token names another person.
    RefreshChangesSubject,
    /// On refresh only: the new ID token names another issuer.
    RefreshChangesIssuer,
    /// Valid tokens, but with 5 KB of extra claims: too large for a cookie.
    HugeTokens,
    /// Must be accepted: discovery advertises only `client_secret_basic`, and the token
    /// endpoint refuses a secret in the body (as some standard providers do).
    BasicClientAuthOnly,
    /// Discovery advertises both `client_secret_post` and `client_secret_basic`, but the
    /// client is registered for Basic only (Okta's default): works once the app's
    /// `token_endpoint_auth_method` says so.
    RegisteredForBasicAuth,
    /// Must be accepted: opaque (non-JWT) access tokens, as some providers issue.
    OpaqueAccessTokens,
    /// An outage: the token endpoint answers 503.
    TokenEndpointDown,
    /// The ID token's `at_hash` is of another access token (token substitution).
    WrongAccessTokenHash,
    /// Must be accepted: the ID token carries only who and when, the profile (email,
    /// name) comes from the UserInfo endpoint, as OIDC Core 5.4 has it for the code flow.
    ProfileOnlyFromUserinfo,
    /// As above, but the UserInfo endpoint answers about another person (token
    /// substitution): the login must be refused.
    UserinfoAboutAnotherUser,
    /// As `ProfileOnlyFromUserinfo`, but the UserInfo endpoint answers 503 (an outage).
    UserinfoDown,
    /// As `ProfileOnlyFromUserinfo`, but the UserInfo endpoint never answers.
    UserinfoHangs,
    /// The outage that holds connections: every endpoint accepts the request and never
    /// answers.
    Hangs,
    /// Every endpoint answers, correctly, after 3 seconds.
    AnswersSlowly,
    /// Valid tokens in a token response padded to 4 MiB: the app must refuse to read it.
    OversizedTokenResponse,
    /// An outage of the key set alone: `/keys` answers 503, tokens are still issued.
    KeySetDown,
}

/// The profile claims a UserInfo-only provider leaves out of its ID tokens.
pub const PROFILE_CLAIMS: [&str; 5] = [
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

impl Misbehaviour {
    /// Every token-validation case, for tests that walk the whole matrix
    /// (`HugeTokens`, a storage limit rather than a validation rule, is not among them).
    pub const ALL: [Misbehaviour; 18] = [
        Misbehaviour::SignedWithAnotherKey,
        Misbehaviour::AlgNone,
        Misbehaviour::Hs256WithPublicKey,
        Misbehaviour::WrongIssuer,
        Misbehaviour::AudienceWithoutClient,
        Misbehaviour::WrongAuthorizedParty,
        Misbehaviour::Expired,
        Misbehaviour::IssuedInTheFuture,
        Misbehaviour::NotYetValid,
        Misbehaviour::MissingSubject,
        Misbehaviour::WrongNonce,
        Misbehaviour::MissingNonce,
        Misbehaviour::UnknownKeyId,
        Misbehaviour::NoKeyId,
        Misbehaviour::RotateKeys,
        Misbehaviour::RefreshChangesSubject,
        Misbehaviour::RefreshChangesIssuer,
        Misbehaviour::WrongAccessTokenHash,
    ];

    /// True for the cases a correct relying party must accept.
    pub fn must_be_accepted(self) -> bool {
        matches!(self, Misbehaviour::NoKeyId | Misbehaviour::RotateKeys)
    }

    /// True for the cases that only change refreshed tokens.
    pub fn on_refresh_only(self) -> bool {
        matches!(
            self,
            Misbehaviour::RefreshChangesSubject | Misbehaviour::RefreshChangesIssuer
        )
    }

    /// Alters the claims of one token. `is_id_token` and `is_refresh` say which token
    /// and which grant this is.
    pub fn alter_claims(self, claims: &mut Value, now: i64, is_id_token: bool, is_refresh: bool) {
        let set = |claims: &mut Value, key: &str, value: Value| claims[key] = value;
        match self {
            Misbehaviour::WrongIssuer => set(claims, "iss", json!("https://evil.example")),
            Misbehaviour::AudienceWithoutClient => set(claims, "aud", json!(["someone_else"])),
            Misbehaviour::WrongAuthorizedParty if is_id_token => {
                set(claims, "azp", json!("someone_else"))
            }
            Misbehaviour::Expired => {
                set(claims, "exp", json!(now - 120));
                set(claims, "iat", json!(now - 420));
                if claims.get("nbf").is_some() {
                    set(claims, "nbf", json!(now - 420));
                }
            }
            Misbehaviour::IssuedInTheFuture => set(claims, "iat", json!(now + 600)),
            Misbehaviour::NotYetValid => set(claims, "nbf", json!(now + 600)),
            Misbehaviour::MissingSubject => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("sub");
                }
            }
            Misbehaviour::WrongNonce if is_id_token => {
                set(claims, "nonce", json!("not-the-nonce-you-sent"))
            }
            Misbehaviour::MissingNonce if is_id_token => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("nonce");
                }
            }
            Misbehaviour::RefreshChangesSubject if is_id_token && is_refresh => {
                set(claims, "sub", json!("usr_someone_else"))
            }
            Misbehaviour::RefreshChangesIssuer if is_id_token && is_refresh => {
                set(claims, "iss", json!("https://evil.example"))
            }
            Misbehaviour::WrongAccessTokenHash if is_id_token => set(
                claims,
                "at_hash",
                json!(access_token_hash("a-token-from-elsewhere")),
            ),
            Misbehaviour::HugeTokens if is_id_token => {
                set(claims, "groups", json!(vec!["g".repeat(50); 100]))
            }
            Misbehaviour::ProfileOnlyFromUserinfo
            | Misbehaviour::UserinfoAboutAnotherUser
            | Misbehaviour::UserinfoDown
            | Misbehaviour::UserinfoHangs
                if is_id_token =>
            {
                if let Some(map) = claims.as_object_mut() {
                    for claim in PROFILE_CLAIMS {
                        map.remove(claim);
                    }
                }
            }
            _ => {}
        }
    }

    /// Signs claims the way this case calls for. `current` is the provider's published
    /// key; `stranger` a key it never publishes.
    pub fn sign(
        self,
        claims: &Value,
        current: &SigningKey,
        stranger: &SigningKey,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        match self {
            Misbehaviour::SignedWithAnotherKey => {
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(current.kid.clone());
                jsonwebtoken::encode(&header, claims, &stranger.encoding)
            }
            Misbehaviour::UnknownKeyId => stranger.sign(claims),
            Misbehaviour::NoKeyId => {
                jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &current.encoding)
            }
            Misbehaviour::AlgNone => {
                let header =
                    URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
                let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
                Ok(format!("{header}.{payload}."))
            }
            Misbehaviour::Hs256WithPublicKey => {
                let public = serde_json::to_vec(&current.jwk).unwrap_or_default();
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(current.kid.clone());
                jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&public))
            }
            _ => current.sign(claims),
        }
    }
}
